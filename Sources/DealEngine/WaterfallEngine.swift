import DealCore
import Foundation

/// The monthly structural cash waterfall (SPEC §5 `waterfall`, §5.1): every
/// entity keeps its own cash, month by month, and money moves only along
/// the graph's edges — CFADS to the fleet's owner, debt service from the
/// obligor, guarantee calls from the guarantor, distributions up `parent-of`.
/// The steps of a month are `WaterfallRun`'s methods.
public enum WaterfallEngine {
  /// - Parameters:
  ///   - detail: keep the monthly periods, each facility's and entity's
  ///     months, the transfers, event texts and IRRs (a Monte Carlo path
  ///     needs none of them).
  ///   - paths: month-by-month factors on top of the scenario (a Monte
  ///     Carlo path), or nil.
  ///   - scratch: a block of at least `plan.arenaBytes` bytes for the run's
  ///     state, reused from run to run by a Monte Carlo worker.
  public static func run(
    _ plan: WaterfallPlan, _ sc: Scenario = Scenario(), detail: Bool = true, paths: ScenarioPaths? = nil,
    scratch: UnsafeMutableRawPointer? = nil
  ) -> WaterfallResult {
    let capacity = plan.arenaBytes
    // A caller running many paths lends its own block (no allocation).
    let block = scratch ?? UnsafeMutableRawPointer.allocate(byteCount: max(8, capacity), alignment: 8)
    defer { if scratch == nil { block.deallocate() } }
    return simulate(plan, sc, detail: detail, history: false, paths: paths, block: block, capacity: capacity).result()
  }

  /// Runs the months and hands back the run's state: a Monte Carlo path
  /// reads what it needs from it, without a result to allocate.
  /// `history: false` records the histories only in months with a
  /// default (what a liquidation at the waterfall's defaults reads).
  /// `shortTail` (a Monte Carlo path) skips the entities' steps once no
  /// facility is left to pay or default: the waterfall's collections after
  /// default, which a liquidation replaces, are then not counted.
  static func simulate(
    _ plan: borrowing WaterfallPlan, _ sc: borrowing Scenario, detail: Bool, history: Bool = true, shortTail: Bool = false, paths: ScenarioPaths?,
    block: UnsafeMutableRawPointer, capacity: Int
  ) -> WaterfallRun {
    var arena = Arena(block, capacity: capacity, zeroed: detail ? plan.arenaZeroedBytes : plan.arenaZeroedLean)
    let run = WaterfallRun(plan, sc, detail: detail, history: history, shortTail: shortTail, paths: paths, arena: &arena)
    run.start()
    run.runMonths()
    return run
  }

  /// Annual IRR of monthly flows (nil if there is none): Newton's method
  /// on the monthly rate, falling back to bisection if it does not settle.
  public static func irr(_ flows: [Double]) -> Double? {
    guard flows.contains(where: { $0 < 0 }), flows.contains(where: { $0 > 0 }) else { return nil }
    func npv(_ r: Double) -> (value: Double, slope: Double) {
      var v = 0.0, dv = 0.0, d = 1.0
      let q = 1 / (1 + r)
      for (t, x) in flows.enumerated() {
        v += x * d
        dv -= Double(t) * x * d * q
        d *= q
      }
      return (v, dv)
    }
    var r = 0.01
    for _ in 0..<50 {
      let (v, dv) = npv(r)
      guard dv != 0, v.isFinite else { break }
      let next = r - v / dv
      if !next.isFinite || next <= -0.99 { break }
      if abs(next - r) < 1e-13 { return Foundation.pow(1 + next, 12) - 1 }
      r = next
    }
    var lo = -0.99, hi = 1.0
    var flo = npv(lo).value
    guard flo.sign != npv(hi).value.sign else { return nil }
    for _ in 0..<200 {
      let mid = (lo + hi) / 2
      let fm = npv(mid).value
      if fm.sign == flo.sign {
        lo = mid
        flo = fm
      } else {
        hi = mid
      }
      if hi - lo < 1e-13 { break }
    }
    return Foundation.pow(1 + (lo + hi) / 2, 12) - 1
  }
}

