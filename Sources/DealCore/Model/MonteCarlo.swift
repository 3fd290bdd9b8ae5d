import Dispatch
import Foundation
import Synchronization

/// A buffer of `n` values in whole cache lines of its own: the working
/// memory of threads running side by side never shares a line, so one
/// thread's writes do not stall the other (false sharing).
func cacheLineBuffer<T>(_ n: Int, _ v: T) -> UnsafeMutableBufferPointer<T> {
  let bytes = (max(1, n) * MemoryLayout<T>.stride + 127) & ~127
  let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 128)
  let p = raw.bindMemory(to: T.self, capacity: max(1, n))
  p.initialize(repeating: v, count: max(1, n))
  return UnsafeMutableBufferPointer(start: p, count: n)
}

/// The month-by-month factors of one Monte Carlo path, in buffers that are
/// filled again for every path a worker runs (no allocation per path).
public final class ScenarioPaths {
  public let months: Int
  /// Factor on spot rates (1 = the base path), by month.
  public let spot: UnsafeMutableBufferPointer<Double>
  /// Change of utilization in points, by month.
  public let utilization: UnsafeMutableBufferPointer<Double>
  /// Change of the base rate, by month.
  public let rate: UnsafeMutableBufferPointer<Double>
  /// Factors on coin prices, by month.
  public let btc: UnsafeMutableBufferPointer<Double>
  public let eth: UnsafeMutableBufferPointer<Double>
  /// Per fleet: the first month its lease pays only the spot rate because
  /// the tenant defaulted (`Int.max`: never).
  public let leaseLost: UnsafeMutableBufferPointer<Int>
  /// The correlated standard normal shocks of each month (spot, crypto,
  /// utilization, −rate: all "good" when positive), and whether the month
  /// was in the stress regime — kept for tests of the factor model.
  public let shocks: UnsafeMutableBufferPointer<Double>
  public let stressed: UnsafeMutableBufferPointer<Bool>
  /// Whether `shocks` is filled (tests of the factor model; a run has no
  /// use for them).
  public var recordShocks = false
  /// Log levels of the spot and bitcoin factors, for the stress test.
  let logSpot: UnsafeMutableBufferPointer<Double>
  let logBTC: UnsafeMutableBufferPointer<Double>

  public init(months: Int, fleets: Int) {
    self.months = months
    spot = cacheLineBuffer(months, 1.0)
    utilization = cacheLineBuffer(months, 0.0)
    rate = cacheLineBuffer(months, 0.0)
    btc = cacheLineBuffer(months, 1.0)
    eth = cacheLineBuffer(months, 1.0)
    leaseLost = cacheLineBuffer(fleets, Int.max)
    shocks = cacheLineBuffer(4 * months, 0.0)
    stressed = cacheLineBuffer(months, false)
    logSpot = cacheLineBuffer(months, 0.0)
    logBTC = cacheLineBuffer(months, 0.0)
  }

