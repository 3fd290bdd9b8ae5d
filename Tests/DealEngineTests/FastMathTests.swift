import Foundation
import Testing

@testable import DealEngine

/// The written-out functions of the hot loops against libm.
@Suite("Fast math")
struct FastMathTests {
  /// Distance in units in the last place.
  func ulps(_ a: Double, _ b: Double) -> Double { abs(a - b) / b.ulp }

  @Test("exp agrees with libm within 2 ulp from -700 to 700, and e^0 = 1")
  func exp() {
    var worst = 0.0, at = 0.0
    var rng = SplitMix64(seed: 3, stream: 0)
    for i in 0..<200_000 {
      // Dense where paths live (|x| < 5), then the whole range.
      let x = i % 2 == 0 ? (rng.unit() - 0.5) * 10 : (rng.unit() - 0.5) * 1400
      let e = ulps(FastMath.exp(x), Foundation.exp(x))
      if e > worst { (worst, at) = (e, x) }
    }
    #expect(worst <= 2, "worst \(worst) ulp at x = \(at)")
    #expect(FastMath.exp(0) == 1)
    #expect(FastMath.exp(1) == M_E || ulps(FastMath.exp(1), M_E) <= 1)
    #expect(FastMath.exp(-1e-300) == 1)
  }

  @Test("the growth factor (1 + r)^n agrees with pow to n units of rounding (squaring doubles the error)")
  func growthFactor() {
    for n in [0, 1, 2, 3, 12, 47, 48, 60, 119, 120, 360, 600] {
      for r in [0.0, 1e-6, 0.001, 0.004, 0.0091666, 0.0125, 0.05, 0.2] {
        let got = Rates.growthFactor(r, months: n), want = Foundation.pow(1 + r, Double(n))
        let relative = abs(got - want) / want
        #expect(relative <= Double(max(1, n)) * Double.ulpOfOne, "r \(r), n \(n): \(relative)")
        #expect(Rates.growthFactor(r, months: -n) == got)
      }
    }
    // A 48-month loan's annuity 1/g is within 1e-14 of pow: far below a cent.
    let a = 1 / Rates.growthFactor(0.11 / 12, months: 48)
    #expect(abs(a - Foundation.pow(1 + 0.11 / 12, -48)) < 1e-14)
    #expect(Rates.growthFactor(0.01, months: 0) == 1)
  }

  @Test("the level payment is PMT: the textbook mortgage, a zero rate, the neocloud loan")
  func levelPayment() {
    // The textbook mortgage: $200,000 over 30 years at 6 % pays $1,199.10.
    #expect(abs(Rates.levelPayment(200_000, rate: 0.005, months: 360) - 1199.10) < 0.005)
    #expect(Rates.levelPayment(1200, rate: 0, months: 12) == 100)
    // The neocloud example's loan: $400m at 11 % over 48 months.
    #expect(abs(Rates.levelPayment(400e6, rate: 0.11 / 12, months: 48) - 10_338_209.04) < 0.005)
  }
}
