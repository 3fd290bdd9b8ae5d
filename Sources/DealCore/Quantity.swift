/// A number as typed in the command language, with what its suffix said
/// (SPEC §2): `30000`, `1_000_000`, `1.5e6`, `$500m`, `2.5bn`, `30%`,
/// `250bp`, `-20pt`, `60mo`, `5y`, `1.25x`.
///
/// `value` is already scaled: `30%` is 0.30, `250bp` is 0.025, `5y` is 60
/// (months), `$2.5k` is 2500.
public struct Quantity: Equatable, Sendable {
  public enum Unit: String, Equatable, Sendable {
    /// A plain number, possibly with `k`, `m` or `bn`.
    case plain
    /// `%`: a fraction written in percent.
    case percent
    /// `bp`: a fraction in basis points.
    case basisPoints
    /// `pt`: a change of a fraction, in points (`-20pt` is −0.20).
    case points
    /// `mo` or `y`: a duration, already in months.
    case months
    /// `x`: a ratio such as a DSCR (`1.25x`).
    case ratio
  }

  public var value: Double
  public var unit: Unit
  /// Whether the text had a leading `$`.
  public var dollar: Bool
  /// Whether the text had an explicit `+` or `-` sign (a change, for `shock`).
  public var signed: Bool

  public init(value: Double, unit: Unit = .plain, dollar: Bool = false, signed: Bool = false) {
    self.value = value
    self.unit = unit
    self.dollar = dollar
    self.signed = signed
  }

  /// Why a text is not a number, phrased for the user.
  public struct ParseError: Error, Equatable, Sendable {
    public var reason: String
  }

  /// Parses the text of one word.
  public static func parse(_ text: Substring) throws(ParseError) -> Quantity {
    var s = text[...]
    var negative = false
    var signed = false
    var dollar = false
    if s.first == "$" { dollar = true; s = s.dropFirst() }
    if s.first == "+" || s.first == "-" {
      signed = true
      negative = s.first == "-"
      s = s.dropFirst()
    }
    if s.first == "$" {
      if dollar { throw ParseError(reason: "two '$' signs") }
      dollar = true
      s = s.dropFirst()
    }
    guard !s.isEmpty else { throw ParseError(reason: "no digits") }

    // Split off the numeric part: digits, '_', one '.', an exponent.
    var digits = ""
    var i = s.startIndex
    var seenDot = false
    var seenDigit = false
    var lastWasUnderscore = false
    while i < s.endIndex {
      let c = s[i]
      if c.isASCII, c.isNumber {
        digits.append(c)
        seenDigit = true
        lastWasUnderscore = false
      } else if c == "_" {
        guard seenDigit, !lastWasUnderscore, !digits.hasSuffix(".") else {
          throw ParseError(reason: "'_' may only separate digits")
        }
        lastWasUnderscore = true
      } else if c == "." {
        guard !seenDot, !lastWasUnderscore else { throw ParseError(reason: "misplaced '.'") }
        seenDot = true
        digits.append(c)
      } else if c == "e" || c == "E" {
        // An exponent only if digits follow (with an optional sign).
        var j = s.index(after: i)
        if j < s.endIndex, s[j] == "+" || s[j] == "-" { j = s.index(after: j) }
        guard j < s.endIndex, s[j].isASCII, s[j].isNumber, seenDigit else { break }
        digits.append("e")
        i = s.index(after: i)
        while i < s.endIndex, s[i] == "+" || s[i] == "-" || (s[i].isASCII && s[i].isNumber) {
          digits.append(s[i])
          i = s.index(after: i)
        }
        break
      } else {
        break
      }
      i = s.index(after: i)
    }
    if lastWasUnderscore { throw ParseError(reason: "'_' may only separate digits") }
    guard seenDigit, var value = Double(digits) else { throw ParseError(reason: "no digits") }

    let suffix = s[i...]
    var unit = Unit.plain
    switch suffix {
    case "": break
    case "k", "K": value *= 1e3
    case "m", "M", "mm", "MM": value *= 1e6
    case "bn", "BN", "Bn", "b", "B": value *= 1e9
    case "%": value /= 100; unit = .percent
    case "bp", "bps": value /= 10_000; unit = .basisPoints
    case "pt", "pts": value /= 100; unit = .points
    case "mo": unit = .months
    case "y", "yr", "yrs": value *= 12; unit = .months
    case "x": unit = .ratio
    default:
      throw ParseError(
        reason: "unknown suffix '\(suffix)' (expected k, m, bn, %, bp, pt, mo, y or x)")
    }
    if dollar, unit != .plain {
      throw ParseError(reason: "a '$' amount cannot take the suffix '\(suffix)'")
    }
    if negative { value = -value }
    guard value.isFinite else { throw ParseError(reason: "too large") }
    return Quantity(value: value, unit: unit, dollar: dollar, signed: signed)
  }

  public static func parse(_ text: String) throws(ParseError) -> Quantity {
    try parse(text[...])
  }
}
