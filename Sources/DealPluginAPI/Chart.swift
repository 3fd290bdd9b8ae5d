import DealCore
import Foundation

/// A line chart drawn with characters: one glyph per series, so lines stay
/// apart without colour; colour is added only when the terminal allows.
public struct LineChart {
  public struct Series {
    public var name: String
    public var values: [Double]
    public init(_ name: String, _ values: [Double]) {
      self.name = name
      self.values = values
    }
  }

  public var series: [Series]
  /// Labels the y axis (e.g. money in short form).
  public var format: (Double) -> String
  /// Horizontal reference lines (e.g. a covenant), with their names.
  public var rules: [(name: String, value: Double)] = []
  /// What the x axis counts, and the label of index 0.
  public var xLabel: String = "month"
  public var firstX: Int = 1

  static let glyphs: [Character] = ["●", "▲", "■", "◆", "✚", "○", "△", "□"]
  static let colors = ["36", "33", "32", "35", "34", "31", "96", "93"]

  public init(series: [Series], format: @escaping (Double) -> String) {
    self.series = series
    self.format = format
  }

  public func render(width: Int, height: Int = 14, color: Bool = false) -> String {
    let n = series.map(\.values.count).max() ?? 0
    guard n > 0 else { return "(nothing to chart)" }
    let all = series.flatMap(\.values).filter(\.isFinite) + rules.map(\.value)
    var lo = min(0, all.min() ?? 0), hi = all.max() ?? 1
    if hi <= lo { hi = lo + 1 }
    let pad = (hi - lo) * 0.02
    hi += pad
    if lo < 0 { lo -= pad }
    let labels = (0...4).map { format(lo + (hi - lo) * Double(4 - $0) / 4) }
    let labelWidth = labels.map(\.count).max() ?? 0
    let plotWidth = max(10, min(width - labelWidth - 3, n))
    var grid = [[(Character, Int)?]](repeating: [(Character, Int)?](repeating: nil, count: plotWidth), count: height)
    func row(_ v: Double) -> Int {
      let r = Int(((hi - v) / (hi - lo) * Double(height - 1)).rounded())
      return min(height - 1, max(0, r))
    }
    for rule in rules {
      let r = row(rule.value)
      for c in 0..<plotWidth where grid[r][c] == nil { grid[r][c] = ("┄", -1) }
    }
    for (si, s) in series.enumerated() {
      for c in 0..<plotWidth {
        let idx = plotWidth == 1 ? 0 : Int((Double(c) * Double(n - 1) / Double(plotWidth - 1)).rounded())
        guard idx < s.values.count, s.values[idx].isFinite else { continue }
        grid[row(s.values[idx])][c] = (LineChart.glyphs[si % LineChart.glyphs.count], si)
      }
    }
    var lines: [String] = []
    for r in 0..<height {
      let labelRow = [0, (height - 1) / 4, (height - 1) / 2, 3 * (height - 1) / 4, height - 1].firstIndex(of: r)
      let label = labelRow.map { labels[$0] } ?? ""
      var line = Format.pad(label, labelWidth, right: true) + " ┤"
      for cell in grid[r] {
        guard let (g, si) = cell else { line += " "; continue }
        if color && si >= 0 {
          line += "\u{1B}[\(LineChart.colors[si % LineChart.colors.count])m\(g)\u{1B}[0m"
        } else {
          line.append(g)
        }
      }
      while line.hasSuffix(" ") { line.removeLast() }
      lines.append(line)
    }
    lines.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: plotWidth))
    let last = firstX + n - 1
    let right = "\(xLabel) \(last)"
    let axis = String(repeating: " ", count: labelWidth + 2) + "\(firstX)"
    lines.append(axis + String(repeating: " ", count: max(1, labelWidth + 2 + plotWidth - axis.count - right.count)) + right)
    var legend = series.enumerated().map { "\(LineChart.glyphs[$0.offset % LineChart.glyphs.count]) \($0.element.name)" }
    legend += rules.map { "┄ \($0.name)" }
    lines.append(String(repeating: " ", count: labelWidth + 2) + legend.joined(separator: "   "))
    return lines.joined(separator: "\n")
  }
}

/// Writes RFC 4180 CSV: a header row, comma-separated, quoted where needed,
/// CRLF line ends, plain numbers. A text cell a spreadsheet would take for a
/// formula — one that begins with `=`, `+`, `-`, `@`, a tab or a carriage
/// return and is not a number — is written with a leading apostrophe, so it
/// shows as the text it is (a node named `=cmd|calc!A1` runs nothing).
public enum CSV {
  public static func text(header: [String], rows: [[String]]) -> String {
    ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
  }

  /// One cell as written.
  public static func field(_ raw: String) -> String {
    var s = raw
    if let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isPlainNumber(s) { s = "'" + s }
    // Bytes, not Characters: "\r\n" is one Character, equal to neither, and
    // a quote followed by a combining mark is one Character, not a quote.
    guard s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return s }
    var out: [UInt8] = [0x22]
    out.reserveCapacity(s.utf8.count + 8)
    for b in s.utf8 {
      out.append(b)
      if b == 0x22 { out.append(0x22) }
    }
    out.append(0x22)
    return String(decoding: out, as: UTF8.self)
  }

  /// `-12`, `3.5`, `-1.2e-7`: what `number` writes.
  static func isPlainNumber(_ s: String) -> Bool {
    var u = Substring(s).utf8[...]
    if u.first == UInt8(ascii: "-") { u = u.dropFirst() }
    func digits(_ v: inout Substring.UTF8View.SubSequence) -> Bool {
      let n = v.prefix { (0x30...0x39).contains($0) }.count
      v = v.dropFirst(n)
      return n > 0
    }
    guard digits(&u) else { return false }
    if u.first == UInt8(ascii: ".") {
      u = u.dropFirst()
      guard digits(&u) else { return false }
    }
    if u.first == UInt8(ascii: "e") || u.first == UInt8(ascii: "E") {
      u = u.dropFirst()
      if u.first == UInt8(ascii: "-") || u.first == UInt8(ascii: "+") { u = u.dropFirst() }
      guard digits(&u) else { return false }
    }
    return u.isEmpty
  }

  /// A number as CSV writes it: rounded to `decimals`, no grouping.
  public static func number(_ x: Double, decimals: Int = 2) -> String {
    guard x.isFinite else { return "" }
    let scale = Foundation.pow(10, Double(decimals))
    return JSONValue.format(number: (x * scale).rounded() / scale)
  }

  /// Writes the file, or throws a file error naming it.
  public static func write(_ text: String, to path: String) throws(DealError) {
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
      throw DealError(.file, "cannot write '\(path)': \(error.localizedDescription)")
    }
  }
}

extension Format {
  /// Money in short form for axes: $1.2bn, $524m, $15k, $900.
  public static func compactMoney(_ x: Double) -> String {
    let a = abs(x), sign = x < 0 ? "-" : ""
    switch a {
    case 1e9...: return sign + "$" + plain(a / 1e9, maxDecimals: 1) + "bn"
    case 1e6...: return sign + "$" + plain(a / 1e6, maxDecimals: 0) + "m"
    case 1e3...: return sign + "$" + plain(a / 1e3, maxDecimals: 0) + "k"
    default: return sign + "$" + plain(a, maxDecimals: 0)
    }
  }
}
