import DealCore

/// A waterfall run's histories, as a liquidation reads them: each
/// facility's balance, reserve, interest due and total receipts, each
/// entity's cash, the coins left and their price factors, at the end of
/// every month (`[x * (months + 1) + m]`, m = 0 before the first). It points
/// into the run's block, which must outlive it (`RunBlock`).
public struct RunHistory: @unchecked Sendable {
  let months: Int
  let balance, reserve, interestDue, paid, cash, pledged, free, btc, eth: UnsafePointer<Double>
  /// A Monte Carlo path's month, per fleet, from which its tenant has
  /// defaulted (nil: no path, the tenants pay).
  let leaseLost: UnsafePointer<Int>?

  init(_ r: WaterfallRun) {
    months = r.months
    let h = r.months + 1, nf = r.nf, ne = r.ne
    let base = UnsafePointer(r.history)
    balance = base
    reserve = base + nf * h
    interestDue = base + 2 * nf * h
    paid = base + 3 * nf * h
    cash = base + 4 * nf * h
    pledged = cash + ne * h
    free = pledged + r.pledgedLeft.count * h
    btc = free + r.freeLeft.count * h
    eth = btc + h
    leaseLost = r.paths.flatMap { UnsafePointer($0.leaseLost.baseAddress) }
  }

  @inline(__always) func at(_ b: UnsafePointer<Double>, _ x: Int, _ m: Int) -> Double {
    b[x * (months + 1) + min(max(m, 0), months)]
  }
  func balance(_ f: Int, _ m: Int) -> Double { at(balance, f, m) }
  func reserve(_ f: Int, _ m: Int) -> Double { at(reserve, f, m) }
  func interestDue(_ f: Int, _ m: Int) -> Double { at(interestDue, f, m) }
  func paid(_ f: Int, _ m: Int) -> Double { at(paid, f, m) }
  func cash(_ e: Int, _ m: Int) -> Double { at(cash, e, m) }
  func coins(_ k: Int, pledged isPledged: Bool, _ m: Int) -> Double { at(isPledged ? pledged : free, k, m) }
  func btc(_ m: Int) -> Double { btc[min(max(m, 0), months)] }
  func eth(_ m: Int) -> Double { eth[min(max(m, 0), months)] }
}

/// A waterfall run kept for a liquidation that reads its histories: the
/// block its state lives in, freed with the last reference.
public final class RunBlock: @unchecked Sendable {
  let block: UnsafeMutableRawPointer
  let run: WaterfallRun
  public let history: RunHistory

  /// Runs `plan` under `scenario` (no detail: the numbers only).
  init(_ plan: WaterfallPlan, _ scenario: Scenario) {
    block = UnsafeMutableRawPointer.allocate(byteCount: max(8, plan.arenaBytes), alignment: 16)
    run = WaterfallEngine.simulate(plan, scenario, detail: false, paths: nil, block: block, capacity: plan.arenaBytes)
    history = RunHistory(run)
  }

  deinit { block.deallocate() }
}

/// What the liquidation starts from: who defaulted, when and owing what,
/// and the waterfall run's histories (SPEC §5 `liquidate`).
public struct LiquidationInput: @unchecked Sendable {
  /// The month reported: the deal's first default, or `at=MONTH`.
  public var defaultMonth: Int
  /// `at=MONTH`: the assumed defaults happen at the start of that month,
  /// before its payments (claims take the month's interest; cash, coins
  /// and reserves are as the month before left them).
  public var atStart = false
  /// Facilities in default, in order (the waterfall's, then those assumed).
  public var triggers: [Int]
  /// Each facility's own default month (0: not in default) and its claim
  /// then: the balance and the interest due and unpaid, after what it was
  /// paid that month.
  public var month: [Int]
  public var claims: [Double]
  /// Each entity's month of default in the waterfall (0: none): a failed
  /// guarantor, the obligor of a defaulted facility.
  public var entityDefault: [Int]
  /// The scenario's extra market-value haircut and coin factors apply
  /// through the plan and the histories.
  public var history: RunHistory

  public init(defaultMonth: Int, history: RunHistory, facilities nf: Int, entities ne: Int) {
    self.defaultMonth = defaultMonth
    self.history = history
    triggers = []
    triggers.reserveCapacity(nf)
    month = [Int](repeating: 0, count: nf)
    claims = [Double](repeating: 0, count: nf)
    entityDefault = [Int](repeating: 0, count: ne)
  }

  /// The input for a run: at the waterfall's defaults (`at` nil; nil when
  /// nothing defaults), or with the facilities in `assumed` (indices; all
  /// with a balance when empty) defaulting at the start of month `at`,
  /// besides those that defaulted by then. Fills `self` in place (a Monte
  /// Carlo path reuses one input).
  mutating func fill(from r: WaterfallRun, at: Int?, assumed: [Int] = [], plan: LiquidationPlan) -> Bool {
    history = RunHistory(r)
    triggers.removeAll(keepingCapacity: true)
    let nf = r.nf, cutoff = at ?? r.months
    for f in 0..<nf {
      month[f] = 0
      claims[f] = 0
    }
    for k in 0..<r.defaults {
      let f = r.order[k]
      let d = r.fs[f].defaultAt
      guard d <= cutoff else { continue }
      triggers.append(f)
      month[f] = d
      claims[f] = r.fs[f].claimAtDefault
    }
    for e in 0..<r.ne {
      let d = r.es[e].defaultAt
      entityDefault[e] = d > 0 && d <= cutoff ? d : 0
    }
    if let at {
      defaultMonth = at
      atStart = true
      let candidates = assumed.isEmpty ? Array(0..<nf) : assumed
      for f in candidates where month[f] == 0 {
        let c = LiquidationEngine.claimAtStart(f, at, plan, history)
        guard c > 0.005 else { continue }
        triggers.append(f)
        month[f] = at
        claims[f] = c
      }
      return !triggers.isEmpty
    }
    atStart = false
    guard let d = r.defaultMonth else { return false }
    defaultMonth = d
    return true
  }
}

/// Why a facility is in default.
public enum DefaultCause: Equatable, Sendable {
  /// In default in the waterfall, or assumed (`at=MONTH`).
  case trigger
  case crossDefault(from: Int)
  /// Its obligor is in default (it could not honour a guarantee, or
  /// another of its facilities defaulted): an insolvent entity's debts are
  /// all due.
  case obligor(entity: Int)
}
