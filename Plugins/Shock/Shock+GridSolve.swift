import DealCore
import DealPluginAPI
import Foundation

/// `shock grid` and `shock solve`: sensitivity tables and reverse stress,
/// each point a `waterfall` run through the host.
enum GridSolve {
  /// How far each key is searched by `solve` (from no stress to the worst).
  static let searchRange: [String: (Double, Double)] = [
    "deflation": (0, 1), "spot": (0, -1), "btc": (0, -1), "eth": (0, -1), "utilization": (0, -1),
    "rate": (0, 0.2), "power": (0, 5), "haircut": (0, 1),
  ]

  /// Runs the waterfall under stress factors; returns its JSON.
  static func run(_ host: CommandHost, _ factors: [(String, Double)]) throws(DealError) -> JSONValue {
    let words = factors.map { "\($0.0)=\(JSONValue.format(number: $0.1))" }
    return try host.runCommand((["waterfall"] + words + ["--json"]).joined(separator: " "))
  }

  /// A metric of a waterfall summary: min_dscr, avg_dscr, default_month,
  /// first_breach_month, or FACILITY.loss / .irr / .balance_end.
  static func metric(_ name: String, _ w: JSONValue) -> Double? {
    if let dot = name.firstIndex(of: ".") {
      let id = String(name[..<dot]), key = String(name[name.index(after: dot)...])
      return w["facilities"]?[id]?[key]?.numberValue
    }
    return w[name]?.numberValue
  }

  static func checkMetric(_ name: String, _ sample: JSONValue) throws(DealError) {
    let summary = ["min_dscr", "avg_dscr", "default_month", "first_breach_month"]
    if let dot = name.firstIndex(of: ".") {
      let id = String(name[..<dot]), key = String(name[name.index(after: dot)...])
      let ids = sample["facilities"]?.objectValue?.keys.sorted() ?? []
      guard ids.contains(id) else { throw DealError.unknownName("facility", id, valid: ids, subject: .value("metric")) }
      let keys = ["loss", "irr", "balance_end", "interest_paid", "principal_paid", "wal"]
      guard keys.contains(key) else { throw DealError.unknownName("facility metric", key, valid: keys, subject: .value("metric")) }
    } else if !summary.contains(name) {
      throw DealError.unknownName("metric", name, valid: summary + ["FACILITY.loss", "FACILITY.irr"], subject: .value("metric"))
    }
  }

  /// Parses `KEY=FROM..TO:STEPS`.
  static func axis(_ key: String, _ text: String) throws(DealError) -> [Double] {
    let parts = text.split(separator: ":")
    let range = parts.first.map { $0.components(separatedBy: "..") } ?? []
    guard parts.count == 2, range.count == 2, let steps = Int(parts[1]), steps >= 2, steps <= 41 else {
      throw DealError(
        .usage, "invalid range '\(text)' for '\(key)'", hint: "write FROM..TO:STEPS, e.g. \(key)=0%..60%:7 (2 to 41 steps)",
        subject: .value(key))
    }
    let lo = try Scenario.value(of: key, range[0]), hi = try Scenario.value(of: key, range[1])
    return (0..<steps).map { ((lo + (hi - lo) * Double($0) / Double(steps - 1)) * 1e12).rounded() / 1e12 }
  }

  static func label(_ key: String, _ v: Double) -> String {
    Scenario.describe([key: v]).split(separator: "=").last.map(String.init) ?? JSONValue.format(number: v)
  }

  // MARK: grid

