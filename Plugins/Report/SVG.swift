import DealCore
import Foundation

/// Charts as inline SVG for the credit memo: no script, no network, sized in
/// the page's own units so that they print.
enum SVG {
  static let palette = ["#1f6feb", "#d2691e", "#2e8b57", "#8b1e3f", "#6a5acd", "#b8860b"]

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func n(_ x: Double) -> String { String(format: "%.1f", x) }

  /// A line chart of series by month, with dashed reference lines.
  static func lines(
    _ series: [(name: String, values: [Double?])], rules: [(name: String, value: Double)] = [], format: (Double) -> String,
    width: Double = 760, height: Double = 260, xLabel: String = "month"
  ) -> String {
    let left = 70.0, right = 16.0, top = 14.0, bottom = 44.0
    let w = width - left - right, h = height - top - bottom
    let count = series.map(\.values.count).max() ?? 0
    let all = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite) + rules.map(\.value)
    var lo = min(0, all.min() ?? 0), hi = all.max() ?? 1
    if hi <= lo { hi = lo + 1 }
    hi += (hi - lo) * 0.05
    func x(_ i: Int) -> Double { left + (count > 1 ? Double(i) / Double(count - 1) : 0) * w }
    func y(_ v: Double) -> Double { top + (hi - v) / (hi - lo) * h }
    var out = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\">"
    out += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"#fafbfc\" stroke=\"#d0d7de\"/>"
    for k in 0...4 {
      let v = lo + (hi - lo) * Double(k) / 4
      out += "<line x1=\"\(n(left))\" x2=\"\(n(left + w))\" y1=\"\(n(y(v)))\" y2=\"\(n(y(v)))\" stroke=\"#eaeef2\"/>"
      out += "<text x=\"\(n(left - 6))\" y=\"\(n(y(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(escape(format(v)))</text>"
    }
    let step = max(1, count / 10)
    for i in stride(from: 0, to: count, by: step) {
      out += "<text x=\"\(n(x(i)))\" y=\"\(n(top + h + 16))\" text-anchor=\"middle\" font-size=\"11\">\(i + 1)</text>"
    }
    out += "<text x=\"\(n(left + w / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\" font-size=\"11\">\(escape(xLabel))</text>"
    for r in rules {
      out += "<line x1=\"\(n(left))\" x2=\"\(n(left + w))\" y1=\"\(n(y(r.value)))\" y2=\"\(n(y(r.value)))\" stroke=\"#cf222e\" stroke-dasharray=\"6 4\"/>"
      out += "<text x=\"\(n(left + w - 4))\" y=\"\(n(y(r.value) - 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#cf222e\">\(escape(r.name))</text>"
    }
    for (k, s) in series.enumerated() {
      var path = ""
      var pen = false
      for (i, v) in s.values.enumerated() {
        guard let v, v.isFinite else { pen = false; continue }
        path += (pen ? "L" : "M") + n(x(i)) + " " + n(y(min(max(v, lo), hi)))
        pen = true
      }
      out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(palette[k % palette.count])\" stroke-width=\"2\"/>"
    }
    out += "</svg>"
    var legend = series.enumerated().map {
      "<span class=\"key\"><i style=\"background:\(palette[$0.offset % palette.count])\"></i>\(escape($0.element.name))</span>"
    }
    legend += rules.map { "<span class=\"key\"><i class=\"rule\"></i>\(escape($0.name))</span>" }
    return "<figure>" + out + "<figcaption>" + legend.joined(separator: " ") + "</figcaption></figure>"
  }

  /// Vertical bars (a histogram).
  static func bars(_ bins: [(label: String, count: Double)], width: Double = 760, height: Double = 220) -> String {
    let left = 50.0, bottom = 56.0, top = 10.0
    let w = width - left - 10, h = height - top - bottom
    let most = max(1, bins.map(\.count).max() ?? 1)
    let bw = w / Double(max(1, bins.count))
    var out = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\">"
    for (i, b) in bins.enumerated() {
      let bh = b.count / most * h
      let x = left + Double(i) * bw
      out += "<rect x=\"\(n(x + 2))\" y=\"\(n(top + h - bh))\" width=\"\(n(bw - 4))\" height=\"\(n(bh))\" fill=\"\(palette[0])\"/>"
      out += "<text x=\"\(n(x + bw / 2))\" y=\"\(n(top + h + 14))\" text-anchor=\"middle\" font-size=\"10\">\(escape(b.label))</text>"
    }
    out += "<line x1=\"\(n(left))\" x2=\"\(n(left + w))\" y1=\"\(n(top + h))\" y2=\"\(n(top + h))\" stroke=\"#57606a\"/>"
    return out + "</svg>"
  }

  /// The deal graph: nodes in columns by kind, edges as labelled lines.
  static func graph(nodes: [(id: String, kind: String, type: String)], edges: [(from: String, rel: String, to: String)]) -> String {
    let kinds = ["entity", "asset", "contract", "facility"]
    let colW = 190.0, rowH = 54.0, boxW = 150.0, boxH = 34.0
    var pos: [String: (Double, Double)] = [:]
    var rows = [Int](repeating: 0, count: kinds.count)
    for node in nodes {
      let c = kinds.firstIndex(of: node.kind) ?? 0
      pos[node.id] = (20 + Double(c) * colW, 36 + Double(rows[c]) * rowH)
      rows[c] += 1
    }
    let width = 20 + Double(kinds.count) * colW, height = 56 + Double(max(1, rows.max() ?? 1)) * rowH
    var out = "<svg class=\"chart graph\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\">"
    for (c, k) in kinds.enumerated() {
      out += "<text x=\"\(n(20 + Double(c) * colW + boxW / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">\(k)</text>"
    }
    for e in edges {
      guard let a = pos[e.from], let b = pos[e.to] else { continue }
      let (x1, y1) = (a.0 + boxW / 2, a.1 + boxH / 2), (x2, y2) = (b.0 + boxW / 2, b.1 + boxH / 2)
      out += "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"#8c959f\" stroke-width=\"1\"><title>\(escape("\(e.from) \(e.rel) \(e.to)"))</title></line>"
    }
    for node in nodes {
      guard let p = pos[node.id] else { continue }
      let c = kinds.firstIndex(of: node.kind) ?? 0
      out += "<rect x=\"\(n(p.0))\" y=\"\(n(p.1))\" width=\"\(n(boxW))\" height=\"\(n(boxH))\" rx=\"6\" fill=\"#fff\" stroke=\"\(palette[c % palette.count])\" stroke-width=\"1.5\"/>"
      out += "<text x=\"\(n(p.0 + boxW / 2))\" y=\"\(n(p.1 + 15))\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">\(escape(node.id))</text>"
      out += "<text x=\"\(n(p.0 + boxW / 2))\" y=\"\(n(p.1 + 28))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#57606a\">\(escape(node.type))</text>"
    }
    return out + "</svg>"
  }
}