  deinit {
    for b in [spot, utilization, rate, btc, eth, shocks, logSpot, logBTC] { b.deallocate() }
    leaseLost.deallocate()
    stressed.deallocate()
  }
}

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

  /// Reads coin volatilities and tenants from the deal.
  public init(_ s: Session, schema: Schema, fleets: [FleetEconomics]) {
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
  /// path's factors do not depend on which thread runs it, or when.
  public func fill(_ p: ScenarioPaths, seed: UInt64, path: Int, calm: [Double], stress: [Double]) {
    var rng = SplitMix64(seed: seed, stream: UInt64(path))
    let months = p.months
    let sv = spotVol / 12.0.squareRoot(), bv = btcVol / 12.0.squareRoot(), ev = ethVol / 12.0.squareRoot()
    let rv = rateVol / 12.0.squareRoot()
    let keep = 1 - utilizationReversion
    let floor = log(1 - stressDrawdown)
    var logSpot = 0.0, lbtc = 0.0, leth = 0.0, util = 0.0, rate = 0.0
    @inline(__always) func normal() -> Double { Ziggurat.normal(&rng) }
    for m in 0..<months {
      // The regime is read from the path so far, before this month's shock.
      let spotBefore = m >= 12 ? p.logSpot[m - 12] : 0, btcBefore = m >= 12 ? p.logBTC[m - 12] : 0
      let inStress = logSpot - spotBefore < floor || (watchCrypto && lbtc - btcBefore < floor)
      let l = inStress ? stress : calm
      let z0 = normal(), z1 = normal(), z2 = normal(), z3 = normal()
      let x0 = l[0] * z0
      let x1 = l[4] * z0 + l[5] * z1
      let x2 = l[8] * z0 + l[9] * z1 + l[10] * z2
      let x3 = l[12] * z0 + l[13] * z1 + l[14] * z2 + l[15] * z3
      logSpot += sv * x0 - sv * sv / 2
      // One crypto factor drives both coins, each with its own volatility.
      lbtc += bv * x1 - bv * bv / 2
      leth += ev * x1 - ev * ev / 2
      p.logSpot[m] = logSpot
      p.logBTC[m] = lbtc
      util = util * keep + utilizationVol * x2
      rate -= rv * x3
      p.spot[m] = exp(logSpot)
      if needsBTC { p.btc[m] = exp(lbtc) }
      if needsETH { p.eth[m] = exp(leth) }
      p.utilization[m] = min(1, max(-1, util))
      p.rate[m] = rate
      if p.recordShocks {
        p.shocks[4 * m] = x0
        p.shocks[4 * m + 1] = x1
        p.shocks[4 * m + 2] = x2
        p.shocks[4 * m + 3] = x3
      }
      p.stressed[m] = inStress
    }
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
}

/// SplitMix64 (Steele, Lea and Flood 2014): one 64-bit state, a stream per
/// (seed, path) pair.
public struct SplitMix64 {
  var state: UInt64

  public init(seed: UInt64, stream: UInt64) {
    state = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ Self.mix(stream &* 0xD1B5_4A32_D192_ED03 &+ 0x2545_F491_4F6C_DD1D)
  }

  static func mix(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  @inline(__always) public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// Uniform in [0, 1).
  @inline(__always) public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
  /// Uniform in (0, 1].
  @inline(__always) public mutating func unitOpen() -> Double { Double((next() >> 11) + 1) * 0x1.0p-53 }
}

/// What a Monte Carlo run produced: per path the min DSCR and each
/// facility's loss after recoveries; per facility the defaults and the
/// exposure. Memory grows with paths × facilities, not with months.
public struct MonteCarloRun: Sendable {
  public var paths: Int
  public var months: Int
  public var defaults = 0
  /// Per path; NaN when no debt service fell due.
  public var minDSCR: [Double]
  /// `[path * facilities + f]`: loss after recoveries (USD).
  public var losses: [Double]
  public var facilityDefaults: [Int]
  /// Balance-years at risk while performing, summed over paths.
  public var exposureYears: [Double]
  public var stressMonths = 0
  public var cancelled = false
}

public enum MonteCarloEngine {
  /// Paths per block: the unit of work of a thread and of the progress.
  static let blockSize = 256

  /// Runs `paths` paths of the waterfall under the model's factors, each
  /// defaulted path valued by a liquidation at its first default month.
  /// Results do not depend on `threads`: every path has its own random
  /// stream and sums are taken block by block in order. `progress` gets
  /// the paths done now and then (from one thread) and returns false to
  /// cancel.
  public static func run(
    waterfall plan: WaterfallPlan, liquidation: LiquidationPlan, scenario: Scenario, model: MonteCarloModel,
    paths: Int, seed: UInt64, threads: Int, progress: (Int) -> Bool = { _ in true }
  ) -> MonteCarloRun {
    let nf = plan.facilities.count, months = plan.months
    let threads = max(1, threads)
    let blocks = (paths + blockSize - 1) / blockSize
    let minD = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, paths))
    let loss = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, paths * nf))
    let blockDefaults = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, blocks))
    let blockStress = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, blocks))
    let blockFacilityDefaults = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, blocks * nf))
    let blockExposure = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, blocks * nf))
    minD.initialize(repeating: .nan)
    loss.initialize(repeating: 0)
    blockDefaults.initialize(repeating: 0)
    blockStress.initialize(repeating: 0)
    blockFacilityDefaults.initialize(repeating: 0)
    blockExposure.initialize(repeating: 0)
    defer {
      minD.deallocate()
      loss.deallocate()
      blockDefaults.deallocate()
      blockStress.deallocate()
      blockFacilityDefaults.deallocate()
      blockExposure.deallocate()
    }
    precondition(plan.facilities.map(\.id) == liquidation.facilities, "waterfall and liquidation plans list facilities alike")
    let calm = MonteCarloModel.cholesky(model.corr), stress = MonteCarloModel.cholesky(model.converge)

    final class Worker {
      let plan: WaterfallPlan
      let model: MonteCarloModel
      let calm: [Double], stress: [Double]
      let paths: ScenarioPaths
      let liquidation: LiquidationPlan
      let ws: LiquidationWorkspace
      init(
        plan: WaterfallPlan, liquidation: LiquidationPlan, model: MonteCarloModel, calm: [Double], stress: [Double], months: Int,
        fleets: Int, facilities: Int
      ) {
        self.plan = plan.privateCopy()
        self.liquidation = liquidation.privateCopy()
        ws = LiquidationWorkspace(liquidation)
        var m = model
        m.tenantHazard = model.tenantHazard.map { $0 }
        m.fleetTenants = model.fleetTenants.map { $0.map { $0 } }
        self.model = m
        self.calm = calm.map { $0 }
        self.stress = stress.map { $0 }
        paths = ScenarioPaths(months: months, fleets: fleets)
        arena = UnsafeMutableRawPointer.allocate(byteCount: (self.plan.arenaBytes + 127) & ~127, alignment: 128)
      }
      /// The engine's working memory, reused by every path of this worker.
      let arena: UnsafeMutableRawPointer
      deinit { arena.deallocate() }
    }
    let workers = (0..<threads).map { _ in
      Worker(plan: plan, liquidation: liquidation, model: model, calm: calm, stress: stress, months: months, fleets: plan.fleets.count, facilities: nf)
    }

    func runBlock(_ b: Int, _ w: Worker) {
      let p = w.paths
      // Counted locally and written once: neighbouring blocks run on other
      // threads, and their counters share cache lines. The block's working
      // arrays are made here, by the thread that runs it, from its own
      // memory: one allocation per block, none per path.
      var stressMonths = 0, defaults = 0
      var exposure = [Double](repeating: 0, count: nf), facilityDefaults = [Int](repeating: 0, count: nf)
      var input = LiquidationInput(defaultMonth: 1, triggers: [], claims: [Double](repeating: 0, count: nf))
      input.reserves = [Double](repeating: 0, count: nf)
      input.triggers.reserveCapacity(nf)
      defer {
        blockStress[b] = stressMonths
        blockDefaults[b] = defaults
        for f in 0..<nf {
          blockExposure[b * nf + f] = exposure[f]
          blockFacilityDefaults[b * nf + f] = facilityDefaults[f]
        }
      }
      for path in (b * blockSize)..<min(paths, (b + 1) * blockSize) {
        w.model.fill(p, seed: seed, path: path, calm: w.calm, stress: w.stress)
        for m in 0..<months where p.stressed[m] { stressMonths += 1 }
        let r = WaterfallEngine.run(w.plan, scenario, detail: false, paths: p, scratch: w.arena)
        minD[path] = r.minDSCR ?? .nan
        for f in 0..<nf { exposure[f] += r.facilities[f].exposureYears }
        guard let d = r.defaultMonth else { continue }
        defaults += 1
        input.defaultMonth = d
        input.triggers.removeAll(keepingCapacity: true)
        input.triggers.append(contentsOf: r.defaultedIndices)
        for f in 0..<nf {
          let fr = r.facilities[f]
          input.claims[f] = fr.defaultMonth != nil ? fr.loss : fr.balanceAtDefault
          input.coinsSold[f] = fr.coinsSold
          input.guarantorPaid[f] = fr.guarantorPaid
          input.reserves![f] = fr.reserveAtDefault
        }
        input.btcFactor = scenario.btcFactor * p.btc[d - 1]
        input.ethFactor = scenario.ethFactor * p.eth[d - 1]
        LiquidationEngine.run(w.liquidation, input, into: w.ws)
        for k in 0..<w.ws.chainCount {
          let f = w.ws.chainBuffer[k]
          loss[path * nf + f] = max(0, input.claims[f] - w.ws.recovered(f))
          facilityDefaults[f] += 1
        }
      }
    }

    // The calling thread and threads of our own (not the shared dispatch
    // pool, which a long run would starve) each claim the next block in
    // order until none is left: no thread waits at a barrier, and the
    // blocks done are always a prefix, also when cancelled (a claimed block
    // is finished). The calling thread reports progress every 8 of its
    // blocks and raises the stop flag when `progress` says cancel.
    let claimed = Atomic<Int>(0), finished = Atomic<Int>(0), stop = Atomic<Bool>(false)
    func work(_ t: Int, _ report: ((Int) -> Bool)?) {
      var mine = 0
      while !stop.load(ordering: .relaxed) {
        let b = claimed.add(1, ordering: .relaxed).oldValue
        guard b < blocks else { break }
        runBlock(b, workers[t])
        let total = finished.add(1, ordering: .relaxed).newValue
        mine += 1
        if let report, mine % 8 == 0, !report(min(paths, total * blockSize)) { stop.store(true, ordering: .relaxed) }
      }
    }
    // Each thread writes only its own blocks' slots and its worker's memory.
    let others = (1..<threads).map { t in OwnThread.start { work(t, nil) } }
    withoutActuallyEscaping(progress) { work(0, $0) }
    for done in others { done.wait() }
    let next = min(blocks, claimed.load(ordering: .relaxed))
    let cancelled = next < blocks
    let done = min(paths, next * blockSize)
    var run = MonteCarloRun(
      paths: done, months: months, minDSCR: Array(minD[0..<done]), losses: Array(loss[0..<(done * nf)]),
      facilityDefaults: [Int](repeating: 0, count: nf), exposureYears: [Double](repeating: 0, count: nf))
    for b in 0..<min(blocks, next) {
      run.defaults += blockDefaults[b]
      run.stressMonths += blockStress[b]
      for f in 0..<nf {
        run.facilityDefaults[f] += blockFacilityDefaults[b * nf + f]
        run.exposureYears[f] += blockExposure[b * nf + f]
      }
    }
    run.cancelled = cancelled
    return run
  }
}

