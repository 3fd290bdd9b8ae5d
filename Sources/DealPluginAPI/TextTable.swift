import DealCore

/// A plain-text table: a header row, a rule, aligned columns. Numbers are
/// formatted by the caller (with units in the header), then right-aligned.
public struct TextTable {
  public enum Align: Sendable { case left, right }

  public var headers: [String]
  public var aligns: [Align]
  public var rows: [[String]] = []

  public init(_ headers: [String], aligns: [Align]? = nil) {
    self.headers = headers
    self.aligns = aligns ?? headers.map { _ in .left }
  }

  public mutating func add(_ row: [String]) { rows.append(row) }

  public func render(indent: String = "") -> String {
    var widths = headers.map(\.count)
    for r in rows {
      for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
    }
    func line(_ cells: [String]) -> String {
      var parts: [String] = []
      for (i, w) in widths.enumerated() {
        let c = i < cells.count ? cells[i] : ""
        let last = i == widths.count - 1
        let a = i < aligns.count ? aligns[i] : .left
        parts.append(last && a == .left ? c : Format.pad(c, w, right: a == .right))
      }
      var s = indent + parts.joined(separator: "  ")
      while s.hasSuffix(" ") { s.removeLast() }
      return s
    }
    var out = [line(headers), indent + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")]
    out += rows.map(line)
    return out.joined(separator: "\n")
  }
}

/// ANSI styling that turns itself off when colour is not wanted.
public struct Style: Sendable {
  public var enabled: Bool

  public init(_ enabled: Bool) { self.enabled = enabled }

  private func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
  public func bold(_ s: String) -> String { wrap(s, "1") }
  public func dim(_ s: String) -> String { wrap(s, "2") }
  public func red(_ s: String) -> String { wrap(s, "31") }
  public func green(_ s: String) -> String { wrap(s, "32") }
  public func yellow(_ s: String) -> String { wrap(s, "33") }
  public func cyan(_ s: String) -> String { wrap(s, "36") }
}
