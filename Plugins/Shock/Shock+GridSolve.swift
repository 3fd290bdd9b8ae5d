import DealCore
import DealEngine
import DealPluginAPI
import Foundation

/// `shock grid` and `shock solve`: sensitivity tables and reverse stress,
/// each point a waterfall run of the session's analysis.
enum GridSolve {
  static let metricOption = Option.text("metric", "M", default: "min_dscr", help: "grid: the metric to tabulate")

  /// How far each key is searched by `solve` (from no stress to the worst).
  static let searchRange: [Scenario.Key: (Double, Double)] = [
    .deflation: (0, 1), .spot: (0, -1), .btc: (0, -1), .eth: (0, -1), .utilization: (0, -1),
    .rate: (0, 0.2), .power: (0, 5), .haircut: (0, 1),
  ]

  /// The waterfall under stress factors (on the base case).
  static func run(_ analysis: DealAnalysis, _ factors: [(Scenario.Key, Double)]) throws(DealError) -> WaterfallResult {
    var sc = Scenario.base
    for (k, v) in factors { sc[k] = v }
    return try analysis.waterfall(sc).result
  }

  static func facilityIDs(_ ctx: CommandContext) -> [String] {
    ctx.session.graph.sortedNodes.filter { $0.kind == .facility }.map(\.id)
  }

  /// Parses `KEY=FROM..TO:STEPS`.
  static func axis(_ key: String, _ text: String) throws(DealError) -> (Scenario.Key, [Double]) {
    let parts = text.split(separator: ":")
    let range = parts.first.map { $0.components(separatedBy: "..") } ?? []
    guard parts.count == 2, range.count == 2, let steps = Int(parts[1]), steps >= 2, steps <= 41 else {
      throw DealError(
        .usage, "invalid range '\(text)' for '\(key)'", hint: "write FROM..TO:STEPS, e.g. \(key)=0%..60%:7 (2 to 41 steps)",
        subject: .value(key))
    }
    let (k, lo) = try Scenario.parse(key: key, range[0])
    let hi = try Scenario.parse(key: key, range[1]).1
    return (k, (0..<steps).map { ((lo + (hi - lo) * Double($0) / Double(steps - 1)) * 1e12).rounded() / 1e12 })
  }

  static func label(_ key: Scenario.Key, _ v: Double) -> String { key.format(v) }

  // MARK: grid

  static func grid(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    let axes = inv.options.filter { $0.key != "metric" }
    guard (1...2).contains(axes.count) else {
      throw DealError.usage("shock grid takes one or two KEY=FROM..TO:STEPS", hint: "e.g. shock grid deflation=0%..60%:7 btc=0%..-80%:5", subject: .word(0))
    }
    let metricName = try inv.value(metricOption, else: "min_dscr")
    let (rowKey, rows) = try axis(axes[0].key, axes[0].value)
    var colKey: Scenario.Key? = nil, cols = [0.0]
    if axes.count == 2 { (colKey, cols) = try axis(axes[1].key, axes[1].value) }
    if let colKey, colKey == rowKey { throw DealError.usage("the two axes must be different keys", subject: .key(colKey.rawValue)) }
    let metric = try WaterfallMetric(parsing: metricName, facilities: facilityIDs(ctx), subject: .value("metric"))
    var values: [[Double?]] = []
    for r in rows {
      var line: [Double?] = []
      for c in cols {
        try ctx.checkCancelled()
        var f = [(rowKey, r)]
        if let colKey { f.append((colKey, c)) }
        line.append(metric.value(try run(ctx.analysis, f)))
      }
      values.append(line)
    }
    let json: JSONValue = [
      "metric": .string(metricName), "row_key": .string(rowKey.rawValue), "rows": .array(rows.map { .number($0) }),
      "col_key": colKey.map { .string($0.rawValue) } ?? .null, "cols": .array(colKey == nil ? [] : cols.map { .number($0) }),
      "values": .array(values.map { .array($0.map { JSONValue.optional($0) }) }),
    ]
    let style = ctx.terminal.color
    // The covenant the DSCR colours are read against: the tightest one.
    let covenant = ctx.session.graph.sortedNodes.filter { $0.kind == .facility }
      .compactMap { ctx.session.values(of: $0.id, schema: ctx.schema)?["min_dscr"]?.number }.max()
    let text = heatMap(
      metric, rowKey: rowKey, rows: rows, colKey: colKey, cols: cols, values: values, color: style, covenant: covenant)
    return CommandOutput(text: text, json: json) {
      // A row per value of the first key, a column per value of the second.
      let header = ["\(rowKey.rawValue)\\\(colKey?.rawValue ?? metricName)"] + (colKey == nil ? [metricName] : cols.map { JSONValue.format(number: $0) })
      return (header, zip(rows, values).map { r, line in [JSONValue.format(number: r)] + line.map { $0.map { CSV.number($0, decimals: 4) } ?? "" } })
    }
  }

