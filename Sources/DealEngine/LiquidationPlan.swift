import DealCore
import Foundation

/// The deal compiled for liquidation: every asset a receiver could sell,
/// with its liens, and the net proceeds of a GPU fleet's sale for each
/// possible default month, computed once.
public struct LiquidationPlan: Sendable {
  public struct Asset: Sendable {
    public enum Kind: Sendable { case gpu, crypto, cash }
    public var id: String
    public var kind: Kind
    /// Owning entity (index into `entities`), or -1.
    public var owner: Int
    /// Facilities holding a lien, most senior first: (facility, lien).
    public var liens: [(facility: Int, lien: Int)]
    public var units: Double = 0
    /// GPU: net proceeds discounted to the default month, by default month
    /// (`[d - 1]`), and the gross proceeds before costs.
    public var proceeds: [Double] = []
    public var gross: [Double] = []
    /// GPU: the market value in the default month (before any haircut).
    public var marketValue: [Double] = []
    /// GPU: months a full sale takes; the haircut for cooling and density.
    public var saleMonths = 0
    /// GPU: the months the sale takes, by default month (shorter than
    /// `saleMonths` when the receiver sells the rest in one block).
    public var stopMonth: [Int] = []
    public var coolingHaircut = 0.0
    /// Crypto: coin, amount and price; cash: amount.
    public var btc = false
    public var amount = 0.0
    public var price = 0.0

    func hasLien(_ f: Int, _ level: Int) -> Bool {
      for l in liens where l.facility == f && l.lien == level { return true }
      return false
    }
  }

  public var months: Int
  public var parameters: LiquidationParameters
  /// Facilities in payment order (rank, then id), as in `WaterfallPlan`.
  public var facilities: [String]
  /// The obligor of each facility (entity index), or -1.
  public var obligor: [Int]
  public var guarantorsOf: [[Int]]
  public var crossDefaults: [[Int]]
  public var entities: [String]
  /// Facilities each entity borrows.
  public var borrows: [[Int]]
  /// Each entity's parent (`parent-of`), and the entities ordered so that
  /// subsidiaries come before their parents.
  public var parentOf: [Int?]
  public var bottomUp: [Int]
  public var assets: [Asset]
  /// Per facility: the coins pledged to it, and the cash whose first lien it
  /// holds (stated amounts), so a liquidation need not sum them per asset.
  public var pledgedCoinAmount: [Double] = []
  public var firstLienCash: [Double] = []
  /// The most junior lien on any asset (liens run 1 to 9).
  public var maxLien = 0

  /// How many months of market values a sale needs: to the end of the
  /// longest fleet's sale after a default as late as `lastDefault`, and at
  /// least the horizon (the curves come from `depreciate months=N`).
  public static func curveMonths(
    _ s: Session, schema: Schema, parameters p: LiquidationParameters, lastDefault: Int
  ) -> Int {
    let maxUnits = s.graph.sortedNodes.filter { $0.kind == .asset && $0.type == "gpu" }
      .compactMap { s.values(of: $0.id, schema: schema)?["units"]?.number }.max() ?? 0
    return min(1200, max(s.deal.horizon, lastDefault + Int((maxUnits / p.depth).rounded(.up)) + 1))
  }

  /// A copy that shares no storage with this plan (one per thread).
  public func privateCopy() -> LiquidationPlan {
    var p = self
    p.facilities = facilities.map { $0 }
    p.obligor = obligor.map { $0 }
    p.guarantorsOf = guarantorsOf.map { $0.map { $0 } }
    p.crossDefaults = crossDefaults.map { $0.map { $0 } }
    p.entities = entities.map { $0 }
    p.borrows = borrows.map { $0.map { $0 } }
    p.parentOf = parentOf.map { $0 }
    p.bottomUp = bottomUp.map { $0 }
    p.pledgedCoinAmount = pledgedCoinAmount.map { $0 }
    p.firstLienCash = firstLienCash.map { $0 }
    p.assets = assets.map { a in
      var b = a
      b.liens = a.liens.map { $0 }
      b.proceeds = a.proceeds.map { $0 }
      b.gross = a.gross.map { $0 }
      b.marketValue = a.marketValue.map { $0 }
      b.stopMonth = a.stopMonth.map { $0 }
      return b
    }
    return p
  }

