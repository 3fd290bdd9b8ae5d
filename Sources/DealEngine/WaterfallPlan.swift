import DealCore
import Foundation

/// A facility as numbers, for the engine.
public struct FacilityPlan: Equatable, Sendable {
  public enum Amortization: String, Sendable { case level, straight, bullet, sculpted, sweep }

  public var id: String
  public var type: String
  public var amount: Double
  public var rate: Double
  public var floating: Bool
  public var spread: Double
  /// Deal month of the draw (1 = start).
  public var startMonth: Int
  public var term: Int
  public var amort: Amortization
  public var sweep: Double
  /// Payment priority among the obligor's own facilities (1 first).
  public var rank: Int
  public var minDSCR: Double?
  public var lockupDSCR: Double?
  public var maxLTV: Double?
  public var advanceRate: Double?
  public var dsraMonths: Int
  public var targetDSCR: Double?
  public var marginLTV: Double?
  public var conversionPrice: Double?
  public var sharePrice: Double?
  /// Convertible: the share's log-return per unit of bitcoin's.
  public var shareBeta = 1.5
  /// Refinancing at maturity (SPEC §5.2): term (nil: none), spread over
  /// the base rate, and the tests it must pass.
  public var refiTerm: Int? = nil
  public var refiSpread = 0.0
  public var refiMaxLTV: Double? = nil
  public var refiMinDSCR: Double? = nil
  /// Last deal month (maturity).
  public var maturity: Int { startMonth + term - 1 }
  /// The month it is drawn in the run (a draw before the deal start counts
  /// as drawn in month 1).
  public var drawMonth: Int { max(1, startMonth) }
  /// Scheduled principal per month of the term for sculpted debt (index 0 =
  /// first month), fixed at close from the base case.
  public var sculptedPrincipal: [Double] = []

  // The structure (SPEC §5.1): who pays it, who stands behind it, what
  // secures it.
  /// The obligor (index into the plan's entities).
  public var obligor = 0
  /// Its guarantors (entity indices, by id).
  public var guarantors: [Int] = []
  /// Facilities its default spreads to (`cross-default`).
  public var crossDefaults: [Int] = []
  /// Fleets pledged to it (fleet indices) and its lien on each.
  public var pledgedFleets: [Int] = []
  public var pledgedLiens: [Int] = []
  /// Pledged cash: the opening balance of its reserve account.
  public var reserveCash = 0.0

  /// The coupon: the fixed rate, or the base rate plus the spread.
  public var coupon: Double { floating ? Rates.base + spread : rate }
}

/// An entity as numbers: its own facilities, fleets, cash and coins.
public struct EntityPlan: Equatable, Sendable {
  public var id: String
  /// Its parent (`parent-of`; index into the plan's entities), or -1.
  public var parent = -1
  /// Its own facilities (those it borrows), a range of the plan's
  /// facilities, in payment order (rank, then id).
  public var facilities: Range<Int> = 0..<0
  /// The fleets it owns (fleet indices).
  public var fleets: [Int] = []
  /// Its cash at the start: the cash assets it owns that are pledged to
  /// nothing.
  public var cash = 0.0
  /// Facilities it guarantees (indices), in payment order.
  public var guaranteed: [Int] = []
}

/// The deal compiled for the monthly engine: flat arrays, entities from the
/// bottom of the `parent-of` tree up, each entity's facilities contiguous in
/// payment order, collateral values by month. Built once; run many times.
public struct WaterfallPlan: Sendable {
  public var months: Int
  public var fleets: [FleetEconomics]
  /// The owner of each fleet (entity index).
  public var fleetOwner: [Int]
  /// Facilities: each entity's own, entity by entity (bottom up), in
  /// payment order within each.
  public var facilities: [FacilityPlan]
  /// Entities from the bottom of the tree up (deepest first, then id).
  public var entities: [EntityPlan]
  /// Market value of each facility's fleets by month:
  /// `collateral[f * months + (m - 1)]`, before the scenario haircut.
  public var collateral: [Double]
  /// Market value of each fleet by month (`[fleet * months + m - 1]`).
  public var fleetValue: [Double]
  /// Market value by month of all GPU fleets pledged to any facility.
  public var totalCollateral: [Double]
  /// The liens on each fleet, best first: (facility, lien).
  public var fleetLiens: [[(facility: Int, lien: Int)]]

  /// Fleet economics by month, flattened (`[fleet * months + m - 1]`), so
  /// the engine's monthly loop does no lookups: whether a lease is in its
  /// term, its rate, utilization and take-or-pay, the spot rate at the
  /// lease's own deflation, and power and opex.
  struct FleetMonth {
    var capacity: Double  // units × 730 h, 0 outside the fleet's life or before a lease
    var inTerm: Bool
    var rate: Double
    var utilization: Double
    var takeOrPay: Double
    var spotRate: Double  // undeflated
    var spotDeflated: Double
    var power: Double
    var opex: Double
  }
  var fleetMonths: [FleetMonth] = []