/// Standard normal variates by the ziggurat method (Marsaglia and Tsang
/// 2000, in Doornik's 2005 form with 128 layers): about 99 % of draws cost
/// one random number, a multiplication and a comparison.
enum Ziggurat {
  static let layers = 128
  static let r = 3.442619855899
  static let v = 9.91256303526217e-3
  /// Layer edges x[0...128] and the ratios x[i+1] / x[i], in memory that
  /// is never freed: threads read it with no reference counting.
  static let x: UnsafePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: layers + 1)
    var f = exp(-0.5 * r * r)
    p[0] = v / f
    p[1] = r
    for i in 2..<layers {
      p[i] = (-2 * log(v / p[i - 1] + f)).squareRoot()
      f = exp(-0.5 * p[i] * p[i])
    }
    p[layers] = 0
    return UnsafePointer(p)
  }()
  static let ratio: UnsafePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: layers)
    for i in 0..<layers { p[i] = x[i + 1] / x[i] }
    return UnsafePointer(p)
  }()

  @inline(__always) static func normal(_ rng: inout SplitMix64) -> Double {
    let x = Self.x, ratio = Self.ratio
    while true {
      let bits = rng.next()
      let u = Double(bits >> 11) * 0x1.0p-52 - 1  // in [-1, 1)
      let i = Int(bits & 0x7F)
      if abs(u) < ratio[i] { return u * x[i] }
      if i == 0 { return tail(&rng, negative: u < 0) }
      let z = u * x[i]
      let f0 = exp(-0.5 * (x[i] * x[i] - z * z)), f1 = exp(-0.5 * (x[i + 1] * x[i + 1] - z * z))
      if f1 + rng.unit() * (f0 - f1) < 1 { return z }
    }
  }

  static func tail(_ rng: inout SplitMix64, negative: Bool) -> Double {
    var a = 0.0, b = 0.0
    repeat {
      a = log(rng.unitOpen()) / r
      b = log(rng.unitOpen())
    } while -2 * b < a * a
    return negative ? a - r : r - a
  }
}

