import Foundation

/// The settable assumptions of a fire sale (SPEC §5 `liquidate`). The
/// README explains each default and where it comes from.
public struct LiquidationParameters: Equatable, Sendable {
  /// GPUs a month the secondary market absorbs.
  public var depth = 2_000.0
  /// Price discount when a full month's depth is sold (linear in the pace).
  public var impact = 0.20
  /// Largest haircut for a fleet that no buyer can host (cooling, density).
  public var coolingHaircut = 0.30
  /// Share of the fleet's power and opex still paid while it waits to be
  /// sold (idle servers, cooling, hosting, staff).
  public var carry = 0.50
  /// Receiver, legal and brokerage costs, as a share of gross proceeds.
  public var workout = 0.05
  /// Annual rate discounting proceeds back to the default month.
  public var discount = 0.12
  /// Crypto slippage per √(sale value / $10m), capped at 50 %.
  public var slippage = 0.005

  public init() {}

  /// Share of buyer capacity that can host racks of a given density (kW per
  /// rack), interpolated linearly; denser racks find fewer buyers.
  public static let rackCapacity: [(kw: Double, share: Double)] = [
    (10, 1.0), (20, 0.60), (30, 0.35), (50, 0.15), (80, 0.07), (130, 0.03),
  ]
  /// Share of buyers with liquid cooling, for a fleet that needs it.
  public static let liquidShare = 0.30

  /// Share of buyers who can host a fleet: rack density, then cooling.
  public static func hostableShare(rackKW: Double, liquid: Bool) -> Double {
    let t = rackCapacity
    var share = t.last!.share
    if rackKW <= t[0].kw {
      share = t[0].share
    } else {
      for i in 1..<t.count where rackKW <= t[i].kw {
        let w = (rackKW - t[i - 1].kw) / (t[i].kw - t[i - 1].kw)
        share = t[i - 1].share + w * (t[i].share - t[i - 1].share)
        break
      }
    }
    return share * (liquid ? liquidShare : 1)
  }

  /// The haircut on a fleet's price for its cooling and rack density.
  public func coolingHaircut(rackKW: Double, liquid: Bool) -> Double {
    coolingHaircut * (1 - Self.hostableShare(rackKW: rackKW, liquid: liquid))
  }

