import DealCore
import DealEngine
import DealPluginAPI
import Foundation

/// `shock mc`: the waterfall on many correlated random paths (the model is
/// `MonteCarloModel`, the runner `MonteCarloEngine`; README "Monte Carlo").
enum MonteCarloCommand {
  // The options of `shock mc`, declared once; defaults from the model.
  static let paths = Option.integer("paths", "N", NumberSpec(.count, min: 1, max: 10_000_000), default: 10_000, help: "mc: number of paths")
  static let months = Option.integer(
    "months", "N", NumberSpec(.months, min: 1, max: 600), help: "mc: months per path (default: the horizon; more runs the deal past it)")
  static let seed = Option.integer("seed", "S", NumberSpec(.plain, min: 0, max: 9_007_199_254_740_991), default: 1, help: "mc: random seed")
  static let threads = Option.integer("threads", "T", NumberSpec(.count, min: 1, max: 256), help: "mc: threads (default: the cores)")
  static let model: [(option: Option<Double>, path: WritableKeyPath<MonteCarloModel, Double>)] = {
    let d = MonteCarloModel()
    return [
      (.number("corr", "RHO", NumberSpec(.fraction, min: -0.33, max: 1), default: d.corr, help: "mc: correlation of the factors in calm months"), \.corr),
      (.number("converge", "RHO", NumberSpec(.fraction, min: -0.33, max: 1), default: d.converge, help: "mc: correlation in stress months"), \.converge),
      (.number("spot_vol", "X", NumberSpec(.fraction, min: 0, max: 5), default: d.spotVol, help: "mc: annual volatility of spot rates"), \.spotVol),
      (.number(
        "util_vol", "PT", NumberSpec(.fraction, min: 0, max: 1), default: d.utilizationVol, shown: Format.plain(d.utilizationVol * 100) + "pt",
        help: "mc: utilization noise a month, in points"), \.utilizationVol),
      (.number(
        "rate_vol", "X", NumberSpec(.annualRate, min: 0, max: 0.5), default: d.rateVol, shown: Format.plain(d.rateVol * 10_000) + "bp",
        help: "mc: annual volatility of the base rate"), \.rateVol),
      (.number(
        "stress", "X", NumberSpec(.fraction, min: 0.01, max: 0.99), default: d.stressDrawdown,
        help: "mc: fall of spot rates (or bitcoin) over 12 months that makes a month a stress month"), \.stressDrawdown),
    ]
  }()
  static let scenario = Option.text("scenario", "NAME", completion: .scenarios, help: "mc: run on top of a named scenario, or base")
  static let options = [paths.spec, months.spec, seed.spec] + model.prefix(2).map(\.option.spec) + [threads.spec]
    + model.dropFirst(2).map(\.option.spec) + [scenario.spec]
  static let usage = CommandSpec.usage("shock mc", options: options)
  /// The options with `scenario=` first, as `shock` lists them.
  static var scenarioFirst: [OptionSpec] { [scenario.spec] + options.dropLast() }