  static func grid(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    let axes = inv.options.filter { $0.key != "metric" }
    guard (1...2).contains(axes.count) else {
      throw DealError.usage("shock grid takes one or two KEY=FROM..TO:STEPS", hint: "e.g. shock grid deflation=0%..60%:7 btc=0%..-80%:5", subject: .word(0))
    }
    let metricName = inv.option("metric") ?? "min_dscr"
    let rowKey = axes[0].key, rows = try axis(rowKey, axes[0].value)
    let colKey = axes.count == 2 ? axes[1].key : nil
    let cols = try colKey.map { k throws(DealError) in try axis(k, axes[1].value) } ?? [0]
    if let colKey, colKey == rowKey { throw DealError.usage("the two axes must be different keys", subject: .key(colKey)) }
    var values: [[Double?]] = []
    for r in rows {
      var line: [Double?] = []
      for c in cols {
        try ctx.checkCancelled()
        var f = [(rowKey, r)]
        if let colKey { f.append((colKey, c)) }
        let w = try run(ctx.host, f)
        if values.isEmpty && line.isEmpty { try checkMetric(metricName, w) }
        line.append(metric(metricName, w))
      }
      values.append(line)
    }
    let json: JSONValue = [
      "metric": .string(metricName), "row_key": .string(rowKey), "rows": .array(rows.map { .number($0) }),
      "col_key": colKey.map { .string($0) } ?? .null, "cols": .array(colKey == nil ? [] : cols.map { .number($0) }),
      "values": .array(values.map { .array($0.map { JSONValue.optional($0) }) }),
    ]
    let style = ctx.terminal.color
    let text = heatMap(metricName, rowKey: rowKey, rows: rows, colKey: colKey, cols: cols, values: values, color: style)
    return CommandOutput(text: text, json: json) {
      // A row per value of the first key, a column per value of the second.
      let header = ["\(rowKey)\\\(colKey ?? metricName)"] + (colKey == nil ? [metricName] : cols.map { JSONValue.format(number: $0) })
      return (header, zip(rows, values).map { r, line in [JSONValue.format(number: r)] + line.map { $0.map { CSV.number($0, decimals: 4) } ?? "" } })
    }
  }

  /// Whether a larger value of the metric is better for the lender.
  static func higherIsBetter(_ metric: String) -> Bool {
    !(metric.hasSuffix(".loss") || metric.hasSuffix(".balance_end"))
  }

  static func format(_ metric: String, _ v: Double?) -> String {
    guard let v else { return metric.hasSuffix("_month") ? "none" : "—" }
    if metric.hasSuffix("dscr") { return Format.grouped(v, decimals: 2) + "x" }
    if metric.hasSuffix("_month") { return String(Int(v)) }
    if metric.hasSuffix(".irr") { return Format.percent(v, maxDecimals: 1) }
    return Format.compactMoney(v)
  }

  static func heatMap(
    _ metric: String, rowKey: String, rows: [Double], colKey: String?, cols: [Double], values: [[Double?]], color: Bool
  ) -> String {
    let all = values.flatMap { $0 }.compactMap { $0 }
    let lo = all.min() ?? 0, hi = all.max() ?? 1
    let good = higherIsBetter(metric)
    func paint(_ s: String, _ v: Double?) -> String {
      guard color else { return s }
      // "none" for a month metric means it never happens: the best case.
      var t: Double
      if let v { t = hi > lo ? (v - lo) / (hi - lo) : 1 } else { t = 1 }
      if !good { t = 1 - t }
      let code = t < 0.34 ? "41;97" : (t < 0.67 ? "43;30" : "42;30")
      return "\u{1B}[\(code)m\(s)\u{1B}[0m"
    }
    var header = [colKey == nil ? rowKey : "\(rowKey) \\ \(colKey!)"]
    header += colKey.map { k in cols.map { label(k, $0) } } ?? [metric]
    var t = TextTable(header, aligns: [.left] + Array(repeating: .right, count: header.count - 1))
    for (r, line) in zip(rows, values) {
      t.add([label(rowKey, r)] + line.map { format(metric, $0) })
    }
    // Colour after alignment, so escape codes do not upset the widths.
    var lines = t.render().components(separatedBy: "\n")
    if color {
      for (i, line) in values.enumerated() {
        // Right to left, each cell searched only left of the one before it,
        // so equal values in one row each get their own colour once.
        var head = Substring(lines[i + 2]), tail = ""
        for v in line.reversed() {
          let cell = format(metric, v)
          guard let range = head.range(of: cell, options: .backwards) else { continue }
          tail = paint(cell, v) + head[range.upperBound...] + tail
          head = head[..<range.lowerBound]
        }
        lines[i + 2] = head + tail
      }
    }
    return "\(metric) by \(rowKey)" + (colKey.map { " and \($0)" } ?? "") + "\n\n" + lines.joined(separator: "\n")
  }

  // MARK: solve

  /// A reverse-stress target: an event (`default`, `breach`), or a metric
  /// against a threshold (`senior.loss>0`, `min_dscr<1`).
  struct Target {
    var text: String
    var test: (JSONValue) -> Bool

