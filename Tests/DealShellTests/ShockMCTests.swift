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
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { Interrupts.raise() }
    let (status, out) = t.run("shock mc paths=5000000 months=36")
    #expect(status == .failed)
    #expect(out.contains("cancelled"))
    #expect(t.run("ls").status == .ok)
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
