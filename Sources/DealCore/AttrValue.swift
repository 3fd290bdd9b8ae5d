/// The value of one attribute of a node or an edge.
public enum AttrValue: Hashable, Sendable {
  case number(Double)
  case bool(Bool)
  case date(CalendarDate)
  case text(String)

  public var number: Double? {
    if case .number(let x) = self { return x }
    return nil
  }

  public var text: String? {
    if case .text(let s) = self { return s }
    return nil
  }

  public var date: CalendarDate? {
    if case .date(let d) = self { return d }
    return nil
  }

  public var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// The JSON form: numbers as numbers, dates as "YYYY-MM[-DD]" strings.
  public var json: JSONValue {
    switch self {
    case .number(let x): .number(x)
    case .bool(let b): .bool(b)
    case .date(let d): .string(d.description)
    case .text(let s): .string(s)
    }
  }
}

/// The kind of value an attribute takes, and the bounds it must respect.
public enum ValueType: Sendable {
  case number(NumberSpec)
  case bool
  case date
  /// One of a fixed list of words (matched without regard to case).
  case choice([String])
  case text
}

/// What a number means: it decides which suffixes are accepted and how the
/// value is shown.
public enum NumberUnit: String, Sendable {
  /// US dollars.
  case usd
  /// US dollars per GPU-hour.
  case usdPerGPUHour
  /// US dollars per kWh.
  case usdPerKWh
  /// US dollars per coin or per share.
  case usdPerUnit
  /// US dollars per GPU-month.
  case usdPerGPUMonth
  /// A fraction, shown as a percentage (0.30 is "30%").
  case fraction
  /// An annual rate, shown as a percentage.
  case annualRate
  /// A duration in months.
  case months
  /// A count of things (GPUs).
  case count
  /// Kilowatts.
  case kw
  /// Megawatts.
  case mw
  /// A ratio such as a DSCR, shown as "1.25x".
  case ratio
  /// Coins.
  case coins
  /// A bare number.
  case plain
}

/// A number attribute: unit and valid range.
public struct NumberSpec: Sendable {
  public var unit: NumberUnit
  public var min: Double
  public var max: Double
  /// Whether `min` itself is allowed (units must be > 0, not ≥ 0).
  public var minInclusive: Bool
  public var integer: Bool

  public init(
    _ unit: NumberUnit, min: Double = 0, max: Double = .infinity, minInclusive: Bool = true,
    integer: Bool = false
  ) {
    self.unit = unit
    self.min = min
    self.max = max
    self.minInclusive = minInclusive
    self.integer = integer
  }
}

extension ValueType {
  /// Reads a value typed by the user for attribute `key`.
  public func parse(_ text: String, key: String) throws(DealError) -> AttrValue {
    func bad(_ why: String, hint: String? = nil) -> DealError {
      DealError(.invalid, "invalid value '\(text)' for '\(key)': \(why)", hint: hint, subject: .value(key))
    }
    switch self {
    case .text:
      return .text(text)
    case .bool:
      switch text.lowercased() {
      case "true", "yes", "on", "1": return .bool(true)
      case "false", "no", "off", "0": return .bool(false)
      default: throw bad("expected true or false")
      }
    case .date:
      guard let d = CalendarDate(parsing: text) else {
        if CalendarDate.looksLikeDate(text[...]) { throw bad("not a real date") }
        throw bad("expected a date like 2025-01 or 2025-01-15")
      }
      return .date(d)
    case .choice(let options):
      if let match = options.first(where: { $0.lowercased() == text.lowercased() }) {
        return .text(match)
      }
      let near = Suggest.closest(to: text, in: options)
      throw DealError(
        .invalid, "invalid value '\(text)' for '\(key)'" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
        hint: "expected one of: " + options.joined(separator: ", "), subject: .value(key))
    case .number(let spec):
      let q: Quantity
      do { q = try Quantity.parse(text) } catch { throw bad(error.reason, hint: spec.unit.example) }
      var v = q.value
      switch (spec.unit, q.unit) {
      case (_, .points):
        throw bad("'pt' is a change in points", hint: "to set a fraction write it as 85% or 0.85")
      case (.fraction, .plain), (.fraction, .percent), (.fraction, .basisPoints),
        (.annualRate, .plain), (.annualRate, .percent), (.annualRate, .basisPoints):
        if q.dollar { throw bad("a fraction is not a dollar amount", hint: spec.unit.example) }
      case (.months, .plain), (.months, .months):
        if q.dollar { throw bad("a duration is not a dollar amount", hint: spec.unit.example) }
      case (.ratio, .plain), (.ratio, .ratio):
        if q.dollar { throw bad("a ratio is not a dollar amount", hint: spec.unit.example) }
      case (.usd, .plain), (.usdPerGPUHour, .plain), (.usdPerKWh, .plain), (.usdPerUnit, .plain),
        (.usdPerGPUMonth, .plain):
        break
      case (_, .plain):
        if q.dollar { throw bad("'\(key)' is not a dollar amount", hint: spec.unit.example) }
      default:
        throw bad("'\(key)' is \(spec.unit.noun), not \(q.unit.noun)", hint: spec.unit.example)
      }
      if spec.integer {
        let r = v.rounded()
        guard abs(v - r) < 1e-9 else {
          throw bad(spec.unit == .months ? "not a whole number of months" : "expected a whole number")
        }
        v = r
      }
      let tooLow = spec.minInclusive ? v < spec.min : v <= spec.min
      if tooLow || v > spec.max {
        throw bad(spec.boundsText)
      }
      return .number(v)
    }
  }

