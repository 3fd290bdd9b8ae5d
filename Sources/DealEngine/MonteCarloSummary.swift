import DealCore
import Foundation

/// What `shock mc` reports (SPEC §5): the probability of default, the
/// distribution of min DSCR, and per facility its default probability,
/// expected and tail losses and the fair spread. The JSON keys scripts rely
/// on are made here; the plugin draws the text.
public struct MonteCarloSummary: Sendable {
  public struct Facility: Sendable {
    public var id: String
    public var amount: Double
    public var coupon: Double
    /// Coupon over the base rate.
    public var spread: Double
    public var pd: Double
    public var expectedLoss: Double
    public var expectedLossRate: Double
    public var lossQ95: Double
    public var lossQ99: Double
    /// Expected loss ÷ expected balance-years outstanding (∞ when a loss
    /// comes with no exposure).
    public var fairSpread: Double
    /// The spread over the base rate at which the expected receipts,
    /// discounted at the base rate, equal the amount lent (SPEC §5.2); nil
    /// when no interest month was paid on any path.
    public var spreadToPrice: Double? = nil
    /// Whether the spread paid is below the spread to price (like with
    /// like: both over the base rate), else below the fair spread.
    public var underpriced: Bool {
      if let s = spreadToPrice { return s > spread + 1e-9 }
      return fairSpread > spread + 1e-12
    }
  }

  public struct Bin: Sendable {
    public var from: Double
    public var to: Double
    public var paths: Int
  }

  public static let quantiles: [(key: String, q: Double)] = [
    ("p1", 0.01), ("p5", 0.05), ("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99),
  ]

  public var paths: Int
  public var months: Int
  public var seed: UInt64
  public var model: MonteCarloModel
  public var scenario: Scenario
  public var cancelled: Bool
  public var pd: Double
  /// Standard error of `pd`.
  public var pdError: Double
  /// Min DSCR of each path, sorted, without paths where no debt service fell due.
  public var minDSCR: [Double]
  public var facilities: [Facility]
  public var histogram: [Bin]
  /// Share of path-months in the stress regime.
  public var stressShare: Double

  public func quantile(_ q: Double) -> Double? { MonteCarloQuantile.of(minDSCR, q) }

  public init(_ run: MonteCarloRun, plan: WaterfallPlan, model: MonteCarloModel, seed: UInt64, scenario: Scenario) {
    let n = Double(max(1, run.paths)), nf = plan.facilities.count
    paths = run.paths
    months = run.months
    self.seed = seed
    self.model = model
    self.scenario = scenario
    cancelled = run.cancelled
    pd = Double(run.defaults) / n
    pdError = (pd * (1 - pd) / n).squareRoot()
    minDSCR = MonteCarloQuantile.sorted(run.minDSCR)
    facilities = []
    for f in 0..<nf {
      // Most paths lose nothing: sort only the losses, after as many zeros.
      var losses: [Double] = []
      var el = 0.0
      for p in 0..<run.paths where run.losses[p * nf + f] > 0 {
        losses.append(run.losses[p * nf + f])
        el += run.losses[p * nf + f]
      }
      el /= n
      losses = MonteCarloQuantile.sorted(losses)
      let zeros = run.paths - losses.count
      let exposure = run.exposureYears[f] / n
      let fac = plan.facilities[f]
      let c = fac.floating ? Rates.base + fac.spread : fac.rate
      facilities.append(
        Facility(
          id: fac.id, amount: fac.amount, coupon: c, spread: c - Rates.base, pd: Double(run.facilityDefaults[f]) / n,
          expectedLoss: el, expectedLossRate: fac.amount > 0 ? el / fac.amount : 0,
          lossQ95: MonteCarloQuantile.of(losses, 0.95, zeros: zeros) ?? 0,
          lossQ99: MonteCarloQuantile.of(losses, 0.99, zeros: zeros) ?? 0,
          fairSpread: exposure > 0 ? el / exposure : (el > 0 ? .infinity : 0)))
      // Expected receipts = (base + s) / 12 × E[balances paid interest on]
      // + E[everything else], discounted at the base rate, = the amount
      // drawn (at the start of its draw month).
      if run.pvBalance.count == nf, run.pvBalance[f] / n > 0.005 {
        let lent = fac.amount * Foundation.pow(1 + Rates.base / 12, -Double(fac.drawMonth - 1))
        facilities[f].spreadToPrice = 12 * (lent - run.pvReceived[f] / n) / (run.pvBalance[f] / n) - Rates.base
      }
    }
    stressShare = Double(run.stressMonths) / (n * Double(max(1, run.months)))
    // A histogram of min DSCR between its 1st and 99th percentiles.
    histogram = []
    if let lo = MonteCarloQuantile.of(minDSCR, 0.01), let hi = MonteCarloQuantile.of(minDSCR, 0.99), hi > lo {
      let bins = 12, width = (hi - lo) / Double(bins)
      histogram = (0..<bins).map { Bin(from: lo + Double($0) * width, to: lo + Double($0 + 1) * width, paths: 0) }
      // The end bins hold the paths beyond the 1st and 99th percentiles:
      // their labels run to the lowest and highest path.
      if let first = minDSCR.first, let last = minDSCR.last {
        histogram[0].from = min(histogram[0].from, first)
        histogram[bins - 1].to = max(histogram[bins - 1].to, last)
      }
      for x in minDSCR {
        let b = min(bins - 1, max(0, Int((x - lo) / width)))
        histogram[b].paths += 1
      }
    }
  }

  public func json() -> JSONValue {
    func r4(_ x: Double) -> JSONValue { x.isFinite ? .number((x * 10_000).rounded() / 10_000) : .null }
    func r2(_ x: Double) -> JSONValue { .number((x * 100).rounded() / 100) }
    var q: [String: JSONValue] = [:]
    for (key, p) in Self.quantiles { q[key] = quantile(p).map { .number(($0 * 10_000).rounded() / 10_000) } ?? .null }
    var fs: [String: JSONValue] = [:]
    for r in facilities {
      fs[r.id] = [
        "expected_loss": r2(r.expectedLoss), "loss_q95": r2(r.lossQ95), "loss_q99": r2(r.lossQ99), "fair_spread": r4(r.fairSpread),
        "coupon": r4(r.coupon), "spread": r4(r.spread), "pd": r4(r.pd), "expected_loss_rate": r4(r.expectedLossRate),
        "spread_to_price": r.spreadToPrice.map { r4($0) } ?? .null,
      ]
    }
    return [
      "paths": .number(Double(paths)), "months": .number(Double(months)), "seed": .number(Double(seed)),
      "corr": .number(model.corr), "converge": .number(model.converge), "pd": r4(pd), "pd_stderr": r4(pdError),
      "min_dscr_quantiles": .object(q), "facilities": .object(fs), "stress_share": r4(stressShare),
      "factors": .object(scenario.factors.mapValues { .number($0) }),
      "histogram": .array(histogram.map { ["from": r4($0.from), "to": r4($0.to), "paths": .number(Double($0.paths))] }),
    ]
  }
}
