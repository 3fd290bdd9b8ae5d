import DealCore
import DealPluginAPI
import Foundation

/// `shock mc`: the waterfall on many correlated random paths (the model is
/// `MonteCarloModel`, the runner `MonteCarloEngine`; README "Monte Carlo").
enum MonteCarloCommand {
  /// Options of `shock mc`, with their ranges.
  static let options: [(name: String, value: String, help: String)] = [
    ("paths", "N", "mc: number of paths (default 10,000)"),
    ("months", "N", "mc: months per path (default: the horizon; more runs the deal past it)"),
    ("seed", "S", "mc: random seed (default 1)"),
    ("corr", "RHO", "mc: correlation of the factors in calm months (default 30%)"),
    ("converge", "RHO", "mc: correlation in stress months (default 90%)"),
    ("threads", "T", "mc: threads (default: the cores)"),
    ("spot_vol", "X", "mc: annual volatility of spot rates (default 25%)"),
    ("util_vol", "PT", "mc: utilization noise a month, in points (default 3pt)"),
    ("rate_vol", "X", "mc: annual volatility of the base rate (default 100bp)"),
    ("stress", "X", "mc: fall of spot rates (or bitcoin) over 12 months that makes a month a stress month (default 30%)"),
  ]

  static let quantiles: [(key: String, q: Double)] = [
    ("p1", 0.01), ("p5", 0.05), ("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99),
  ]

  static func run(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    try inv.noExtraPositionals(after: 1, usage: "shock mc [paths=N] [months=N] [seed=S] [corr=RHO] [converge=RHO] [threads=T]")
    let s = ctx.session
    let paths = try inv.integer("paths", NumberSpec(.count, min: 1, max: 10_000_000)) ?? 10_000
    let months = try inv.integer("months", NumberSpec(.months, min: 1, max: 600)) ?? s.deal.horizon
    let seed = try inv.integer("seed", NumberSpec(.plain, min: 0, max: 9_007_199_254_740_991)) ?? 1
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let threads = try inv.integer("threads", NumberSpec(.count, min: 1, max: 256)) ?? cores
    var model = MonteCarloModel()
    if let x = try inv.number("corr", NumberSpec(.fraction, min: -0.33, max: 1)) { model.corr = x }
    if let x = try inv.number("converge", NumberSpec(.fraction, min: -0.33, max: 1)) { model.converge = x }
    if let x = try inv.number("spot_vol", NumberSpec(.fraction, min: 0, max: 5)) { model.spotVol = x }
    if let x = try inv.number("util_vol", NumberSpec(.fraction, min: 0, max: 1)) { model.utilizationVol = x }
    if let x = try inv.number("rate_vol", NumberSpec(.annualRate, min: 0, max: 0.5)) { model.rateVol = x }
    if let x = try inv.number("stress", NumberSpec(.fraction, min: 0.01, max: 0.99)) { model.stressDrawdown = x }
    let (scenario, factors) = try inv.scenario(in: s)
    guard s.graph.nodes.values.contains(where: { $0.kind == .facility }) else {
      throw DealError(.invalid, "the deal has no facility to stress", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }

    // Compile once: the waterfall, and the liquidation valuing each default.
    let params = LiquidationParameters()
    let values = ctx.host.marketValues(
      months: LiquidationPlan.curveMonths(s, schema: ctx.schema, parameters: params, lastDefault: months))
    let plan = try WaterfallPlan.compile(s, schema: ctx.schema, marketValues: values, months: months)
    let liquidation = try LiquidationPlan.compile(
      s, schema: ctx.schema, marketValues: values, parameters: params, haircut: scenario.haircut, months: months)
    let deal = MonteCarloModel(s, schema: ctx.schema, fleets: plan.fleets)
    model.btcVol = deal.btcVol
    model.ethVol = deal.ethVol
    model.watchCrypto = deal.watchCrypto
    model.needsBTC = deal.needsBTC
    model.needsETH = deal.needsETH
    model.tenantHazard = deal.tenantHazard
    model.fleetTenants = deal.fleetTenants

    let clock = ContinuousClock(), started = clock.now
    var shown = false
    let host = ctx.host
    let run = MonteCarloEngine.run(
      waterfall: plan, liquidation: liquidation, scenario: scenario, model: model, paths: paths, seed: UInt64(seed),
      threads: threads
    ) { done in
      if host.isCancelled { return false }
      if shown || clock.now - started > .seconds(1) {
        shown = true
        host.progress(Double(done) / Double(paths), "shock mc: \(Format.grouped(Double(done), decimals: 0)) of \(Format.grouped(Double(paths), decimals: 0)) paths")
      }
      return true
    }
    if shown { host.progress(nil, "") }
    if run.cancelled {
      throw DealError(
        .cancelled, "shock mc cancelled after \(Format.grouped(Double(run.paths), decimals: 0)) of \(Format.grouped(Double(paths), decimals: 0)) paths")
    }
    let elapsed = clock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    var output = report(run, plan: plan, model: model, seed: seed, threads: threads, factors: factors, seconds: seconds, terminal: ctx.terminal)
    let json = output.json
    output.csv = {
      // The facilities' table, plain numbers, from the JSON the run gave.
      let header = ["facility", "coupon", "spread", "pd", "expected_loss_usd", "expected_loss_rate", "loss_q95_usd", "loss_q99_usd", "fair_spread"]
      return (header, plan.facilities.map { f -> [String] in
        let o = json["facilities"]?[f.id]
        return [f.id] + ["coupon", "spread", "pd", "expected_loss", "expected_loss_rate", "loss_q95", "loss_q99", "fair_spread"].map {
          o?[$0]?.numberValue.map { CSV.number($0, decimals: 6) } ?? ""
        }
      })
    }
    return output
  }

  /// Coupon of a facility: its rate, or the base rate plus the spread.
  static func coupon(_ f: FacilityPlan) -> Double { f.floating ? Scenario.baseRate + f.spread : f.rate }

  static func report(
    _ run: MonteCarloRun, plan: WaterfallPlan, model: MonteCarloModel, seed: Int, threads: Int, factors: [String: Double],
    seconds: Double, terminal: TerminalInfo
  ) -> CommandOutput {
    let n = Double(run.paths), nf = plan.facilities.count
    let pd = Double(run.defaults) / n
    let pdError = (pd * (1 - pd) / n).squareRoot()
    let dscr = MonteCarloQuantile.sorted(run.minDSCR)
    var q: [String: JSONValue] = [:]
    for (key, p) in quantiles { q[key] = MonteCarloQuantile.of(dscr, p).map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null }
    struct Row { var id: String; var coupon, spread, pd, el, elRate, q95, q99, fair: Double; var amount: Double }
    var rows: [Row] = []
    for f in 0..<nf {
      // Most paths lose nothing: sort only the losses, after as many zeros.
      var losses: [Double] = []
      var el = 0.0
      for p in 0..<run.paths where run.losses[p * nf + f] > 0 {
        losses.append(run.losses[p * nf + f])
        el += run.losses[p * nf + f]
      }
      el /= n
      losses = MonteCarloQuantile.sorted(losses)
      let zeros = run.paths - losses.count
      let exposure = run.exposureYears[f] / n
      let fac = plan.facilities[f]
      let c = coupon(fac)
      rows.append(
        Row(
          id: fac.id, coupon: c, spread: c - Scenario.baseRate, pd: Double(run.facilityDefaults[f]) / n, el: el,
          elRate: fac.amount > 0 ? el / fac.amount : 0, q95: MonteCarloQuantile.of(losses, 0.95, zeros: zeros) ?? 0, q99: MonteCarloQuantile.of(losses, 0.99, zeros: zeros) ?? 0,
          fair: exposure > 0 ? el / exposure : (el > 0 ? .infinity : 0), amount: fac.amount))
    }
    let stressShare = Double(run.stressMonths) / (n * Double(run.months))

    func r4(_ x: Double) -> JSONValue { x.isFinite ? .number((x * 10_000).rounded() / 10_000) : .null }
    func r2(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    var facilities: [String: JSONValue] = [:]
    for r in rows {
      facilities[r.id] = [
        "expected_loss": r2(r.el), "loss_q95": r2(r.q95), "loss_q99": r2(r.q99), "fair_spread": r4(r.fair),
        "coupon": r4(r.coupon), "spread": r4(r.spread), "pd": r4(r.pd), "expected_loss_rate": r4(r.elRate),
      ]
    }
    // A histogram of min DSCR between its 1st and 99th percentiles.
    var histogram: [(lo: Double, hi: Double, count: Int)] = []
    if let lo = MonteCarloQuantile.of(dscr, 0.01), let hi = MonteCarloQuantile.of(dscr, 0.99), hi > lo {
      let bins = 12, width = (hi - lo) / Double(bins)
      histogram = (0..<bins).map { (lo + Double($0) * width, lo + Double($0 + 1) * width, 0) }
      for x in dscr {
        let b = min(bins - 1, max(0, Int((x - lo) / width)))
        histogram[b].count += 1
      }
    }
    let json: JSONValue = [
      "paths": .number(n), "months": .number(Double(run.months)), "seed": .number(Double(seed)),
      "corr": .number(model.corr), "converge": .number(model.converge), "pd": r4(pd), "pd_stderr": r4(pdError),
      "min_dscr_quantiles": .object(q), "facilities": .object(facilities), "stress_share": r4(stressShare),
      "factors": .object(factors.mapValues { .number($0) }),
      "histogram": .array(histogram.map { ["from": r4($0.lo), "to": r4($0.hi), "paths": .number(Double($0.count))] }),
    ]

    var lines: [String] = []
    lines.append(
      "Monte Carlo: \(Format.grouped(n, decimals: 0)) paths × \(run.months) months, seed \(seed); correlation \(Format.percent(model.corr)) calm, \(Format.percent(model.converge)) in stress"
        + (factors.isEmpty ? "" : "; on top of " + Scenario.describe(factors)))
    lines.append(
      "stress regime (spot rates\(model.watchCrypto ? " or bitcoin" : "") down more than \(Format.percent(model.stressDrawdown)) over 12 months): \(Format.percent(stressShare, maxDecimals: 1)) of path-months")
    lines.append(
      "probability of default within \(run.months) months: \(Format.percent(pd, maxDecimals: 2)) (± \(Format.percent(1.96 * pdError, maxDecimals: 2)) at 95%)")
    lines.append("")
    if dscr.isEmpty {
      lines.append("min DSCR: no debt service fell due")
    } else {
      var t = TextTable(["MIN DSCR"] + quantiles.map { $0.key.uppercased() }, aligns: Array(repeating: .right, count: quantiles.count + 1))
      t.add([""] + quantiles.map { k in MonteCarloQuantile.of(dscr, k.q).map { Format.grouped($0, decimals: 2) + "x" } ?? "—" })
      lines.append(t.render())
      if !histogram.isEmpty {
        let most = histogram.map(\.count).max() ?? 1
        let barWidth = max(10, min(50, terminal.width - 40))
        lines.append("")
        lines.append("min DSCR across paths")
        for b in histogram {
          let d = b.hi - b.lo < 0.01 ? 3 : 2  // enough decimals to tell narrow bins apart
          let label = Format.pad(Format.grouped(b.lo, decimals: d) + "x – " + Format.grouped(b.hi, decimals: d) + "x", 19, right: true)
          let bar = String(repeating: "█", count: Int((Double(b.count) / Double(most) * Double(barWidth)).rounded()))
          let colored = terminal.color && b.hi <= 1 ? "\u{1B}[31m" + bar + "\u{1B}[0m" : bar
          lines.append("\(label) \(colored) \(Format.grouped(Double(b.count), decimals: 0))")
        }
        let below = dscr.filter { $0 < 1 }.count
        lines.append("paths with a month below 1.00x: \(Format.percent(Double(below) / n, maxDecimals: 1))")
      }
    }
    lines.append("")
    var t = TextTable(
      ["FACILITY", "COUPON", "SPREAD", "PD", "EXPECTED_LOSS_USD", "EL/AMOUNT", "LOSS_Q95_USD", "LOSS_Q99_USD", "FAIR_SPREAD", ""],
      aligns: [.left] + Array(repeating: .right, count: 8) + [.left])
    for r in rows {
      let mispriced = r.fair > r.spread + 1e-12
      t.add([
        r.id, Format.percent(r.coupon), Format.percent(r.spread), Format.percent(r.pd, maxDecimals: 1),
        Format.grouped(r.el, decimals: 0), Format.percent(r.elRate, maxDecimals: 2), Format.grouped(r.q95, decimals: 0),
        Format.grouped(r.q99, decimals: 0), r.fair.isFinite ? Format.percent(r.fair, maxDecimals: 2) : "∞",
        mispriced ? "◀ underpriced" : "",
      ])
    }
    lines.append(t.render())
    lines.append("fair spread = expected loss ÷ expected balance-years outstanding: the annual spread that pays for the")
    lines.append("expected loss; spread = coupon − the \(Format.percent(Scenario.baseRate)) base rate; ◀ underpriced: spread below fair spread")
    if terminal.interactive {
      lines.append(
        "\(Format.grouped(n * Double(run.months), decimals: 0)) path-months in \(Format.plain(seconds, maxDecimals: 2)) s on \(threads) thread\(threads == 1 ? "" : "s")")
    }
    return CommandOutput(text: lines.joined(separator: "\n"), json: json)
  }
}
