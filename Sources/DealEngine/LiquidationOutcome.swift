import DealCore

/// A liquidation and what it paid each facility (SPEC §5 `liquidate`); the
/// JSON keys scripts rely on are made here, the text by the plugin.
public struct LiquidationOutcome {
  public let plan: LiquidationPlan
  public let input: LiquidationInput
  public let ws: LiquidationWorkspace
  /// Facilities reported, in default order.
  public let shown: [Int]
  public let start: Month
  public let atDefault: Bool
  /// Why each trigger defaulted, from the waterfall ("payment default",
  /// "margin call default"); "assumed default" for at=MONTH.
  public let triggerCause: [Int: String]
  /// The scenario's extra haircut on market values, which the prices carry.
  public var haircut = 0.0

  public func rate(_ f: Int) -> Double? {
    input.claims[f] > 0.005 ? ws.recovered(f) / input.claims[f] : nil
  }

  public func loss(_ f: Int) -> Double { max(0, input.claims[f] - ws.recovered(f)) }

  public func cause(_ k: Int) -> String {
    switch ws.cause[k] {
    case .trigger: triggerCause[ws.chain[k]] ?? "assumed default"
    case .crossDefault(let from): "cross-default from " + plan.facilities[from]
    case .guarantee(let g):
      "obligor could not honour its guarantee of " + plan.facilities[g]
    }
  }

  public var when: String {
    let d = input.defaultMonth
    return "\(start + (d - 1)) (month \(d))"
  }

  public func json() -> JSONValue {
    func money(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    var facilities: [String: JSONValue] = [:]
    for f in shown {
      facilities[plan.facilities[f]] = [
        "recovery_rate": rate(f).map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null, "loss": money(loss(f)),
        "months_to_liquidate": .number(Double(ws.months[f])), "claim": money(input.claims[f]),
        "recovered": money(ws.recovered(f)), "from_collateral": money(ws.fromCollateral[f]),
        "from_guarantors": money(ws.fromGuarantors[f]), "from_unsecured": money(ws.fromUnsecured[f]),
      ]
    }
    var assets: [String: JSONValue] = [:]
    let d = input.defaultMonth
    for (i, a) in plan.assets.enumerated() where ws.assetSold[i] {
      var o: [String: JSONValue] = ["net_proceeds": money(ws.assetProceeds[i])]
      if a.kind == .gpu {
        o["units"] = .number(a.units)
        o["months"] = .number(Double(a.stopMonth[d - 1]))
        o["market_value"] = money(a.marketValue[d - 1])
        o["gross_proceeds"] = money(a.gross[d - 1])
        o["cooling_haircut"] = .number((a.coolingHaircut * 10_000).rounded() / 10_000)
      }
      assets[a.id] = .object(o)
    }
    let p = plan.parameters
    return [
      "default_month": .number(Double(d)), "date": .string((start + (d - 1)).description),
      "facilities": .object(facilities),
      "defaulted": .array(ws.chain.map { .string(plan.facilities[$0]) }),
      "chain": .array(ws.chain.indices.map { ["facility": .string(plan.facilities[ws.chain[$0]]), "cause": .string(cause($0))] }),
      "repaid_at_sale": .object(Dictionary(uniqueKeysWithValues: plan.facilities.indices.filter { ws.repaidAtSale[$0] > 0.005 }.map { (plan.facilities[$0], money(ws.repaidAtSale[$0])) })),
      "assets": .object(assets), "net_proceeds": money(ws.netProceeds), "distributed": money(ws.distributed),
      "parameters": [
        "depth": .number(p.depth), "impact": .number(p.impact), "cooling_haircut": .number(p.coolingHaircut),
        "carry": .number(p.carry), "workout": .number(p.workout), "discount": .number(p.discount), "slippage": .number(p.slippage),
      ],
    ]
  }
}