  static func format(_ metric: WaterfallMetric, _ v: Double?) -> String {
    let name = metric.name
    guard let v else { return name.hasSuffix("_month") ? "none" : "—" }
    if name.hasSuffix("dscr") { return Format.grouped(v, decimals: 2) + "x" }
    if name.hasSuffix("_month") { return String(Int(v)) }
    if name.hasSuffix(".irr") { return Format.percent(v, maxDecimals: 1) }
    return Format.compactMoney(v)
  }

  /// The grid as a table, coloured on a terminal by fixed thresholds where
  /// the metric has them: a DSCR red below 1.00x, amber from 1.00x to the
  /// covenant (the tightest `min_dscr`, else 1.25x), green at or above it; a
  /// default or breach month red when it happens and green when it does not;
  /// a loss green at zero and red otherwise. Other metrics (IRR, balances)
  /// are coloured relative to the grid, in thirds.
  static func heatMap(
    _ metric: WaterfallMetric, rowKey: Scenario.Key, rows: [Double], colKey: Scenario.Key?, cols: [Double], values: [[Double?]], color: Bool,
    covenant: Double? = nil
  ) -> String {
    let all = values.flatMap { $0 }.compactMap { $0 }
    let lo = all.min() ?? 0, hi = all.max() ?? 1
    let good = metric.higherIsBetter
    let red = "41;97", amber = "43;30", green = "42;30"
    func code(_ v: Double?) -> String {
      switch metric {
      case .minDSCR, .avgDSCR:
        guard let v else { return green }  // no debt service due
        return v < 1 ? red : (v < (covenant ?? 1.25) - 1e-9 ? amber : green)
      case .defaultMonth, .firstBreachMonth:
        return v == nil ? green : red
      case .facility(_, .loss):
        return (v ?? 0) > 0.5 ? red : green
      default:
        // "none" means it never happens: the best case.
        var t: Double
        if let v { t = hi > lo ? (v - lo) / (hi - lo) : 1 } else { t = 1 }
        if !good { t = 1 - t }
        return t < 0.34 ? red : (t < 0.67 ? amber : green)
      }
    }
    func paint(_ s: String, _ v: Double?) -> String {
      guard color else { return s }
      return "\u{1B}[\(code(v))m\(s)\u{1B}[0m"
    }
    var header = [colKey == nil ? rowKey.rawValue : "\(rowKey.rawValue) \\ \(colKey!.rawValue)"]
    header += colKey.map { k in cols.map { label(k, $0) } } ?? [metric.name]
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
    return "\(metric.name) by \(rowKey.rawValue)" + (colKey.map { " and \($0.rawValue)" } ?? "") + "\n\n" + lines.joined(separator: "\n")
  }

  // MARK: solve

  /// A reverse-stress target: an event (`default`, `breach`), or a metric
  /// against a threshold (`senior.loss>0`, `min_dscr<1`).
  struct Target {
    var text: String
    var test: (WaterfallResult) -> Bool

