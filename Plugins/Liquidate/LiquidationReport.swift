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
      ["FACILITY", "CLAIM_USD", "COLLATERAL_USD", "GUARANTORS_USD", "UNSECURED_USD", "RECOVERY", "LOSS_USD", "MONTHS"],
      aligns: [.left] + Array(repeating: .right, count: 7))
    for f in shown {
      t.add([
        plan.facilities[f], Format.grouped(input.claims[f], decimals: 0), Format.grouped(ws.fromCollateral[f], decimals: 0),
        Format.grouped(ws.fromGuarantors[f], decimals: 0), Format.grouped(ws.fromUnsecured[f], decimals: 0),
        rate(f).map { Format.percent($0, maxDecimals: 1) } ?? "—", Format.grouped(loss(f), decimals: 0), String(ws.months[f]),
      ])
    }
    lines.append(t.render())
    let taken = plan.facilities.indices.filter { ws.repaidAtSale[$0] > 0.005 }
    for f in taken {
      lines.append("\(plan.facilities[f]) (not in default) was repaid \(Format.money(ws.repaidAtSale[f])) from the sale of collateral it ranks ahead on")
    }

    lines += ["", "assets sold"]
    var a = TextTable(
      ["ASSET", "KIND", "UNITS", "MONTHS", "MARKET_VALUE_USD", "GROSS_USD", "NET_PV_USD", "NET/MARKET"],
      aligns: [.left, .left] + Array(repeating: .right, count: 6))
    let d = input.defaultMonth
    for (i, asset) in plan.assets.enumerated() where ws.assetSold[i] {
      switch asset.kind {
      case .gpu:
        let mv = asset.marketValue[d - 1]
        a.add([
          asset.id, "gpu", Format.grouped(asset.units, decimals: 0), String(asset.stopMonth[d - 1]), Format.grouped(mv, decimals: 0),
          Format.grouped(asset.gross[d - 1], decimals: 0), Format.grouped(ws.assetProceeds[i], decimals: 0),
          mv > 0 ? Format.percent(ws.assetProceeds[i] / mv, maxDecimals: 1) : "—",
        ])
      case .crypto:
        a.add([asset.id, asset.btc ? "BTC" : "ETH", Format.plain(asset.amount), "1", "", "", Format.grouped(ws.assetProceeds[i], decimals: 0), ""])
      case .cash:
        a.add([asset.id, "cash", "", "0", "", "", Format.grouped(ws.assetProceeds[i], decimals: 0), ""])
      }
    }
    lines.append(a.render())
    lines.append(
      "net proceeds \(Format.money(ws.netProceeds)); paid to lenders \(Format.money(ws.distributed)); "
        + "left to owners \(Format.money(max(0, ws.netProceeds - ws.distributed)))")
    let cooled = plan.assets.enumerated().filter { ws.assetSold[$0.offset] && $0.element.kind == .gpu && $0.element.coolingHaircut > 0.0005 }
    for (_, asset) in cooled {
      lines.append("\(asset.id): \(Format.percent(asset.coolingHaircut, maxDecimals: 1)) haircut for cooling and rack density (few buyers can host it)")
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
  ]

  func csv() -> (header: [String], rows: [[String]]) {
    let header = Self.csvHeader
    let rows = shown.map { f in
      [
        plan.facilities[f], CSV.number(input.claims[f]), CSV.number(ws.fromCollateral[f]), CSV.number(ws.fromGuarantors[f]),
        CSV.number(ws.fromUnsecured[f]), rate(f).map { CSV.number($0, decimals: 4) } ?? "", CSV.number(loss(f)), String(ws.months[f]),
      ]
    }
    return (header, rows)
  }
}
