import Foundation
import Testing

import DealCore
@testable import DealEngine

/// The factor model of `shock mc`: known moments of its distributions, the
/// correlations in calm and stress months, reproducible streams.
@Suite("Monte Carlo factor model")
struct MonteCarloTests {
  /// Fills `n` paths of `months` months, four at a time as a run does, and
  /// hands each to `body`.
  func paths(_ model: MonteCarloModel, n: Int, months: Int, seed: UInt64 = 42, _ body: (ScenarioPaths) -> Void) {
    let four = (0..<4).map { _ in ScenarioPaths(months: months, fleets: model.fleetTenants.count) }
    for p in four { p.recordShocks = true }
    let lanes = ScenarioLanes(months: months)
    let calm = MonteCarloModel.cholesky(model.corr), stress = MonteCarloModel.cholesky(model.converge)
    for first in stride(from: 0, to: n, by: 4) {
      let batch = Array(four.prefix(min(4, n - first)))
      model.fill(batch, lanes, seed: seed, first: first, calm: calm, stress: stress)
      for p in batch { body(p) }
    }
  }

  /// One draw of the ziggurat from one generator, as the method states it:
  /// the oracle the four lanes are held to.
  func oneNormal(_ rng: inout SplitMix64) -> (z: Double, missed: Bool) {
    let bits = rng.next()
    let u = Double(bits >> 11) * 0x1.0p-52 - 1
    let i = Int(bits & 0x7F)
    if abs(u) < Ziggurat.ratio[i] { return (u * Ziggurat.x[i], false) }
    let (z, next) = Ziggurat.miss(u, i, rng)
    rng = next
    return (z, true)
  }

  @Test("the four lanes of the ziggurat draw what four generators drawing alone draw, to the bit")
  func lanesDrawAlike() {
    var lanes = SIMD4<UInt64>(), alone: [SplitMix64] = []
    for k in 0..<4 {
      let g = SplitMix64(seed: 7, stream: UInt64(k))
      lanes[k] = g.state
      alone.append(g)
    }
    var differ = 0, missed = 0, tails = 0
    for _ in 0..<100_000 {
      let z = Ziggurat.normals(&lanes)
      for k in 0..<4 {
        let (want, miss) = oneNormal(&alone[k])
        if z[k].bitPattern != want.bitPattern || lanes[k] != alone[k].state { differ += 1 }
        if miss { missed += 1 }
        if abs(want) > Ziggurat.r { tails += 1 }
      }
    }
    #expect(differ == 0)
    // About 1 % of draws miss their rectangle; some fall in the tail.
    #expect(missed > 2000 && tails > 50, "missed \(missed), tails \(tails)")
  }

  @Test("a path's factors are the same in any lane of any batch, to the bit", arguments: [false, true])
  func lanesAreThePaths(crypto: Bool) {
    var model = MonteCarloModel()
    model.watchCrypto = crypto
    model.needsETH = crypto
    model.corr = 0.4
    // Two fleets, three tenants (one shared): the defaults are drawn from
    // each stream after its shocks.
    model.tenantHazard = [0.02, 0.3, 0]
    model.fleetTenants = [[0, 1], [1, 2]]
    let months = 61
    let calm = MonteCarloModel.cholesky(model.corr), stress = MonteCarloModel.cholesky(model.converge)
    let one = ScenarioPaths(months: months, fleets: 2)
    one.recordShocks = true
    let four = (0..<4).map { _ in ScenarioPaths(months: months, fleets: 2) }
    for p in four { p.recordShocks = true }
    let lanes = ScenarioLanes(months: months)
    var stressed = 0, compared = 0, differ = 0, first: String? = nil
    func same(_ a: Double, _ b: Double, _ what: @autoclosure () -> String) {
      guard a.bitPattern != b.bitPattern else { return }
      differ += 1
      if first == nil { first = "\(what()): \(a) ≠ \(b)" }
    }
    // 2,000 paths, each in lane k of a batch of four and alone (lane 0 of
    // a batch of one): some 6,000 draws outside their rectangle.
    for start in stride(from: 0, to: 2000, by: 4) {
      model.fill(four, lanes, seed: 9, first: start, calm: calm, stress: stress)
      for k in 0..<4 {
        model.fill(one, seed: 9, path: start + k, calm: calm, stress: stress)
        let p = four[k], at = "path \(start + k)"
        for m in 0..<months {
          same(p.spot[m], one.spot[m], "\(at) spot \(m)")
          same(p.btc[m], one.btc[m], "\(at) btc \(m)")
          same(p.eth[m], one.eth[m], "\(at) eth \(m)")
          same(p.utilization[m], one.utilization[m], "\(at) utilization \(m)")
          same(p.rate[m], one.rate[m], "\(at) rate \(m)")
          same(p.stressed[m] ? 1 : 0, one.stressed[m] ? 1 : 0, "\(at) regime \(m)")
          if one.stressed[m] { stressed += 1 }
        }
        for j in 0..<(4 * months) { same(p.shocks[j], one.shocks[j], "\(at) shock \(j)") }
        for f in 0..<2 { same(Double(p.leaseLost[f]), Double(one.leaseLost[f]), "\(at) lease lost \(f)") }
        compared += 1
      }
    }
    #expect(differ == 0, "\(differ) numbers differ, first \(first ?? "")")
    #expect(compared == 2000 && stressed > 1000, "the stress regime was reached (\(stressed) months)")
  }

