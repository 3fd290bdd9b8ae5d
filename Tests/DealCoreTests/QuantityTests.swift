import Testing

@testable import DealCore

@Suite("numbers, durations and dates of the command language")
struct QuantityTests {
  @Test(
    "every suffix",
    arguments: [
      ("30000", 30000.0, Quantity.Unit.plain, false),
      ("1_000_000", 1_000_000, .plain, false),
      ("1.5e6", 1_500_000, .plain, false),
      ("2E3", 2000, .plain, false),
      ("16k", 16000, .plain, false),
      ("16K", 16000, .plain, false),
      ("$500m", 500_000_000, .plain, true),
      ("2.5bn", 2_500_000_000, .plain, false),
      ("$1.25bn", 1_250_000_000, .plain, true),
      ("30%", 0.30, .percent, false),
      ("12.5%", 0.125, .percent, false),
      ("250bp", 0.025, .basisPoints, false),
      ("-20pt", -0.20, .points, false),
      ("+200bp", 0.02, .basisPoints, false),
      ("60mo", 60, .months, false),
      ("5y", 60, .months, false),
      ("1.5y", 18, .months, false),
      ("1.25x", 1.25, .ratio, false),
      ("-$3k", -3000, .plain, true),
      ("$-3k", -3000, .plain, true),
      ("0.07", 0.07, .plain, false),
      (".5", 0.5, .plain, false),
    ])
  func parses(text: String, value: Double, unit: Quantity.Unit, dollar: Bool) throws {
    let q = try Quantity.parse(text)
    #expect(abs(q.value - value) <= 1e-9 * max(1, abs(value)), "\(text) → \(q.value)")
    #expect(q.unit == unit)
    #expect(q.dollar == dollar)
  }

  @Test(
    "every bad form is refused with a reason",
    arguments: [
      ("", "no digits"), ("$", "no digits"), ("-", "no digits"), ("abc", "no digits"),
      ("1..2", "misplaced"), ("1.2.3", "misplaced"), ("_1", "'_' may only separate digits"),
      ("1_", "'_' may only separate digits"), ("1__0", "'_' may only separate digits"),
      ("12abc", "unknown suffix"), ("5%%", "unknown suffix"), ("1e", "unknown suffix"),
      ("$5%", "cannot take the suffix"), ("$$5", "two '$'"), ("10kk", "unknown suffix"),
      ("1e999", "too large"), ("3 m", "unknown suffix"),
    ])
  func refuses(text: String, reason: String) {
    #expect {
      try Quantity.parse(text)
    } throws: { error in
      (error as? Quantity.ParseError)?.reason.contains(reason) == true
    }
  }

  @Test("signs mark a change")
  func signed() throws {
    #expect(try Quantity.parse("+5%").signed)
    #expect(try Quantity.parse("-20pt").signed)
    #expect(!(try Quantity.parse("5%").signed))
  }
}

@Suite("calendar months and dates")
struct MonthTests {
  @Test(
    "real dates parse",
    arguments: ["2025-01", "2025-12", "2024-02-29", "2025-01-31", "2000-02-29", "2025-04-30"])
  func valid(text: String) throws {
    let d = try #require(CalendarDate(parsing: text))
    #expect(d.description == text)
  }

  @Test(
    "impossible dates are refused",
    arguments: ["2025-13", "2025-00", "2025-1", "25-01", "2025-02-29", "1900-02-29", "2025-04-31",
                "2025-01-00", "2025-01-1", "2025/01", "2025-01-15-1", "abcd-ef", "3000-01"])
  func invalid(text: String) {
    #expect(CalendarDate(parsing: text) == nil)
  }

  @Test("month arithmetic counts from the deal start")
  func arithmetic() throws {
    let start = try #require(Month(year: 2025, month: 1))
    #expect((start + 11).description == "2025-12")
    #expect((start + 12).description == "2026-01")
    #expect(try #require(Month(year: 2026, month: 3)) - start == 14)
    #expect(start.dealMonth(from: start) == 1)
    #expect((start + 59).dealMonth(from: start) == 60)
  }
}