  /// Slippage on a crypto sale of `value` USD.
  public func cryptoSlippage(value: Double) -> Double {
    min(0.5, slippage * (max(0, value) / 10_000_000).squareRoot())
  }
}

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
    haircut: Double = 0, months: Int? = nil
  ) throws(DealError) -> LiquidationPlan {
    let g = s.graph
    let horizon = months ?? s.deal.horizon
    var facs: [(id: String, rank: Int)] = []
    for n in g.sortedNodes where n.kind == .facility {
      facs.append((n.id, Int(s.values(of: n.id, schema: schema)?["rank"]?.number ?? 1)))
    }
    facs.sort { ($0.rank, $0.id) < ($1.rank, $1.id) }
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

/// What the liquidation starts from: when, who defaulted first, what each
/// facility is owed, and what the waterfall already used up.
public struct LiquidationInput: Sendable {
  /// Deal month of the default (sales start the month after).
  public var defaultMonth: Int
  /// Facilities in default, in order (the waterfall's chain or those named).
  public var triggers: [Int]
  /// What each facility is owed at the default month (balance outstanding).
  public var claims: [Double]
  /// Coin price factors (1 + change) at the sale.
  public var btcFactor = 1.0
  public var ethFactor = 1.0
  /// Coins each facility's margin calls already sold (coin units).
  public var coinsSold: [Double]
  /// What each facility's guarantors already paid in the waterfall.
  public var guarantorPaid: [Double]
  /// Each facility's reserve account at the default (the pledged cash as
  /// the waterfall left it); nil takes the cash as stated in the deal.
  public var reserves: [Double]? = nil

  public init(defaultMonth: Int, triggers: [Int], claims: [Double]) {
    self.defaultMonth = defaultMonth
    self.triggers = triggers
    self.claims = claims
    coinsSold = [Double](repeating: 0, count: claims.count)
    guarantorPaid = [Double](repeating: 0, count: claims.count)
  }
}

/// Why a facility is in default.
public enum DefaultCause: Equatable, Sendable {
  case trigger
  case crossDefault(from: Int)
  /// Its obligor guaranteed `facility` and could not honour it.
  case guarantee(facility: Int)
}

/// The fire sale and the distribution of its proceeds (SPEC §5 `liquidate`).
///
/// 1. Assets are sold: every asset pledged to a facility in default, and
///    the free (unpledged) assets of entities in default and of guarantors
///    called on. GPUs over months (`LiquidationPlan.compile`), crypto with
///    slippage in the month after the default, cash at face.
/// 2. Each sold asset's net proceeds go down its liens, most senior first; a
///    facility with the same lien on several assets takes from each in
///    proportion to what is left of it. Facilities ranking ahead on a sold
///    asset that are not in default are repaid their balance.
/// 3. Guarantors pay the deficiencies of the facilities they guarantee from
///    their free assets (pro rata when short). A guarantor that cannot pay in
///    full is in default: the facilities it borrows default with it.
/// 4. What is left of each defaulted obligor — its free assets and the
///    surplus of its sold assets after their liens — pays the remaining
///    claims against it pari passu.
/// A default spreads along `cross-default` edges and through guarantees
/// that are not honoured, until nothing changes.
///
/// The workspace holds every buffer, so a Monte Carlo path allocates
/// nothing once it has run once.
public final class LiquidationWorkspace {
  /// Per facility.
  public let inDefault: UnsafeMutableBufferPointer<Bool>
  public let fromCollateral: UnsafeMutableBufferPointer<Double>
  public let fromGuarantors: UnsafeMutableBufferPointer<Double>
  public let fromUnsecured: UnsafeMutableBufferPointer<Double>
  /// Taken out at a sale without being in default (ranked ahead).
  public let repaidAtSale: UnsafeMutableBufferPointer<Double>
  /// Months until the last sale that paid the facility anything: its
  /// collateral's, and the sales that fed the guarantors and estates it
  /// recovered from.
  public let months: UnsafeMutableBufferPointer<Int>
  /// Per asset: net proceeds (0 when not sold) and whether it was sold.
  public let assetProceeds: UnsafeMutableBufferPointer<Double>
  public let assetSold: UnsafeMutableBufferPointer<Bool>
  /// Per entity: in default (obligors of defaulted facilities, failed guarantors).
  public let entityInDefault: UnsafeMutableBufferPointer<Bool>
  /// Facilities in the order they defaulted, and why.
  public var chain: [Int] { Array(chainBuffer[0..<chainCount]) }
  public var cause: [DefaultCause] { Array(causeBuffer[0..<chainCount]) }
  /// The chain in raw memory (a facility defaults once: nf at most).
  public let chainBuffer: UnsafeMutableBufferPointer<Int>
  let causeBuffer: UnsafeMutableBufferPointer<DefaultCause>
  let counts: UnsafeMutableBufferPointer<Int>
  public var chainCount: Int { counts[0] }
  /// Totals: [net proceeds, distributed].
  let totals: UnsafeMutableBufferPointer<Double>
  public var netProceeds: Double { totals[0] }
  public var distributed: Double { totals[1] }
  let remaining: UnsafeMutableBufferPointer<Double>  // per asset, during distribution
  let owed: UnsafeMutableBufferPointer<Double>  // per facility, during distribution
  let pool: UnsafeMutableBufferPointer<Double>  // per entity: free assets
  let estate: UnsafeMutableBufferPointer<Double>  // per entity: surplus of its sold pledged assets
  let assetMonths: UnsafeMutableBufferPointer<Int>  // per asset: months its sale takes
  let poolMonths: UnsafeMutableBufferPointer<Int>  // per entity: months until its free assets are sold
  let estateMonths: UnsafeMutableBufferPointer<Int>  // per entity: months until its estate is realised
  let failed: UnsafeMutableBufferPointer<Bool>  // guarantors that could not pay
  let demand: UnsafeMutableBufferPointer<Double>  // per asset, at one lien level
  let want: UnsafeMutableBufferPointer<Double>  // per facility × asset, at one lien level
  let sizes: (facilities: Int, assets: Int, entities: Int)

  /// Buffers sized for `plan` (immutable references to mutable memory, so
  /// the engine's loops pay no exclusivity checks).
  public init(_ plan: LiquidationPlan) {
    let nf = plan.facilities.count, na = plan.assets.count, ne = plan.entities.count
    sizes = (nf, na, ne)
    inDefault = cacheLineBuffer(nf, false)
    fromCollateral = cacheLineBuffer(nf, 0)
    fromGuarantors = cacheLineBuffer(nf, 0)
    fromUnsecured = cacheLineBuffer(nf, 0)
    repaidAtSale = cacheLineBuffer(nf, 0)
    months = cacheLineBuffer(nf, 0)
    owed = cacheLineBuffer(nf, 0)
    assetProceeds = cacheLineBuffer(na, 0)
    assetSold = cacheLineBuffer(na, false)
    remaining = cacheLineBuffer(na, 0)
    demand = cacheLineBuffer(na, 0)
    want = cacheLineBuffer(nf * na, 0)
    entityInDefault = cacheLineBuffer(ne, false)
    pool = cacheLineBuffer(ne, 0)
    estate = cacheLineBuffer(ne, 0)
    assetMonths = cacheLineBuffer(na, 0)
    poolMonths = cacheLineBuffer(ne, 0)
    estateMonths = cacheLineBuffer(ne, 0)
    failed = cacheLineBuffer(ne, false)
    totals = cacheLineBuffer(2, 0)
    chainBuffer = cacheLineBuffer(nf, 0)
    causeBuffer = cacheLineBuffer(nf, DefaultCause.trigger)
    counts = cacheLineBuffer(1, 0)
  }

  deinit {
    for b in [fromCollateral, fromGuarantors, fromUnsecured, repaidAtSale, owed, assetProceeds, remaining, demand, want, pool, estate, totals] {
      b.deallocate()
    }
    for b in [inDefault, assetSold, entityInDefault, failed] { b.deallocate() }
    for b in [months, assetMonths, poolMonths, estateMonths] { b.deallocate() }
    chainBuffer.deallocate()
    causeBuffer.deallocate()
    counts.deallocate()
  }

  func append(_ f: Int, _ why: DefaultCause) {
    chainBuffer[counts[0]] = f
    causeBuffer[counts[0]] = why
    counts[0] += 1
  }

  public func recovered(_ f: Int) -> Double { fromCollateral[f] + fromGuarantors[f] + fromUnsecured[f] }

  /// Clears the buffers (one by one: a list of them would be an allocation
  /// per Monte Carlo path).
  func reset() {
    fromCollateral.update(repeating: 0)
    fromGuarantors.update(repeating: 0)
    fromUnsecured.update(repeating: 0)
    repaidAtSale.update(repeating: 0)
    owed.update(repeating: 0)
    assetProceeds.update(repeating: 0)
    remaining.update(repeating: 0)
    demand.update(repeating: 0)
    want.update(repeating: 0)
    pool.update(repeating: 0)
    estate.update(repeating: 0)
    totals.update(repeating: 0)
    inDefault.update(repeating: false)
    assetSold.update(repeating: false)
    entityInDefault.update(repeating: false)
    months.update(repeating: 0)
    assetMonths.update(repeating: 0)
    poolMonths.update(repeating: 0)
    estateMonths.update(repeating: 0)
    counts[0] = 0
  }
}

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
