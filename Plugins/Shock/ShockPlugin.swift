import DealCore
import DealEngine
import DealPluginAPI

/// `shock` and `scenario`: stress the deal and rerun the waterfall (SPEC §5).
/// The deterministic shock runs `waterfall` through the host, once as it is
/// and once stressed, and prints the two side by side.
public struct ShockPlugin: DealPlugin {
  public init() {}
  public var name: String { "shock" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [shock, scenario] }


  static let name = Option.text("name", "NAME", help: "keep the stress as a named scenario")
  /// One usage per mode, each from its declarations.
  static let usage = [
    "shock KEY=CHANGE ... [name=NAME]", "shock grid KEY=FROM..TO:STEPS [KEY=FROM..TO:STEPS] [metric=M]",
    "shock solve TARGET KEY [KEY2]", MonteCarloCommand.usage,
  ].joined(separator: " | ")

  var shock: CommandSpec {
    CommandSpec(
      name: "shock", abstract: "stress the deal (rent deflation, coin crash, utilization, rates) and compare with the base case",
      usage: Self.usage,
      discussion: "Keys: " + Scenario.Key.allCases.map { "\($0.rawValue) (\($0.help))" }.joined(separator: "; ")
        + ". name=NAME keeps the stress as a named scenario of the session ('waterfall scenario=NAME')."
        + " grid tabulates a metric (min_dscr, avg_dscr, default_month, first_breach_month, FACILITY.loss, FACILITY.irr)"
        + " over one or two keys; solve finds the smallest stress at which TARGET (default, breach, \"senior.loss>0\","
        + " \"min_dscr<1\") happens, or with KEY2 the frontier of the two. mc runs the waterfall on random paths of"
        + " correlated monthly factors (spot rates, crypto, utilization, base rate; tenant defaults from their pd) whose"
        + " correlation moves from corr to converge in stress months, values each default with liquidate's sale model, and"
        + " reports the probability of default, the min-DSCR distribution, expected and tail losses and the fair spread.",
      examples: [
        "shock deflation=40%", "shock deflation=40% btc=-60% utilization=-20pt rate=+200bp",
        "shock spot=-30% haircut=20% name=bear", "shock btc=-70% --json",
        "shock grid deflation=0%..60%:7 utilization=0pt..-30pt:4", "shock grid deflation=10%..70%:7 metric=ddtl.loss --csv grid.csv",
        "shock solve default deflation", "shock solve \"ddtl.loss>0\" deflation spot",
        "shock mc paths=20000 seed=7", "shock mc corr=20% converge=95% months=36", "shock mc scenario=bear --json",
      ],
      subcommands: ["grid", "solve", "mc"],
      options: Option.stresses(help: "", checked: false) + [Self.name.spec, GridSolve.metricOption.spec] + MonteCarloCommand.scenarioFirst,
      effects: .changes, table: "the table: a stress beside the base case, a grid, a frontier, the Monte Carlo's facilities"
    ) { inv, ctx in
      try Self.checkOptions(inv)
      switch inv.positionals.first {
      case "grid": return try GridSolve.grid(inv, ctx)
      case "solve": return try GridSolve.solve(inv, ctx)
      case "mc": return try MonteCarloCommand.run(inv, ctx)
      case let other?:
        throw DealError.unknownName("shock mode", other, valid: ["grid", "solve", "mc"], subject: .word(inv.positionalIndices[0]))
          .withHint("'shock KEY=CHANGE ...' for one stress; 'shock grid', 'shock solve' or 'shock mc' for many")
      case nil: break
      }
      var stress = Scenario.base
      for (key, value, _) in inv.options where key != "name" {
        let (k, v) = try Scenario.parse(key: key, value)
        stress[k] = v
      }
      guard !stress.isBase else {
        throw DealError.usage(
          "no stress given", hint: "e.g. shock deflation=40% btc=-60% utilization=-20pt rate=+200bp", subject: .word(0))
      }
      let base = try ctx.analysis.waterfall(.base).result
      let shocked = try ctx.analysis.waterfall(stress).result
      var saved: String? = nil
      if let name = try inv.value(Self.name) {
        guard DealGraph.isValidID(name) else {
          throw DealError(.invalid, "invalid scenario name '\(name)'", hint: "names are like ids: bear, btc-crash, stress_1", subject: .value("name"))
        }
        ctx.modify { $0.scenarios[name] = stress }
        saved = name
      }
      let described = stress.description
      return CommandOutput(
        text: ShockReport.compare([("base", base), ("shocked", shocked)], title: "shock: " + described)
          + (saved.map { "\nkept as scenario '\($0)' (waterfall scenario=\($0))" } ?? ""),
        json: ["base": base.summaryJSON(), "shocked": shocked.summaryJSON(), "factors": .object(stress.factors.mapValues { .number($0) })],
        csv: { ShockReport.csvTable([("base", base), ("shocked", shocked)]) })
    }
  }

