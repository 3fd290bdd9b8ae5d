import DealCore
import Foundation

/// The sale of what defaulted and the distribution of its proceeds (SPEC §5
/// `liquidate`), after the structural waterfall (§5.1): each facility from
/// its own default month, owed its claim then; what it was paid before and
/// in that month stays paid.
///
/// 1. Defaults: the waterfall's (or those assumed at `at=MONTH`); then,
///    until nothing changes, `cross-default` edges (to facilities with a
///    balance then) and insolvency: an entity in default — the obligor of a
///    defaulted facility, a guarantor in default in the waterfall or unable
///    to pay a deficiency here — has all its debts accelerated in its month.
/// 2. Sales, each from its own month: an asset pledged to a facility in
///    default from the earliest such default; an asset pledged to nothing —
///    or only to facilities already repaid (released collateral) — of an
///    entity in default from the entity's month. GPUs by the better of the
///    fire sale and, with a lease in force, the going-concern sale
///    (`LiquidationPlan.fleetSales`); coins as the waterfall left them, at
///    that month's price, less slippage; reserve accounts as the waterfall
///    left them. An entity in default also brings its cash.
/// 3. Each sold asset's proceeds go down its liens, most senior first (a
///    facility with the same lien on several assets takes from each in
///    proportion to what is left of it; a facility ranking ahead that is
///    not in default is repaid its balance). The surplus goes to the owner:
///    into its estate if it is in default, else back to it.
/// 4. Estates, obligors before their guarantors and subsidiaries before
///    their parents: an entity in default pays the claims against it —
///    what its own facilities are still owed and the deficiencies of those
///    it guarantees (shared equally among their guarantors) — pari passu
///    from its estate; what is left goes up to its parent's estate if the
///    parent is in default (structural subordination), else to the owners.
///    A guarantor not in default pays its share from its cash and free
///    coins then; one that cannot pay it all is in default, and the
///    liquidation starts again with it.
public enum LiquidationEngine {
  /// Runs the liquidation into `ws`.
  public static func run(_ plan: LiquidationPlan, _ input: LiquidationInput, into ws: LiquidationWorkspace) {
    let ne = plan.entities.count
    precondition(ws.sizes == (plan.facilities.count, plan.assets.count, ne), "a workspace is made for its plan")
    ws.failedMonth.update(repeating: 0)
    // A guarantor that fails changes what is sold: start again, at most
    // once per entity.
    for _ in 0...ne {
      ws.reset()
      defaults(plan, input, ws)
      if distribute(plan, input, ws) { break }
    }
  }

  /// A facility's claim if it defaults at the start of month `m` (an
  /// assumed default): its balance then and the month's interest.
  static func claimAtStart(_ f: Int, _ m: Int, _ plan: LiquidationPlan, _ h: RunHistory) -> Double {
    let opening = h.balance(f, m - 1) + (plan.drawMonth[f] == m ? plan.amount[f] : 0)
    return opening > 0.005 ? opening + h.interestDue(f, m) : 0
  }

  /// The month whose end the state of a sale starting after month `s` is
  /// read at: the month before, for an assumed default at its start.
  @inline(__always) static func stateMonth(_ s: Int, _ input: LiquidationInput) -> Int {
    input.atStart && s == input.defaultMonth ? s - 1 : s
  }

  static func claimIfDefaulting(_ f: Int, at s: Int, _ plan: LiquidationPlan, _ input: LiquidationInput) -> Double {
    input.atStart && s == input.defaultMonth ? claimAtStart(f, s, plan, input.history) : input.history.balance(f, s)
  }

  static func mark(_ f: Int, _ s: Int, _ claim: Double, _ why: DefaultCause, _ ws: LiquidationWorkspace) {
    ws.inDefault[f] = true
    ws.defaultMonth[f] = s
    ws.claim[f] = claim
    ws.append(f, why)
  }

