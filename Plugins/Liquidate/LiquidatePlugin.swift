import DealCore
import DealEngine
import DealPluginAPI
import Foundation

/// `liquidate`: after a default, who buys the GPUs, at what price, how fast,
/// and what each creditor gets back (SPEC §5). The default, the claims and
/// the prices come from the session's analysis; the sale and distribution
/// model is `LiquidationEngine`.
public struct LiquidatePlugin: DealPlugin {
  public init() {}
  public var name: String { "liquidate" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [liquidate] }

  /// The model's parameters, declared once: name, help, range and the
  /// model's own default, and where each goes.
  static let parameters: [(option: Option<Double>, path: WritableKeyPath<LiquidationParameters, Double>)] = {
    let d = LiquidationParameters()
    return [
      (.number("depth", "N", NumberSpec(.count, min: 1, max: 10_000_000), default: d.depth, help: "GPUs a month the secondary market absorbs"), \.depth),
      (.number("impact", "X", NumberSpec(.fraction, min: 0, max: 0.95), default: d.impact, help: "price discount when selling a full month's depth"), \.impact),
      (.number("cooling_haircut", "X", NumberSpec(.fraction, min: 0, max: 1), default: d.coolingHaircut, help: "haircut when no buyer can host the racks"), \.coolingHaircut),
      (.number("carry", "X", NumberSpec(.fraction, min: 0, max: 1), default: d.carry, help: "share of power and opex still paid while unsold"), \.carry),
      (.number("workout", "X", NumberSpec(.fraction, min: 0, max: 1), default: d.workout, help: "receiver, legal and broker costs, share of gross proceeds"), \.workout),
      (.number("discount", "R", NumberSpec(.annualRate, min: 0, max: 1), default: d.discount, help: "annual rate discounting proceeds to the default month"), \.discount),
      (.number("slippage", "X", NumberSpec(.fraction, min: 0, max: 0.5), default: d.slippage, help: "crypto slippage per √(sale / $10m)"), \.slippage),
    ]
  }()

  static let at = Option.text(
    "at", "MONTH|default", default: "default", completion: .values(["default"]),
    help: "when the default happens: a month (number or YYYY-MM) or the waterfall's default month")
  static let scenario = Option.text(
    "scenario", "NAME", completion: .scenarios, help: "take the default and prices from a named scenario, or base")
  static let options = [at.spec] + parameters.map(\.option.spec) + [scenario.spec] + Option.stresses()
  static let flags = [FlagSpec("chart", help: "draw each facility's recovery against market depth")]
  static let usage = CommandSpec.usage("liquidate [FACILITY ...]", options: options, flags: flags + [CommandSpec.csvFlag])

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
        "liquidate scenario=winter", "liquidate deflation=60% --chart", "liquidate --csv recoveries.csv --json",
      ],
      arguments: [ArgumentSpec("FACILITY", .nodeIDs(.facility), repeats: true)],
      options: Self.options,
      flags: Self.flags,
      table: "the recoveries by facility"
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    let s = ctx.session
    var params = LiquidationParameters()
    for p in Self.parameters { params[keyPath: p.path] = try inv.value(p.option, else: params[keyPath: p.path]) }
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
    let at = try Self.month(inv.value(Self.at), s)
    guard let outcome = try ctx.analysis.liquidation(scenario: sc, at: at, facilities: inv.positionals, parameters: params) else {
      let months = s.deal.horizon
      let named = try inv.value(Self.scenario) ?? s.activeScenario
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
