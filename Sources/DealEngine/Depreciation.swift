import DealCore
/// Depreciation schedules, with periods counted in whatever unit the caller
/// uses (dealsh uses months). The spreadsheet functions SLN, SYD, DDB and VDB
/// are reproduced exactly so their documented examples can be checked.
public enum Depreciation {
  /// SLN: depreciation per period, straight line.
  public static func sln(cost: Double, salvage: Double, life: Double) -> Double {
    (cost - salvage) / life
  }

  /// SYD: sum-of-years'-digits depreciation for period `per` (1-based).
  public static func syd(cost: Double, salvage: Double, life: Double, per: Double) -> Double {
    (cost - salvage) * (life - per + 1) * 2 / (life * (life + 1))
  }

  /// DDB: declining-balance depreciation for period `period` (1-based), at
  /// `factor` times the straight-line rate, never below salvage.
  public static func ddb(cost: Double, salvage: Double, life: Double, period: Int, factor: Double = 2) -> Double {
    var book = cost
    var dep = 0.0
    for _ in 1...max(1, period) {
      dep = max(0, min(book * factor / life, book - salvage))
      book -= dep
    }
    return dep
  }

  /// VDB: depreciation from the end of period `start` to the end of period
  /// `end` (fractional periods allowed), declining balance at `factor`,
  /// switching to straight line over the remaining life when that is larger
  /// (unless `noSwitch`), as the spreadsheet function does.
  public static func vdb(
    cost: Double, salvage: Double, life: Double, start: Double, end: Double, factor: Double = 2,
    noSwitch: Bool = false
  ) -> Double {
    // Depreciation of each whole period, then the fractional parts.
    var book = cost
    var total = 0.0
    let lastPeriod = Int(end.rounded(.up))
    var switched = false
    for p in 1...max(1, lastPeriod) {
      let remaining = life - Double(p - 1)
      let declining = book * factor / life
      let straight = remaining > 0 ? (book - salvage) / remaining : 0
      var dep: Double
      if !noSwitch && (switched || straight > declining) {
        switched = true
        dep = straight
      } else {
        dep = declining
      }
      dep = max(0, min(dep, book - salvage))
      // The part of period p that lies in (start, end].
      let lo = max(start, Double(p - 1)), hi = min(end, Double(p))
      if hi > lo { total += dep * (hi - lo) }
      book -= dep
    }
    return total
  }

  /// Book value at the end of each of `life` periods, declining balance
  /// with the switch to straight line (VDB with factor 2).
  public static func doubleDecliningCurve(cost: Double, salvage: Double, life: Int) -> [Double] {
    var out: [Double] = []
    out.reserveCapacity(life)
    var book = cost
    var switched = false
    for p in 1...life {
      let remaining = Double(life - p + 1)
      let declining = book * 2 / Double(life)
      let straight = (book - salvage) / remaining
      if straight > declining { switched = true }
      let dep = max(0, min(switched ? straight : declining, book - salvage))
      book -= dep
      out.append(book)
    }
    return out
  }

  public static func straightCurve(cost: Double, salvage: Double, life: Int) -> [Double] {
    (1...life).map { cost - (cost - salvage) * Double($0) / Double(life) }
  }

  public static func sydCurve(cost: Double, salvage: Double, life: Int) -> [Double] {
    var book = cost
    return (1...life).map { p in
      book -= syd(cost: cost, salvage: salvage, life: Double(life), per: Double(p))
      return book
    }
  }

  /// MACRS convention: half-year, or mid-quarter with the quarter (1–4) the
  /// property was placed in service.
  public enum Convention: Equatable, Sendable {
    case halfYear
    case midQuarter(Int)

    /// The share of the first tax year the property is treated as in service.
    var firstYearShare: Double {
      switch self {
      case .halfYear: 0.5
      case .midQuarter(let q): (12 - (Double(q) * 3 - 1.5)) / 12
      }
    }
  }

  /// MACRS GDS rates for `recovery`-year property (IRS Publication 946):
  /// 200 % declining balance switching to straight line, with the
  /// convention's first (and last) partial year. Derived from the method,
  /// so they can be checked against the published tables.
  public static func macrsRates(recovery: Int = 5, convention: Convention) -> [Double] {
    let f = convention.firstYearShare
    let rate = 2.0 / Double(recovery)
    var book = 1.0
    var elapsed = 0.0
    var out: [Double] = []
    for year in 1...(recovery + 1) {
      let share = year == 1 ? f : 1
      let remaining = Double(recovery) - elapsed
      let declining = book * rate * share
      let straight = remaining > 0 ? book * min(share, remaining) / remaining : book
      var dep = max(declining, straight)
      dep = min(dep, book)
      out.append(dep)
      book -= dep
      elapsed += share
    }
    return out
  }
}
