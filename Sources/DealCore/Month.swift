/// A calendar month, such as 2025-01. Deals count months from their `start`
/// month: month 1 is the start month itself (SPEC §5).
public struct Month: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// Months since January of year 0: `year * 12 + (month - 1)`.
  public var index: Int

  public init(index: Int) { self.index = index }

  public init?(year: Int, month: Int) {
    guard (1...12).contains(month), (1900...2200).contains(year) else { return nil }
    index = year * 12 + month - 1
  }

  public var year: Int { index / 12 }
  public var month: Int { index % 12 + 1 }

  public static func < (a: Month, b: Month) -> Bool { a.index < b.index }

  public static func + (a: Month, n: Int) -> Month { Month(index: a.index + n) }

  /// Number of months from `b` to `a`.
  public static func - (a: Month, b: Month) -> Int { a.index - b.index }

  public var description: String {
    let m = month < 10 ? "0\(month)" : "\(month)"
    return "\(year)-\(m)"
  }

  /// The deal month (1-based) that `self` falls in for a deal starting at `start`.
  public func dealMonth(from start: Month) -> Int { self - start + 1 }
}

/// A date as a structurer writes it: a month (`2025-01`) or a day (`2025-01-15`).
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var month: Month
  public var day: Int?

  public init(month: Month, day: Int? = nil) {
    self.month = month
    self.day = day
  }

  /// Parses `YYYY-MM` or `YYYY-MM-DD`; nil if it is not a real date.
  public init?(parsing text: Substring) {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3,
      parts[0].count == 4, parts[1].count == 2,
      parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
      let y = Int(parts[0]), let m = Int(parts[1]), let month = Month(year: y, month: m)
    else { return nil }
    self.month = month
    if parts.count == 3 {
      guard parts[2].count == 2, let d = Int(parts[2]),
        d >= 1, d <= CalendarDate.daysIn(year: y, month: m)
      else { return nil }
      day = d
    }
  }

  public init?(parsing text: String) { self.init(parsing: Substring(text)) }

  /// Whether the text has the shape of a date (so a bad one can be named as such).
  public static func looksLikeDate(_ text: Substring) -> Bool {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    return (parts.count == 2 || parts.count == 3) && parts[0].count == 4
      && parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) })
  }

  public static func daysIn(year: Int, month: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
    (a.month, a.day ?? 0) < (b.month, b.day ?? 0)
  }

  public var description: String {
    guard let day else { return month.description }
    return month.description + (day < 10 ? "-0\(day)" : "-\(day)")
  }
}
