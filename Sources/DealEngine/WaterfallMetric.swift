import DealCore

/// A number read off a waterfall run, by the name a user types:
/// `min_dscr`, `avg_dscr`, `default_month`, `first_breach_month`, or
/// `FACILITY.loss` / `.irr` / `.balance_end` / `.interest_paid` /
/// `.principal_paid` / `.wal`. Its value is the one `waterfall --json`
/// prints (ratios to four decimals, money to the cent), so a grid cell or a
/// breakeven agrees with the run a user would look at.
public enum WaterfallMetric: Equatable, Sendable {
  case minDSCR, avgDSCR, defaultMonth, firstBreachMonth
  case facility(String, FacilityKey)

  public enum FacilityKey: String, CaseIterable, Sendable {
    case loss, irr, balanceEnd = "balance_end", interestPaid = "interest_paid", principalPaid = "principal_paid", wal
  }

  static let summary: [(String, WaterfallMetric)] = [
    ("min_dscr", .minDSCR), ("avg_dscr", .avgDSCR), ("default_month", .defaultMonth), ("first_breach_month", .firstBreachMonth),
  ]

  /// Reads a metric's name.
  /// - Throws: an unknown metric, facility or facility key, naming the
  ///   closest valid one.
  public init(parsing name: String, facilities: [String], subject: DealError.Subject? = nil) throws(DealError) {
    if let dot = name.firstIndex(of: ".") {
      let id = String(name[..<dot]), key = String(name[name.index(after: dot)...])
      guard facilities.contains(id) else { throw DealError.unknownName("facility", id, valid: facilities, subject: subject) }
      guard let k = FacilityKey(rawValue: key) else {
        throw DealError.unknownName("facility metric", key, valid: FacilityKey.allCases.map(\.rawValue), subject: subject)
      }
      self = .facility(id, k)
    } else if let m = Self.summary.first(where: { $0.0 == name }) {
      self = m.1
    } else {
      throw DealError.unknownName("metric", name, valid: Self.summary.map(\.0) + ["FACILITY.loss", "FACILITY.irr"], subject: subject)
    }
  }

  public var name: String {
    switch self {
    case .facility(let id, let k): "\(id).\(k.rawValue)"
    default: Self.summary.first { $0.1 == self }!.0
    }
  }

  /// Whether a larger value is better for the lenders.
  public var higherIsBetter: Bool {
    switch self {
    case .facility(_, .loss), .facility(_, .balanceEnd): false
    default: true
    }
  }

  /// The value in `r`, as `waterfall --json` prints it; nil when there is
  /// none (no default, no debt service, no such facility).
  public func value(_ r: WaterfallResult) -> Double? {
    func ratio(_ x: Double?) -> Double? { x.map { ($0 * 10_000).rounded() / 10_000 } }
    func money(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    switch self {
    case .minDSCR: return ratio(r.minDSCR)
    case .avgDSCR: return ratio(r.avgDSCR)
    case .defaultMonth: return r.defaultMonth.map(Double.init)
    case .firstBreachMonth: return r.firstBreachMonth.map(Double.init)
    case .facility(let id, let k):
      guard let f = r.facility(id) else { return nil }
      switch k {
      case .loss: return money(f.loss)
      case .irr: return ratio(f.irr)
      case .balanceEnd: return money(f.balanceEnd)
      case .interestPaid: return money(f.interestPaid)
      case .principalPaid: return money(f.principalPaid)
      case .wal: return ratio(f.wal)
      }
    }
  }
}