public enum MonteCarloQuantile {
  /// The values without NaNs, in ascending order: a least-significant-digit
  /// radix sort on the bit patterns (byte by byte, skipping bytes all keys
  /// share), several times faster than a comparison sort on the 10^5–10^6
  /// values of a run, which the report would otherwise wait for on one core.
  public static func sorted(_ values: [Double]) -> [Double] {
    // Order-preserving keys: flip all bits of negatives, the sign of the rest.
    var keys = [UInt64](), other = [UInt64]()
    keys.reserveCapacity(values.count)
    for x in values where !x.isNaN {
      let b = x.bitPattern
      keys.append(b >> 63 == 1 ? ~b : b | (1 << 63))
    }
    let n = keys.count
    guard n > 1 else { return keys.map(decode) }
    other = [UInt64](repeating: 0, count: n)
    keys.withUnsafeMutableBufferPointer { a in
      other.withUnsafeMutableBufferPointer { b in
        var src = a, dst = b
        var counts = [Int](repeating: 0, count: 256)
        for shift in stride(from: 0, to: 64, by: 8) {
          for i in 0..<256 { counts[i] = 0 }
          for k in src { counts[Int((k >> UInt64(shift)) & 0xFF)] += 1 }
          if counts[Int((src[0] >> UInt64(shift)) & 0xFF)] == n { continue }  // every key has this byte
          var sum = 0
          for i in 0..<256 {
            let c = counts[i]
            counts[i] = sum
            sum += c
          }
          for k in src {
            let d = Int((k >> UInt64(shift)) & 0xFF)
            dst[counts[d]] = k
            counts[d] += 1
          }
          swap(&src, &dst)
        }
        if src.baseAddress != a.baseAddress { _ = a.update(fromContentsOf: src) }
      }
    }
    return keys.map(decode)
  }

  @inline(__always) static func decode(_ k: UInt64) -> Double {
    Double(bitPattern: k >> 63 == 1 ? k & ~(1 << 63) : ~k)
  }

  /// The q-quantile of sorted values, interpolated linearly between order
  /// statistics (numpy's default, the spreadsheets' PERCENTILE.INC).
  /// `zeros` counts zeros that come before `sorted` (non-negative values
  /// with most of them zero, such as losses, need not all be sorted).
  public static func of(_ sorted: [Double], _ q: Double, zeros: Int = 0) -> Double? {
    let count = zeros + sorted.count
    guard count > 0 else { return nil }
    func at(_ i: Int) -> Double { i < zeros ? 0 : sorted[i - zeros] }
    let h = Double(count - 1) * q
    let lo = Int(h.rounded(.down)), hi = min(count - 1, lo + 1)
    return at(lo) + (h - Double(lo)) * (at(hi) - at(lo))
  }
}