  @Test("the ziggurat gives standard normals: mean 0, variance 1, kurtosis 3, normal tails")
  func normals() {
    var lanes = SIMD4<UInt64>((0..<4).map { SplitMix64(seed: 7, stream: UInt64($0)).state })
    let n = 400_000
    var s1 = 0.0, s2 = 0.0, s4 = 0.0, beyond2 = 0, beyond3 = 0
    for _ in 0..<(n / 4) {
      let four = Ziggurat.normals(&lanes)
      for k in 0..<4 {
        let z = four[k]
        s1 += z
        s2 += z * z
        s4 += z * z * z * z
        if abs(z) > 2 { beyond2 += 1 }
        if abs(z) > 3 { beyond3 += 1 }
      }
    }
    let mean = s1 / Double(n), variance = s2 / Double(n) - mean * mean
    #expect(abs(mean) < 4 / Double(n).squareRoot())
    #expect(abs(variance - 1) < 0.01)
    #expect(abs(s4 / Double(n) - 3) < 0.05)
    // P(|Z| > 2) = 0.0455, P(|Z| > 3) = 0.0027 (normal table).
    #expect(abs(Double(beyond2) / Double(n) - 0.0455) < 0.002)
    #expect(abs(Double(beyond3) / Double(n) - 0.0027) < 0.0005)
  }

  @Test("crypto follows geometric Brownian motion: terminal mean 1, log variance σ²T")
  func gbmMoments() {
    var model = MonteCarloModel()
    model.btcVol = 0.6
    let months = 24, n = 20_000
    var logs: [Double] = [], levels: [Double] = []
    paths(model, n: n, months: months) { p in
      levels.append(p.btc[months - 1])
      logs.append(log(p.btc[months - 1]))
    }
    let t = Double(months) / 12, s2 = 0.36 * t
    let meanLog = logs.reduce(0, +) / Double(n)
    let varLog = logs.map { ($0 - meanLog) * ($0 - meanLog) }.reduce(0, +) / Double(n - 1)
    // E[log S_T] = −σ²T/2, Var[log S_T] = σ²T; E[S_T] = 1, Var[S_T] = e^{σ²T} − 1.
    #expect(abs(meanLog + s2 / 2) < 4 * (s2 / Double(n)).squareRoot())
    #expect(abs(varLog / s2 - 1) < 0.03)
    let mean = levels.reduce(0, +) / Double(n)
    let sd = (exp(s2) - 1).squareRoot()
    #expect(abs(mean - 1) < 4 * sd / Double(n).squareRoot())
    let variance = levels.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
    #expect(abs(variance / (exp(s2) - 1) - 1) < 0.15, "variance of a lognormal: heavy-tailed estimate")
  }

  @Test("factor shocks correlate at corr in calm months and at converge in stress months")
  func correlations() {
    var model = MonteCarloModel()
    model.corr = 0.2
    model.converge = 0.85
    model.watchCrypto = true
    var calm: [[Double]] = [[], [], [], []], stress: [[Double]] = [[], [], [], []]
    paths(model, n: 6_000, months: 36) { p in
      for m in 0..<36 {
        for k in 0..<4 {
          if p.stressed[m] { stress[k].append(p.shocks[4 * m + k]) } else { calm[k].append(p.shocks[4 * m + k]) }
        }
      }
    }
    func correlation(_ a: [Double], _ b: [Double]) -> Double {
      let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
      var sab = 0.0, saa = 0.0, sbb = 0.0
      for i in a.indices {
        sab += (a[i] - ma) * (b[i] - mb)
        saa += (a[i] - ma) * (a[i] - ma)
        sbb += (b[i] - mb) * (b[i] - mb)
      }
      return sab / (saa * sbb).squareRoot()
    }
    #expect(stress[0].count > 5_000 && calm[0].count > 50_000, "both regimes occur: \(stress[0].count) stress, \(calm[0].count) calm")
    for (i, j) in [(0, 1), (0, 2), (1, 3), (2, 3)] {
      #expect(abs(correlation(calm[i], calm[j]) - 0.2) < 0.02, "calm \(i)-\(j)")
      #expect(abs(correlation(stress[i], stress[j]) - 0.85) < 0.02, "stress \(i)-\(j)")
    }
  }

  @Test("a path depends only on the seed and its number")
  func streams() {
    let model = MonteCarloModel()
    let calm = MonteCarloModel.cholesky(0.3), stress = MonteCarloModel.cholesky(0.9)
    let a = ScenarioPaths(months: 12, fleets: 0), b = ScenarioPaths(months: 12, fleets: 0)
    model.fill(a, seed: 9, path: 5, calm: calm, stress: stress)
    model.fill(b, seed: 9, path: 4, calm: calm, stress: stress)
    model.fill(b, seed: 9, path: 5, calm: calm, stress: stress)
    #expect(Array(a.spot) == Array(b.spot) && Array(a.btc) == Array(b.btc))
    model.fill(b, seed: 10, path: 5, calm: calm, stress: stress)
    #expect(Array(a.spot) != Array(b.spot))
  }

  @Test("the Cholesky factor reproduces the equicorrelation matrix")
  func cholesky() {
    for rho in [-0.3, 0.0, 0.3, 0.9, 0.999] {
      let l = MonteCarloModel.cholesky(rho)
      for i in 0..<4 {
        for j in 0..<4 {
          var x = 0.0
          for k in 0..<4 { x += l[i * 4 + k] * l[j * 4 + k] }
          #expect(abs(x - (i == j ? 1 : rho)) < 1e-12)
        }
      }
    }
  }
}
