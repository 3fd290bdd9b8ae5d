import DealCore
import Foundation

/// `size` (SPEC §5.2): the largest amount of a facility — the others as
/// they are — for which, under a scenario, it is repaid without default and
/// every given constraint holds in every month: its DSCR (the obligor's, on
/// cumulative debt service at its rank) at least `targetDSCR`, its
/// lien-aware LTV at most `maxLTV`, its balance at most `advanceRate` × its
/// collateral. A sculpted facility is sculpted to `targetDSCR` when given.
public struct Sizing: Sendable {
  public var facility: String
  public var targetDSCR: Double?
  public var maxLTV: Double?
  public var advanceRate: Double?

  public init(facility: String, targetDSCR: Double? = nil, maxLTV: Double? = nil, advanceRate: Double? = nil) {
    self.facility = facility
    self.targetDSCR = targetDSCR
    self.maxLTV = maxLTV
    self.advanceRate = advanceRate
  }

  /// The answer: the amount, and what stops one more dollar — the
  /// constraint that a slightly larger amount breaks, and in which month.
  public struct Result: Sendable, Equatable {
    public var amount: Double
    public var binding: String
    public var bindingMonth: Int?
    /// Runs of the waterfall the search took.
    public var runs: Int
  }

  /// What an amount breaks first (nil: nothing).
  struct Breach {
    var constraint: String
    var month: Int?
  }

  /// The session with the facility at `amount` (and sculpted to the target).
  public func session(_ s: Session, amount: Double) throws(DealError) -> Session {
    var s = s
    guard var attrs = s.graph[facility]?.attrs else { throw DealError.unknownNode(facility, in: s.graph.nodes.keys) }
    attrs["amount"] = .number(amount)
    if let t = targetDSCR, attrs["amort"]?.text == "sculpted" { attrs["target_dscr"] = .number(t) }
    try s.graph.setAttributes(of: facility, attrs)
    return s
  }

  /// The first constraint `amount` breaks, from a detail run.
  func check(_ s: Session, schema: Schema, amount: Double, scenario: Scenario, marketValues: [String: [Double]]) throws(DealError) -> Breach? {
    let sized = try session(s, amount: amount)
    let plan: WaterfallPlan
    do {
      plan = try WaterfallPlan.compile(sized, schema: schema, marketValues: marketValues, months: s.deal.horizon)
    } catch {
      // A sculpted schedule that cannot be made (no CFADS to sculpt on).
      return Breach(constraint: "sculpting: " + error.message, month: nil)
    }
    let r = WaterfallEngine.run(plan, scenario)
    guard let k = plan.facilities.firstIndex(where: { $0.id == facility }), let f = r.facility(facility) else {
      return Breach(constraint: "no such facility", month: nil)
    }
    let fac = plan.facilities[k]
    var first: Breach? = nil
    func note(_ c: String, _ m: Int?) {
      if first == nil || (m ?? .max) < (first!.month ?? .max) { first = Breach(constraint: c, month: m) }
    }
    if let d = f.defaultMonth { note("default", d) }
    if f.cancelled { note("default", f.cancelledMonth) }
    if fac.maturity <= r.months, f.balanceEnd > 0.5, f.defaultMonth == nil { note("repayment", fac.maturity) }
    let coins = plan.pledgedCoins[k].reduce(0.0) { $0 + $1.amount * $1.price * ($1.btc ? scenario.btcFactor : scenario.ethFactor) }
    for p in f.periods where p.balance > 0.005 || p.interest + p.principal > 0.005 {
      if let t = targetDSCR, let d = p.dscr, d < t - 1e-9 { note("target_dscr", p.month) }
      if let maxLTV, let l = p.ltv, l > maxLTV + 1e-9 { note("max_ltv", p.month) }
      if let adv = advanceRate {
        let value = plan.collateral[k * plan.months + p.month - 1] * (1 - scenario.haircut) + coins
        if p.balance > adv * value + 0.5 { note("advance_rate", p.month) }
      }
    }
    return first
  }

  /// Searches the amount. - Throws: naming the constraint when no amount
  /// (not even $1,000) meets it, or one the facility has no collateral for.
  public func run(_ s: Session, schema: Schema, scenario: Scenario, marketValues: [String: [Double]]) throws(DealError) -> Result {
    guard let node = s.graph[facility], node.kind == .facility else {
      throw DealError.unknownNode(facility, in: s.graph.sortedNodes.filter { $0.kind == .facility }.map(\.id))
    }
    let collateral = s.graph.edges(to: facility, .pledgedTo).compactMap { s.graph[$0.from] }.filter { $0.type == "gpu" || $0.type == "crypto" }
    for (key, value) in [("max_ltv", maxLTV), ("advance_rate", advanceRate)] where value != nil && collateral.isEmpty {
      throw DealError(
        .invalid, "\(key) needs collateral, and nothing (no GPU fleet, no coins) is pledged to '\(facility)'",
        hint: "'link FLEET pledged-to \(facility)' pledges some, or size on target_dscr", subject: .value(key))
    }
    var runs = 0
    func breach(_ a: Double) throws(DealError) -> Breach? {
      runs += 1
      return try check(s, schema: schema, amount: a, scenario: scenario, marketValues: marketValues)
    }
    let floor = 1_000.0
    if let b = try breach(floor) {
      let what = b.constraint == "default" || b.constraint == "repayment" ? "avoids a default" : "meets \(b.constraint)"
      throw DealError(
        .invalid, "no amount of '\(facility)' \(what): even $1,000 breaks \(b.constraint)\(b.month.map { " in month \($0)" } ?? "")",
        hint: "relax the constraint, or look at 'waterfall --facility \(facility)'",
        subject: b.constraint.contains(" ") ? nil : .value(b.constraint))
    }
    // An amount that breaks something, doubling from the current amount.
    var lo = floor
    var hi = max(floor * 2, node.attrs["amount"]?.number ?? 1e6)
    var hiBreach = try breach(hi)
    while hiBreach == nil {
      lo = hi
      hi *= 2
      guard hi < 1e13 else {
        return Result(amount: lo, binding: "none up to $10 trillion", bindingMonth: nil, runs: runs)
      }
      hiBreach = try breach(hi)
    }
    // Bisection to a dollar.
    while hi - lo > max(1, lo * 1e-9) {
      let mid = (lo + hi) / 2
      if let b = try breach(mid) {
        hi = mid
        hiBreach = b
      } else {
        lo = mid
      }
    }
    let amount = lo.rounded(.down)
    return Result(amount: amount, binding: hiBreach?.constraint ?? "none", bindingMonth: hiBreach?.month, runs: runs)
  }
}

extension DealAnalysis {
  /// Sizes a facility under `scenario` (SPEC §5.2 `size`).
  public func size(_ sizing: Sizing, scenario: Scenario) throws(DealError) -> Sizing.Result {
    try sizing.run(session, schema: schema, scenario: scenario, marketValues: try marketValues(months: session.deal.horizon))
  }
}