  /// Coins, flattened: those pledged to facility f are `pledged.start[f]
  /// ..< pledged.start[f + 1]`; an entity's free coins (pledged to nothing)
  /// `free.start[e] ..< free.start[e + 1]`.
  struct CoinBook: Sendable {
    var start: [Int] = [0]
    var btc: [Bool] = []
    var amount: [Double] = []
    var price: [Double] = []

    init(_ lists: [[Coin]]) {
      for l in lists {
        for c in l {
          btc.append(c.btc)
          amount.append(c.amount)
          price.append(c.price)
        }
        start.append(btc.count)
      }
    }
  }
  public struct Coin: Equatable, Sendable {
    /// The crypto asset's id.
    public var id = ""
    public var btc: Bool
    public var amount: Double
    public var price: Double
  }
  public var pledgedCoins: [[Coin]]
  public var freeCoins: [[Coin]]
  var pledged = CoinBook([])
  var free = CoinBook([])

  /// A facility's numbers for the monthly loop, with no references in it:
  /// reading one copies no reference counts. Lists are ranges of the flat
  /// arrays below.
  struct FacilityCore: Sendable {
    var amount, rate, spread, sweepShare, reserveCash: Double
    var floating, convertible: Bool
    var amort: FacilityPlan.Amortization
    var startMonth, term, maturity, drawMonth, rank, dsraMonths, obligor: Int
    var minDSCR, lockupDSCR, maxLTV, advanceRate, marginLTV, conversionPrice, sharePrice: Double?
    var shareBeta, refiSpread: Double
    var refiTerm: Int
    var refiMaxLTV, refiMinDSCR: Double?
    var sculpted, guarantors, crossDefaults, pledges: Range<Int>
  }
  /// An entity's, likewise.
  struct EntityCore: Sendable {
    var parent: Int
    var cash: Double
    var facilities, fleets, guaranteed: Range<Int>
    /// Whether a step has anything to do for it: a borrowing base or
    /// margin call, a DSCR covenant, a sweep.
    var collateralTests = false, coverage = false, sweeps = false
  }
  var core: [FacilityCore] = []
  var entityCore: [EntityCore] = []
  /// The flat lists: sculpted principal, guarantors, cross-defaults,
  /// pledged fleets and their liens; each entity's fleets and the
  /// facilities it guarantees; each fleet's liens, best first.
  var sculpted: [Double] = [], guarantorList: [Int] = [], crossList: [Int] = []
  var pledgeFleet: [Int] = [], pledgeLien: [Int] = []
  var entityFleets: [Int] = [], entityGuaranteed: [Int] = []
  var lienStart: [Int] = [], lienFacility: [Int] = [], lienLevel: [Int] = []
  /// All of the loop's tables in raw memory (see `PlanTables`).
  var tables: PlanTables? = nil
  /// Bytes the engine's state takes for this plan (a run's block).
  public private(set) var arenaBytes = 0
  /// The part of it a run zeroes (the rest, its histories, it overwrites).
  private(set) var arenaZeroedBytes = 0
  /// The same for a run without detail (a Monte Carlo path).
  private(set) var arenaZeroedLean = 0

  /// Builds the loop's flat tables from the facilities and entities.
  mutating func flatten() {
    func append<T>(_ list: inout [T], _ xs: [T]) -> Range<Int> {
      let a = list.count
      list += xs
      return a..<list.count
    }
    sculpted = []; guarantorList = []; crossList = []; pledgeFleet = []; pledgeLien = []
    core = facilities.map { f in
      FacilityCore(
        amount: f.amount, rate: f.rate, spread: f.spread, sweepShare: f.amort == .sweep && f.sweep == 0 ? 1 : f.sweep,
        reserveCash: f.reserveCash, floating: f.floating, convertible: f.type == "convertible", amort: f.amort,
        startMonth: f.startMonth, term: f.term, maturity: f.maturity, drawMonth: f.drawMonth, rank: f.rank,
        dsraMonths: f.dsraMonths, obligor: f.obligor, minDSCR: f.minDSCR, lockupDSCR: f.lockupDSCR, maxLTV: f.maxLTV,
        advanceRate: f.advanceRate, marginLTV: f.marginLTV, conversionPrice: f.conversionPrice, sharePrice: f.sharePrice,
        shareBeta: f.shareBeta, refiSpread: f.refiSpread, refiTerm: f.refiTerm ?? 0, refiMaxLTV: f.refiMaxLTV,
        refiMinDSCR: f.refiMinDSCR,
        sculpted: append(&sculpted, f.sculptedPrincipal), guarantors: append(&guarantorList, f.guarantors),
        crossDefaults: append(&crossList, f.crossDefaults), pledges: append(&pledgeFleet, f.pledgedFleets))
    }
    for f in facilities { pledgeLien += f.pledgedLiens }
    entityFleets = []; entityGuaranteed = []
    entityCore = entities.map { e in
      var c = EntityCore(
        parent: e.parent, cash: e.cash, facilities: e.facilities, fleets: append(&entityFleets, e.fleets),
        guaranteed: append(&entityGuaranteed, e.guaranteed))
      for f in e.facilities {
        c.collateralTests = c.collateralTests || core[f].advanceRate != nil || core[f].marginLTV != nil
        c.coverage = c.coverage || core[f].minDSCR != nil || core[f].lockupDSCR != nil || core[f].refiMinDSCR != nil
        c.sweeps = c.sweeps || core[f].sweepShare > 0
      }
      return c
    }
    lienStart = [0]; lienFacility = []; lienLevel = []
    for l in fleetLiens {
      for x in l {
        lienFacility.append(x.facility)
        lienLevel.append(x.lien)
      }
      lienStart.append(lienFacility.count)
    }
    tables = PlanTables(self)
    (arenaBytes, arenaZeroedBytes, arenaZeroedLean) = WaterfallRun.bytes(self)
  }

