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
  /// Last deal month (maturity).
  public var maturity: Int { startMonth + term - 1 }
  /// Scheduled principal per month of the term for sculpted debt (index 0 =
  /// first month), fixed at close from the base case.
  public var sculptedPrincipal: [Double] = []
}

/// The deal compiled for the monthly engine: flat arrays, facilities in
/// payment order, collateral values by month. Built once; run many times.
public struct WaterfallPlan: Sendable {
  public var months: Int
  public var fleets: [FleetEconomics]
  public var facilities: [FacilityPlan]
  /// Market value of each facility's non-crypto collateral by month:
  /// `collateral[f * months + (m - 1)]`, before the scenario haircut.
  public var collateral: [Double]
  /// Coins pledged to each facility: (coin is BTC, amount, price).
  public var pledgedCoins: [[(btc: Bool, amount: Double, price: Double)]]
  /// Initial reserve account (pledged cash) of each facility.
  public var reserveCash: [Double]
  /// Guarantors of each facility (indices into `guarantors`).
  public var guarantorsOf: [[Int]]
  /// Guarantor resources: cash, and coins (BTC?, amount, price).
  public var guarantors: [(id: String, cash: Double, coins: [(btc: Bool, amount: Double, price: Double)])]
  /// Facilities each facility's default spreads to (cross-default).
  public var crossDefaults: [[Int]]
  /// Market value by month of all GPU fleets pledged to any facility.
  public var totalCollateral: [Double]

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
  /// Coins flattened for the engine: pledged coins of facility f are
  /// `coinStart[f]..<coinStart[f + 1]`; a guarantor's likewise.
  struct CoinBook {
    var start: [Int] = [0]
    var btc: [Bool] = []
    var amount: [Double] = []
    var price: [Double] = []

    init(_ lists: [[(btc: Bool, amount: Double, price: Double)]]) {
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
  var pledgedBook = CoinBook([])
  var guarantorBook = CoinBook([])

  /// Bytes the engine's buffers take for this plan (27 pieces, each rounded
  /// up to 8 bytes).
  public var arenaBytes: Int {
    8 * (20 * facilities.count + 2 * facilities.count * months + 2 * months + pledgedBook.amount.count
      + guarantorBook.amount.count + guarantors.count + 29)
  }

  /// Whether facility f has collateral: fleets with a value in some month,
  /// or pledged coins.
  func isSecured(_ f: Int) -> Bool {
    if pledgedBook.start[f + 1] > pledgedBook.start[f] { return true }
    for m in 0..<months where collateral[f * months + m] > 0 { return true }
    return false
  }

  /// A copy that shares no storage with this plan: threads running the
  /// engine each use their own, so reading the plan never contends on the
  /// reference counts of shared buffers.
  public func privateCopy() -> WaterfallPlan {
    var p = self
    p.fleets = fleets.map { var f = $0; f.leases = f.leases.map { $0 }; return f }
    p.facilities = facilities.map { var f = $0; f.sculptedPrincipal = f.sculptedPrincipal.map { $0 }; return f }
    p.collateral = collateral.map { $0 }
    p.pledgedCoins = pledgedCoins.map { $0.map { $0 } }
    p.reserveCash = reserveCash.map { $0 }
    p.guarantorsOf = guarantorsOf.map { $0.map { $0 } }
    p.guarantors = guarantors.map { ($0.id, $0.cash, $0.coins.map { $0 }) }
    p.crossDefaults = crossDefaults.map { $0.map { $0 } }
    p.totalCollateral = totalCollateral.map { $0 }
    p.fleetMonths = fleetMonths.map { $0 }
    p.prepareCoins()
    return p
  }

  mutating func prepareCoins() {
    pledgedBook = CoinBook(pledgedCoins)
    guarantorBook = CoinBook(guarantors.map(\.coins))
  }

  mutating func prepare() {
    prepareCoins()
    fleetMonths = []
    fleetMonths.reserveCapacity(fleets.count * months)
    for fl in fleets {
      for m in 1...months {
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
  }

  public init(
    months: Int, fleets: [FleetEconomics], facilities: [FacilityPlan], collateral: [Double],
    pledgedCoins: [[(btc: Bool, amount: Double, price: Double)]], reserveCash: [Double], guarantorsOf: [[Int]],
    guarantors: [(id: String, cash: Double, coins: [(btc: Bool, amount: Double, price: Double)])],
    crossDefaults: [[Int]], totalCollateral: [Double]
  ) {
    self.months = months
    self.fleets = fleets
    self.facilities = facilities
    self.collateral = collateral
    self.pledgedCoins = pledgedCoins
    self.reserveCash = reserveCash
    self.guarantorsOf = guarantorsOf
    self.guarantors = guarantors
    self.crossDefaults = crossDefaults
    self.totalCollateral = totalCollateral
    prepare()
  }
}
