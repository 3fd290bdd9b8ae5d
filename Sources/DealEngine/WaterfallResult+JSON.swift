import DealCore

/// The JSON of a waterfall run (SPEC §5 `waterfall`): the keys scripts rely
/// on, made in one place for every command that prints a run.
extension WaterfallResult {
  public func json() -> JSONValue {
    let r = self
    func round2(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    func opt4(_ x: Double?) -> JSONValue { x.map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null }
    var facilities: [String: JSONValue] = [:]
    for f in r.facilities {
      facilities[f.id] = [
        "interest_paid": round2(f.interestPaid), "principal_paid": round2(f.principalPaid),
        "balance_end": round2(f.balanceEnd), "loss": round2(f.loss), "irr": opt4(f.irr), "wal": opt4(f.wal),
        "default_month": .optional(f.defaultMonth), "default_kind": .optional(f.defaultKind),
        "claim_at_default": round2(f.claimAtDefault), "collected_after_default": round2(f.collectedAfterDefault),
        "obligor": .string(f.obligor), "cancelled": .bool(f.cancelled), "cancelled_month": .optional(f.cancelledMonth), "converted": .bool(f.converted),
        "refinanced": .bool(f.refinanced),
        "refinancing_need": round2(f.refinancingNeed), "guarantor_paid": round2(f.guarantorPaid),
        "coins_sold": .number(f.coinsSold), "balance_at_default": round2(f.balanceAtDefault),
        "reserve_at_default": round2(f.reserveAtDefault), "reserve_end": round2(f.reserveEnd),
        "periods": f.periodsJSON(),
      ]
    }
    var entities: [String: JSONValue] = [:]
    for e in r.entities {
      entities[e.id] = [
        "cash_end": round2(e.cashEnd), "distributions_received": round2(e.distributionsReceived),
        "distributions_paid": round2(e.distributionsPaid), "guarantee_paid": round2(e.guaranteePaid),
        "coins_sold": round2(e.coinsSold), "in_default_month": .optional(e.inDefaultMonth),
      ]
    }
    return [
      "months": .number(Double(r.months)), "min_dscr": opt4(r.minDSCR), "avg_dscr": opt4(r.avgDSCR),
      "first_breach_month": .optional(r.firstBreachMonth), "default_month": .optional(r.defaultMonth),
      "periods": .array(r.periods.map { p in
        [
          "month": .number(Double(p.month)), "revenue": round2(p.revenue), "opex": round2(p.opex),
          "cfads": round2(p.cfads), "debt_service": round2(p.debtService), "dscr": opt4(p.dscr), "ltv": opt4(p.ltv),
          "balance": round2(p.balance), "interest": round2(p.interest), "principal": round2(p.principal),
          "reserve": round2(p.reserve), "to_equity": round2(p.toEquity), "trapped": round2(p.trapped),
        ]
      }),
      "facilities": .object(facilities), "entities": .object(entities),
      "breaches": .array(r.breaches.map { ["month": .number(Double($0.month)), "facility": .string($0.facility), "kind": .string($0.kind), "detail": .string($0.detail)] }),
      "defaulted": .array(r.defaulted.map { .string($0) }),
    ]
  }

  /// The waterfall summary S of SPEC §5 `shock`: min and average DSCR,
  /// first breach, default month, facilities, and the default order.
  public func summaryJSON() -> JSONValue {
    let j = json()
    // Each facility's summary, without its months.
    var facilities: [String: JSONValue] = [:]
    for (id, f) in j["facilities"]?.objectValue ?? [:] {
      var o = f.objectValue ?? [:]
      o["periods"] = nil
      facilities[id] = .object(o)
    }
    return [
      "min_dscr": j["min_dscr"] ?? .null, "avg_dscr": j["avg_dscr"] ?? .null,
      "first_breach_month": j["first_breach_month"] ?? .null, "default_month": j["default_month"] ?? .null,
      "facilities": .object(facilities), "defaulted": j["defaulted"] ?? .array([]),
    ]
  }
}

extension FacilityResult {
  /// The facility's months (`waterfall --json`'s `periods` of a facility):
  /// `month, interest, principal, balance, dscr, ltv`.
  public func periodsJSON() -> JSONValue {
    func round2(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    func opt4(_ x: Double?) -> JSONValue { x.map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null }
    return .array(periods.map { p in
      [
        "month": .number(Double(p.month)), "interest": round2(p.interest), "principal": round2(p.principal),
        "balance": round2(p.balance), "dscr": opt4(p.dscr), "ltv": opt4(p.ltv),
      ]
    })
  }
}
