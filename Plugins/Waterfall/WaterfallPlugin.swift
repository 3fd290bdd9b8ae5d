import DealCore
import DealEngine
import DealPluginAPI

/// `waterfall`: month by month, does the cash from the assets pay the debt?
/// DSCR, LTV, covenant breaches, default month, tranche cash flows (SPEC §5).
public struct WaterfallPlugin: DealPlugin {
  public init() {}
  public var name: String { "waterfall" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [waterfall, SizeCommand.spec] }

  static let months = Option.integer("months", "N", NumberSpec(.months, min: 0, max: 1200), help: "months to run (default: the horizon)")
  static let scenario = Option.text(
    "scenario", "NAME", completion: .scenarios, help: "run under a named scenario, or base (default: the one in use, see scenario use)")
  static let charts = ["dscr", "ltv", "balance"]
  static let options = [months.spec, scenario.spec] + Option.stresses()
  static let flags = [
    FlagSpec("detail", help: "one row per month instead of per year"),
    FlagSpec("chart", value: charts.joined(separator: "|"), help: "draw the DSCR, LTV or balance path (dscr if none is named)", default: "dscr"),
    FlagSpec(
      "facility", value: "ID", help: "one facility's monthly cash flows: interest, principal, balance, its DSCR and LTV",
      completion: .nodeIDs(.facility)),
    FlagSpec("entity", value: "ID", help: "one entity's cash account month by month: sources, uses, closing cash", completion: .nodeIDs(.entity)),
  ]
  static let usage = CommandSpec.usage("waterfall", options: options, flags: flags + [CommandSpec.csvFlag])

  var waterfall: CommandSpec {
    CommandSpec(
      name: "waterfall", abstract: "monthly cash waterfall: DSCR, LTV, covenants, default month, tranche cash flows",
      usage: Self.usage,
      discussion: """
        Revenue (units × utilization × 730 h × rate; take-or-pay floors; the deflating spot rate after the
        term) less power and opex is CFADS. Facilities are paid by rank: interest, scheduled principal,
        reserve top-up; shortfalls are drawn from the reserve, then from guarantors; what cannot be paid is
        a payment default. Then borrowing-base cures, margin calls, sweeps, and equity unless locked up.
        LTV uses depreciate's market values. Floating facilities pay a 4.3% base rate plus their spread.
        """,
      examples: [
        "waterfall", "waterfall --detail", "waterfall months=36", "waterfall scenario=winter", "waterfall deflation=45% spot=-20%", "waterfall --chart dscr",
        "waterfall --csv cashflows.csv --json",
      ],
      options: Self.options,
      flags: Self.flags,
      table: "the monthly cash waterfall"
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    try inv.noExtraPositionals(after: 0, usage: Self.usage)
    let s = ctx.session
    // At most the horizon: the bound depends on the deal.
    let horizon = s.deal.horizon
    let months = try inv.value(Option.integer("months", "N", NumberSpec(.months, min: 1, max: Double(horizon)), help: "")) ?? horizon
    let sc = try inv.scenario(ctx.analysis)
    let chartKind = inv.flags["chart"]
    if let k = chartKind, !Self.charts.contains(k) {
      throw DealError.unknownName("chart", k, valid: Self.charts, subject: .text(k))
    }
    guard s.graph.nodes.values.contains(where: { $0.kind == .facility }) else {
      throw DealError(.invalid, "the deal has no facility to pay", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }
    let run = try ctx.analysis.waterfall(sc, months: months)
    let plan = run.plan, r = run.result
    let terminal = ctx.terminal
    let detail = inv.has("detail")
    let named = try inv.value(Self.scenario) ?? s.activeScenario
    var title = named.flatMap { $0 == "base" ? nil : "scenario '\($0)'" } ?? (sc.isBase ? "base case" : "stressed")
    if !sc.isBase { title += ": " + sc.description }
    if let id = inv.flags["facility"] {
      guard let f = r.facility(id) else {
        throw DealError.unknownName("facility", id, valid: r.facilities.map(\.id).sorted(), subject: .text(id))
      }
      return WaterfallReport.facility(f, plan: plan, start: s.deal.start, title: title)
    }
    if let id = inv.flags["entity"] {
      guard let e = r.entity(id) else {
        throw DealError.unknownName("entity", id, valid: r.entities.map(\.id).sorted(), subject: .text(id))
      }
      return WaterfallReport.entity(e, start: s.deal.start, title: title)
    }
    return CommandOutput(
      text: WaterfallReport.text(r, plan: plan, start: s.deal.start, title: title, detail: detail, chart: chartKind, terminal: terminal),
      json: r.json(), csv: { [start = s.deal.start] in WaterfallReport.csv(r, start: start) })
  }
}