  /// Step 1: who is in default, when, owing what.
  static func defaults(_ plan: LiquidationPlan, _ input: LiquidationInput, _ ws: LiquidationWorkspace) {
    for f in input.triggers where !ws.inDefault[f] {
      // An obligor already in default (a guarantor that failed a call)
      // has all its debts due from then, before the facility's own default.
      let e = plan.obligor[f]
      var d = e >= 0 ? input.entityDefault[e] : 0
      if e >= 0, ws.failedMonth[e] > 0, d == 0 || ws.failedMonth[e] < d { d = ws.failedMonth[e] }
      let early = d > 0 && d < input.month[f] ? claimIfDefaulting(f, at: d, plan, input) : 0
      if early > 0.005 {
        mark(f, d, early, .obligor(entity: e), ws)
      } else {
        mark(f, input.month[f], input.claims[f], .trigger, ws)
      }
    }
    var changed = true
    while changed {
      changed = false
      for e in 0..<plan.entities.count {
        var d = input.entityDefault[e]
        if ws.failedMonth[e] > 0, d == 0 || ws.failedMonth[e] < d { d = ws.failedMonth[e] }
        for f in plan.borrows[e] where ws.inDefault[f] && (d == 0 || ws.defaultMonth[f] < d) { d = ws.defaultMonth[f] }
        ws.entityMonth[e] = d
      }
      var k = 0
      while k < ws.chainCount {
        let g = ws.chainBuffer[k]
        k += 1
        for h in plan.crossDefaults[g] where !ws.inDefault[h] {
          let c = claimIfDefaulting(h, at: ws.defaultMonth[g], plan, input)
          guard c > 0.005 else { continue }
          mark(h, ws.defaultMonth[g], c, .crossDefault(from: g), ws)
          changed = true
        }
      }
      for e in 0..<plan.entities.count where ws.entityMonth[e] > 0 {
        for f in plan.borrows[e] where !ws.inDefault[f] {
          let c = claimIfDefaulting(f, at: ws.entityMonth[e], plan, input)
          guard c > 0.005 else { continue }
          mark(f, ws.entityMonth[e], c, .obligor(entity: e), ws)
          changed = true
        }
      }
    }
  }

  /// The value of a crypto asset sold after month `s`, less slippage,
  /// discounted a month.
  @inline(__always) static func coinProceeds(
    _ a: UnsafePointer<LiquidationPlan.Asset>, _ s: Int, _ input: LiquidationInput, _ p: LiquidationParameters
  ) -> Double {
    let t = stateMonth(s, input), h = input.history
    // Read in place through the pointer: no copy of the asset (and of its
    // arrays' references) on a Monte Carlo path.
    let units = a.pointee.coin >= 0 ? h.coins(a.pointee.coin, pledged: a.pointee.coinPledged, t) : a.pointee.amount
    let value = max(0, units) * a.pointee.price * (a.pointee.btc ? h.btc(t) : h.eth(t))
    return value * (1 - p.cryptoSlippage(value: value)) / (1 + Discount.monthly(p.discount))
  }

