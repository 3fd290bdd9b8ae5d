import DealCore

/// The numbers of one session, computed when first asked for and kept
/// while the session is unchanged: value curves, waterfall runs by scenario,
/// liquidations. Commands share it through their context, so `waterfall`,
/// `shock`, `liquidate` and `report` call Swift functions on one typed
/// object instead of running each other as command strings, and every
/// command sees the numbers the others printed.
///
/// Every method throws: a curve that cannot be computed, a facility without
/// what it needs, reaches the user as an error naming the node and why,
/// never as a silently different result.
///
/// Not thread-safe: one command at a time uses it (the engine's own
/// parallel work happens inside a call).
public final class DealAnalysis {
  public let session: Session
  public let schema: Schema

  private var valuations: [Int: [String: [Double]]] = [:]
  private struct RunKey: Hashable {
    var scenario: Scenario
    var months: Int
  }
  private var waterfalls: [RunKey: WaterfallAnalysis] = [:]

  public init(session: Session, schema: Schema) {
    self.session = session
    self.schema = schema
  }

  // MARK: Scenarios

  /// The scenario a command runs under: `name` (a named scenario, or
  /// `base`), else the one in use (`scenario use`), else the base case;
  /// `stress` on top.
  /// - Throws: an unknown name, naming the closest one.
  public func scenario(named name: String?, stress: Scenario = .base) throws(DealError) -> Scenario {
    let s = session
    var scenario = Scenario.base
    if let requested = name ?? s.activeScenario, requested != "base" {
      guard let named = s.scenarios[requested] else {
        throw DealError.unknownName("scenario", requested, valid: ["base"] + s.scenarios.keys.sorted(), subject: .value("scenario"))
          .withHint(s.scenarios.isEmpty ? "no scenarios yet; 'shock ... name=NAME' keeps one" : nil)
      }
      scenario = named
    }
    return scenario.merging(stress)
  }

  // MARK: Valuation

  /// Value curves of the given assets (all GPU, crypto and cash assets if
  /// none), over `months` (default: the horizon; more runs them past it).
  public func curves(
    ids: [String] = [], options: ValuationOptions = ValuationOptions(), months: Int? = nil
  ) throws(DealError) -> [AssetCurve] {
    var s = session
    if let months { s.deal.horizon = months }
    return try Valuation.curves(s, schema: schema, ids: ids, options: options)
  }

  /// Market value by asset and month (index 0 = month 1), to the cent, as
  /// `depreciate --json` prints it: what the waterfall's LTV and the
  /// liquidation's prices use. `months` runs the curves past the horizon.
  public func marketValues(months: Int? = nil) throws(DealError) -> [String: [Double]] {
    let n = months ?? session.deal.horizon
    if let cached = valuations[n] { return cached }
    var out: [String: [Double]] = [:]
    for c in try curves(months: n) { out[c.id] = c.market.map { ($0 * 100).rounded() / 100 } }
    valuations[n] = out
    return out
  }

  // MARK: Waterfall

  /// The waterfall under `scenario` over `months` (default: the horizon).
  /// - Throws: a deal the engine cannot run (a facility without amount or
  ///   term, a curve that cannot be computed), naming the node.
  public func waterfall(_ scenario: Scenario = .base, months: Int? = nil) throws(DealError) -> WaterfallAnalysis {
    let key = RunKey(scenario: scenario, months: months ?? session.deal.horizon)
    if let cached = waterfalls[key] { return cached }
    let plan = try plan(months: key.months)
    let run = WaterfallAnalysis(plan: plan, result: WaterfallEngine.run(plan, scenario), scenario: scenario)
    waterfalls[key] = run
    return run
  }

  private var plans: [Int: WaterfallPlan] = [:]

  /// The deal compiled for the engine over `months`.
  public func plan(months: Int? = nil) throws(DealError) -> WaterfallPlan {
    let n = months ?? session.deal.horizon
    if let cached = plans[n] { return cached }
    let values = try marketValues(months: max(n, session.deal.horizon))
    let plan = try WaterfallPlan.compile(session, schema: schema, marketValues: values, months: n)
    plans[n] = plan
    return plan
  }

  // MARK: Liquidation

  /// The liquidation plan at the market's parameters, against the
  /// waterfall plan of `months` (the horizon if nil), with prices run past
  /// the horizon far enough for the longest sale after a default as late
  /// as `lastDefault`.
  public func liquidationPlan(
    _ parameters: LiquidationParameters, scenario: Scenario, lastDefault: Int, months: Int? = nil
  ) throws(DealError) -> LiquidationPlan {
    let curveMonths = LiquidationPlan.curveMonths(session, schema: schema, parameters: parameters, lastDefault: lastDefault)
    return try LiquidationPlan.compile(
      session, schema: schema, waterfall: try plan(months: months), marketValues: try marketValues(months: curveMonths),
      parameters: parameters, haircut: scenario.haircut)
  }

