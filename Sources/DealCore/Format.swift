/// Number formatting for tables: thousands separators, percentages, money.
/// Deterministic and locale-free, so transcripts match on every machine.
public enum Format {
  /// `1234567.891` with 2 decimals → "1,234,567.89".
  public static func grouped(_ x: Double, decimals: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "n/a" : (x > 0 ? "∞" : "-∞") }
    let scale = pow10(decimals)
    let r = (abs(x) * scale).rounded()
    let negative = x < 0 && r != 0
    // Above 2^53 the digits are not exact any more: print as Swift does.
    if r > 9.0e15 { return (negative ? "-" : "") + "\(abs(x))" }
    let intPart = (r / scale).rounded(.down)
    let frac = max(0, r - intPart * scale)
    var digits = String(UInt64(intPart))
    var out = ""
    while digits.count > 3 {
      out = "," + digits.suffix(3) + out
      digits.removeLast(3)
    }
    out = digits + out
    if decimals > 0 {
      var f = String(UInt64(frac))
      while f.count < decimals { f = "0" + f }
      out += "." + f
    }
    return (negative ? "-" : "") + out
  }

  /// Dollars: "$1,250,000", "-$3,400", "$2.10" with `decimals: 2`.
  public static func money(_ x: Double, decimals: Int = 0) -> String {
    let s = grouped(abs(x), decimals: decimals)
    return (x < 0 && s != grouped(0, decimals: decimals) ? "-$" : "$") + s
  }

  /// A fraction as a percentage with up to `maxDecimals` decimals:
  /// 0.3 → "30%", 0.125 → "12.5%".
  public static func percent(_ x: Double, maxDecimals: Int = 2) -> String {
    plain(x * 100, maxDecimals: maxDecimals) + "%"
  }

  /// A number with up to `maxDecimals` decimals, trailing zeros dropped,
  /// thousands grouped: 1.30 → "1.3", 16384 → "16,384".
  public static func plain(_ x: Double, maxDecimals: Int = 4) -> String {
    var s = grouped(x, decimals: maxDecimals)
    if s.contains(".") {
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
  }

  /// A unit price with at least 2 and at most 4 decimals: 2.2 → "2.20",
  /// 0.0725 → "0.0725".
  public static func price(_ x: Double) -> String {
    let p = plain(x, maxDecimals: 4)
    guard let dot = p.firstIndex(of: ".") else { return p + ".00" }
    let decimals = p.distance(from: dot, to: p.endIndex) - 1
    return decimals < 2 ? p + String(repeating: "0", count: 2 - decimals) : p
  }

  /// Pads `s` on the left (numbers) or right (text) to `width` characters.
  public static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    guard n < width else { return s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
  }

  static func pow10(_ n: Int) -> Double {
    var p = 1.0
    for _ in 0..<max(0, n) { p *= 10 }
    return p
  }
}
