import DealCore
import Foundation

/// The factor model of `shock mc` (README "Monte Carlo"). Four monthly
/// factors, each shock a standard normal, correlated with one correlation
/// `corr` between every pair in calm months and `converge` in stress months:
///
/// - spot rates: a log change of `spotVol`/√12 a month around each lease's
///   own deflation path (mean-preserving: −σ²/24 a month);
/// - crypto: geometric Brownian motion with each coin's `vol`, no drift;
/// - utilization: an Ornstein–Uhlenbeck deviation in points, reverting
///   `utilizationReversion` of the way to 0 each month, `utilizationVol`
///   points of noise a month;
/// - base rate: a random walk of `rateVol`/√12 a month (floored so the base
///   rate stays ≥ 0 in the engine).
///
/// Signs are set so that a positive correlation makes bad news arrive
/// together: spot down, coins down, utilization down, rates up.
/// A month is in the stress regime when spot rates (or, in a deal holding
/// crypto, bitcoin) have fallen more than `stressDrawdown` over the
/// previous twelve months, relative to their expected path. Tenants
/// default with their annual `pd` as a constant monthly hazard; their leases
/// then pay only the spot rate.
public struct MonteCarloModel: Sendable {
  public var corr = 0.3
  public var converge = 0.9
  public var spotVol = 0.25
  public var utilizationVol = 0.03
  public var utilizationReversion = 0.15
  public var rateVol = 0.01
  public var stressDrawdown = 0.30
  /// Whether bitcoin's fall counts for the stress regime (the deal holds crypto).
  public var watchCrypto = false
  /// Which coins the deal holds (the paths of the others stay at 1).
  public var needsBTC = true
  public var needsETH = true
  public var btcVol = 0.55
  public var ethVol = 0.70
  /// Monthly default hazard of each tenant, and the tenants of each fleet.
  public var tenantHazard: [Double] = []
  public var fleetTenants: [[Int]] = []

  public init() {}

  /// Reads coin volatilities and tenants from the deal: which coins it
  /// holds and their `vol`, each fleet's tenants and their `pd`.
  public mutating func read(_ s: Session, schema: Schema, fleets: [FleetEconomics]) {
    watchCrypto = false
    tenantHazard = []
    fleetTenants = []
    needsBTC = false
    needsETH = false
    for n in s.graph.sortedNodes where n.kind == .asset && n.type == "crypto" {
      watchCrypto = true
      let v = s.values(of: n.id, schema: schema)
      if v?["coin"]?.text == "BTC" { needsBTC = true } else { needsETH = true }
      guard let vol = v?["vol"]?.number else { continue }
      if v?["coin"]?.text == "BTC" { btcVol = vol } else { ethVol = vol }
    }
    var tenants: [String: Int] = [:]
    for fleet in fleets {
      var list: [Int] = []
      for lease in fleet.leases {
        for e in s.graph.edges(to: lease.id, .rents) {
          if tenants[e.from] == nil {
            tenants[e.from] = tenantHazard.count
            let pd = s.values(of: e.from, schema: schema)?["pd"]?.number ?? 0
            tenantHazard.append(1 - Foundation.pow(1 - min(pd, 1), 1.0 / 12))
          }
          list.append(tenants[e.from]!)
        }
      }
      fleetTenants.append(list)
    }
  }

  /// The Cholesky factor (lower, row-major 4×4) of the equicorrelation
  /// matrix with correlation ρ (clamped to [−0.33, 0.999] so it exists).
  public static func cholesky(_ rho: Double) -> [Double] {
    let r = min(0.999, max(-0.33, rho))
    var a = [Double](repeating: r, count: 16)
    for i in 0..<4 { a[i * 4 + i] = 1 }
    var l = [Double](repeating: 0, count: 16)
    for i in 0..<4 {
      for j in 0...i {
        var sum = a[i * 4 + j]
        for k in 0..<j { sum -= l[i * 4 + k] * l[j * 4 + k] }
        l[i * 4 + j] = i == j ? sum.squareRoot() : sum / l[j * 4 + j]
      }
    }
    return l
  }

  /// Fills `p` with path number `path` of the run with `seed`. Each path
  /// has its own random stream (SplitMix64 keyed by seed and path), so a
  /// path's factors do not depend on which thread runs it, or when, or on
  /// the paths filled beside it (see `fill(_:_:seed:first:calm:stress:)`).
  /// For one path at a time (tests, replaying a path): it takes working
  /// memory of its own; a run fills four at a time in its worker's.
  public func fill(_ p: ScenarioPaths, seed: UInt64, path: Int, calm: [Double], stress: [Double]) {
    fill([p], ScenarioLanes(months: p.months), seed: seed, first: path, calm: calm, stress: stress)
  }

  /// The rest of a path after its months' shocks: the factors from their
  /// logs, and the tenants' defaults (drawn from the path's stream after
  /// its shocks).
  func finish(_ p: ScenarioPaths, _ rng: inout SplitMix64) {
    let months = p.months
    // The factors from their logs, in loops of their own (no libm calls:
    // the compiler inlines FastMath.exp and vectorises them).
    for m in 0..<months { p.spot[m] = FastMath.exp(p.logSpot[m]) }
    if needsBTC { for m in 0..<months { p.btc[m] = FastMath.exp(p.logBTC[m]) } }
    if needsETH { for m in 0..<months { p.eth[m] = FastMath.exp(p.eth[m]) } }
    // Tenant defaults: the first month of a geometric waiting time.
    for f in 0..<p.leaseLost.count {
      var first = Int.max
      for t in fleetTenants[f] {
        let h = tenantHazard[t]
        guard h > 0 else { continue }
        let u = rng.unitOpen()
        let month = h >= 1 ? 1 : Int((log(u) / log(1 - h)).rounded(.up))
        first = min(first, max(1, month))
      }
      p.leaseLost[f] = first
    }
  }