  /// A liquidation (SPEC §5 `liquidate`) after the waterfall under
  /// `scenario`: of every facility in default, each from its own default
  /// month (`at` nil; nil when nothing defaults), or with `facilities`
  /// (else every facility with a balance) assumed to default at the start
  /// of month `at`, besides those in default by then (nil when nothing is
  /// owed then).
  public func liquidation(
    scenario: Scenario, at: Int?, facilities named: [String], parameters: LiquidationParameters
  ) throws(DealError) -> LiquidationOutcome? {
    let wp = try plan(months: nil)
    let block = RunBlock(wp, scenario)
    let plan = try liquidationPlan(parameters, scenario: scenario, lastDefault: at ?? block.run.defaultMonth ?? session.deal.horizon)
    let index = Dictionary(uniqueKeysWithValues: plan.facilities.enumerated().map { ($0.element, $0.offset) })
    var input = LiquidationInput(defaultMonth: at ?? 1, history: block.history, facilities: plan.facilities.count, entities: plan.entities.count)
    guard input.fill(from: block.run, at: at, assumed: named.compactMap { index[$0] }, plan: plan) else { return nil }
    // Why each waterfall default happened, in the waterfall's words.
    let detailed = try waterfall(scenario).result
    var causes: [Int: String] = [:]
    for f in input.triggers {
      let id = plan.facilities[f]
      guard input.month[f] > 0, let r = detailed.facility(id), r.defaultMonth == input.month[f], let kind = r.defaultKind else { continue }
      if at != nil, input.month[f] == at, !detailed.defaulted.contains(id) { continue }
      let text = kind == "cross-default" ? detailed.breaches.first { $0.facility == id && $0.kind == kind }?.detail ?? kind : kind
      causes[f] = at != nil ? "\(text) in month \(input.month[f])" : text
    }
    let ws = LiquidationWorkspace(plan)
    LiquidationEngine.run(plan, input, into: ws)
    let shown = named.isEmpty || at != nil ? ws.chain : ws.chain.filter { named.contains(plan.facilities[$0]) }
    var outcome = LiquidationOutcome(
      plan: plan, input: input, ws: ws, run: block, shown: shown, start: session.deal.start, atDefault: at == nil,
      triggerCause: causes)
    outcome.haircut = scenario.haircut
    return outcome
  }

  /// The recovery rate of each facility `outcome` reports, had the market
  /// absorbed `depth` GPUs a month (the other parameters as they were).
  public func recoveries(of outcome: LiquidationOutcome, depth: Double) throws(DealError) -> [Double?] {
    var p = outcome.plan.parameters
    p.depth = depth
    let scenario = Scenario(values: [.haircut: outcome.haircut])
    let plan = try liquidationPlan(p, scenario: scenario, lastDefault: outcome.input.defaultMonth)
    let ws = LiquidationWorkspace(plan)
    LiquidationEngine.run(plan, outcome.input, into: ws)
    return outcome.shown.map { f in ws.claim[f] > 0.005 ? ws.recovered(f) / ws.claim[f] : nil }
  }

  // MARK: Monte Carlo

  /// `shock mc`: the waterfall on random paths of the model's factors, each
  /// default valued by the liquidation's sale model at its month.
  /// `progress` gets the paths done now and then and returns false to
  /// cancel; a cancelled run returns with `cancelled` set.
  public func monteCarlo(
    _ model: MonteCarloModel, scenario: Scenario, paths: Int, months: Int, seed: UInt64, threads: Int,
    progress: (Int) -> Bool = { _ in true }
  ) throws(DealError) -> MonteCarloSummary {
    let params = LiquidationParameters()
    let plan = try plan(months: months)
    let liquidation = try liquidationPlan(params, scenario: scenario, lastDefault: months, months: months)
    var model = model
    model.read(session, schema: schema, fleets: plan.fleets)
    let run = MonteCarloEngine.run(
      waterfall: plan, liquidation: liquidation, scenario: scenario, model: model, paths: paths, seed: seed, threads: threads,
      progress: progress)
    return MonteCarloSummary(run, plan: plan, model: model, seed: seed, scenario: scenario)
  }
}

/// A waterfall run with the plan it ran on.
public struct WaterfallAnalysis: Sendable {
  public let plan: WaterfallPlan
  public let result: WaterfallResult
  public let scenario: Scenario
}
