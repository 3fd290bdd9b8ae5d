import DealCore
import DealEngine
import DealPluginAPI

/// The text and CSV of a liquidation.
extension LiquidationOutcome {
  func text(depthCurve: [(depth: Double, rates: [Double?])], terminal: TerminalInfo) -> String {
    let p = plan.parameters
    var lines = [
      "liquidation after a default in \(when)\(atDefault ? ", the waterfall's default month" : "")",
      "market: \(Format.grouped(p.depth, decimals: 0)) GPUs a month, impact \(Format.percent(p.impact)) at full depth, "
        + "carry \(Format.percent(p.carry)) of power and opex, workout \(Format.percent(p.workout)), discounted at \(Format.percent(p.discount))",
      "default chain: " + ws.chain.indices.map { "\(plan.facilities[ws.chain[$0]]) (\(cause($0)))" }.joined(separator: " → "),
      "",
    ]
    var t = TextTable(
      ["FACILITY", "DEFAULT", "CLAIM_USD", "COLLATERAL_USD", "GUARANTORS_USD", "UNSECURED_USD", "RECOVERY", "LOSS_USD", "MONTHS", "SALE"],
      aligns: [.left] + Array(repeating: .right, count: 8) + [.left])
    for f in shown {
      t.add([
        plan.facilities[f], "month \(ws.defaultMonth[f])", Format.grouped(claim(f), decimals: 0),
        Format.grouped(ws.fromCollateral[f], decimals: 0), Format.grouped(ws.fromGuarantors[f], decimals: 0),
        Format.grouped(ws.fromUnsecured[f], decimals: 0), rate(f).map { Format.percent($0, maxDecimals: 1) } ?? "—",
        Format.grouped(loss(f), decimals: 0), String(ws.months[f]), saleText(f),
      ])
    }
    lines.append(t.render())
    let taken = plan.facilities.indices.filter { ws.repaidAtSale[$0] > 0.005 }
    for f in taken {
      lines.append("\(plan.facilities[f]) (not in default) was repaid \(Format.money(ws.repaidAtSale[f])) from the sale of collateral it ranks ahead on")
    }

    lines += ["", "assets sold"]
    var a = TextTable(
      ["ASSET", "KIND", "UNITS", "AFTER", "MONTHS", "SALE", "MARKET_VALUE_USD", "GROSS_USD", "NET_PV_USD", "NET/MARKET"],
      aligns: [.left, .left, .right, .right, .right, .left] + Array(repeating: .right, count: 4))
    for (i, asset) in plan.assets.enumerated() where ws.assetSold[i] {
      let after = "month \(ws.assetMonth[i])"
      switch asset.kind {
      case .gpu:
        let k = monthIndex(i)
        let mv = asset.marketValue[k]
        a.add([
          asset.id, "gpu", Format.grouped(asset.units, decimals: 0), after, String(ws.assetMonths[i]),
          sale(asset: i) == .goingConcern ? "going concern" : "fire sale", Format.grouped(mv, decimals: 0),
          Format.grouped(gross(asset: i), decimals: 0), Format.grouped(ws.assetProceeds[i], decimals: 0),
          mv > 0 ? Format.percent(ws.assetProceeds[i] / mv, maxDecimals: 1) : "—",
        ])
      case .crypto:
        a.add([asset.id, asset.btc ? "BTC" : "ETH", Format.plain(asset.amount), after, "1", "", "", "", Format.grouped(ws.assetProceeds[i], decimals: 0), ""])
      case .cash:
        a.add([asset.id, "reserve", "", after, "0", "", "", "", Format.grouped(ws.assetProceeds[i], decimals: 0), ""])
      }
    }
    lines.append(a.render())
    for e in plan.entities.indices {
      if ws.entityMonth[e] > 0 {
        lines.append(
          "\(plan.entities[e]) in default from month \(ws.entityMonth[e]): cash \(Format.money(ws.entityCash[e])), "
            + "its estate paid \(Format.money(ws.estatePaid[e])) to unsecured claims and guarantees")
      } else if ws.guaranteePaid[e] > 0.005 {
        lines.append("\(plan.entities[e]) paid \(Format.money(ws.guaranteePaid[e])) under its guarantees")
      }
    }
    lines.append(
      "net proceeds \(Format.money(ws.netProceeds)); paid to lenders \(Format.money(ws.distributed)); "
        + "left to owners \(Format.money(ws.leftToOwners))")
    let cooled = plan.assets.enumerated().filter { ws.assetSold[$0.offset] && $0.element.kind == .gpu && $0.element.coolingHaircut > 0.0005 }
    for (_, asset) in cooled {
      lines.append("\(asset.id): \(Format.percent(asset.coolingHaircut, maxDecimals: 1)) haircut for cooling and rack density (few buyers can host it)")
    }
    for (i, asset) in plan.assets.enumerated() where ws.assetSold[i] && asset.kind == .gpu {
      let k = monthIndex(i)
      if sale(asset: i) == .goingConcern {
        lines.append(
          "\(asset.id): sold with its lease (\(Format.money(asset.goingConcern[k]))) rather than as bare GPUs (\(Format.money(asset.fireProceeds[k])))")
      } else if asset.goingConcern[k] > 0 {
        lines.append(
          "\(asset.id): sold as bare GPUs (\(Format.money(asset.fireProceeds[k]))) rather than with its lease (\(Format.money(asset.goingConcern[k])))")
      }
    }

    if !depthCurve.isEmpty {
      lines += ["", "recovery against market depth (GPUs a month)"]
      let barWidth = max(10, min(40, terminal.width - 40))
      for (k, f) in shown.enumerated() {
        lines.append(plan.facilities[f])
        for point in depthCurve {
          let r = point.rates[k] ?? 0
          let marker = abs(point.depth - plan.parameters.depth) < 0.5 ? " ◀ depth=\(Format.grouped(plan.parameters.depth, decimals: 0))" : ""
          lines.append(
            "  " + Format.pad(Format.grouped(point.depth, decimals: 0), 9, right: true) + " " + Self.bar(r, width: barWidth)
              + " " + Format.percent(r, maxDecimals: 1) + marker)
        }
      }
    }
    return lines.joined(separator: "\n")
  }