  /// Fills up to four paths at once, `paths[k]` with path number
  /// `first + k`: the four random streams, their ziggurat draws and the
  /// factor recurrences side by side in SIMD lanes, the same operations in
  /// the same order on each lane (the regime a select per lane, a draw that
  /// misses its rectangle finished alone), so a path gets the same numbers
  /// in any lane of any batch; a test holds them to that, to the bit. With
  /// fewer than four paths the other lanes are computed and dropped.
  func fill(_ paths: [ScenarioPaths], _ lanes: ScenarioLanes, seed: UInt64, first: Int, calm: [Double], stress: [Double]) {
    precondition((1...4).contains(paths.count) && paths.allSatisfy { $0.months == lanes.months }, "one to four paths of the lanes' months")
    precondition(calm.count >= 16 && stress.count >= 16, "a Cholesky factor is 4×4")
    let months = lanes.months
    var state = SIMD4<UInt64>(
      SplitMix64(seed: seed, stream: UInt64(first)).state, SplitMix64(seed: seed, stream: UInt64(first + 1)).state,
      SplitMix64(seed: seed, stream: UInt64(first + 2)).state, SplitMix64(seed: seed, stream: UInt64(first + 3)).state)
    let sv = spotVol / 12.0.squareRoot(), bv = btcVol / 12.0.squareRoot(), ev = ethVol / 12.0.squareRoot()
    let rv = rateVol / 12.0.squareRoot()
    let keep = 1 - utilizationReversion
    let floor = SIMD4<Double>(repeating: log(1 - stressDrawdown))
    let watch = watchCrypto, eth = needsETH, record = paths.contains { $0.recordShocks }  // (then all of them keep them)
    let uvol = utilizationVol, spotDrift = sv * sv / 2, btcDrift = bv * bv / 2, ethDrift = ev * ev / 2
    var logSpot = SIMD4<Double>.zero, lbtc = SIMD4<Double>.zero, leth = SIMD4<Double>.zero
    var util = SIMD4<Double>.zero, rate = SIMD4<Double>.zero
    let low = SIMD4<Double>(repeating: -1), high = SIMD4<Double>(repeating: 1)
    // Each entry of the two factors, in every lane.
    func entries(_ l: [Double]) -> (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>,
      SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>) {
      (.init(repeating: l[0]), .init(repeating: l[4]), .init(repeating: l[5]), .init(repeating: l[8]), .init(repeating: l[9]),
       .init(repeating: l[10]), .init(repeating: l[12]), .init(repeating: l[13]), .init(repeating: l[14]), .init(repeating: l[15]))
    }
    let c = entries(calm), s = entries(stress)
    let lsp = lanes.logSpot, lbt = lanes.logBTC, leh = lanes.logETH, lut = lanes.utilization, lra = lanes.rate
    let lst = lanes.stressed, lsh = lanes.shocks
    for m in 0..<months {
      // The regime, per lane, from the path so far.
      let spotBefore = m >= 12 ? lsp[m - 12] : .zero, btcBefore = m >= 12 ? lbt[m - 12] : .zero
      var inStress = logSpot - spotBefore .< floor
      if watch { inStress .|= lbtc - btcBefore .< floor }
      let z0 = Ziggurat.normals(&state), z1 = Ziggurat.normals(&state)
      let z2 = Ziggurat.normals(&state), z3 = Ziggurat.normals(&state)
      let x0 = c.0.replacing(with: s.0, where: inStress) * z0
      let x1 = c.1.replacing(with: s.1, where: inStress) * z0 + c.2.replacing(with: s.2, where: inStress) * z1
      let x2 = c.3.replacing(with: s.3, where: inStress) * z0 + c.4.replacing(with: s.4, where: inStress) * z1
        + c.5.replacing(with: s.5, where: inStress) * z2
      let x3 = c.6.replacing(with: s.6, where: inStress) * z0 + c.7.replacing(with: s.7, where: inStress) * z1
        + c.8.replacing(with: s.8, where: inStress) * z2 + c.9.replacing(with: s.9, where: inStress) * z3
      logSpot += sv * x0 - spotDrift
      lbtc += bv * x1 - btcDrift
      lsp[m] = logSpot
      lbt[m] = lbtc
      util = util * keep + uvol * x2
      rate -= rv * x3
      if eth {
        leth += ev * x1 - ethDrift
        leh[m] = leth
      }
      // min(1, max(−1, util)) as the scalar fill takes it.
      let floored = low.replacing(with: util, where: util .>= low)
      lut[m] = high.replacing(with: floored, where: floored .< high)
      lra[m] = rate
      if record {
        lsh[4 * m] = x0
        lsh[4 * m + 1] = x1
        lsh[4 * m + 2] = x2
        lsh[4 * m + 3] = x3
      }
      lst[m] = SIMD4<Int64>(repeating: 0).replacing(with: 1, where: inStress)
    }
    // Each lane into its path, then the factors' levels and the tenants.
    for k in paths.indices {
      let p = paths[k]
      for m in 0..<months {
        p.logSpot[m] = lsp[m][k]
        p.logBTC[m] = lbt[m][k]
        p.utilization[m] = lut[m][k]
        p.rate[m] = lra[m][k]
        p.stressed[m] = lst[m][k] != 0
      }
      if eth { for m in 0..<months { p.eth[m] = leh[m][k] } }
      if record { for j in 0..<(4 * months) { p.shocks[j] = lsh[j][k] } }
      var rng = SplitMix64(state: state[k])
      finish(p, &rng)
    }
  }
}
