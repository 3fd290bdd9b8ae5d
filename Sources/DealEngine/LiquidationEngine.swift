import DealCore
import Foundation

public enum LiquidationEngine {
  /// Runs the liquidation into `ws` (see `LiquidationWorkspace`).
  public static func run(_ plan: LiquidationPlan, _ input: LiquidationInput, into ws: LiquidationWorkspace) {
    let ne = plan.entities.count
    precondition(ws.sizes == (plan.facilities.count, plan.assets.count, ne), "a workspace is made for its plan")
    ws.failed.update(repeating: false)
    // Contagion changes what is sold: repeat until no new default.
    for _ in 0...plan.facilities.count {
      ws.reset()
      for f in input.triggers { spread(f, .trigger, plan, ws) }
      for e in 0..<ne where ws.failed[e] {
        for f in plan.borrows[e] {
          let g = plan.guarantorsOf.indices.first { h in plan.guarantorsOf[h].contains(e) && ws.inDefault[h] } ?? f
          spread(f, .guarantee(facility: g), plan, ws)
        }
      }
      if distribute(plan, input, ws) { break }
    }
  }

  /// Marks f in default with its cause, then what it cross-defaults.
  static func spread(_ f: Int, _ why: DefaultCause, _ plan: LiquidationPlan, _ ws: LiquidationWorkspace) {
    guard !ws.inDefault[f] else { return }
    ws.inDefault[f] = true
    ws.append(f, why)
    var k = ws.chainCount - 1
    while k < ws.chainCount {
      let g = ws.chainBuffer[k]
      k += 1
      for h in plan.crossDefaults[g] where !ws.inDefault[h] {
        ws.inDefault[h] = true
        ws.append(h, .crossDefault(from: g))
      }
    }
  }