  static func run(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    try inv.noExtraPositionals(after: 1, usage: usage)
    let s = ctx.session
    let paths = try inv.value(Self.paths, else: 10_000)
    let months = try inv.value(Self.months) ?? s.deal.horizon
    let seed = try inv.value(Self.seed, else: 1)
    let threads = try inv.value(Self.threads) ?? ProcessInfo.processInfo.activeProcessorCount
    var model = MonteCarloModel()
    for o in Self.model { model[keyPath: o.path] = try inv.value(o.option, else: model[keyPath: o.path]) }
    let scenario = try inv.scenario(ctx.analysis)
    guard s.graph.nodes.values.contains(where: { $0.kind == .facility }) else {
      throw DealError(.invalid, "the deal has no facility to stress", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }

    let clock = ContinuousClock(), started = clock.now
    var shown = false
    let host = ctx.host
    let run = try ctx.analysis.monteCarlo(
      model, scenario: scenario, paths: paths, months: months, seed: UInt64(seed), threads: threads
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
    let json = run.json()
    return CommandOutput(
      text: text(run, threads: threads, seconds: seconds, terminal: ctx.terminal), json: json,
      csv: {
        // The facilities' table, plain numbers, from the JSON the run gave.
        let header = [
          "facility", "coupon", "spread", "pd", "expected_loss_usd", "expected_loss_rate", "loss_q95_usd", "loss_q99_usd", "fair_spread",
          "spread_to_price",
        ]
        return (header, run.facilities.map { f -> [String] in
          let o = json["facilities"]?[f.id]
          return [f.id] + [
            "coupon", "spread", "pd", "expected_loss", "expected_loss_rate", "loss_q95", "loss_q99", "fair_spread", "spread_to_price",
          ].map {
            o?[$0]?.numberValue.map { CSV.number($0, decimals: 6) } ?? ""
          }
        })
      })
  }

  static func text(_ run: MonteCarloSummary, threads: Int, seconds: Double, terminal: TerminalInfo) -> String {
    let n = Double(run.paths), model = run.model, dscr = run.minDSCR
    let quantiles = MonteCarloSummary.quantiles
    var lines: [String] = []
    lines.append(
      "Monte Carlo: \(Format.grouped(n, decimals: 0)) paths × \(run.months) months, seed \(run.seed); correlation \(Format.percent(model.corr)) calm, \(Format.percent(model.converge)) in stress"
        + (run.scenario.isBase ? "" : "; on top of " + run.scenario.description))
    lines.append(
      "stress regime (spot rates\(model.watchCrypto ? " or bitcoin" : "") down more than \(Format.percent(model.stressDrawdown)) over 12 months): \(Format.percent(run.stressShare, maxDecimals: 1)) of path-months")
    lines.append(
      "probability of default within \(run.months) months: \(Format.percent(run.pd, maxDecimals: 2)) (± \(Format.percent(1.96 * run.pdError, maxDecimals: 2)) at 95%)")
    lines.append("")
    if dscr.isEmpty {
      lines.append("min DSCR: no debt service fell due")
    } else {
      var t = TextTable(["MIN DSCR"] + quantiles.map { $0.key.uppercased() }, aligns: Array(repeating: .right, count: quantiles.count + 1))
      t.add([""] + quantiles.map { k in run.quantile(k.q).map { Format.grouped($0, decimals: 2) + "x" } ?? "—" })
      lines.append(t.render())
      if !run.histogram.isEmpty {
        let most = run.histogram.map(\.paths).max() ?? 1
        let barWidth = max(10, min(50, terminal.width - 40))
        lines.append("")
        lines.append("min DSCR across paths")
        for b in run.histogram {
          let d = b.to - b.from < 0.01 ? 3 : 2  // enough decimals to tell narrow bins apart
          let label = Format.pad(Format.grouped(b.from, decimals: d) + "x – " + Format.grouped(b.to, decimals: d) + "x", 19, right: true)
          var bar = String(repeating: "█", count: Int((Double(b.paths) / Double(most) * Double(barWidth)).rounded()))
          if bar.isEmpty, b.paths > 0 { bar = "▏" }  // a bin with paths always shows
          let colored = terminal.color && b.to <= 1 ? "\u{1B}[31m" + bar + "\u{1B}[0m" : bar
          lines.append("\(label) \(colored) \(Format.grouped(Double(b.paths), decimals: 0))")
        }
        let below = dscr.filter { $0 < 1 }.count
        lines.append("paths with a month below 1.00x: \(Format.percent(Double(below) / n, maxDecimals: 1))")
      }
    }
    lines.append("")
    var t = TextTable(
      ["FACILITY", "COUPON", "SPREAD", "PD", "EXPECTED_LOSS_USD", "EL/AMOUNT", "LOSS_Q95_USD", "LOSS_Q99_USD", "FAIR_SPREAD", "SPREAD_TO_PRICE", ""],
      aligns: [.left] + Array(repeating: .right, count: 9) + [.left])
    for r in run.facilities {
      t.add([
        r.id, Format.percent(r.coupon), Format.percent(r.spread), Format.percent(r.pd, maxDecimals: 1),
        Format.grouped(r.expectedLoss, decimals: 0), Format.percent(r.expectedLossRate, maxDecimals: 2), Format.grouped(r.lossQ95, decimals: 0),
        Format.grouped(r.lossQ99, decimals: 0), r.fairSpread.isFinite ? Format.percent(r.fairSpread, maxDecimals: 2) : "∞",
        r.spreadToPrice.map { Format.percent($0, maxDecimals: 2) } ?? "—", r.underpriced ? "◀ underpriced" : "",
      ])
    }
    lines.append(t.render())
    lines.append("spread = coupon − the \(Format.percent(Rates.base)) base rate; spread to price: the spread at which the expected receipts")
    lines.append("(interest, principal, shares on conversion, recoveries), discounted at the base rate, equal the amount lent;")
    lines.append("fair spread = expected loss ÷ expected balance-years; ◀ underpriced: spread below spread to price")
    if terminal.interactive {
      lines.append(
        "\(Format.grouped(n * Double(run.months), decimals: 0)) path-months in \(Format.plain(seconds, maxDecimals: 2)) s on \(threads) thread\(threads == 1 ? "" : "s")")
    }
    return lines.joined(separator: "\n")
  }
}