extension WaterfallRun {
  /// What the run reports, once the months are done.
  func result() -> WaterfallResult {
    var facilities: [FacilityResult] = []
    facilities.reserveCapacity(nf)
    for f in 0..<nf {
      var r = FacilityResult(id: fid(f))
      r.interestPaid = fs[f].interestPaid
      r.principalPaid = fs[f].principalPaid
      r.defaultMonth = fs[f].defaulted ? fs[f].defaultAt : nil
      r.loss = fs[f].defaulted ? fs[f].claim : 0
      r.claimAtDefault = fs[f].claimAtDefault
      r.collectedAfterDefault = fs[f].collected
      r.cancelled = fs[f].cancelled
      r.cancelledMonth = fs[f].cancelled ? fs[f].defaultAt : nil
      r.converted = fs[f].converted
      r.refinanced = fs[f].refinanced
      r.refinancingNeed = fs[f].refinancing
      r.coinsSold = fs[f].coinsSold
      r.guarantorPaid = fs[f].guarantorPaid
      r.balanceEnd = fs[f].defaulted ? 0 : max(0, fs[f].balance)
      r.balanceAtDefault = fs[f].balanceAtDefault
      r.reserveAtDefault = fs[f].reserveAtDefault
      r.reserveEnd = fs[f].reserve
      r.balanceAtDealDefault = fs[f].balanceAtDealDefault
      r.reserveAtDealDefault = fs[f].reserveAtDealDefault
      r.exposureYears = fs[f].exposure
      if detail {
        r.obligor = eid(core(f).pointee.obligor)
        r.defaultKind = rec?.kinds[f]
        r.flows = Array(receipts[(f * months)..<((f + 1) * months)])
        r.periods = rec?.facilityPeriods[f] ?? []
        r.irr = irr(f)
      }
      if detail { r.wal = wal(f) }
      facilities.append(r)
    }
    var entities: [EntityResult] = []
    if detail {
      for e in 0..<ne {
        var r = EntityResult(id: eid(e))
        r.cashEnd = es[e].cash
        r.distributionsReceived = es[e].distIn
        r.distributionsPaid = es[e].distOut
        r.guaranteePaid = es[e].guarOut
        r.coinsSold = es[e].coinSales
        r.inDefaultMonth = es[e].defaultAt > 0 ? es[e].defaultAt : nil
        r.periods = rec?.entityPeriods[e] ?? []
        entities.append(r)
      }
    }
    let order = Array(self.order[0..<defaults])
    return WaterfallResult(
      months: months, minDSCR: minDSCR,
      avgDSCR: state.pointee.dscrCount > 0 ? state.pointee.dscrSum / Double(state.pointee.dscrCount) : nil,
      firstBreachMonth: firstBreachMonth, defaultMonth: defaultMonth, periods: rec?.periods ?? [], facilities: facilities,
      entities: entities, breaches: rec?.breaches ?? [], defaulted: detail ? order.map { fid($0) } : [],
      defaultedIndices: order, transfers: rec?.transfers ?? [])
  }

  /// The lender's annual IRR: the draw at the start of its month (the end
  /// of the one before), receipts at the end of each month, a balance left
  /// at the horizon valued at par.
  func irr(_ f: Int) -> Double? {
    let c = core(f).pointee
    guard !fs[f].cancelled, c.drawMonth <= months else { return nil }
    var series = [Double](repeating: 0, count: months + 1)
    series[c.drawMonth - 1] -= c.amount
    for m in 1...months { series[m] += receipts[f * months + m - 1] }
    if !fs[f].defaulted, fs[f].balance > 0.005 { series[months] += fs[f].balance }
    return WaterfallEngine.irr(series)
  }

  /// Weighted average life in years from the draw, over the contractual
  /// schedule: principal repaid within the horizon when it was repaid, and
  /// what is still outstanding at the horizon when its schedule repays it
  /// (a facility longer than the horizon is not cut at it). A defaulted
  /// facility counts the principal it received.
  func wal(_ f: Int) -> Double? {
    let fac = core(f).pointee
    let draw = fac.drawMonth
    guard !fs[f].cancelled, draw <= months else { return nil }
    var weighted = 0.0, total = 0.0
    for m in draw...months {
      let p = principalFlows[f * months + m - 1]
      weighted += p * Double(m - draw + 1)
      total += p
    }
    if !fs[f].defaulted, fs[f].balance > 0.005 {
      // The rest of the schedule, after the horizon.
      var bal = fs[f].balance
      let r = monthlyRate(f)
      var m = months + 1
      while bal > 0.005, m <= fac.maturity {
        let left = fac.maturity - m + 1
        var p: Double
        switch fac.amort {
        case .level: p = Rates.levelPayment(bal, rate: r, months: left) - bal * r
        case .straight: p = fac.amount / Double(fac.term)
        case .sculpted:
          let k = m - fac.startMonth
          p = k < fac.sculpted.count ? t.sculpted[fac.sculpted.lowerBound + k] : 0
        case .bullet, .sweep: p = 0
        }
        if m == fac.maturity { p = bal }
        p = min(max(0, p), bal)
        weighted += p * Double(m - draw + 1)
        total += p
        bal -= p
        m += 1
      }
      if bal > 0.005 {
        // Past maturity at the horizon (a bullet unpaid at its date is a
        // default, so this is only a rounding remainder).
        weighted += bal * Double(months - draw + 1)
        total += bal
      }
    }
    return total > 0.005 ? weighted / total / 12 : nil
  }
}
