import DealCore
import DealEngine
import DealPluginAPI
import Foundation

/// `liquidate`: after a default, who buys the GPUs, at what price, how fast,
/// and what each creditor gets back (SPEC §5). Reads the default month and
/// the balances from `waterfall` and the prices from `depreciate`, both
/// through the host; the sale and distribution model is `LiquidationEngine`.
public struct LiquidatePlugin: DealPlugin {
  public init() {}
  public var name: String { "liquidate" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [liquidate] }

  static let usage =
    "liquidate [FACILITY ...] [at=MONTH|default] [depth=N] [impact=X] [cooling_haircut=X] [carry=X] [workout=X] [discount=R] [slippage=X] [scenario=NAME] [KEY=CHANGE ...] [--chart] [--csv FILE]"

  /// The model's parameters as options: name, value shown, help, and the
  /// range of the value.
  static let parameters: [(name: String, value: String, help: String, spec: NumberSpec, path: WritableKeyPath<LiquidationParameters, Double>)] = [
    ("depth", "N", "GPUs a month the secondary market absorbs (default 2,000)", NumberSpec(.count, min: 1, max: 10_000_000), \.depth),
    ("impact", "X", "price discount when selling a full month's depth (default 20%)", NumberSpec(.fraction, min: 0, max: 0.95), \.impact),
    ("cooling_haircut", "X", "haircut when no buyer can host the racks (default 30%)", NumberSpec(.fraction, min: 0, max: 1), \.coolingHaircut),
    ("carry", "X", "share of power and opex still paid while unsold (default 50%)", NumberSpec(.fraction, min: 0, max: 1), \.carry),
    ("workout", "X", "receiver, legal and broker costs, share of gross proceeds (default 5%)", NumberSpec(.fraction, min: 0, max: 1), \.workout),
    ("discount", "R", "annual rate discounting proceeds to the default month (default 12%)", NumberSpec(.annualRate, min: 0, max: 1), \.discount),
    ("slippage", "X", "crypto slippage per √(sale / $10m) (default 0.5%)", NumberSpec(.fraction, min: 0, max: 0.5), \.slippage),
  ]

  var liquidate: CommandSpec {
    CommandSpec(
      name: "liquidate", abstract: "fire-sale recoveries by lien after a default, and the default chain",
      usage: Self.usage,
      discussion: """
        A default at the waterfall's default month (at=default, the default) or at a given month (at=MONTH:
        the named facilities, else every facility with a balance, default then). The pledged GPUs are sold
        over months at the market's pace (depth units a month) at depreciate's market value less a price
        impact (impact × units a month ÷ depth) and a haircut for liquid cooling and dense racks few buyers
        can host, while carrying costs accrue; crypto is sold with slippage, cash at face; proceeds are
        discounted to the default month. They go down the lien order, then guarantors pay from their own
        free assets, then unsecured claims share what is left pari passu. A default spreads along
        cross-default edges and through guarantees a guarantor cannot honour.
        """,
      examples: [
        "liquidate", "liquidate at=24", "liquidate ddtl at=36 depth=500", "liquidate depth=8000 impact=10%",
        "liquidate scenario=bear", "liquidate deflation=60% --chart", "liquidate --csv recoveries.csv --json",
      ],
      arguments: [ArgumentSpec("FACILITY", .nodeIDs(.facility), repeats: true)],
      options: [OptionSpec("at", "MONTH|default", help: "when the default happens: a month (number or YYYY-MM) or the waterfall's default month", completion: .values(["default"]))]
        + Self.parameters.map { OptionSpec($0.name, $0.value, help: $0.help) }
        + [OptionSpec("scenario", "NAME", help: "take the default and prices from a named scenario, or base", completion: .scenarios)]
        + Scenario.Key.allCases.map { OptionSpec($0.rawValue, "CHANGE", help: "stress: " + $0.help + " (\($0.example))") },
      flags: [
        FlagSpec("chart", help: "draw each facility's recovery against market depth"),
      ],
      table: "the recoveries by facility"
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    let s = ctx.session
    var params = LiquidationParameters()
    for p in Self.parameters {
      if let x = try inv.number(p.name, p.spec) { params[keyPath: p.path] = x }
    }
    let sc = try inv.scenario(ctx.analysis)
    let facilities = s.graph.sortedNodes.filter { $0.kind == .facility }.map(\.id)
    guard !facilities.isEmpty else {
      throw DealError(.invalid, "the deal has no facility to recover", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }
    for (n, id) in inv.positionals.enumerated() where s.graph[id]?.kind != .facility {
      if s.graph[id] == nil {
        throw DealError.unknownNode(id, in: facilities, subject: .word(inv.positionalIndices[n]))
      }
      throw DealError(.invalid, "'\(id)' is not a facility", hint: "facilities: " + facilities.joined(separator: ", "), subject: .word(inv.positionalIndices[n]))
    }
    let at = try Self.month(inv.option("at"), s)
    guard let outcome = try ctx.analysis.liquidation(scenario: sc, at: at, facilities: inv.positionals, parameters: params) else {
      let months = s.deal.horizon
      let named = inv.option("scenario") ?? s.activeScenario
      let stressed = try !inv.stress().isBase
      let under = named.flatMap { $0 == "base" ? nil : "scenario '\($0)'" } ?? (stressed ? "this stress" : "the base case")
      return CommandOutput(
        text: "no default within the horizon (\(months) months) under \(under): nothing to liquidate\n(liquidate at=MONTH assumes one; shock finds the stress that causes one)",
        json: ["facilities": [:], "defaulted": [], "default_month": .null, "months": .number(Double(months))],
        csv: { (LiquidationOutcome.csvHeader, []) })  // no facility to list
    }
    var depthCurve: [(depth: Double, rates: [Double?])] = []
    if inv.has("chart") {
      // Recovery against depth: from a sixteenth to sixteen times the depth.
      for k in -4...4 {
        let depth = params.depth * Foundation.pow(2, Double(k))
        depthCurve.append((depth, try ctx.analysis.recoveries(of: outcome, depth: depth)))
      }
    }
    let terminal = ctx.terminal
    return CommandOutput(text: outcome.text(depthCurve: depthCurve, terminal: terminal), json: outcome.json(), csv: outcome.csv)
  }

  /// `at=`: nil for the waterfall's default month, else a deal month.
  static func month(_ text: String?, _ s: Session) throws(DealError) -> Int? {
    guard let text, text != "default" else { return nil }
    let horizon = s.deal.horizon
    if let n = Int(text) {
      guard n >= 1, n <= horizon else {
        throw DealError(.invalid, "at=\(text) is outside the deal (months 1 to \(horizon))", subject: .value("at"))
      }
      return n
    }
    if let m = CalendarDate(parsing: text)?.month {
      let n = m.dealMonth(from: s.deal.start)
      guard n >= 1, n <= horizon else {
        throw DealError(.invalid, "at=\(text) is outside the deal (\(s.deal.start) to \(s.deal.start + (horizon - 1)))", subject: .value("at"))
      }
      return n
    }
    throw DealError(.invalid, "invalid value for 'at': '\(text)'", hint: "a month number (24), a month (2027-01) or default", subject: .value("at"))
  }
}
