import DealCore
import Foundation

/// The deal compiled for liquidation: every asset a receiver could sell,
/// with its liens, and for a GPU fleet what its sale nets for each month it
/// could start, computed once. Facilities and entities are indexed as in the
/// waterfall plan it is made from, so a run's state reads across directly.
public struct LiquidationPlan: Sendable {
  public struct Asset: Sendable {
    public enum Kind: Sendable { case gpu, crypto, cash }
    /// How a fleet is sold: bare GPUs into the secondary market, or with
    /// the lease still in force to a buyer who takes over the contract.
    public enum Sale: String, Sendable {
      case fireSale = "fire_sale", goingConcern = "going_concern"
    }
    public var id: String
    public var kind: Kind
    /// Owning entity (index into `entities`), or -1.
    public var owner: Int
    /// Facilities holding a lien, most senior first: (facility, lien).
    public var liens: [(facility: Int, lien: Int)]
    public var units: Double = 0
    /// GPU, by the month the sale starts after (`[s - 1]`, s = 1 ... months):
    /// the fire sale's net proceeds discounted to that month, its gross
    /// proceeds and the months it takes (a block sale is quicker than the
    /// market's pace); the going-concern sale's value (0 with no lease in
    /// force; the liquidation takes the better of the two, unless the
    /// path's tenant has defaulted); the market value then.
    public var fireProceeds: [Double] = []
    public var gross: [Double] = []
    public var stopMonth: [Int] = []
    public var goingConcern: [Double] = []
    public var marketValue: [Double] = []
    /// GPU: months a full sale takes at the market's pace; the haircut for
    /// cooling and density; the waterfall plan's index of the fleet.
    public var saleMonths = 0
    public var coolingHaircut = 0.0
    public var fleet = -1
    /// Crypto: coin, amount and price, and where the waterfall keeps what
    /// is left of it (`coin` in its pledged or free book).
    public var btc = false
    public var amount = 0.0
    public var price = 0.0
    public var coin = -1
    public var coinPledged = false
    /// Pledged cash: the facility whose reserve account it is (first lien).
    public var reserveOf = -1

    func hasLien(_ f: Int, _ level: Int) -> Bool {
      for l in liens where l.facility == f && l.lien == level { return true }
      return false
    }
  }

  public var months: Int
  public var parameters: LiquidationParameters
  /// Facilities in the waterfall plan's order (each entity's own, in
  /// payment order).
  public var facilities: [String]
  /// Each facility's amount and draw month (for a claim at the start of a
  /// month), its obligor (entity index), guarantors and cross-defaults.
  public var amount: [Double]
  public var drawMonth: [Int]
  public var obligor: [Int]
  public var guarantorsOf: [[Int]]
  public var crossDefaults: [[Int]]
  /// Entities in the waterfall plan's order (from the bottom of the
  /// `parent-of` tree up).
  public var entities: [String]
  /// Facilities each entity borrows, and what it guarantees.
  public var borrows: [[Int]]
  public var guarantees: [[Int]]
  public var parentOf: [Int?]
  /// The order estates are settled in: an obligor before its guarantors,
  /// a subsidiary before its parent (a cycle of guarantees falls back to
  /// the bottom-up order).
  public var estateOrder: [Int]
  public var assets: [Asset]
  /// Per facility: the cash whose first lien it holds (stated amounts).
  public var firstLienCash: [Double] = []
  /// The most junior lien on any asset (liens run 1 to 9).
  public var maxLien = 0

  /// How many months of market values a sale needs: to the end of the
  /// longest fleet's sale after a default as late as `lastDefault`, to the
  /// month after the last lease ends (a going-concern buyer's residual),
  /// and at least the horizon.
  public static func curveMonths(
    _ s: Session, schema: Schema, parameters p: LiquidationParameters, lastDefault: Int
  ) -> Int {
    var longest = s.deal.horizon
    for n in s.graph.sortedNodes where n.kind == .asset && n.type == "gpu" {
      guard let fleet = try? FleetEconomics.compile(n.id, in: s, schema: schema) else { continue }
      longest = max(longest, lastDefault + Int((fleet.units / p.depth).rounded(.up)) + 1)
      for l in fleet.leases { longest = max(longest, l.lastMonth + 2) }
    }
    return min(1200, longest)
  }

