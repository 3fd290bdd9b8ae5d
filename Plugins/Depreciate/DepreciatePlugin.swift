import DealCore
import DealEngine
import DealPluginAPI

/// `depreciate`: what the collateral is worth month by month, once GPU
/// obsolescence and rent deflation are priced in (SPEC §5).
public struct DepreciatePlugin: DealPlugin {
  public init() {}
  public var name: String { "depreciate" }
  public var version: String { "0.1.0" }

  public func extend(schema: inout Schema) throws(DealError) {
    try schema.extend(kind: .asset, type: "gpu", with: Valuation.gpuAttributes)
  }

  public var commands: [CommandSpec] { [depreciate] }

  static let method = Option.choice(
    "method", Valuation.methods.joined(separator: "|"), Valuation.methods, help: "depreciation method (default: each asset's own)")
  static let life = Option.integer("life", "MONTHS", NumberSpec(.months, min: 1, max: 1200), help: "useful life (default: each asset's own)")
  static let months = Option.integer(
    "months", "N", NumberSpec(.months, min: 1, max: 1200), help: "months to value (default: the horizon; more runs the curves past it)")
  static let discount = Option.number(
    "discount", "R", NumberSpec(.annualRate, min: 0, max: 1), default: ValuationOptions().discount,
    help: "annual discount rate of the rental method")
  static let obsolescence = Option.text("obsolescence", "\"DATE:-25%,...\"|none", help: "step-downs DATE:CHANGE,... replacing the calendar, or none")
  static let convention = Option.choice(
    "convention", Valuation.conventions.joined(separator: "|"), Valuation.conventions, help: "MACRS convention (default: each asset's own)")
  static let options = [method.spec, life.spec, months.spec, discount.spec, obsolescence.spec, convention.spec]
  static let flags = [
    FlagSpec("monthly", help: "one row per month instead of per year-end"),
    FlagSpec("chart", help: "draw market value against time"),
  ]
  static let usage = CommandSpec.usage("depreciate [ID ...]", options: options, flags: flags + [CommandSpec.csvFlag])

