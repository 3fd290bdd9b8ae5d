import DealCore
import DealEngine
import DealPluginAPI

/// `waterfall`: month by month, does the cash from the assets pay the debt?
/// DSCR, LTV, covenant breaches, default month, tranche cash flows (SPEC §5).
public struct WaterfallPlugin: DealPlugin {
  public init() {}
  public var name: String { "waterfall" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [waterfall] }

  static let usage =
    "waterfall [months=N] [scenario=NAME] [deflation=X spot=X btc=X eth=X utilization=X rate=X power=X haircut=X] [--detail] [--chart dscr|ltv|balance] [--csv FILE]"

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
        "waterfall", "waterfall --detail", "waterfall months=36", "waterfall scenario=bear", "waterfall --chart dscr",
        "waterfall --csv cashflows.csv --json",
      ],
      options: [
        OptionSpec("months", "N", help: "months to run (default: the horizon)"),
        OptionSpec("scenario", "NAME", help: "run under a named scenario, or base (default: the one in use, see scenario use)", completion: .scenarios),
      ] + Scenario.Key.allCases.map { OptionSpec($0.rawValue, "CHANGE", help: "stress: " + $0.help + " (\($0.example))") },
      flags: [
        FlagSpec("detail", help: "one row per month instead of per year"),
        FlagSpec("chart", value: "dscr|ltv|balance", help: "draw the DSCR, LTV or balance path"),
      ],
      table: "the monthly cash waterfall"
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    try inv.noExtraPositionals(after: 0, usage: Self.usage)
    let s = ctx.session
    let months = try inv.integer("months", NumberSpec(.months, min: 1, max: Double(s.deal.horizon))) ?? s.deal.horizon
    let sc = try inv.scenario(ctx.analysis)
    let chartKind = inv.flags["chart"]
    if let k = chartKind, !["dscr", "ltv", "balance"].contains(k) {
      throw DealError.unknownName("chart", k, valid: ["dscr", "ltv", "balance"], subject: .text(k))
    }
    guard s.graph.nodes.values.contains(where: { $0.kind == .facility }) else {
      throw DealError(.invalid, "the deal has no facility to pay", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }
    let run = try ctx.analysis.waterfall(sc, months: months)
    let plan = run.plan, r = run.result
    let terminal = ctx.terminal
    let detail = inv.has("detail")
    let named = inv.option("scenario") ?? s.activeScenario
    var title = named.flatMap { $0 == "base" ? nil : "scenario '\($0)'" } ?? (sc.isBase ? "base case" : "stressed")
    if !sc.isBase { title += ": " + sc.description }
    return CommandOutput(
      text: WaterfallReport.text(r, plan: plan, start: s.deal.start, title: title, detail: detail, chart: chartKind, terminal: terminal),
      json: r.json(), csv: { [start = s.deal.start] in WaterfallReport.csv(r, start: start) })
  }
}

