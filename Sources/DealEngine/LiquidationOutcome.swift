import DealCore

/// A liquidation and what it paid each facility (SPEC §5 `liquidate`); the
/// JSON keys scripts rely on are made here, the text by the plugin.
public struct LiquidationOutcome {
  public let plan: LiquidationPlan
  public let input: LiquidationInput
  public let ws: LiquidationWorkspace
  /// The waterfall run whose histories the input reads.
  let run: RunBlock
  /// Facilities reported, in default order.
  public let shown: [Int]
  public let start: Month
  public let atDefault: Bool
  /// Why each trigger defaulted, from the waterfall ("payment default",
  /// "margin call default"); "assumed default" for at=MONTH.
  public let triggerCause: [Int: String]
  /// The scenario's extra haircut on market values, which the prices carry.
  public var haircut = 0.0

  public func claim(_ f: Int) -> Double { ws.claim[f] }

  public func rate(_ f: Int) -> Double? {
    ws.claim[f] > 0.005 ? ws.recovered(f) / ws.claim[f] : nil
  }

  public func loss(_ f: Int) -> Double { max(0, ws.claim[f] - ws.recovered(f)) }

  /// What the facility was paid in the waterfall before its default and
  /// in its default month (the month before, for a default assumed at the
  /// start of a month).
  public func paidBeforeDefault(_ f: Int) -> Double {
    input.history.paid(f, LiquidationEngine.stateMonth(ws.defaultMonth[f], input))
  }

  /// How the collateral of f was sold: a going concern if any fleet
  /// pledged to it was sold with its lease.
  public func sale(_ f: Int) -> LiquidationPlan.Asset.Sale {
    for (i, a) in plan.assets.enumerated() where ws.assetGoingConcern[i] && a.liens.contains(where: { $0.facility == f }) {
      return .goingConcern
    }
    return .fireSale
  }

  /// The sale of asset i (sold GPU fleets only).
  public func sale(asset i: Int) -> LiquidationPlan.Asset.Sale {
    ws.assetGoingConcern[i] ? .goingConcern : .fireSale
  }

  /// What a sold fleet's sale grossed (the going concern's value, or the
  /// fire sale's gross proceeds).
  public func gross(asset i: Int) -> Double {
    ws.assetGoingConcern[i] ? plan.assets[i].goingConcern[monthIndex(i)] : plan.assets[i].gross[monthIndex(i)]
  }

  /// Index of the asset's sale month in the plan's monthly tables.
  public func monthIndex(_ i: Int) -> Int { min(max(ws.assetMonth[i], 1), plan.months) - 1 }

  public func cause(_ k: Int) -> String {
    switch ws.cause[k] {
    case .trigger: triggerCause[ws.chain[k]] ?? "assumed default"
    case .crossDefault(let from): "cross-default from " + plan.facilities[from]
    case .obligor(let e): "its obligor \(plan.entities[e]) is in default"
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
      let d = ws.defaultMonth[f]
      facilities[plan.facilities[f]] = [
        "recovery_rate": rate(f).map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null, "loss": money(loss(f)),
        "months_to_liquidate": .number(Double(ws.months[f])), "claim": money(ws.claim[f]),
        "recovered": money(ws.recovered(f)), "from_collateral": money(ws.fromCollateral[f]),
        "from_guarantors": money(ws.fromGuarantors[f]), "from_unsecured": money(ws.fromUnsecured[f]),
        "default_month": .number(Double(d)), "default_date": .string((start + (d - 1)).description),
        "paid_before_default": money(paidBeforeDefault(f)), "sale": .string(sale(f).rawValue),
      ]
    }
    var assets: [String: JSONValue] = [:]
    for (i, a) in plan.assets.enumerated() where ws.assetSold[i] {
      var o: [String: JSONValue] = ["net_proceeds": money(ws.assetProceeds[i]), "sale_month": .number(Double(ws.assetMonth[i]))]
      if a.kind == .gpu {
        let k = monthIndex(i)
        o["units"] = .number(a.units)
        o["months"] = .number(Double(ws.assetMonths[i]))
        o["market_value"] = money(a.marketValue[k])
        o["gross_proceeds"] = money(gross(asset: i))
        o["cooling_haircut"] = .number((a.coolingHaircut * 10_000).rounded() / 10_000)
        o["sale"] = .string(sale(asset: i).rawValue)
        o["fire_sale_value"] = money(a.fireProceeds[k])
        o["going_concern_value"] = money(a.goingConcern[k])
      }
      assets[a.id] = .object(o)
    }
    var entities: [String: JSONValue] = [:]
    for e in plan.entities.indices where ws.entityMonth[e] > 0 || ws.guaranteePaid[e] > 0.005 {
      entities[plan.entities[e]] = [
        "default_month": ws.entityMonth[e] > 0 ? .number(Double(ws.entityMonth[e])) : .null,
        "cash": money(ws.entityCash[e]), "estate_paid": money(ws.estatePaid[e]), "guarantee_paid": money(ws.guaranteePaid[e]),
      ]
    }
    let p = plan.parameters
    let d = input.defaultMonth
    return [
      "default_month": .number(Double(d)), "date": .string((start + (d - 1)).description),
      "facilities": .object(facilities),
      "defaulted": .array(ws.chain.map { .string(plan.facilities[$0]) }),
      "chain": .array(ws.chain.indices.map { ["facility": .string(plan.facilities[ws.chain[$0]]), "cause": .string(cause($0))] }),
      "repaid_at_sale": .object(Dictionary(uniqueKeysWithValues: plan.facilities.indices.filter { ws.repaidAtSale[$0] > 0.005 }.map { (plan.facilities[$0], money(ws.repaidAtSale[$0])) })),
      "assets": .object(assets), "entities": .object(entities), "net_proceeds": money(ws.netProceeds),
      "distributed": money(ws.distributed), "left_to_owners": money(ws.leftToOwners),
      "parameters": [
        "depth": .number(p.depth), "impact": .number(p.impact), "cooling_haircut": .number(p.coolingHaircut),
        "carry": .number(p.carry), "workout": .number(p.workout), "discount": .number(p.discount), "slippage": .number(p.slippage),
      ],
    ]
  }
}
