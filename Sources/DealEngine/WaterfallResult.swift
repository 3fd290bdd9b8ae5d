import DealCore
/// One month of the deal.
public struct Period: Equatable, Sendable {
  public var month: Int
  public var revenue: Double
  public var opex: Double
  public var cfads: Double
  public var debtService: Double
  /// nil when no debt service is due.
  public var dscr: Double?
  public var ltv: Double?
  public var balance: Double
  /// Market value of the pledged collateral (fleets after haircut, coins).
  public var collateral: Double
  public var interest: Double
  public var principal: Double
  public var reserve: Double
  public var toEquity: Double
  public var trapped: Double
}

/// A covenant breach, a margin call, a lock-up or a default.
public struct Breach: Equatable, Sendable {
  public var month: Int
  public var facility: String
  public var kind: String
  public var detail: String
}

/// Per-facility results.
public struct FacilityResult: Equatable, Sendable {
  public var id: String
  public var interestPaid = 0.0
  public var principalPaid = 0.0
  public var balanceEnd = 0.0
  /// Balance outstanding when the facility defaulted (before recoveries).
  public var loss = 0.0
  public var defaultMonth: Int? = nil
  /// Why it defaulted: "payment default", "margin call default", or
  /// "cross-default" when another facility's default spread to it.
  public var defaultKind: String? = nil
  public var converted = false
  public var refinancingNeed = 0.0
  public var coinsSold = 0.0
  public var guarantorPaid = 0.0
  /// Balance at the end of the deal's first default month (what a
  /// liquidation then would have to recover); 0 if the deal never defaults.
  public var balanceAtDefault = 0.0
  /// The reserve account (pledged cash and top-ups) then, and at the end.
  public var reserveAtDefault = 0.0
  public var reserveEnd = 0.0
  /// Balance-years the lender had at risk while the facility performed
  /// (Σ monthly balances ÷ 12): what a spread is earned on.
  public var exposureYears = 0.0
  /// Lender receipts by month (index 0 = the end of month 1); detail runs only.
  public var flows: [Double] = []
  public var irr: Double? = nil
  public var wal: Double? = nil
}

/// The outcome of a run.
public struct WaterfallResult: Sendable {
  public var months: Int
  public var minDSCR: Double?
  public var avgDSCR: Double?
  public var firstBreachMonth: Int?
  public var defaultMonth: Int?
  public var periods: [Period]
  public var facilities: [FacilityResult]
  public var breaches: [Breach]
  /// Facilities in the order they defaulted, by id and by index in the
  /// plan's facilities.
  public var defaulted: [String]
  public var defaultedIndices: [Int]

  /// The result of the facility with this id.
  public func facility(_ id: String) -> FacilityResult? { facilities.first { $0.id == id } }
}