  /// Options that belong to one mode of `shock` only: one given to another
  /// mode is refused, naming where it belongs (stress keys and unknown keys
  /// are each mode's own business).
  static let modeOptions: [String: String] = {
    var owner = ["metric": "grid", "name": "stress"]
    for o in MonteCarloCommand.options { owner[o.name] = "mc" }
    return owner
  }()

  static func checkOptions(_ inv: Invocation) throws(DealError) {
    let mode = inv.positionals.first ?? "stress"
    for (key, _, _) in inv.options {
      guard let owner = modeOptions[key], owner != mode, ["stress", "grid", "solve", "mc"].contains(mode) else { continue }
      let place = owner == "stress" ? "a single stress ('shock KEY=CHANGE ... name=NAME')" : "'shock \(owner)'"
      throw DealError.usage(
        owner == "stress" ? "\(key)= does not apply to 'shock \(mode)'; it belongs to \(place)" : "\(key)= belongs to \(place)",
        subject: .key(key))
    }
  }

  var scenario: CommandSpec {
    CommandSpec(
      name: "scenario", abstract: "named scenarios of the session: list, save, remove, compare",
      usage: "scenario [ls] | scenario save NAME KEY=CHANGE ... | scenario use NAME|base | scenario rm NAME | scenario compare NAME|base NAME ...",
      examples: [
        "scenario ls", "scenario save bear deflation=45% spot=-20%", "scenario use bear", "scenario use base",
        "scenario compare base bear", "scenario compare base bear --csv scenarios.csv",
        "scenario rm bear",
      ],
      subcommands: ["ls", "save", "use", "rm", "compare"],
      arguments: [ArgumentSpec("SUBCOMMAND", .values(["ls", "save", "use", "rm", "compare"])), ArgumentSpec("NAME", .scenarios, repeats: true)],
      options: Option.stresses(help: ""),
      effects: .changes, tabular: true
    ) { inv, ctx in
      let sub = inv.positionals.first ?? "ls"
      let names = Array(inv.positionals.dropFirst())
      switch sub {
      case "ls":
        try inv.noExtraPositionals(after: 1, usage: "scenario ls")
        let all = ctx.session.scenarios.sorted { $0.key < $1.key }
        var t = TextTable(["SCENARIO", "IN USE", "STRESS"])
        let active = ctx.session.activeScenario
        for (n, f) in all { t.add([n, active == n ? "*" : "", f.description]) }
        return CommandOutput(
          text: all.isEmpty ? "no scenarios (shock ... name=NAME or scenario save NAME ... keeps one)" : t.render(),
          json: [
            "scenarios": .object(Dictionary(all.map { ($0.key, JSONValue.object($0.value.factors.mapValues { .number($0) })) }, uniquingKeysWith: { a, _ in a })),
            "in_use": .optional(active),
          ],
          csv: { (["scenario", "in_use", "stress"], all.map { [$0.key, active == $0.key ? "yes" : "", $0.value.description] }) })
      case "save":
        guard names.count == 1 else { throw DealError.usage("scenario save takes one NAME", hint: "scenario save NAME KEY=CHANGE ...", subject: .word(0)) }
        let name = names[0]
        guard DealGraph.isValidID(name), name != "base" else {
          throw DealError(.invalid, "invalid scenario name '\(name)'", hint: "names are like ids; 'base' is the base case", subject: .text(name))
        }
        let stress = try inv.stress()
        guard !stress.isBase else { throw DealError.usage("no stress given", hint: "e.g. scenario save bear deflation=45%", subject: .word(0)) }
        let replaced = ctx.session.scenarios[name] != nil
        ctx.modify { $0.scenarios[name] = stress }
        return CommandOutput(
          text: "\(replaced ? "replaced" : "saved") scenario '\(name)': \(stress.description)",
          json: ["saved": .string(name), "factors": .object(stress.factors.mapValues { .number($0) })])
      case "use":
        guard names.count == 1 else { throw DealError.usage("scenario use takes one NAME, or base", subject: .word(0)) }
        let name = names[0]
        if name == "base" {
          ctx.modify { $0.activeScenario = nil }
          return CommandOutput(text: "commands run on the base case", json: ["in_use": .null])
        }
        guard ctx.session.scenarios[name] != nil else {
          throw DealError.unknownName("scenario", name, valid: ["base"] + ctx.session.scenarios.keys.sorted(), subject: .word(inv.positionalIndices[1]))
        }
        ctx.modify { $0.activeScenario = name }
        let stress = (ctx.session.scenarios[name] ?? .base).description
        return CommandOutput(
          text: "commands run under scenario '\(name)' (\(stress)) until 'scenario use base'",
          json: ["in_use": .string(name)])
      case "rm":
        guard !names.isEmpty else { throw DealError.usage("scenario rm needs a NAME", subject: .word(0)) }
        for (k, n) in names.enumerated() where ctx.session.scenarios[n] == nil {
          throw DealError.unknownName("scenario", n, valid: ctx.session.scenarios.keys.sorted(), subject: .word(inv.positionalIndices[k + 1]))
        }
        ctx.modify { s in
          for n in names { s.scenarios[n] = nil }
          if let a = s.activeScenario, names.contains(a) { s.activeScenario = nil }
        }
        return CommandOutput(text: "removed " + names.map { "'\($0)'" }.joined(separator: ", "), json: ["removed": .array(names.map { .string($0) })])
      case "compare":
        guard !names.isEmpty else { throw DealError.usage("scenario compare needs names", hint: "scenario compare base bear", subject: .word(0)) }
        var runs: [(String, WaterfallResult)] = []
        for (k, n) in names.enumerated() {
          if n == "base" {
            runs.append((n, try ctx.analysis.waterfall(.base).result))
          } else {
            guard let sc = ctx.session.scenarios[n] else {
              throw DealError.unknownName("scenario", n, valid: ["base"] + ctx.session.scenarios.keys.sorted(), subject: .word(inv.positionalIndices[k + 1]))
            }
            runs.append((n, try ctx.analysis.waterfall(sc).result))
          }
        }
        return CommandOutput(
          text: ShockReport.compare(runs, title: "scenarios"),
          json: ["scenarios": .object(Dictionary(runs.map { ($0.0, $0.1.summaryJSON()) }, uniquingKeysWith: { a, _ in a }))],
          csv: { ShockReport.csvTable(runs) })
      default:
        throw DealError.unknownName("scenario subcommand", sub, valid: ["ls", "save", "use", "rm", "compare"], subject: .word(1))
      }
    }
  }
}


