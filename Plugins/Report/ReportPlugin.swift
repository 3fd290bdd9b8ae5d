import DealCore
import DealEngine
import DealPluginAPI
import Foundation

/// `report FILE.html`: a self-contained credit memo of the session — the deal
/// graph, value against debt, DSCR and LTV paths with covenants, stresses,
/// the Monte Carlo and recoveries — one HTML file with inline SVG charts, no
/// network reference, readable when printed. Every number comes from the
/// session's analysis, the one the other commands print.
public struct ReportPlugin: DealPlugin {
  public init() {}
  public var name: String { "report" }
  public var version: String { "0.1.0" }
  public var commands: [CommandSpec] { [report] }

  static let scenario = Option.text(
    "scenario", "NAME", completion: .scenarios, help: "the case the memo is written under (default: the one in use)")
  static let paths = Option.integer(
    "paths", "N", NumberSpec(.count, min: 0, max: 1_000_000), default: 2000, help: "Monte Carlo paths (0 leaves it out)")

  var report: CommandSpec {
    CommandSpec(
      name: "report", abstract: "write a credit memo of the session as one HTML file (charts inline, no network)",
      usage: "report FILE.html [scenario=NAME] [paths=N]",
      discussion: """
        The memo holds the deal and its sources, the deal graph, collateral value against the debt balance,
        DSCR and LTV paths with their covenants, the facilities' outcomes, a set of stresses (the session's
        named scenarios, else standard ones), a Monte Carlo (paths=N, default 2,000) and the recoveries after a
        default. Open it in any browser; print it from there.
        """,
      examples: ["report memo.html", "report memo.html paths=5000", "report winter.html scenario=winter"],
      arguments: [ArgumentSpec("FILE", .files("html"))],
      options: [Self.scenario.spec, Self.paths.spec]
    ) { inv, ctx in
      try run(inv, ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: CommandContext) throws(DealError) -> CommandOutput {
    let path = try inv.positional(0, "FILE", usage: "report FILE.html")
    try inv.noExtraPositionals(after: 1, usage: "report FILE.html")
    let s = ctx.session
    let host = ctx.host
    guard s.graph.nodes.values.contains(where: { $0.kind == .facility }) else {
      throw DealError(.invalid, "the deal has no facility to report on", hint: "add one with 'add facility ID type=term amount=... term=...'")
    }
    let paths = try inv.value(Self.paths, else: 2000)
    let analysis = ctx.analysis
    let named = try inv.value(Self.scenario)
    let scenario = named.map { " scenario=\($0)" } ?? ""
    let sc = try analysis.scenario(named: named)
    let values = try analysis.marketValues()
    let wf = try analysis.waterfall(sc).result
    var html = Page(title: s.deal.title.isEmpty ? "Untitled deal" : s.deal.title)

    // The deal.
    let end = s.deal.start + (s.deal.horizon - 1)
    html.heading("The deal")
    html.paragraph(
      "From \(s.deal.start) to \(end) (\(s.deal.horizon) months), \(s.graph.nodeCount) nodes and \(s.graph.edgeCount) edges"
        + (scenario.isEmpty ? "" : "; written under\(scenario)") + ".")
    var rows: [[String]] = []
    for n in s.graph.sortedNodes where n.kind == .facility {
      let v = s.values(of: n.id, schema: ctx.schema)
      func num(_ k: String) -> Double? { v?[k]?.number }
      var covenants: [String] = []
      if let d = num("min_dscr") { covenants.append("min DSCR \(Format.grouped(d, decimals: 2))x") }
      if let l = num("max_ltv") { covenants.append("max LTV \(Format.percent(l))") }
      if let l = num("margin_ltv") { covenants.append("margin call at \(Format.percent(l)) LTV") }
      rows.append([
        n.id, n.type, num("amount").map { Format.money($0) } ?? "", num("rate").map { Format.percent($0) } ?? "",
        num("term").map { "\(Int($0)) months" } ?? "", v?["amort"]?.text ?? "", covenants.joined(separator: ", "),
      ])
    }
    html.table(["facility", "type", "amount", "coupon", "term", "amortization", "covenants"], rows)
    html.subheading("The deal graph")
    html.raw(
      SVG.graph(
        nodes: s.graph.sortedNodes.map { ($0.id, $0.kind.rawValue, $0.type) },
        edges: s.graph.sortedEdges.map { ($0.from, $0.rel.rawValue, $0.to) }))

    // Value against debt, DSCR and LTV.
    let periods = wf.periods
    var total = [Double](repeating: 0, count: s.deal.horizon)
    for curve in values.values { for m in 0..<min(total.count, curve.count) { total[m] += curve[m] } }
    let balance: [Double?] = periods.map(\.balance)
    html.heading("Collateral against debt")
    html.paragraph(
      "Market value of the collateral (depreciate: the method curve times the architecture step-downs) against the debt outstanding, month by month.")
    html.raw(SVG.lines([("market value", total.map { ($0 * 100).rounded() / 100 }), ("debt balance", balance)], format: Format.compactMoney))
    // Each facility's covenant on a metric, as a line on its chart.
    func covenants(_ key: String, _ label: String) -> [(name: String, value: Double)] {
      s.graph.sortedNodes.filter { $0.kind == .facility }.compactMap { n in
        s.values(of: n.id, schema: ctx.schema)?[key]?.number.map { ("\(n.id) \(label)", $0) }
      }
    }
    let covenantsDSCR = covenants("min_dscr", "min DSCR"), covenantsLTV = covenants("max_ltv", "max LTV")
    // Each facility's own ratio against its own covenant (the DSCR of its
    // obligor at its rank; its lien-aware LTV).
    html.subheading("DSCR")
    html.paragraph("Each facility's DSCR: the CFADS available to its obligor over the debt service at its rank and above.")
    html.raw(
      SVG.lines(
        wf.facilities.filter { f in f.periods.contains { $0.dscr != nil } }.map { f in
          ("\(f.id) DSCR", f.periods.map { $0.dscr.map { min($0, 10) } })
        }, rules: covenantsDSCR + [("1.00x", 1)],
        format: { Format.grouped($0, decimals: 2) + "x" }))
    html.subheading("LTV")
    html.paragraph("Each facility's LTV: its balance and those of better liens on its collateral, over that collateral's market value.")
    html.raw(
      SVG.lines(
        wf.facilities.filter { f in f.periods.contains { $0.ltv != nil } }.map { f in
          ("\(f.id) LTV", f.periods.map { $0.ltv.map { min($0, 3) } })
        }, rules: covenantsLTV,
        format: { Format.percent($0, maxDecimals: 0) }))
    var outcome = [
      "min DSCR \(ratio(WaterfallMetric.minDSCR.value(wf)))",
      "first breach month \(month(wf.firstBreachMonth))",
      "default month \(month(wf.defaultMonth))",
    ].joined(separator: " · ")
    if !wf.defaulted.isEmpty {
      outcome += " · defaulted: " + wf.defaulted.joined(separator: " → ")
    }
    html.paragraph(outcome)
    var frows: [[String]] = []
    for f in wf.facilities.sorted(by: { $0.id < $1.id }) {
      frows.append([
        f.id, Format.money(f.interestPaid), Format.money(f.principalPaid), Format.money(f.loss),
        WaterfallMetric.facility(f.id, .irr).value(wf).map { Format.percent($0, maxDecimals: 1) } ?? "—",
        f.defaultMonth.map { "defaulted month \($0)" } ?? "performing",
      ])
    }
    html.table(["facility", "interest paid", "principal paid", "loss at default", "IRR", "status"], frows)

    // Stresses.
    html.heading("Stresses")
    var stresses: [(String, Scenario)] = []
    for name in s.scenarios.keys.sorted() { stresses.append((name, try analysis.scenario(named: name))) }
    if stresses.isEmpty {
      var standard: [(String, Scenario.Key, Double)] = [
        ("rent deflation 50%", .deflation, 0.5), ("spot rates −30%", .spot, -0.3), ("utilization −20pt", .utilization, -0.2),
        ("rates +300bp", .rate, 0.03), ("collateral −30%", .haircut, 0.3),
      ]
      if s.graph.nodes.values.contains(where: { $0.type == "crypto" }) { standard.append(("bitcoin −60%", .btc, -0.6)) }
      // Each on top of the scenario in use, as `waterfall KEY=CHANGE` runs.
      for (label, key, v) in standard { stresses.append((label, try analysis.scenario(named: nil, stress: Scenario(values: [key: v])))) }
      html.paragraph("The session has no named scenarios; these are standard stresses, each alone.")
    }
    var srows: [[String]] = [["base case", ratio(WaterfallMetric.minDSCR.value(wf)), month(wf.defaultMonth), losses(wf)]]
    for (label, stress) in stresses {
      let r = try analysis.waterfall(stress).result
      srows.append([label, ratio(WaterfallMetric.minDSCR.value(r)), month(r.defaultMonth), losses(r)])
    }
    html.table(["case", "min DSCR", "default month", "losses at default"], srows)

    // Monte Carlo.
    if paths > 0 {
      let mc = try analysis.monteCarlo(
        MonteCarloModel(), scenario: sc, paths: paths, months: s.deal.horizon, seed: 1,
        threads: ProcessInfo.processInfo.activeProcessorCount)
      html.heading("Monte Carlo")
      html.paragraph(
        "\(Format.grouped(Double(paths), decimals: 0)) paths of correlated monthly factors (spot rates, crypto, utilization, base rate; tenant defaults), correlations converging in stress months. Probability of default within the horizon: <b>\(Format.percent(mc.pd, maxDecimals: 2))</b>.")
      let bins = mc.histogram.map { (label: Format.grouped($0.from, decimals: 2) + "x", count: Double($0.paths)) }
      if !bins.isEmpty {
        html.subheading("Min DSCR across paths")
        html.raw(SVG.bars(bins))
      }
      var mrows: [[String]] = []
      for f in mc.facilities.sorted(by: { $0.id < $1.id }) {
        mrows.append([
          f.id, Format.percent(f.pd, maxDecimals: 1), Format.money(f.expectedLoss), Format.money(f.lossQ99),
          Format.percent(f.spread, maxDecimals: 2), f.fairSpread.isFinite ? Format.percent(f.fairSpread, maxDecimals: 2) : "∞",
          f.underpriced ? "<b class=\"warn\">spread below expected loss</b>" : "",
        ])
      }
      html.table(["facility", "PD", "expected loss", "loss (99%)", "spread", "fair spread", ""], mrows, rawLast: true)
    }

    // Recoveries.
    html.heading("Recoveries after a default")
    let params = LiquidationParameters()
    var assumed = false
    var liquidation = try analysis.liquidation(scenario: sc, at: nil, facilities: [], parameters: params)
    if liquidation == nil {
      assumed = true
      liquidation = try analysis.liquidation(scenario: sc, at: max(1, s.deal.horizon / 2), facilities: [], parameters: params)
    }
    if let liq = liquidation {
      let chain = liq.ws.chain.map { liq.plan.facilities[$0] }.joined(separator: " → ")
      html.paragraph(
        (assumed ? "The deal does not default in this case; the memo assumes a default in month \(max(1, s.deal.horizon / 2)). " : "")
          + "Each facility's collateral is sold from its own default month — as bare GPUs at the market's depth "
          + "(\(Format.grouped(params.depth, decimals: 0)) GPUs a month), or with its lease when a buyer of the contract pays more; "
          + "default chain: \(chain).")
      var lrows: [[String]] = []
      for f in liq.shown.sorted(by: { liq.plan.facilities[$0] < liq.plan.facilities[$1] }) {
        lrows.append([
          liq.plan.facilities[f], "month \(liq.ws.defaultMonth[f])", Format.money((liq.claim(f) * 100).rounded() / 100),
          liq.rate(f).map { Format.percent(($0 * 10_000).rounded() / 10_000, maxDecimals: 1) } ?? "—",
          Format.money((liq.loss(f) * 100).rounded() / 100), String(liq.ws.months[f]),
          liq.sale(f) == .goingConcern ? "going concern" : "fire sale",
        ])
      }
      html.table(["facility", "default", "claim", "recovery", "loss", "months to sell", "sale"], lrows)
    }

    // Sources.
    if !s.notes.isEmpty {
      html.heading("Notes and sources")
      html.list(s.notes.map(\.text))
    }
    html.footer("Written by dealsh from the session on \(host.now()): every figure is what dealsh's waterfall, depreciate, shock and liquidate commands print for this session.")
    do { try html.render().write(toFile: path, atomically: true, encoding: .utf8) } catch {
      throw DealError(.file, "cannot write '\(path)': \(error.localizedDescription)")
    }
    return CommandOutput(
      text: "wrote the credit memo to '\(path)' (\(html.charts) charts)", json: ["path": .string(path), "charts": .number(Double(html.charts))],
      files: [path])
  }

  func ratio(_ v: Double?) -> String { v.map { Format.grouped($0, decimals: 2) + "x" } ?? "—" }
  func month(_ v: Int?) -> String { v.map(String.init) ?? "none" }
  func losses(_ w: WaterfallResult) -> String {
    let l = w.facilities.compactMap { f -> (String, Double)? in
      let x = (f.loss * 100).rounded() / 100
      return x > 0 ? (f.id, x) : nil
    }.sorted { $0.0 < $1.0 }
    return l.isEmpty ? "none" : l.map { "\($0.0) \(Format.compactMoney($0.1))" }.joined(separator: ", ")
  }
}

/// The memo's HTML, built section by section.
struct Page {
  var title: String
  var body = ""
  var charts = 0

  mutating func heading(_ s: String) { body += "<h2>\(SVG.escape(s))</h2>\n" }
  mutating func subheading(_ s: String) { body += "<h3>\(SVG.escape(s))</h3>\n" }
  mutating func paragraph(_ s: String) { body += "<p>\(s)</p>\n" }
  mutating func raw(_ s: String) {
    charts += s.components(separatedBy: "<svg").count - 1
    body += s + "\n"
  }
  mutating func list(_ items: [String]) { body += "<ol>" + items.map { "<li>\(SVG.escape($0))</li>" }.joined() + "</ol>\n" }
  mutating func footer(_ s: String) { body += "<footer>\(SVG.escape(s))</footer>\n" }

  mutating func table(_ headers: [String], _ rows: [[String]], rawLast: Bool = false) {
    var t = "<table><thead><tr>" + headers.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
    for r in rows {
      t += "<tr>" + r.enumerated().map { i, c in
        let cell = rawLast && i == r.count - 1 ? c : SVG.escape(c)
        return i == 0 ? "<td>\(cell)</td>" : "<td class=\"n\">\(cell)</td>"
      }.joined() + "</tr>"
    }
    body += t + "</tbody></table>\n"
  }

  func render() -> String {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    <title>\(SVG.escape(title)) — credit memo</title>
    <style>
    body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; max-width: 860px; margin: 24px auto; padding: 0 16px; }
    h1 { font-size: 24px; border-bottom: 2px solid #1f2328; padding-bottom: 6px; }
    h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; page-break-after: avoid; }
    h3 { font-size: 15px; margin-bottom: 4px; }
    table { border-collapse: collapse; margin: 8px 0; width: 100%; page-break-inside: avoid; }
    th, td { border-bottom: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
    td.n { text-align: right; font-variant-numeric: tabular-nums; }
    figure { margin: 8px 0; page-break-inside: avoid; }
    figcaption { font-size: 12px; color: #57606a; }
    .key { margin-right: 14px; } .key i { display: inline-block; width: 18px; height: 3px; margin-right: 5px; vertical-align: middle; }
    .key i.rule { border-top: 2px dashed #cf222e; height: 0; }
    svg.chart { max-width: 100%; height: auto; display: block; }
    .warn { color: #cf222e; }
    footer { margin-top: 32px; font-size: 12px; color: #57606a; }
    @media print { body { margin: 0; max-width: none; } }
    </style></head>
    <body>
    <h1>\(SVG.escape(title))</h1>
    \(body)
    <script>
    // Marks how many charts the browser drew (used by the tests); the page needs nothing else.
    addEventListener("load", function () {
      var s = document.querySelectorAll("svg"), drawn = 0;
      for (var i = 0; i < s.length; i++) { var r = s[i].getBoundingClientRect(); if (r.width > 0 && r.height > 0) drawn++; }
      document.body.setAttribute("data-charts", s.length); document.body.setAttribute("data-drawn", drawn);
    });
    </script>
    </body></html>

    """
  }
}