  /// Compiles the deal. `marketValues` are whole-asset market values by
  /// month from `depreciate`, ideally running past the horizon by the length
  /// of the longest sale (the last value is held beyond the curve).
  /// `haircut` is a scenario's extra market-value haircut.
  public static func compile(
    _ s: Session, schema: Schema, marketValues: [String: [Double]], parameters p: LiquidationParameters,
    haircut: Double = 0, months: Int? = nil, order: [String]? = nil
  ) throws(DealError) -> LiquidationPlan {
    let g = s.graph
    let horizon = months ?? s.deal.horizon
    var facs: [(id: String, rank: Int)] = []
    for n in g.sortedNodes where n.kind == .facility {
      facs.append((n.id, Int(s.values(of: n.id, schema: schema)?["rank"]?.number ?? 1)))
    }
    facs.sort { ($0.rank, $0.id) < ($1.rank, $1.id) }
    // The waterfall plan's order, when given (a Monte Carlo path hands its
    // facilities over by index).
    if let order {
      let at = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
      facs.sort { (at[$0.id] ?? .max, $0.id) < (at[$1.id] ?? .max, $1.id) }
    }
    let fIndex = Dictionary(uniqueKeysWithValues: facs.enumerated().map { ($0.element.id, $0.offset) })
    let entities = g.sortedNodes.filter { $0.kind == .entity }.map(\.id)
    let eIndex = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($0.element, $0.offset) })
    var obligor = [Int](repeating: -1, count: facs.count)
    var guarantorsOf = [[Int]](repeating: [], count: facs.count)
    var crossDefaults = [[Int]](repeating: [], count: facs.count)
    var borrows = [[Int]](repeating: [], count: entities.count)
    for (f, fac) in facs.enumerated() {
      if let e = g.edges(to: fac.id, .borrows).first.flatMap({ eIndex[$0.from] }) {
        obligor[f] = e
        borrows[e].append(f)
      }
      guarantorsOf[f] = g.edges(to: fac.id, .guarantees).compactMap { eIndex[$0.from] }
      crossDefaults[f] = g.edges(from: fac.id, .crossDefault).compactMap { fIndex[$0.to] }
    }
    let rm = Discount.monthly(p.discount)
    var assets: [Asset] = []
    for n in g.sortedNodes where n.kind == .asset && ["gpu", "crypto", "cash"].contains(n.type) {
      guard let v = s.values(of: n.id, schema: schema) else { continue }
      let owner = g.edges(to: n.id, .owns).first.flatMap { eIndex[$0.from] } ?? -1
      let liens = g.edges(from: n.id, .pledgedTo).compactMap { e -> (facility: Int, lien: Int)? in
        guard let f = fIndex[e.to] else { return nil }
        return (f, Int(e.attrs["lien"]?.number ?? 1))
      }.sorted { ($0.lien, $0.facility) < ($1.lien, $1.facility) }
      var a = Asset(id: n.id, kind: .cash, owner: owner, liens: liens)
      switch n.type {
      case "gpu":
        a.kind = .gpu
        let fleet = try FleetEconomics.compile(n.id, in: s, schema: schema)
        a.units = fleet.units
        a.coolingHaircut = p.coolingHaircut(rackKW: v["rack_kw"]?.number ?? 40, liquid: v["cooling"]?.text != "air")
        let curve = marketValues[n.id] ?? []
        func value(_ m: Int) -> Double {
          guard !curve.isEmpty else { return 0 }
          return curve[min(max(m, 1), curve.count) - 1] * (1 - haircut)
        }
        // The receiver sells at the market's pace: `depth` units a month,
        // all at once if the fleet is smaller; every unit at a discount of
        // impact × (units a month ÷ depth).
        let pace = min(a.units, p.depth)
        a.saleMonths = a.units > 0 ? Int((a.units / p.depth).rounded(.up)) : 0
        let discount = 1 - min(0.95, p.impact * pace / p.depth)
        let carryPerUnit = (fleet.kw * fleet.pue * hoursPerMonth * fleet.powerPrice + fleet.opexPerGPU) * p.carry
        let perUnit = a.units > 0 ? 1 / a.units : 0
        a.proceeds = [Double](repeating: 0, count: horizon)
        a.gross = [Double](repeating: 0, count: horizon)
        a.marketValue = (1...max(1, horizon)).map { value($0) }
        // At any month the receiver may sell what is left in one block, at
        // a discount of impact × (units ÷ depth), at most 95 %: it stops
        // selling at the market's pace when that is worth more than carrying
        // the rest. The sale takes the course that is worth the most.
        a.stopMonth = [Int](repeating: 0, count: horizon)
        func block(_ units: Double, month m: Int) -> Double {
          units * value(m) * perUnit * (1 - min(0.95, p.impact * units / p.depth)) * (1 - a.coolingHaircut) * (1 - p.workout)
        }
        for d in 1...max(1, horizon) where d <= horizon {
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
          a.proceeds[d - 1] = max(0, best)
          a.gross[d - 1] = bestGross
          a.stopMonth[d - 1] = bestK
        }
      case "crypto":
        a.kind = .crypto
        a.btc = v["coin"]?.text == "BTC"
        a.amount = v["amount"]?.number ?? 0
        a.price = v["price"]?.number ?? 0
        a.saleMonths = 1
      default:
        a.amount = v["amount"]?.number ?? 0
      }
      assets.append(a)
    }
    let parentOf = entities.map { e in g.edges(to: e, .parentOf).first.flatMap { eIndex[$0.from] } }
    // Depth below the top parent (bounded: a cycle is a `check` error).
    let depth = entities.indices.map { e -> Int in
      var d = 0, x = e
      while let up = parentOf[x], d < entities.count {
        d += 1
        x = up
      }
      return d
    }
    let bottomUp = entities.indices.sorted { (depth[$0], $1) > (depth[$1], $0) }
    var plan = LiquidationPlan(
      months: horizon, parameters: p, facilities: facs.map(\.id), obligor: obligor, guarantorsOf: guarantorsOf,
      crossDefaults: crossDefaults, entities: entities, borrows: borrows, parentOf: parentOf, bottomUp: bottomUp,
      assets: assets)
    plan.pledgedCoinAmount = [Double](repeating: 0, count: facs.count)
    plan.firstLienCash = [Double](repeating: 0, count: facs.count)
    for a in assets {
      plan.maxLien = max(plan.maxLien, a.liens.map(\.lien).max() ?? 0)
      if a.kind == .crypto { for f in Set(a.liens.map(\.facility)) { plan.pledgedCoinAmount[f] += a.amount } }
      if a.kind == .cash, let f = a.liens.first?.facility { plan.firstLienCash[f] += a.amount }
    }
    return plan
  }
}