/// Side-by-side summaries of waterfall runs.
enum ShockReport {
  /// The rows of a comparison: the summary metrics, then each facility's
  /// loss and IRR.
  static func metrics(_ runs: [(String, WaterfallResult)]) -> [(label: String, csv: String, metric: WaterfallMetric)] {
    var out: [(String, String, WaterfallMetric)] = [
      ("min DSCR", "min_dscr", .minDSCR), ("average DSCR", "avg_dscr", .avgDSCR),
      ("first breach month", "first_breach_month", .firstBreachMonth), ("default month", "default_month", .defaultMonth),
    ]
    for id in (runs.first?.1.facilities.map(\.id) ?? []).sorted() {
      out.append(("\(id) loss USD", "\(id).loss_usd", .facility(id, .loss)))
      out.append(("\(id) IRR", "\(id).irr", .facility(id, .irr)))
    }
    return out
  }

  /// The comparison as CSV: one row per metric, one column per run, plain numbers.
  static func csvTable(_ runs: [(String, WaterfallResult)]) -> (header: [String], rows: [[String]]) {
    let rows = metrics(runs).map { m in [m.csv] + runs.map { run in m.metric.value(run.1).map { CSV.number($0, decimals: 4) } ?? "" } }
    return (["metric"] + runs.map(\.0), rows)
  }

  static func compare(_ runs: [(String, WaterfallResult)], title: String) -> String {
    func signed(_ x: Double, _ s: String) -> String { (x > 0 ? "+" : "") + s }
    func format(_ m: WaterfallMetric, _ v: Double?) -> String {
      switch m {
      case .minDSCR, .avgDSCR: v.map { Format.grouped($0, decimals: 2) + "x" } ?? "—"
      case .defaultMonth, .firstBreachMonth: v.map { String(Int($0)) } ?? "none"
      case .facility(_, .irr): v.map { Format.percent($0, maxDecimals: 1) } ?? "—"
      default: v.map { Format.grouped($0, decimals: 0) } ?? "—"
      }
    }
    func delta(_ m: WaterfallMetric, _ a: Double, _ b: Double) -> String {
      switch m {
      case .minDSCR, .avgDSCR: signed(b - a, Format.grouped(b - a, decimals: 2) + "x")
      case .defaultMonth, .firstBreachMonth: signed(b - a, String(Int(b - a)))
      case .facility(_, .irr): signed(b - a, Format.plain((b - a) * 10_000, maxDecimals: 0) + "bp")
      default: signed(b - a, Format.grouped(b - a, decimals: 0))
      }
    }
    let withChange = runs.count == 2
    var headers = ["METRIC"] + runs.map { $0.0.uppercased() }
    if withChange { headers.append("CHANGE") }
    var t = TextTable(headers, aligns: [.left] + Array(repeating: .right, count: headers.count - 1))
    for m in metrics(runs) {
      var r = [m.label] + runs.map { format(m.metric, m.metric.value($0.1)) }
      if withChange {
        if let a = m.metric.value(runs[0].1), let b = m.metric.value(runs[1].1) { r.append(delta(m.metric, a, b)) } else { r.append("") }
      }
      t.add(r)
    }
    return title + "\n\n" + t.render()
  }
}