  /// Steps 2 to 4; false if a guarantor newly failed (the caller starts
  /// again).
  static func distribute(_ plan: LiquidationPlan, _ input: LiquidationInput, _ ws: LiquidationWorkspace) -> Bool {
    let p = plan.parameters, h = input.history
    let nf = plan.facilities.count, na = plan.assets.count
    // 2. Sales. (Each asset read in place through a pointer: a copy of one
    // retains its arrays, on every defaulted Monte Carlo path.)
    plan.assets.withUnsafeBufferPointer { assets in
    for i in 0..<na {
      let a = assets.baseAddress.unsafelyUnwrapped + i
      var s = 0, pledgedSale = false, stillPledged = false
      for (f, _) in a.pointee.liens {
        if ws.inDefault[f] {
          if ws.claim[f] > 0.005 {
            pledgedSale = true
            if s == 0 || ws.defaultMonth[f] < s { s = ws.defaultMonth[f] }
          }
        }
      }
      if !pledgedSale {
        guard a.pointee.owner >= 0, ws.entityMonth[a.pointee.owner] > 0 else { continue }
        s = ws.entityMonth[a.pointee.owner]
        // Released collateral: pledged only to facilities repaid by then.
        for (f, _) in a.pointee.liens where !ws.inDefault[f] && h.balance(f, stateMonth(s, input)) > 0.005 { stillPledged = true }
        if stillPledged { continue }
      }
      var net = 0.0, saleMonths = 0
      let k = min(max(s, 1), plan.months) - 1
      switch a.pointee.kind {
      case .gpu:
        guard !a.pointee.fireProceeds.isEmpty else { break }
        net = a.pointee.fireProceeds[k]
        saleMonths = a.pointee.stopMonth[k]
        // With its lease, if that is worth more and the tenant still pays.
        let lost = a.pointee.fleet >= 0 ? h.leaseLost.map { $0[a.pointee.fleet] <= s + 1 } ?? false : false
        if a.pointee.goingConcern[k] > net, !lost {
          net = a.pointee.goingConcern[k]
          saleMonths = 1
          ws.assetGoingConcern[i] = true
        }
      case .crypto:
        net = coinProceeds(a, s, input, p)
        saleMonths = 1
      case .cash:
        // A reserve account as the waterfall left it, shared by the cash
        // assets pledged to the facility in proportion to their size; free
        // cash is in its owner's cash account (below).
        guard a.pointee.reserveOf >= 0, pledgedSale else { continue }
        let stated = plan.firstLienCash[a.pointee.reserveOf]
        net = stated > 0 ? max(0, h.reserve(a.pointee.reserveOf, stateMonth(s, input))) * a.pointee.amount / stated : 0
      }
      ws.assetSold[i] = true
      ws.assetMonth[i] = s
      ws.assetProceeds[i] = net
      ws.assetMonths[i] = saleMonths
      ws.totals[0] += net
      if pledgedSale {
        ws.remaining[i] = net
        for (f, _) in a.pointee.liens {
          if ws.inDefault[f] {
            ws.months[f] = max(ws.months[f], saleMonths)
          } else if ws.performingMonth[f] == 0 || s < ws.performingMonth[f] {
            ws.performingMonth[f] = s
          }
        }
      } else {
        ws.pool[a.pointee.owner] += net
        ws.poolMonths[a.pointee.owner] = max(ws.poolMonths[a.pointee.owner], saleMonths)
      }
    }
    // An entity in default brings the cash it had.
    for e in 0..<plan.entities.count where ws.entityMonth[e] > 0 {
      let cash = max(0, h.cash(e, stateMonth(ws.entityMonth[e], input)))
      ws.entityCash[e] = cash
      ws.pool[e] += cash
      ws.totals[0] += cash
    }

    // 3. Liens, level by level. A facility's claim at a level is spread
    // over its assets at that level in proportion to what is left of them;
    // an asset asked for more than is left pays each pro rata.
    for f in 0..<nf {
      if ws.inDefault[f] {
        ws.owed[f] = max(0, ws.claim[f])
      } else if ws.performingMonth[f] > 0 {
        ws.owed[f] = max(0, h.balance(f, stateMonth(ws.performingMonth[f], input)))
      }
    }
    for level in 1...max(1, min(9, plan.maxLien)) {
      var any = false
      ws.want.update(repeating: 0)
      for i in 0..<na { ws.demand[i] = 0 }
      for f in 0..<nf where ws.owed[f] > 0.005 {
        var available = 0.0
        for i in 0..<na where ws.remaining[i] > 0 && assets[i].hasLien(f, level) { available += ws.remaining[i] }
        guard available > 0.005 else { continue }
        any = true
        let take = min(ws.owed[f], available)
        for i in 0..<na where ws.remaining[i] > 0 && assets[i].hasLien(f, level) {
          let w = take * ws.remaining[i] / available
          ws.want[f * na + i] = w
          ws.demand[i] += w
        }
      }
      guard any else { continue }
      for i in 0..<na where ws.demand[i] > 0 {
        let scale = min(1, ws.remaining[i] / ws.demand[i])
        for f in 0..<nf where ws.want[f * na + i] > 0 {
          let pay = min(ws.want[f * na + i] * scale, ws.owed[f], ws.remaining[i])
          ws.remaining[i] -= pay
          ws.owed[f] -= pay
          if ws.inDefault[f] { ws.fromCollateral[f] += pay } else { ws.repaidAtSale[f] += pay }
          ws.totals[1] += pay
        }
      }
    }
    // The surplus of sold pledged assets goes to their owners.
    for i in 0..<na where ws.remaining[i] > 0.005 {
      let owner = assets[i].owner
      if owner >= 0, ws.entityMonth[owner] > 0 {
        ws.estate[owner] += ws.remaining[i]
        ws.estateMonths[owner] = max(ws.estateMonths[owner], ws.assetMonths[i])
      } else {
        ws.totals[2] += ws.remaining[i]
      }
      ws.remaining[i] = 0
    }
    }

    // 4. Estates and guarantees.
    for e in plan.estateOrder {
      if ws.entityMonth[e] > 0 {
        settleEstate(e, plan, ws)
      } else if !honourGuarantees(e, plan, input, ws) {
        return false
      }
    }
    return true
  }