    init(_ text: String, facilities: [String]) throws(DealError) {
      self.text = text
      switch text {
      case "default": test = { $0.defaultMonth != nil }
      case "breach": test = { $0.firstBreachMonth != nil }
      default:
        let ops = [">=", "<=", ">", "<"]
        guard let op = ops.first(where: { text.contains($0) }) else {
          throw DealError(.usage, "unknown target '\(text)'", hint: "default, breach, or METRIC<VALUE / METRIC>VALUE, e.g. \"senior.loss>0\" or \"min_dscr<1\"", subject: .text(text))
        }
        let parts = text.components(separatedBy: op)
        let metric = try WaterfallMetric(parsing: parts[0].trimmingCharacters(in: .whitespaces), facilities: facilities, subject: .text(text))
        let q: Quantity
        do { q = try Quantity.parse(parts[1].trimmingCharacters(in: .whitespaces)) } catch {
          throw DealError(.usage, "invalid threshold in '\(text)': \(error.reason)", subject: .text(text))
        }
        let x = q.value
        test = { w in
          guard let v = metric.value(w) else { return false }
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
  static func breakeven(_ key: Scenario.Key, target: Target, fixed: [(Scenario.Key, Double)], ctx: CommandContext) throws(DealError) -> Double? {
    let (a, b) = searchRange[key]!
    if target.test(try run(ctx.analysis, fixed + [(key, a)])) { return a }
    if !target.test(try run(ctx.analysis, fixed + [(key, b)])) { return nil }
    var lo = a, hi = b
    for _ in 0..<14 {
      try ctx.checkCancelled()
      let mid = (lo + hi) / 2
      if target.test(try run(ctx.analysis, fixed + [(key, mid)])) { hi = mid } else { lo = mid }
    }
    return hi
  }

  static func solve(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    let args = Array(inv.positionals.dropFirst())
    guard args.count == 2 || args.count == 3 else {
      throw DealError.usage("shock solve takes TARGET KEY [KEY2]", hint: "e.g. shock solve default deflation, shock solve \"senior.loss>0\" deflation btc", subject: .word(0))
    }
    let target = try Target(args[0], facilities: facilityIDs(ctx))
    var keys: [Scenario.Key] = []
    for (n, k) in args.dropFirst().enumerated() {
      guard let key = Scenario.Key(rawValue: k) else {
        throw DealError.unknownName("stress key", k, valid: Scenario.Key.allCases.map(\.rawValue), subject: .word(inv.positionalIndices[n + 2]))
      }
      keys.append(key)
    }
    let key = keys[0]
    if args.count == 2 {
      let x = try breakeven(key, target: target, fixed: [], ctx: ctx)
      let text: String
      switch x {
      case nil: text = "'\(target.text)' does not happen for any \(key) in \(label(key, searchRange[key]!.0))..\(label(key, searchRange[key]!.1))"
      case let v? where v == searchRange[key]!.0: text = "'\(target.text)' already happens in the base case"
      case let v?: text = "'\(target.text)' first happens at \(key)=\(label(key, v))"
      }
      return CommandOutput(text: text, json: ["target": .string(target.text), "key": .string(key.rawValue), "breakeven": .optional(x)])
    }
    // A frontier: for each value of KEY2, the breakeven of KEY.
    let key2 = keys[1]
    let (a2, b2) = searchRange[key2]!
    let steps = 6
    var points: [(Double, Double?)] = []
    for i in 0..<steps {
      let v2 = a2 + (b2 - a2) * Double(i) / Double(steps - 1)
      points.append((v2, try breakeven(key, target: target, fixed: [(key2, v2)], ctx: ctx)))
    }
    var t = TextTable([key2.rawValue.uppercased(), "BREAKEVEN \(key.rawValue.uppercased())"], aligns: [.right, .right])
    for (v2, x) in points { t.add([label(key2, v2), x.map { label(key, $0) } ?? "never"]) }
    return CommandOutput(
      text: "'\(target.text)': breakeven \(key) for each \(key2)\n\n" + t.render(),
      json: [
        "target": .string(target.text), "key": .string(key.rawValue), "key2": .string(key2.rawValue),
        "frontier": .array(points.map { ["key2_value": .number($0.0), "breakeven": .optional($0.1)] }),
      ]
    ) { ([key2.rawValue, "breakeven_" + key.rawValue], points.map { [CSV.number($0.0, decimals: 6), $0.1.map { CSV.number($0, decimals: 6) } ?? ""] }) }
  }
}
