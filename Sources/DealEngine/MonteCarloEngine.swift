import DealCore
import Dispatch
import Foundation
import Synchronization

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
  /// Pricing, summed over paths and discounted at the base rate: what the
  /// lender received besides interest (principal while performing, shares
  /// on conversion, a balance at the horizon at par, part-paid interest,
  /// recoveries), and the balances a month's interest was paid on.
  public var pvReceived: [Double] = []
  public var pvBalance: [Double] = []
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
    precondition(plan.facilities.map(\.id) == liquidation.facilities, "waterfall and liquidation plans list facilities alike")
    let nf = plan.facilities.count, months = plan.months
    let threads = max(1, threads)
    let job = Job(
      plan: plan, liquidation: liquidation, scenario: scenario, model: model, paths: paths, seed: seed,
      calm: MonteCarloModel.cholesky(model.corr), stress: MonteCarloModel.cholesky(model.converge))
    let out = Output(paths: paths, blocks: job.blocks, facilities: nf)
    // The calling thread and threads of our own (not the shared dispatch
    // pool, which a long run would starve) each claim the next block in
    // order until none is left: no thread waits at a barrier, and the
    // blocks done are always a prefix, also when cancelled (a claimed block
    // is finished). The calling thread reports progress every 8 of its
    // blocks and raises the stop flag when `progress` says cancel. Each
    // thread makes its own worker (private copies of the plans and its
    // working memory) and writes only the slots of the blocks it claims.
    let others = (1..<threads).map { _ in OwnThread.start { work(job, out, nil) } }
    withoutActuallyEscaping(progress) { work(job, out, $0) }
    for done in others { done.wait() }
    let next = min(job.blocks, out.claimed.load(ordering: .relaxed))
    let done = min(paths, next * blockSize)
    var run = MonteCarloRun(
      paths: done, months: months, minDSCR: Array(out.minD[0..<done]), losses: Array(out.loss[0..<(done * nf)]),
      facilityDefaults: [Int](repeating: 0, count: nf), exposureYears: [Double](repeating: 0, count: nf),
      pvReceived: [Double](repeating: 0, count: nf), pvBalance: [Double](repeating: 0, count: nf))
    for b in 0..<next {
      run.defaults += out.blockDefaults[b]
      run.stressMonths += out.blockStress[b]
      for f in 0..<nf {
        run.facilityDefaults[f] += out.blockFacilityDefaults[b * nf + f]
        run.exposureYears[f] += out.blockExposure[b * nf + f]
        run.pvReceived[f] += out.blockReceived[b * nf + f]
        run.pvBalance[f] += out.blockBalance[b * nf + f]
      }
    }
    run.cancelled = next < job.blocks
    return run
  }

  /// What every thread of a run reads: the plans, the model, the seed.
  struct Job: Sendable {
    let plan: WaterfallPlan
    let liquidation: LiquidationPlan
    let scenario: Scenario
    let model: MonteCarloModel
    let paths: Int
    let seed: UInt64
    let calm: [Double], stress: [Double]
    var blocks: Int { (paths + blockSize - 1) / blockSize }
  }

  /// What the threads of a run write: per path and per block results, and
  /// the counters that hand out blocks. Threads share it without locks
  /// because each writes only the slots of the blocks it claimed (a block
  /// is claimed once, by an atomic counter) and the caller reads them only
  /// after every thread is done.
  final class Output: @unchecked Sendable {
    let minD, loss, blockExposure, blockReceived, blockBalance: UnsafeMutableBufferPointer<Double>
    let blockDefaults, blockStress, blockFacilityDefaults: UnsafeMutableBufferPointer<Int>
    let claimed = Atomic<Int>(0), finished = Atomic<Int>(0), stop = Atomic<Bool>(false)

    init(paths: Int, blocks: Int, facilities nf: Int) {
      minD = .allocate(capacity: max(1, paths))
      loss = .allocate(capacity: max(1, paths * nf))
      blockExposure = .allocate(capacity: max(1, blocks * nf))
      blockReceived = .allocate(capacity: max(1, blocks * nf))
      blockBalance = .allocate(capacity: max(1, blocks * nf))
      blockDefaults = .allocate(capacity: max(1, blocks))
      blockStress = .allocate(capacity: max(1, blocks))
      blockFacilityDefaults = .allocate(capacity: max(1, blocks * nf))
      minD.initialize(repeating: .nan)
      for b in [loss, blockExposure, blockReceived, blockBalance] { b.initialize(repeating: 0) }
      for b in [blockDefaults, blockStress, blockFacilityDefaults] { b.initialize(repeating: 0) }
    }

    deinit {
      for b in [minD, loss, blockExposure, blockReceived, blockBalance] { b.deallocate() }
      for b in [blockDefaults, blockStress, blockFacilityDefaults] { b.deallocate() }
    }
  }

  /// One thread's private copies of the plans and its working memory.
  final class Worker {
    let plan: WaterfallPlan
    let model: MonteCarloModel
    let calm: [Double], stress: [Double]
    /// Four paths filled side by side (`MonteCarloModel.fill`), and the
    /// lanes they are filled in.
    let lanePaths: [ScenarioPaths]
    let lanes: ScenarioLanes
    let liquidation: LiquidationPlan
    let ws: LiquidationWorkspace
    /// The engine's working memory, reused by every path of this worker.
    let arena: UnsafeMutableRawPointer
    let arenaBytes: Int

    init(_ job: Job) {
      plan = job.plan.privateCopy()
      liquidation = job.liquidation.privateCopy()
      ws = LiquidationWorkspace(liquidation)
      var m = job.model
      m.tenantHazard = job.model.tenantHazard.map { $0 }
      m.fleetTenants = job.model.fleetTenants.map { $0.map { $0 } }
      model = m
      calm = job.calm.map { $0 }
      stress = job.stress.map { $0 }
      let months = plan.months, fleets = plan.fleets.count
      lanePaths = (0..<4).map { _ in ScenarioPaths(months: months, fleets: fleets) }
      lanes = ScenarioLanes(months: months)
      arenaBytes = plan.arenaBytes
      arena = UnsafeMutableRawPointer.allocate(byteCount: (arenaBytes + 127) & ~127, alignment: 128)
    }

    deinit { arena.deallocate() }
  }

  /// Claims blocks and runs them until none is left or the run stops.
  static func work(_ job: Job, _ out: Output, _ report: ((Int) -> Bool)?) {
    let w = Worker(job)
    var mine = 0
    while !out.stop.load(ordering: .relaxed) {
      let b = out.claimed.add(1, ordering: .relaxed).oldValue
      guard b < job.blocks else { break }
      runBlock(b, job, w, out)
      let total = out.finished.add(1, ordering: .relaxed).newValue
      mine += 1
      if let report, mine % 8 == 0, !report(min(job.paths, total * blockSize)) { out.stop.store(true, ordering: .relaxed) }
    }
  }

  static func runBlock(_ b: Int, _ job: Job, _ w: Worker, _ out: Output) {
    let nf = w.plan.facilities.count, months = w.plan.months, scenario = job.scenario
    // Counted locally and written once: neighbouring blocks run on other
    // threads, and their counters share cache lines. The block's working
    // arrays are made here, by the thread that runs it, from its own
    // memory: one allocation per block, none per path.
    var stressMonths = 0, defaults = 0
    var exposure = [Double](repeating: 0, count: nf), facilityDefaults = [Int](repeating: 0, count: nf)
    var received = [Double](repeating: 0, count: nf), balances = [Double](repeating: 0, count: nf)
    var input: LiquidationInput? = nil
    defer {
      out.blockStress[b] = stressMonths
      out.blockDefaults[b] = defaults
      for f in 0..<nf {
        out.blockExposure[b * nf + f] = exposure[f]
        out.blockFacilityDefaults[b * nf + f] = facilityDefaults[f]
        out.blockReceived[b * nf + f] = received[f]
        out.blockBalance[b * nf + f] = balances[f]
      }
    }
    // One path on the factors in `p`.
    func run(_ path: Int, _ p: ScenarioPaths) {
      for m in 0..<months where p.stressed[m] { stressMonths += 1 }
      // The run's state itself: nothing to allocate for a result.
      let r = WaterfallEngine.simulate(w.plan, scenario, detail: false, history: false, shortTail: true, paths: p, block: w.arena, capacity: w.arenaBytes)
      out.minD[path] = r.minDSCR ?? .nan
      for f in 0..<nf {
        exposure[f] += r.fs[f].exposure
        received[f] += r.fs[f].pvPrincipal + r.fs[f].pvOther
        balances[f] += r.fs[f].pvBalance
      }
      guard r.defaultMonth != nil else { return }
      defaults += 1
      if input == nil {
        input = LiquidationInput(defaultMonth: 1, history: RunHistory(r), facilities: nf, entities: r.ne)
      }
      _ = input!.fill(from: r, at: nil, plan: w.liquidation)
      LiquidationEngine.run(w.liquidation, input!, into: w.ws)
      for k in 0..<w.ws.chainCount {
        let f = w.ws.chainBuffer[k]
        out.loss[path * nf + f] = max(0, w.ws.claim[f] - w.ws.recovered(f))
        received[f] += w.ws.recovered(f) * r.t.discount[min(max(w.ws.defaultMonth[f], 0), months)]
        facilityDefaults[f] += 1
      }
    }
    // Four paths' factors at a time, side by side (the run's last few in
    // fewer lanes).
    var path = b * blockSize
    let end = min(job.paths, (b + 1) * blockSize)
    while path < end {
      let batch = end - path >= 4 ? w.lanePaths : Array(w.lanePaths.prefix(end - path))
      w.model.fill(batch, w.lanes, seed: job.seed, first: path, calm: w.calm, stress: w.stress)
      for (k, p) in batch.enumerated() { run(path + k, p) }
      path += batch.count
    }
  }
}