  var depreciate: CommandSpec {
    CommandSpec(
      name: "depreciate", abstract: "collateral value curves: book value and market value, month by month",
      usage: Self.usage,
      discussion: """
        Book value follows the method over the asset's life down to salvage × cost (macrs5: the IRS
        5-year table; rental: the discounted net income of the leases covering the fleet). Market value
        is the book value times the step-downs at architecture launches (the calendar: 2025-01 Blackwell,
        2025-09 Blackwell Ultra, 2026-09 Rubin, 2027-09 Rubin Ultra, 2028-09 Feynman; see README), unless
        obsolescence= replaces them. Crypto is amount × price, cash at face. Values are for the whole
        asset, one per month-end; the table shows year-ends, --monthly every month.
        """,
      examples: [
        "depreciate", "depreciate fleet method=ddb --monthly", "depreciate method=rental discount=15%",
        "depreciate obsolescence=\"2026-09:-30%\"", "depreciate fleet method=macrs5 convention=mid-quarter",
        "depreciate --chart", "depreciate --csv values.csv",
      ],
      arguments: [ArgumentSpec("ID", .nodeIDs(.asset), repeats: true)],
      options: Self.options,
      flags: Self.flags,
      table: "the monthly book and market value of each asset"
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    var s = ctx.session
    let months = try inv.value(Self.months)
    if let months { s.deal.horizon = months }
    var o = ValuationOptions()
    o.method = try inv.value(Self.method)
    o.life = try inv.value(Self.life)
    o.discount = try inv.value(Self.discount, else: o.discount)
    o.convention = try inv.value(Self.convention)
    if let text = try inv.value(Self.obsolescence) {
      switch Obsolescence.parse(text) {
      case .failure(let why):
        throw DealError(.invalid, "invalid value for 'obsolescence': \(why.reason)", subject: .value("obsolescence"))
      case .success(let steps):
        let first = s.deal.start, last = s.deal.start + (s.deal.horizon - 1)
        for st in steps where st.month < first || st.month > last {
          throw DealError(
            .invalid, "obsolescence date \(st.month) is outside the deal (\(first) to \(last))", subject: .value("obsolescence"))
        }
        o.obsolescence = steps
      }
    }
    for (n, id) in inv.positionals.enumerated() where s.graph[id] == nil {
      throw DealError.unknownNode(id, in: s.graph.nodes.keys, subject: .word(inv.positionalIndices[n]))
    }
    let curves = try ctx.analysis.curves(ids: inv.positionals, options: o, months: months)
    guard !curves.isEmpty else {
      throw DealError(.invalid, "no GPU, crypto or cash assets to value", hint: "add one with 'add asset ID type=gpu ...'")
    }
    let horizon = s.deal.horizon
    var total = [Double](repeating: 0, count: horizon)
    for c in curves { for i in 0..<horizon { total[i] += c.market[i] } }

    // JSON: every month. Made only when asked for.
    func makeJSON() -> JSONValue {
      func cents(_ xs: [Double]) -> JSONValue { .array(xs.map { .number(($0 * 100).rounded() / 100) }) }
      var assets: [String: JSONValue] = [:]
      for c in curves {
        assets[c.id] = [
          "type": .string(c.type), "cost": .number(c.cost), "method": .string(c.description),
          "book_value": cents(c.book), "market_value": cents(c.market),
          "step_downs": .array(c.steps.map { ["month": .string($0.month.description), "change": .number($0.change), "name": .string($0.name)] }),
        ]
      }
      return [
        "start": .string(s.deal.start.description), "months": .number(Double(horizon)), "assets": .object(assets),
        "total_market_value": cents(total),
      ]
    }

    // The table: year-ends (and the last month), or every month.
    let monthly = inv.has("monthly"), chart = inv.has("chart"), terminal = ctx.terminal
    // The debt balance beside the values, when the deal has debt and a
    // plugin answers `waterfall` (asked through the host, like any command).
    var debt: [Double] = []
    if chart, s.graph.nodes.values.contains(where: { $0.kind == .facility }) {
      debt = try ctx.analysis.waterfall(ctx.analysis.scenario(named: nil)).result.periods.map(\.balance)
    }
    func makeText() -> String {
      let rows: [Int] = monthly ? Array(1...horizon) : Array(Set(Array(stride(from: 12, through: horizon, by: 12)) + [horizon])).sorted()
      var lines: [String] = []
      for c in curves {
        var line = "\(c.id): \(c.description)"
        if c.type == "gpu" {
          line += "; cost \(Format.money(c.cost))"
          line += c.steps.isEmpty ? "; no step-downs" : "; step-downs " + c.steps.map { "\($0.month) \(Format.percent($0.change))" }.joined(separator: ", ")
        }
        lines.append(line)
      }
      lines.append("")
      if curves.filter({ $0.type == "gpu" }).count <= 3 {
        // Months down, assets across.
        var headers = ["MONTH", "DATE"]
        for c in curves { headers += c.type == "gpu" ? ["\(c.id) BOOK_USD", "\(c.id) MARKET_USD"] : ["\(c.id) USD"] }
        if curves.count > 1 { headers.append("TOTAL MARKET_USD") }
        var table = TextTable(headers, aligns: headers.map { _ in .right })
        for m in rows {
          var r = [String(m), (s.deal.start + (m - 1)).description]
          for c in curves {
            r += c.type == "gpu"
              ? [Format.grouped(c.book[m - 1], decimals: 0), Format.grouped(c.market[m - 1], decimals: 0)]
              : [Format.grouped(c.market[m - 1], decimals: 0)]
          }
          if curves.count > 1 { r.append(Format.grouped(total[m - 1], decimals: 0)) }
          table.add(r)
        }
        lines.append(table.render())
      } else {
        // Many assets: assets down, market value at each date across.
        let headers = ["ASSET", "COST_USD"] + rows.map { "\((s.deal.start + ($0 - 1)).description) USD" }
        var table = TextTable(headers, aligns: [.left] + headers.dropFirst().map { _ in .right })
        for c in curves {
          table.add([c.id, Format.grouped(c.cost, decimals: 0)] + rows.map { Format.grouped(c.market[$0 - 1], decimals: 0) })
        }
        table.add(["total", Format.grouped(curves.map(\.cost).reduce(0, +), decimals: 0)] + rows.map { Format.grouped(total[$0 - 1], decimals: 0) })
        lines.append("market value (book value in --json and --csv)")
        lines.append(table.render())
      }
      if chart {
        var series = curves.count <= 6 ? curves.map { LineChart.Series($0.id, $0.market) } : []
        if curves.count > 1 { series.append(LineChart.Series("total", total)) }
        if !debt.isEmpty { series.append(LineChart.Series("debt balance", debt)) }
        let drawn = LineChart(series: series, format: Format.compactMoney)
        let what = debt.isEmpty ? "market value (USD) by month" : "market value against the debt balance (USD) by month"
        lines += ["", what, drawn.render(width: terminal.width, color: terminal.color)]
      }
      return lines.joined(separator: "\n")
    }
    // --csv (written by the shell): the monthly table, book and market value of each asset.
    let start = s.deal.start
    let table = { () -> (header: [String], rows: [[String]]) in
      var header = ["month", "date"]
      for c in curves { header += ["\(c.id)_book_usd", "\(c.id)_market_usd"] }
      header.append("total_market_usd")
      let rows = (1...horizon).map { m -> [String] in
        var r = [String(m), (start + (m - 1)).description]
        for c in curves { r += [CSV.number(c.book[m - 1]), CSV.number(c.market[m - 1])] }
        r.append(CSV.number(total[m - 1]))
        return r
      }
      return (header, rows)
    }
    return CommandOutput(text: makeText(), json: makeJSON(), csv: table)
  }
}
