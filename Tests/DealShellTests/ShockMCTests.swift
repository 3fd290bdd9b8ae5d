import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `shock mc` through the command: reproducible, independent of threads,
/// the right limits, cancellable.
@Suite("shock mc")
struct ShockMCTests {
  /// A fleet on spot (no lease term), a facility of `amount`.
  func deal(amount: String, rate: Double = 2) -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=36")
    t.ok("add entity co type=spv")
    t.ok("add entity ten type=tenant pd=2%")
    t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=25000 life=60 owner=co")
    t.ok("add contract l type=lease rate=\(rate) utilization=85% term=12 take_or_pay=50% spot_rate=\(rate) deflation=20% fleet=fleet tenant=ten")
    t.ok("add asset coins type=crypto coin=BTC amount=100 price=90000 owner=co")
    t.ok("add facility f type=term amount=\(amount) rate=10% term=36 borrower=co")
    t.ok("link fleet pledged-to f")
    return t
  }

  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }

  @Test("the same seed gives the same numbers whatever the thread count")
  func threads() {
    let t = deal(amount: "$25m")
    let one = t.json("shock mc paths=3000 seed=11 threads=1 --json")
    let two = t.json("shock mc paths=3000 seed=11 threads=2 --json")
    let three = t.json("shock mc paths=3000 seed=11 threads=3 --json")
    #expect(one == two && two == three)
    #expect(num(one, "pd") > 0 && num(one, "pd") < 1, "a deal with some risk: \(num(one, "pd"))")
    let other = t.json("shock mc paths=3000 seed=12 threads=2 --json")
    #expect(other != one)
  }

  @Test("tiny debt never defaults; a deal that defaults in the base case always does")
  func limits() {
    let safe = deal(amount: "$1k").json("shock mc paths=2000 --json")
    #expect(num(safe, "pd") == 0)
    #expect(num(safe["facilities"]?["f"], "expected_loss") == 0)
    let doomed = deal(amount: "$200m")
    #expect(doomed.json("waterfall --json")["default_month"]?.numberValue != nil)
    let j = doomed.json("shock mc paths=2000 --json")
    #expect(num(j, "pd") == 1)
    let f = j["facilities"]?["f"]
    #expect(num(f, "expected_loss") > 0 && num(f, "loss_q99") >= num(f, "loss_q95"))
    #expect(num(f, "fair_spread") > num(f, "coupon") - Rates.base, "a tranche that always defaults is underpriced")
    #expect(num(f, "coupon") == 0.1)
  }

  @Test("JSON keys of the specification; quantiles in order")
  func keys() {
    let j = deal(amount: "$25m").json("shock mc paths=2000 --json")
    for k in ["paths", "pd", "min_dscr_quantiles", "facilities"] { #expect(j[k] != nil, "\(k)") }
    for k in ["expected_loss", "loss_q95", "loss_q99", "fair_spread", "coupon"] { #expect(j["facilities"]?["f"]?[k] != nil, "\(k)") }
    #expect(num(j, "paths") == 2000)
    let q = ["p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"].map { num(j["min_dscr_quantiles"], $0) }
    #expect(q == q.sorted())
  }

  @Test("the min-DSCR quantiles interpolate like numpy and PERCENTILE.INC")
  func quantile() {
    // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75; PERCENTILE.INC({1,2,3,4}, 0.9) = 3.7
    let xs = [1.0, 2, 3, 4]
    #expect(MonteCarloQuantile.of(xs, 0.25) == 1.75)
    #expect(abs(MonteCarloQuantile.of(xs, 0.9)! - 3.7) < 1e-12)
    #expect(MonteCarloQuantile.of([], 0.5) == nil)
    // Leading zeros given as a count: the same as the whole sorted array.
    let losses = [0.0, 0, 0, 0, 0, 0, 5, 7, 20, 40]
    for q in [0.0, 0.3, 0.6, 0.65, 0.8, 0.95, 0.99, 1] {
      #expect(MonteCarloQuantile.of(Array(losses[6...]), q, zeros: 6) == MonteCarloQuantile.of(losses, q))
    }
    #expect(MonteCarloQuantile.of([], 0.5, zeros: 3) == 0)
  }

  @Test("the radix sort of a run's values agrees with the standard sort and drops NaNs")
  func radixSort() {
    var rng = SplitMix64(seed: 7, stream: 0)
    var xs = (0..<5000).map { _ in (rng.unit() - 0.3) * pow(10, Double(Int(rng.unit() * 12)) - 6) }
    xs += [0, -0.0, .infinity, -.infinity, .nan, 1, 1, .nan, .greatestFiniteMagnitude, -.leastNonzeroMagnitude]
    let sorted = MonteCarloQuantile.sorted(xs)
    #expect(sorted == xs.filter { !$0.isNaN }.sorted())
    #expect(MonteCarloQuantile.sorted([2.5, 2.5, 2.5]) == [2.5, 2.5, 2.5])  // every byte shared
    #expect(MonteCarloQuantile.sorted([.nan]).isEmpty)
    #expect(MonteCarloQuantile.sorted([3, -1]) == [-1, 3])
  }

  @Test("Ctrl-C cancels a long run and leaves the session as it was")
  func cancel() {
    let t = deal(amount: "$25m")
    // This shell's own interrupt: a process-wide one would cancel the
    // commands that other tests run at the same time.
    let shell = t.shell
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { shell.interrupt() }
    let (status, out) = t.run("shock mc paths=5000000 months=36")
    #expect(status == .failed)
    #expect(out.contains("cancelled"))
    #expect(t.run("ls").status == .ok)
  }

  /// A $10m 12-month bullet at 10 % of a company (no parent: it keeps its
  /// cash) whose fleet is on a lease through month `leaseMonths`; every
  /// Monte Carlo factor at zero volatility and no tenant risk, so each path
  /// is the base case.
  func bullet(leaseMonths: Int) -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=24", "add entity co type=spv",
      "add asset site type=site mw=10 power_price=0.05 pue=1.2",
      "add asset fleet type=gpu model=H100 units=500 unit_cost=8000 life=60 owner=co site=site",
      "add contract l type=lease rate=3.00 utilization=100% term=\(leaseMonths) take_or_pay=100% spot_rate=0.2 deflation=0% fleet=fleet",
      "add facility f type=term amount=$10m rate=10% term=12 amort=bullet borrower=co", "link fleet pledged-to f",
    ] { t.ok(line) }
    return t
  }

  @Test("spread to price: 0 for a loan that cannot default; the closed form for one that defaults at maturity")
  func spreadToPrice() {
    let calm = "spot_vol=0 util_vol=0 rate_vol=0 paths=512"
    // Repaid in full: receipts at (base + s) discounted at the base rate
    // equal the amount exactly when s = 0.
    let safe = bullet(leaseMonths: 24).json("shock mc \(calm) --json")["facilities"]?["f"]
    #expect(num(safe, "pd") == 0)
    #expect(abs(num(safe, "spread_to_price")) < 1e-4, "\(num(safe, "spread_to_price"))")
    // The lease ends before maturity: interest paid months 1-11, the
    // month-12 payment in part, then the sale of the fleet. With a default
    // certain (PD 1) and its recovery R from liquidate, by hand:
    // s = 12 (A − (P₁₂ + I₁₂ + R) d₁₂) / (A Σ₁¹¹ dₜ) − base, dₜ = (1 + base/12)^−t.
    let t = bullet(leaseMonths: 6)
    let w = t.json("waterfall --json")["facilities"]?["f"]
    #expect(num(w, "default_month") == 12)
    let recovered = num(t.json("liquidate --json")["facilities"]?["f"], "recovered")
    let a = 10_000_000.0, base = Rates.base
    let d = { (m: Int) in pow(1 + base / 12, -Double(m)) }
    // What month 12 paid (later collections are the waterfall's, which a
    // liquidation replaces).
    let month12 = w?["periods"]?.arrayValue?[11]
    #expect(num(month12, "month") == 12)
    let i12 = num(month12, "interest"), p12 = num(month12, "principal")
    let annuity = (1...11).reduce(0.0) { $0 + d($1) }
    let expected = 12 * (a - (p12 + i12 + recovered) * d(12)) / (a * annuity) - base
    let risky = t.json("shock mc \(calm) --json")["facilities"]?["f"]
    #expect(num(risky, "pd") == 1)
    #expect(abs(num(risky, "spread_to_price") - expected) < 1e-4, "\(num(risky, "spread_to_price")) vs \(expected)")
    #expect(recovered < num(w, "claim_at_default"), "the sale does not cover the claim")
    #expect(num(risky, "spread_to_price") > num(risky, "spread"), "a loan that surely loses is underpriced")
    #expect(t.ok("shock mc \(calm)").contains("◀ underpriced"))
  }

  @Test("bad options are named")
  func errors() {
    let t = deal(amount: "$25m")
    t.expectRefused("shock mc paths=0", "paths")
    t.expectRefused("shock mc corr=150%", "corr")
    t.expectRefused("shock mc name=x", "name= does not apply")
    t.expectRefused("shock mc scenario=nope", "unknown scenario 'nope'")
    t.expectRefused("shock deflation=40% seed=3", "seed= belongs to 'shock mc'")
  }
}