  /// The share of facility f's deficiency one guarantor answers for.
  @inline(__always) static func guaranteeShare(_ f: Int, _ plan: LiquidationPlan, _ ws: LiquidationWorkspace) -> Double {
    if ws.guaranteeBase[f] < 0 { ws.guaranteeBase[f] = ws.owed[f] }
    return min(ws.owed[f], ws.guaranteeBase[f] / Double(max(1, plan.guarantorsOf[f].count)))
  }

  /// An entity in default pays the claims against it pari passu.
  static func settleEstate(_ e: Int, _ plan: LiquidationPlan, _ ws: LiquidationWorkspace) {
    var available = ws.pool[e] + ws.estate[e]
    let realised = max(ws.poolMonths[e], ws.estateMonths[e])
    var claims = 0.0
    for f in plan.borrows[e] where ws.inDefault[f] { claims += ws.owed[f] }
    for f in plan.guarantees[e] where ws.inDefault[f] && ws.owed[f] > 0.005 { claims += guaranteeShare(f, plan, ws) }
    if claims > 0.005, available > 0.005 {
      let ratio = min(1, available / claims)
      var paid = 0.0
      for f in plan.borrows[e] where ws.inDefault[f] && ws.owed[f] > 0.005 {
        let pay = ws.owed[f] * ratio
        ws.owed[f] -= pay
        ws.fromUnsecured[f] += pay
        paid += pay
        ws.months[f] = max(ws.months[f], realised)
      }
      for f in plan.guarantees[e] where ws.inDefault[f] && ws.owed[f] > 0.005 {
        let pay = min(ws.owed[f], guaranteeShare(f, plan, ws) * ratio)
        ws.owed[f] -= pay
        ws.fromGuarantors[f] += pay
        paid += pay
        ws.months[f] = max(ws.months[f], realised)
      }
      available -= paid
      ws.estatePaid[e] += paid
      ws.totals[1] += paid
    }
    available = max(0, available)
    ws.pool[e] = 0
    ws.estate[e] = 0
    if let parent = plan.parentOf[e], ws.entityMonth[parent] > 0 {
      ws.estate[parent] += available
      if available > 0.005 { ws.estateMonths[parent] = max(ws.estateMonths[parent], realised) }
    } else {
      ws.totals[2] += available
    }
  }

  /// A guarantor not in default pays what it is called for from its cash
  /// and free coins in the month of the default; false if it cannot pay it
  /// all (it is then in default from that month).
  static func honourGuarantees(_ e: Int, _ plan: LiquidationPlan, _ input: LiquidationInput, _ ws: LiquidationWorkspace) -> Bool {
    var called = 0.0, month = 0
    for f in plan.guarantees[e] where ws.inDefault[f] && ws.owed[f] > 0.005 {
      called += guaranteeShare(f, plan, ws)
      if month == 0 || ws.defaultMonth[f] < month { month = ws.defaultMonth[f] }
    }
    guard called > 0.005 else { return true }
    let t = stateMonth(month, input)
    var means = max(0, input.history.cash(e, t))
    var coinMonths = 0
    plan.assets.withUnsafeBufferPointer { assets in
      for i in 0..<assets.count {
        let a = assets.baseAddress.unsafelyUnwrapped + i
        guard a.pointee.kind == .crypto, a.pointee.owner == e, !a.pointee.coinPledged, a.pointee.coin >= 0 else { continue }
        means += coinProceeds(a, month, input, plan.parameters)
        coinMonths = 1
      }
    }
    let paid = min(called, means), ratio = paid / called
    for f in plan.guarantees[e] where ws.inDefault[f] && ws.owed[f] > 0.005 {
      let pay = min(ws.owed[f], guaranteeShare(f, plan, ws) * ratio)
      ws.owed[f] -= pay
      ws.fromGuarantors[f] += pay
      if pay > 0.005 { ws.months[f] = max(ws.months[f], coinMonths) }
    }
    ws.guaranteePaid[e] += paid
    ws.totals[0] += paid
    ws.totals[1] += paid
    if paid < called - 0.005 {
      ws.failedMonth[e] = month
      return false
    }
    return true
  }
}