  /// Whether facility f has collateral: fleets with a value in some month,
  /// or pledged coins.
  func isSecured(_ f: Int) -> Bool {
    if pledged.start[f + 1] > pledged.start[f] { return true }
    for m in 0..<months where collateral[f * months + m] > 0 { return true }
    return false
  }

  /// Whether any fleet is pledged to more than one facility (lien-aware
  /// LTV then differs from each facility's own).
  var hasSharedCollateral: Bool { fleetLiens.contains { $0.count > 1 } }

  /// A copy that shares no storage with this plan: threads running the
  /// engine each use their own, so reading the plan never contends on the
  /// reference counts of shared buffers.
  public func privateCopy() -> WaterfallPlan {
    var p = self
    p.fleets = fleets.map { var f = $0; f.leases = f.leases.map { $0 }; return f }
    p.fleetOwner = fleetOwner.map { $0 }
    p.facilities = facilities.map { f in
      var c = f
      c.sculptedPrincipal = f.sculptedPrincipal.map { $0 }
      c.guarantors = f.guarantors.map { $0 }
      c.crossDefaults = f.crossDefaults.map { $0 }
      c.pledgedFleets = f.pledgedFleets.map { $0 }
      c.pledgedLiens = f.pledgedLiens.map { $0 }
      return c
    }
    p.entities = entities.map { e in
      var c = e
      c.fleets = e.fleets.map { $0 }
      c.guaranteed = e.guaranteed.map { $0 }
      return c
    }
    p.collateral = collateral.map { $0 }
    p.fleetValue = fleetValue.map { $0 }
    p.totalCollateral = totalCollateral.map { $0 }
    p.fleetLiens = fleetLiens.map { $0.map { $0 } }
    p.pledgedCoins = pledgedCoins.map { $0.map { $0 } }
    p.freeCoins = freeCoins.map { $0.map { $0 } }
    p.fleetMonths = fleetMonths.map { $0 }
    p.prepareCoins()
    p.flatten()
    return p
  }

  mutating func prepareCoins() {
    pledged = CoinBook(pledgedCoins)
    free = CoinBook(freeCoins)
  }

  mutating func prepare() {
    prepareCoins()
    fleetMonths = []
    fleetMonths.reserveCapacity(fleets.count * months)
    for fl in fleets {
      for m in 1...max(1, months) {
        let alive = m >= fl.acquiredMonth && m <= fl.lastLifeMonth
        let lease = alive ? fl.activeLease(month: m) : nil
        let costBase = fl.operatingCost(month: m)
        let opexPart = alive ? fl.units * fl.opexPerGPU : 0
        fleetMonths.append(
          FleetMonth(
            capacity: lease == nil ? 0 : fl.units * hoursPerMonth, inTerm: lease?.inTerm ?? false,
            rate: lease?.lease.rate ?? 0, utilization: lease?.lease.utilization ?? 0, takeOrPay: lease?.lease.takeOrPay ?? 0,
            spotRate: lease?.lease.spotRate ?? 0, spotDeflated: lease.map { $0.lease.spot(month: m) } ?? 0,
            power: costBase - opexPart, opex: opexPart))
      }
    }
    flatten()
  }

  public init(
    months: Int, fleets: [FleetEconomics], fleetOwner: [Int], facilities: [FacilityPlan], entities: [EntityPlan],
    collateral: [Double], fleetValue: [Double], totalCollateral: [Double], pledgedCoins: [[Coin]], freeCoins: [[Coin]]
  ) {
    self.months = months
    self.fleets = fleets
    self.fleetOwner = fleetOwner
    self.facilities = facilities
    self.entities = entities
    self.collateral = collateral
    self.fleetValue = fleetValue
    self.totalCollateral = totalCollateral
    self.pledgedCoins = pledgedCoins
    self.freeCoins = freeCoins
    var liens = [[(facility: Int, lien: Int)]](repeating: [], count: fleets.count)
    for (f, fac) in facilities.enumerated() {
      for (k, fl) in fac.pledgedFleets.enumerated() { liens[fl].append((f, fac.pledgedLiens[k])) }
    }
    fleetLiens = liens.map { $0.sorted { ($0.lien, $0.facility) < ($1.lien, $1.facility) } }
    prepare()
  }
}
