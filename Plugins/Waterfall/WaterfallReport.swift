import DealCore
import DealEngine
import DealPluginAPI

/// How a waterfall result reads: summary, facilities, breaches, a yearly or
/// monthly table, a chart; JSON; CSV.
enum WaterfallReport {
  static func ratio(_ x: Double?) -> String { x.map { Format.grouped($0, decimals: 2) + "x" } ?? "—" }

  /// `--facility ID`: one facility's months.
  static func facility(_ f: FacilityResult, plan: WaterfallPlan, start: Month, title: String) -> CommandOutput {
    let headers = ["MONTH", "DATE", "INTEREST_USD", "PRINCIPAL_USD", "BALANCE_USD", "DSCR", "LTV"]
    var t = TextTable(headers, aligns: Array(repeating: .right, count: headers.count))
    for p in f.periods {
      t.add([
        String(p.month), (start + (p.month - 1)).description, Format.grouped(p.interest, decimals: 0),
        Format.grouped(p.principal, decimals: 0), Format.grouped(p.balance, decimals: 0), ratio(p.dscr),
        p.ltv.map { Format.percent($0, maxDecimals: 1) } ?? "—",
      ])
    }
    var status = f.defaultMonth.map { "defaulted month \($0) (\(f.defaultKind ?? "default")), claim \(Format.money(f.claimAtDefault))" }
      ?? (f.cancelled ? "cancelled before its draw" : (f.balanceEnd > 0.5 ? "outstanding at the horizon" : "repaid"))
    if f.collectedAfterDefault > 0.5 { status += ", collected \(Format.money(f.collectedAfterDefault)) after" }
    let text = [
      "\(f.id) — borrowed by \(f.obligor); \(title)",
      "interest \(Format.money(f.interestPaid)) · principal \(Format.money(f.principalPaid)) · \(status)",
      "DSCR: the obligor's available CFADS over its debt service at this rank and above; LTV: this and better liens over the collateral",
      "", t.render(),
    ].joined(separator: "\n")
    let json: JSONValue = [
      "facility": .string(f.id), "obligor": .string(f.obligor),
      "periods": f.periodsJSON(),
    ]
    return CommandOutput(text: text, json: json) {
      (["month", "date", "interest_usd", "principal_usd", "balance_usd", "dscr", "ltv"], f.periods.map { p in
        [String(p.month), (start + (p.month - 1)).description, CSV.number(p.interest), CSV.number(p.principal), CSV.number(p.balance),
         p.dscr.map { CSV.number($0, decimals: 4) } ?? "", p.ltv.map { CSV.number($0, decimals: 4) } ?? ""]
      })
    }
  }