  /// Compiles the deal against its waterfall plan. `marketValues` are
  /// whole-asset market values by month from `depreciate`, ideally running
  /// past the horizon by `curveMonths` (the last value is held beyond the
  /// curve). `haircut` is a scenario's extra market-value haircut.
  public static func compile(
    _ s: Session, schema: Schema, waterfall wp: WaterfallPlan, marketValues: [String: [Double]],
    parameters p: LiquidationParameters, haircut: Double = 0
  ) throws(DealError) -> LiquidationPlan {
    let g = s.graph
    let horizon = wp.months
    let facilities = wp.facilities.map(\.id)
    let fIndex = Dictionary(uniqueKeysWithValues: facilities.enumerated().map { ($0.element, $0.offset) })
    let entities = wp.entities.map(\.id)
    let eIndex = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($0.element, $0.offset) })
    let nf = facilities.count, ne = entities.count
    var guarantees = [[Int]](repeating: [], count: ne)
    for (f, fac) in wp.facilities.enumerated() { for e in fac.guarantors { guarantees[e].append(f) } }
    let parentOf = wp.entities.map { $0.parent >= 0 ? $0.parent : nil }

    let rm = Discount.monthly(p.discount)
    var assets: [Asset] = []
    for n in g.sortedNodes where n.kind == .asset && ["gpu", "crypto", "cash"].contains(n.type) {
      guard let v = s.values(of: n.id, schema: schema) else { continue }
      // As the waterfall counts it: an asset with several owners belongs
      // to the first by id.
      let owner = g.edges(to: n.id, .owns).map(\.from).min().flatMap { eIndex[$0] } ?? -1
      let liens = g.edges(from: n.id, .pledgedTo).compactMap { e -> (facility: Int, lien: Int)? in
        guard let f = fIndex[e.to] else { return nil }
        return (f, Int(e.attrs["lien"]?.number ?? 1))
      }.sorted { ($0.lien, $0.facility) < ($1.lien, $1.facility) }
      var a = Asset(id: n.id, kind: .cash, owner: owner, liens: liens)
      switch n.type {
      case "gpu":
        a.kind = .gpu
        let fleet = try FleetEconomics.compile(n.id, in: s, schema: schema)
        a.coolingHaircut = p.coolingHaircut(rackKW: v["rack_kw"]?.number ?? 40, liquid: v["cooling"]?.text != "air")
        let tenantPD = fleet.leases.map { l in
          g.edges(to: l.id, .rents).first.flatMap { s.values(of: $0.from, schema: schema)?["pd"]?.number } ?? 0
        }
        fleetSales(&a, fleet: fleet, tenantPD: tenantPD, curve: marketValues[n.id] ?? [], haircut: haircut, horizon: horizon, p, rm: rm)
        a.fleet = wp.fleets.firstIndex { $0.id == n.id } ?? -1
      case "crypto":
        a.kind = .crypto
        a.btc = v["coin"]?.text == "BTC"
        a.amount = v["amount"]?.number ?? 0
        a.price = v["price"]?.number ?? 0
        a.saleMonths = 1
        // Where the waterfall keeps what is left of the coins: with the
        // first facility (in its order) that lists them, else with the
        // owner's free coins.
        for (f, list) in wp.pledgedCoins.enumerated() {
          if let j = list.firstIndex(where: { $0.id == n.id }) {
            a.coin = wp.pledged.start[f] + j
            a.coinPledged = true
            break
          }
        }
        if a.coin < 0, owner >= 0, let j = wp.freeCoins[owner].firstIndex(where: { $0.id == n.id }) {
          a.coin = wp.free.start[owner] + j
        }
      default:
        a.amount = v["amount"]?.number ?? 0
        a.reserveOf = liens.first?.facility ?? -1
      }
      assets.append(a)
    }
    var plan = LiquidationPlan(
      months: horizon, parameters: p, facilities: facilities, amount: wp.facilities.map(\.amount),
      drawMonth: wp.facilities.map(\.drawMonth), obligor: wp.facilities.map(\.obligor),
      guarantorsOf: wp.facilities.map(\.guarantors), crossDefaults: wp.facilities.map(\.crossDefaults), entities: entities,
      borrows: wp.entities.map { Array($0.facilities) }, guarantees: guarantees, parentOf: parentOf,
      estateOrder: estateOrder(wp), assets: assets)
    plan.firstLienCash = [Double](repeating: 0, count: nf)
    for a in assets {
      plan.maxLien = max(plan.maxLien, a.liens.map(\.lien).max() ?? 0)
      if a.kind == .cash, a.reserveOf >= 0 { plan.firstLienCash[a.reserveOf] += a.amount }
    }
    return plan
  }

  /// A copy that shares no storage with this plan (one per thread).
  public func privateCopy() -> LiquidationPlan {
    var p = self
    p.facilities = facilities.map { $0 }
    p.amount = amount.map { $0 }
    p.drawMonth = drawMonth.map { $0 }
    p.obligor = obligor.map { $0 }
    p.guarantorsOf = guarantorsOf.map { $0.map { $0 } }
    p.crossDefaults = crossDefaults.map { $0.map { $0 } }
    p.entities = entities.map { $0 }
    p.borrows = borrows.map { $0.map { $0 } }
    p.guarantees = guarantees.map { $0.map { $0 } }
    p.parentOf = parentOf.map { $0 }
    p.estateOrder = estateOrder.map { $0 }
    p.firstLienCash = firstLienCash.map { $0 }
    p.assets = assets.map { a in
      var b = a
      b.liens = a.liens.map { $0 }
      b.fireProceeds = a.fireProceeds.map { $0 }
      b.goingConcern = a.goingConcern.map { $0 }
      b.gross = a.gross.map { $0 }
      b.marketValue = a.marketValue.map { $0 }
      b.stopMonth = a.stopMonth.map { $0 }
      return b
    }
    return p
  }

  /// Estates in an order where every obligor comes before its guarantors
  /// and every subsidiary before its parent; ties in the waterfall's
  /// bottom-up order. What a cycle leaves is appended in that order.
  static func estateOrder(_ wp: WaterfallPlan) -> [Int] {
    let ne = wp.entities.count
    var after = [[Int]](repeating: [], count: ne)  // e must come before after[e]
    var before = [Int](repeating: 0, count: ne)
    func edge(_ a: Int, _ b: Int) {
      guard a != b, a >= 0, b >= 0, !after[a].contains(b) else { return }
      after[a].append(b)
      before[b] += 1
    }
    for (e, ent) in wp.entities.enumerated() where ent.parent >= 0 { edge(e, ent.parent) }
    for f in wp.facilities { for gu in f.guarantors { edge(f.obligor, gu) } }
    var order: [Int] = []
    var done = [Bool](repeating: false, count: ne)
    while order.count < ne {
      guard let next = (0..<ne).first(where: { !done[$0] && before[$0] == 0 }) ?? (0..<ne).first(where: { !done[$0] }) else { break }
      done[next] = true
      order.append(next)
      for b in after[next] { before[b] -= 1 }
    }
    return order
  }

  /// A fleet's sale for each month it could start after (1 ... horizon).
  ///
  /// Fire sale: the receiver sells at the market's pace (`depth` units a
  /// month, all at once if the fleet is smaller), every unit at a discount
  /// of impact × (units a month ÷ depth), less the cooling haircut and the
  /// workout costs, while carrying the unsold units; at any month it may
  /// sell the rest in one block (discount impact × units ÷ depth, at most
  /// 95 %), and it takes the course worth the most.
  ///
  /// Going concern, while a lease covering the fleet is in its term: the
  /// buyer pays the present value of the contracted cash flow (the
  /// take-or-pay floor less power and opex, each month the tenant has not
  /// defaulted — its `pd` as a monthly hazard), of the bare fleet at market
  /// value if the tenant defaults, and of the fleet at market value when the
  /// lease ends; the hardware's value takes the cooling haircut (a later
  /// buyer must host it), the contract does not. The better of the two is
  /// the sale.
  static func fleetSales(
    _ a: inout Asset, fleet: FleetEconomics, tenantPD: [Double], curve: [Double], haircut: Double, horizon: Int,
    _ p: LiquidationParameters, rm: Double
  ) {
    a.units = fleet.units
    func value(_ m: Int) -> Double {
      guard !curve.isEmpty else { return 0 }
      return curve[min(max(m, 1), curve.count) - 1] * (1 - haircut)
    }
    let pace = min(a.units, p.depth)
    a.saleMonths = a.units > 0 ? Int((a.units / p.depth).rounded(.up)) : 0
    let discount = 1 - min(0.95, p.impact * pace / p.depth)
    let carryPerUnit = (fleet.kw * fleet.pue * hoursPerMonth * fleet.powerPrice + fleet.opexPerGPU) * p.carry
    let perUnit = a.units > 0 ? 1 / a.units : 0
    let n = max(1, horizon)
    a.fireProceeds = [Double](repeating: 0, count: n)
    a.goingConcern = [Double](repeating: 0, count: n)
    a.gross = [Double](repeating: 0, count: n)
    a.marketValue = (1...n).map { value($0) }
    a.stopMonth = [Int](repeating: 0, count: n)
    func block(_ units: Double, month m: Int) -> Double {
      units * value(m) * perUnit * (1 - min(0.95, p.impact * units / p.depth)) * (1 - a.coolingHaircut) * (1 - p.workout)
    }
    let hostable = 1 - a.coolingHaircut
    let hazard = tenantPD.map { 1 - Foundation.pow(1 - min(max($0, 0), 1), 1.0 / 12) }
    for d in 1...n {
      var left = a.units, pv = 0.0, gross = 0.0, df = 1 / (1 + rm)
      var bestGross = block(left, month: d + 1) / (1 - p.workout)
      var best = (block(left, month: d + 1) - left * carryPerUnit) * df, bestK = a.units > 0 ? 1 : 0
      for k in 1...max(1, a.saleMonths) where left > 0 {
        let q = min(pace, left)
        let price = value(d + k) * perUnit * discount * (1 - a.coolingHaircut)
        let g = q * price
        gross += g
        pv += (g * (1 - p.workout) - left * carryPerUnit) * df
        left -= q
        df /= 1 + rm
        // Sold at pace through month k, the rest in a block in month k + 1.
        let rest = left > 0 ? block(left, month: d + k + 1) : 0
        let candidate = pv + (rest - (left > 0 ? left * carryPerUnit : 0)) * df
        if candidate > best {
          best = candidate
          bestK = k + (left > 0 ? 1 : 0)
          bestGross = gross + rest / (1 - p.workout)
        }
      }
      let fire = max(0, best)
      a.fireProceeds[d - 1] = fire
      a.gross[d - 1] = bestGross
      a.stopMonth[d - 1] = bestK

      // The going concern: month by month while a lease is in its term.
      var survive = 1.0, discountFactor = 1.0, k = d + 1, gc = 0.0, inForce = false
      while k <= fleet.lastLifeMonth, k >= fleet.acquiredMonth, let active = fleet.activeLease(month: k), active.inTerm {
        let lease = active.lease
        inForce = true
        discountFactor /= 1 + rm
        let li = fleet.leases.firstIndex { $0.id == lease.id } ?? 0
        let before = survive
        survive *= 1 - (li < hazard.count ? hazard[li] : 0)
        let contracted = a.units * hoursPerMonth * lease.rate * lease.takeOrPay - fleet.operatingCost(month: k)
        gc += (survive * contracted + (before - survive) * value(k) * hostable) * discountFactor
        k += 1
      }
      guard inForce else { continue }
      gc += survive * value(k) * hostable * discountFactor
      gc = max(0, gc)
      a.goingConcern[d - 1] = gc
    }
  }
}