  /// How the fleets pledged to f were sold ("—" when none was).
  func saleText(_ f: Int) -> String {
    let fleetSold = plan.assets.indices.contains { ws.assetSold[$0] && plan.assets[$0].kind == .gpu && plan.assets[$0].liens.contains { $0.facility == f } }
    guard fleetSold else { return "—" }
    return sale(f) == .goingConcern ? "going concern" : "fire sale"
  }

  /// A horizontal bar of a fraction in eighths of a cell.
  static func bar(_ x: Double, width: Int) -> String {
    let eighths = Int((min(1, max(0, x)) * Double(width * 8)).rounded())
    let parts = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    let full = String(repeating: "█", count: eighths / 8) + parts[eighths % 8]
    return full + String(repeating: " ", count: max(0, width - full.count))
  }

  /// The recoveries table for `--csv`.
  static let csvHeader = [
    "facility", "claim_usd", "from_collateral_usd", "from_guarantors_usd", "from_unsecured_usd", "recovery_rate", "loss_usd", "months_to_liquidate",
    "default_month", "sale",
  ]

  func csv() -> (header: [String], rows: [[String]]) {
    let header = Self.csvHeader
    let rows = shown.map { f in
      [
        plan.facilities[f], CSV.number(claim(f)), CSV.number(ws.fromCollateral[f]), CSV.number(ws.fromGuarantors[f]),
        CSV.number(ws.fromUnsecured[f]), rate(f).map { CSV.number($0, decimals: 4) } ?? "", CSV.number(loss(f)), String(ws.months[f]),
        String(ws.defaultMonth[f]), sale(f).rawValue,
      ]
    }
    return (header, rows)
  }
}