  /// `--entity ID`: one entity's cash account, month by month.
  static func entity(_ e: EntityResult, start: Month, title: String) -> CommandOutput {
    let headers = [
      "MONTH", "DATE", "OPENING_USD", "CFADS_USD", "FROM_SUBS_USD", "GUARANTEES_IN_USD", "COINS_USD", "RESERVES_IN_USD",
      "TO_LENDERS_USD", "RESERVES_OUT_USD", "GUARANTEES_OUT_USD", "TO_PARENT_USD", "CLOSING_USD",
    ]
    var t = TextTable(headers, aligns: Array(repeating: .right, count: headers.count))
    func g(_ x: Double) -> String { Format.grouped(x, decimals: 0) }
    for p in e.periods {
      t.add([
        String(p.month), (start + (p.month - 1)).description, g(p.opening), g(p.cfads), g(p.distributionsIn), g(p.guaranteesIn),
        g(p.coinSales), g(p.reserveIn), g(p.paidToLenders), g(p.reserveOut), g(p.guaranteesOut), g(p.distributionsOut), g(p.closing),
      ])
    }
    let text = [
      "\(e.id) — cash account; \(title)" + (e.inDefaultMonth.map { "; in default from month \($0)" } ?? ""),
      "opening + CFADS + from subsidiaries + guarantees in + coins sold + reserves in = to lenders + reserves out + guarantees out + to parent + closing",
      "", t.render(),
    ].joined(separator: "\n")
    func r2(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    let periods: [JSONValue] = e.periods.map { p in
      [
        "month": .number(Double(p.month)), "opening": r2(p.opening), "cfads": r2(p.cfads), "distributions_in": r2(p.distributionsIn),
        "guarantees_in": r2(p.guaranteesIn), "coin_sales": r2(p.coinSales), "reserve_in": r2(p.reserveIn),
        "paid_to_lenders": r2(p.paidToLenders), "reserve_out": r2(p.reserveOut), "guarantees_out": r2(p.guaranteesOut),
        "distributions_out": r2(p.distributionsOut), "closing": r2(p.closing),
      ]
    }
    let json: JSONValue = ["entity": .string(e.id), "in_default_month": .optional(e.inDefaultMonth), "periods": .array(periods)]
    return CommandOutput(text: text, json: json) {
      (["month", "date", "opening_usd", "cfads_usd", "distributions_in_usd", "guarantees_in_usd", "coin_sales_usd", "reserve_in_usd",
        "paid_to_lenders_usd", "reserve_out_usd", "guarantees_out_usd", "distributions_out_usd", "closing_usd"], e.periods.map { p in
        [String(p.month), (start + (p.month - 1)).description] + [p.opening, p.cfads, p.distributionsIn, p.guaranteesIn, p.coinSales, p.reserveIn,
          p.paidToLenders, p.reserveOut, p.guaranteesOut, p.distributionsOut, p.closing].map { CSV.number($0) }
      })
    }
  }

  /// The monthly table for `--csv`.
  static func csv(_ r: WaterfallResult, start: Month) -> (header: [String], rows: [[String]]) {
    let header = ["month", "date", "revenue_usd", "opex_usd", "cfads_usd", "debt_service_usd", "dscr", "ltv", "balance_usd", "reserve_usd", "to_equity_usd"]
    let rows = r.periods.map { p in
      [
        String(p.month), (start + (p.month - 1)).description, CSV.number(p.revenue), CSV.number(p.opex), CSV.number(p.cfads),
        CSV.number(p.debtService), p.dscr.map { CSV.number($0, decimals: 4) } ?? "", p.ltv.map { CSV.number($0, decimals: 4) } ?? "",
        CSV.number(p.balance), CSV.number(p.reserve), CSV.number(p.toEquity),
      ]
    }
    return (header, rows)
  }

  static func text(
    _ r: WaterfallResult, plan: WaterfallPlan, start: Month, title: String, detail: Bool, chart: String?, terminal: TerminalInfo
  ) -> String {
    let style = Style(terminal.color)
    var lines: [String] = []
    lines.append("waterfall — \(r.months) months from \(start), \(title)")
    let minMonth = r.periods.filter { $0.dscr != nil }.min { $0.dscr! < $1.dscr! }?.month
    var summary = "min DSCR \(ratio(r.minDSCR))" + (minMonth.map { " (month \($0))" } ?? "") + " · average DSCR \(ratio(r.avgDSCR))"
    summary += " · first breach " + (r.firstBreachMonth.map { "month \($0)" } ?? "none")
    summary += " · default " + (r.defaultMonth.map { style.red("month \($0)") } ?? style.green("none"))
    lines.append(summary)
    lines.append("")
    var ft = TextTable(
      ["FACILITY", "RANK", "INTEREST_USD", "PRINCIPAL_USD", "END_BALANCE_USD", "LOSS_USD", "IRR", "WAL_Y", "STATUS"],
      aligns: [.left, .right, .right, .right, .right, .right, .right, .right, .left])
    for (i, f) in r.facilities.enumerated() {
      let fac = plan.facilities[i]
      var status = f.defaultMonth.map { "defaulted month \($0)" } ?? (f.balanceEnd > 0.5 ? "outstanding at horizon" : "repaid")
      if f.converted { status = "converted" }
      if f.refinanced {
        status += ", refinanced \(Format.money(f.refinancingNeed)) at maturity"
      } else if f.refinancingNeed > 0 {
        status += ", refinancing need \(Format.money(f.refinancingNeed))"
      }
      ft.add([
        f.id, String(fac.rank), Format.grouped(f.interestPaid, decimals: 0), Format.grouped(f.principalPaid, decimals: 0),
        Format.grouped(f.balanceEnd, decimals: 0), Format.grouped(f.loss, decimals: 0),
        f.irr.map { Format.percent($0, maxDecimals: 1) } ?? "—", f.wal.map { Format.plain($0, maxDecimals: 2) } ?? "—", status,
      ])
    }
    lines.append(ft.render())
    if !r.breaches.isEmpty {
      lines.append("")
      lines.append("breaches and events:")
      for b in r.breaches.prefix(20) {
        lines.append("  month \(b.month) (\(start + (b.month - 1)))  \(b.facility)  \(b.kind): \(b.detail)")
      }
      if r.breaches.count > 20 { lines.append("  … \(r.breaches.count - 20) more (--json lists them all)") }
    }
    lines.append("")
    if detail {
      var t = TextTable(
        ["MONTH", "DATE", "REVENUE_USD", "OPEX_USD", "CFADS_USD", "DEBT_SERVICE_USD", "DSCR", "LTV", "BALANCE_USD", "RESERVE_USD"],
        aligns: Array(repeating: .right, count: 10))
      for p in r.periods {
        t.add([
          String(p.month), (start + (p.month - 1)).description, Format.grouped(p.revenue, decimals: 0),
          Format.grouped(p.opex, decimals: 0), Format.grouped(p.cfads, decimals: 0), Format.grouped(p.debtService, decimals: 0),
          ratio(p.dscr), p.ltv.map { Format.percent($0, maxDecimals: 1) } ?? "—", Format.grouped(p.balance, decimals: 0),
          Format.grouped(p.reserve, decimals: 0),
        ])
      }
      lines.append(t.render())
    } else {
      var t = TextTable(
        ["YEAR", "MONTHS", "REVENUE_USD", "OPEX_USD", "CFADS_USD", "DEBT_SERVICE_USD", "DSCR", "MIN_DSCR", "END_LTV", "END_BALANCE_USD"],
        aligns: Array(repeating: .right, count: 10))
      var i = 0
      while i < r.periods.count {
        let year = Array(r.periods[i..<min(i + 12, r.periods.count)])
        let rev = year.map(\.revenue).reduce(0, +), opex = year.map(\.opex).reduce(0, +), cf = year.map(\.cfads).reduce(0, +)
        let ds = year.map(\.debtService).reduce(0, +)
        let minD = year.compactMap(\.dscr).min()
        t.add([
          String(i / 12 + 1), "\(year.first!.month)–\(year.last!.month)", Format.grouped(rev, decimals: 0),
          Format.grouped(opex, decimals: 0), Format.grouped(cf, decimals: 0), Format.grouped(ds, decimals: 0),
          ds > 0.5 ? ratio(cf / ds) : "—", ratio(minD), year.last!.ltv.map { Format.percent($0, maxDecimals: 1) } ?? "—",
          Format.grouped(year.last!.balance, decimals: 0),
        ])
        i += 12
      }
      lines.append(t.render())
    }
    if let chart {
      lines.append("")
      switch chart {
      case "dscr":
        // Each facility's own DSCR (its obligor's, at its rank) against its
        // own covenant; the deal's consolidated DSCR is the table's column.
        var c = LineChart(
          series: r.facilities.filter { f in f.periods.contains { $0.dscr != nil } }.map { f in
            LineChart.Series("\(f.id) DSCR", f.periods.map { $0.dscr.map { min($0, 5) } ?? .nan })
          }, format: { Format.plain($0, maxDecimals: 2) + "x" })
        c.rules = plan.facilities.compactMap { f in f.minDSCR.map { ("\(f.id) min \(ratio($0))", $0) } }
        lines += ["each facility's DSCR by month: its obligor's CFADS over its debt service at its rank (capped at 5x)",
          c.render(width: terminal.width, color: terminal.color)]
      case "ltv":
        // Each facility's lien-aware LTV against its own covenant.
        var c = LineChart(
          series: r.facilities.filter { f in f.periods.contains { $0.ltv != nil } }.map { f in
            LineChart.Series("\(f.id) LTV", f.periods.map { $0.ltv.map { min($0, 3) } ?? .nan })
          }, format: { Format.percent($0, maxDecimals: 0) })
        c.rules = plan.facilities.compactMap { f in f.maxLTV.map { ("\(f.id) max \(Format.percent($0))", $0) } }
        lines += ["each facility's LTV by month: its balance and better liens over its collateral's market value (capped at 300%)",
          c.render(width: terminal.width, color: terminal.color)]
      default:
        let c = LineChart(
          series: [LineChart.Series("debt balance", r.periods.map(\.balance)), LineChart.Series("collateral value", r.periods.map(\.collateral))],
          format: Format.compactMoney)
        lines += ["debt balance against collateral market value", c.render(width: terminal.width, color: terminal.color)]
      }
    }
    return lines.joined(separator: "\n")
  }
}