  /// One pass of sales and distribution; false if a guarantor newly failed.
  static func distribute(_ plan: LiquidationPlan, _ input: LiquidationInput, _ ws: LiquidationWorkspace) -> Bool {
    let d = min(max(input.defaultMonth, 1), plan.months)
    let p = plan.parameters
    let rm = Discount.monthly(p.discount)
    for f in plan.facilities.indices where ws.inDefault[f] && plan.obligor[f] >= 0 {
      ws.entityInDefault[plan.obligor[f]] = true
    }
    for e in ws.failed.indices where ws.failed[e] { ws.entityInDefault[e] = true }
    // 1. Sales.
    for (i, a) in plan.assets.enumerated() {
      let pledged = !a.liens.isEmpty
      var sell = false
      if pledged {
        sell = a.liens.contains { ws.inDefault[$0.facility] }
      } else if a.owner >= 0 {
        sell = ws.entityInDefault[a.owner] || isCalledGuarantor(a.owner, plan, ws)
      }
      guard sell else { continue }
      var net = 0.0, saleMonths = 0
      switch a.kind {
      case .gpu:
        net = a.proceeds.isEmpty ? 0 : a.proceeds[d - 1]
        saleMonths = a.stopMonth.isEmpty ? 0 : a.stopMonth[d - 1]
      case .crypto:
        var amount = a.amount
        for (f, _) in a.liens where input.coinsSold[f] > 0 {
          // Margin calls sold part of the coins pledged to f, pro rata.
          let pledged = plan.pledgedCoinAmount[f]
          if pledged > 0 { amount -= min(amount, input.coinsSold[f] * a.amount / pledged) }
        }
        let value = amount * a.price * (a.btc ? input.btcFactor : input.ethFactor)
        net = value * (1 - p.cryptoSlippage(value: value)) / (1 + rm)
        saleMonths = 1
      case .cash:
        net = a.amount
        if let reserves = input.reserves, let f = a.liens.first?.facility {
          // The reserve account as the waterfall left it, shared by the
          // cash assets pledged to the facility in proportion to their size.
          let stated = plan.firstLienCash[f]
          net = stated > 0 ? reserves[f] * a.amount / stated : 0
        }
      }
      ws.assetSold[i] = true
      ws.assetProceeds[i] = net
      ws.assetMonths[i] = saleMonths
      ws.totals[0] += net
      if pledged {
        ws.remaining[i] = net
        for (f, _) in a.liens where ws.inDefault[f] { ws.months[f] = max(ws.months[f], saleMonths) }
      } else if a.owner >= 0 {
        ws.pool[a.owner] += net
        ws.poolMonths[a.owner] = max(ws.poolMonths[a.owner], saleMonths)
      }
    }
    // What guarantors already paid in the waterfall is gone: their free
    // assets are worth that much less (each in proportion to its proceeds).
    for f in plan.facilities.indices where input.guarantorPaid[f] > 0 {
      let gs = plan.guarantorsOf[f]
      for g in gs where ws.pool[g] > 0 {
        let used = min(ws.pool[g], input.guarantorPaid[f] / Double(gs.count))
        let keep = (ws.pool[g] - used) / ws.pool[g]
        for (i, a) in plan.assets.enumerated() where ws.assetSold[i] && a.liens.isEmpty && a.owner == g {
          ws.totals[0] -= ws.assetProceeds[i] * (1 - keep)
          ws.assetProceeds[i] *= keep
        }
        ws.pool[g] -= used
      }
    }
    // 2. Liens, level by level. A facility's claim at a level is spread
    // over its assets at that level in proportion to what is left of them;
    // an asset asked for more than is left pays each pro rata.
    for f in plan.facilities.indices { ws.owed[f] = max(0, input.claims[f]) }
    let na = plan.assets.count
    for level in 1...max(1, min(9, plan.maxLien)) {
      var any = false
      ws.want.update(repeating: 0)
      for i in 0..<na { ws.demand[i] = 0 }
      for f in plan.facilities.indices where ws.owed[f] > 0.005 {
        var available = 0.0
        for (i, a) in plan.assets.enumerated() where ws.assetSold[i] && a.hasLien(f, level) { available += ws.remaining[i] }
        guard available > 0.005 else { continue }
        any = true
        let take = min(ws.owed[f], available)
        for (i, a) in plan.assets.enumerated() where ws.assetSold[i] && a.hasLien(f, level) {
          let w = take * ws.remaining[i] / available
          ws.want[f * na + i] = w
          ws.demand[i] += w
        }
      }
      guard any else { continue }
      for i in 0..<na where ws.demand[i] > 0 {
        let scale = min(1, ws.remaining[i] / ws.demand[i])
        for f in plan.facilities.indices where ws.want[f * na + i] > 0 {
          let pay = min(ws.want[f * na + i] * scale, ws.owed[f], ws.remaining[i])
          ws.remaining[i] -= pay
          ws.owed[f] -= pay
          if ws.inDefault[f] { ws.fromCollateral[f] += pay } else { ws.repaidAtSale[f] += pay }
          ws.totals[1] += pay
        }
      }
    }
    // The surplus of sold assets goes to their owners' estates.
    for (i, a) in plan.assets.enumerated() where ws.assetSold[i] && !a.liens.isEmpty && ws.remaining[i] > 0 {
      if a.owner >= 0 {
        ws.estate[a.owner] += ws.remaining[i]
        ws.estateMonths[a.owner] = max(ws.estateMonths[a.owner], ws.assetMonths[i])
      }
      ws.remaining[i] = 0
    }
    // 3. Guarantors, from their free assets.
    var newlyFailed = false
    for g in 0..<plan.entities.count {
      var called = 0.0
      for f in plan.facilities.indices where ws.inDefault[f] && ws.owed[f] > 0.005 && plan.guarantorsOf[f].contains(g) {
        called += ws.owed[f] / Double(plan.guarantorsOf[f].count)
      }
      guard called > 0.005 else { continue }
      let paid = min(called, ws.pool[g])
      let ratio = paid / called
      for f in plan.facilities.indices where ws.inDefault[f] && ws.owed[f] > 0.005 && plan.guarantorsOf[f].contains(g) {
        let pay = ws.owed[f] / Double(plan.guarantorsOf[f].count) * ratio
        ws.owed[f] -= pay
        ws.fromGuarantors[f] += pay
        ws.totals[1] += pay
        if pay > 0.005 { ws.months[f] = max(ws.months[f], ws.poolMonths[g]) }
      }
      ws.pool[g] -= paid
      if paid < called - 0.005, !ws.failed[g], plan.borrows[g].contains(where: { !ws.inDefault[$0] }) {
        ws.failed[g] = true
        newlyFailed = true
      }
    }
    if newlyFailed { return false }
    // 4. Unsecured claims against each defaulted obligor, pari passu;
    // subsidiaries first, their equity left over going up to the parent's
    // estate (structural subordination).
    for e in plan.bottomUp where ws.entityInDefault[e] {
      var available = ws.estate[e] + ws.pool[e]
      let realised = max(ws.estateMonths[e], ws.poolMonths[e])
      var claims = 0.0
      for f in plan.borrows[e] where ws.inDefault[f] { claims += ws.owed[f] }
      if claims > 0.005, available > 0 {
        let ratio = min(1, available / claims)
        for f in plan.borrows[e] where ws.inDefault[f] {
          let pay = ws.owed[f] * ratio
          ws.owed[f] -= pay
          ws.fromUnsecured[f] += pay
          ws.totals[1] += pay
          available -= pay
          if pay > 0.005 { ws.months[f] = max(ws.months[f], realised) }
        }
      }
      ws.estate[e] = 0
      ws.pool[e] = max(0, available)
      if let parent = plan.parentOf[e], ws.entityInDefault[parent] {
        ws.estate[parent] += ws.pool[e]
        if ws.pool[e] > 0 { ws.estateMonths[parent] = max(ws.estateMonths[parent], realised) }
        ws.pool[e] = 0
      }
    }
    return true
  }

  static func isCalledGuarantor(_ e: Int, _ plan: LiquidationPlan, _ ws: LiquidationWorkspace) -> Bool {
    for f in plan.facilities.indices where ws.inDefault[f] && plan.guarantorsOf[f].contains(e) { return true }
    return false
  }
}