  /// How a value of this type reads in a table ("$30,000", "85%", "60 months").
  public func display(_ value: AttrValue) -> String {
    switch (self, value) {
    case (.number(let spec), .number(let x)): return spec.unit.format(x)
    case (_, .bool(let b)): return b ? "true" : "false"
    case (_, .date(let d)): return d.description
    case (_, .text(let s)): return s
    case (_, .number(let x)): return Format.plain(x)
    }
  }

  /// A one-line description for help and errors.
  public var summary: String {
    switch self {
    case .number(let spec): spec.unit.noun
    case .bool: "true or false"
    case .date: "a date (YYYY-MM or YYYY-MM-DD)"
    case .choice(let c): c.count <= 5 ? c.joined(separator: "|") : c.prefix(4).joined(separator: "|") + "|… (\(c.count))"
    case .text: "text"
    }
  }
}

extension NumberSpec {
  var boundsText: String {
    let lo = unit.format(min), hi = unit.format(max)
    switch (min.isFinite, max.isFinite) {
    case (true, true) where !minInclusive: return "must be more than \(lo) and at most \(hi)"
    case (true, true): return "must be between \(lo) and \(hi)"
    case (true, false): return minInclusive ? "must be at least \(lo)" : "must be more than \(lo)"
    case (false, true): return "must be at most \(hi)"
    default: return "out of range"
    }
  }
}

extension NumberUnit {
  public var noun: String {
    switch self {
    case .usd: "a dollar amount"
    case .usdPerGPUHour: "a price in USD per GPU-hour"
    case .usdPerKWh: "a price in USD per kWh"
    case .usdPerUnit: "a price in USD"
    case .usdPerGPUMonth: "a cost in USD per GPU-month"
    case .fraction: "a fraction"
    case .annualRate: "an annual rate"
    case .months: "a duration in months"
    case .count: "a count"
    case .kw: "kilowatts"
    case .mw: "megawatts"
    case .ratio: "a ratio"
    case .coins: "an amount of coins"
    case .plain: "a number"
    }
  }

  /// An example of a valid value, as a hint.
  public var example: String {
    switch self {
    case .usd: "e.g. $250m, 1.5bn or 30000"
    case .usdPerGPUHour: "e.g. 2.10 (USD per GPU-hour)"
    case .usdPerKWh: "e.g. 0.07 (USD per kWh)"
    case .usdPerUnit: "e.g. 95000"
    case .usdPerGPUMonth: "e.g. 150 (USD per GPU-month)"
    case .fraction: "e.g. 85% or 0.85"
    case .annualRate: "e.g. 9%, 0.09 or 900bp"
    case .months: "e.g. 60, 60mo or 5y"
    case .count: "e.g. 16384 or 16k"
    case .kw: "e.g. 1.2 (kW)"
    case .mw: "e.g. 100 (MW)"
    case .ratio: "e.g. 1.25 or 1.25x"
    case .coins: "e.g. 1500"
    case .plain: "e.g. 1.3"
    }
  }

  public func format(_ x: Double) -> String {
    switch self {
    case .usd: Format.money(x)
    case .usdPerGPUHour: "$" + Format.price(x) + "/GPU-h"
    case .usdPerKWh: "$" + Format.price(x) + "/kWh"
    case .usdPerUnit: Format.money(x, decimals: x < 1000 ? 2 : 0)
    case .usdPerGPUMonth: Format.money(x, decimals: 2) + "/GPU-mo"
    case .fraction, .annualRate: Format.percent(x)
    case .months: Format.plain(x) + (x == 1 ? " month" : " months")
    case .count: Format.grouped(x, decimals: 0)
    case .kw: Format.plain(x) + " kW"
    case .mw: Format.plain(x) + " MW"
    case .ratio: Format.plain(x, maxDecimals: 2) + "x"
    case .coins: Format.grouped(x, decimals: x == x.rounded() ? 0 : 4)
    case .plain: Format.plain(x)
    }
  }
}

extension Quantity.Unit {
  var noun: String {
    switch self {
    case .plain: "a number"
    case .percent: "a percentage"
    case .basisPoints: "basis points"
    case .points: "points"
    case .months: "a duration"
    case .ratio: "a ratio"
    }
  }
}