    init(_ text: String, sample: JSONValue) throws(DealError) {
      self.text = text
      switch text {
      case "default": test = { $0["default_month"]?.numberValue != nil }
      case "breach": test = { $0["first_breach_month"]?.numberValue != nil }
      default:
        let ops = [">=", "<=", ">", "<"]
        guard let op = ops.first(where: { text.contains($0) }) else {
          throw DealError(.usage, "unknown target '\(text)'", hint: "default, breach, or METRIC<VALUE / METRIC>VALUE, e.g. \"senior.loss>0\" or \"min_dscr<1\"", subject: .text(text))
        }
        let parts = text.components(separatedBy: op)
        let name = parts[0].trimmingCharacters(in: .whitespaces)
        try GridSolve.checkMetric(name, sample)
        let q: Quantity
        do { q = try Quantity.parse(parts[1].trimmingCharacters(in: .whitespaces)) } catch {
          throw DealError(.usage, "invalid threshold in '\(text)': \(error.reason)", subject: .text(text))
        }
        let x = q.value
        test = { w in
          guard let v = GridSolve.metric(name, w) else { return false }
          switch op {
          case ">=": return v >= x
          case "<=": return v <= x
          case ">": return v > x
          default: return v < x
          }
        }
      }
    }
  }

  /// The smallest stress of `key` (with `fixed` stresses on top) at which
  /// the target happens: nil if it never does within the key's range, 0 if
  /// it happens without stress. Bisection to 1/1000 of the range.
  static func breakeven(_ key: String, target: Target, fixed: [(String, Double)], host: CommandHost, ctx: CommandContext) throws(DealError) -> Double? {
    let (a, b) = searchRange[key]!
    if target.test(try run(host, fixed + [(key, a)])) { return a }
    if !target.test(try run(host, fixed + [(key, b)])) { return nil }
    var lo = a, hi = b
    for _ in 0..<14 {
      try ctx.checkCancelled()
      let mid = (lo + hi) / 2
      if target.test(try run(host, fixed + [(key, mid)])) { hi = mid } else { lo = mid }
    }
    return hi
  }

  static func solve(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    let args = Array(inv.positionals.dropFirst())
    guard args.count == 2 || args.count == 3 else {
      throw DealError.usage("shock solve takes TARGET KEY [KEY2]", hint: "e.g. shock solve default deflation, shock solve \"senior.loss>0\" deflation btc", subject: .word(0))
    }
    let base = try ctx.host.runCommand("waterfall --json")
    let target = try Target(args[0], sample: base)
    for (n, k) in args.dropFirst().enumerated() where searchRange[k] == nil {
      throw DealError.unknownName("stress key", k, valid: Scenario.keys.map(\.name), subject: .word(inv.positionalIndices[n + 2]))
    }
    let key = args[1]
    if args.count == 2 {
      let x = try breakeven(key, target: target, fixed: [], host: ctx.host, ctx: ctx)
      let text: String
      switch x {
      case nil: text = "'\(target.text)' does not happen for any \(key) in \(label(key, searchRange[key]!.0))..\(label(key, searchRange[key]!.1))"
      case let v? where v == searchRange[key]!.0: text = "'\(target.text)' already happens in the base case"
      case let v?: text = "'\(target.text)' first happens at \(key)=\(label(key, v))"
      }
      return CommandOutput(text: text, json: ["target": .string(target.text), "key": .string(key), "breakeven": .optional(x)])
    }
    // A frontier: for each value of KEY2, the breakeven of KEY.
    let key2 = args[2]
    let (a2, b2) = searchRange[key2]!
    let steps = 6
    var points: [(Double, Double?)] = []
    for i in 0..<steps {
      let v2 = a2 + (b2 - a2) * Double(i) / Double(steps - 1)
      points.append((v2, try breakeven(key, target: target, fixed: [(key2, v2)], host: ctx.host, ctx: ctx)))
    }
    var t = TextTable([key2.uppercased(), "BREAKEVEN \(key.uppercased())"], aligns: [.right, .right])
    for (v2, x) in points { t.add([label(key2, v2), x.map { label(key, $0) } ?? "never"]) }
    return CommandOutput(
      text: "'\(target.text)': breakeven \(key) for each \(key2)\n\n" + t.render(),
      json: [
        "target": .string(target.text), "key": .string(key), "key2": .string(key2),
        "frontier": .array(points.map { ["key2_value": .number($0.0), "breakeven": .optional($0.1)] }),
      ]
    ) { ([key2, "breakeven_" + key], points.map { [CSV.number($0.0, decimals: 6), $0.1.map { CSV.number($0, decimals: 6) } ?? ""] }) }
  }
}
