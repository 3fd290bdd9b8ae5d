import DealCore
import Foundation

extension WaterfallPlan {
  /// Fixes the schedules of sculpted facilities at close, from the base
  /// case (SPEC §5.1 "Sculpting"): a sculpted facility's debt service is
  /// the CFADS available to its obligor divided by `target_dscr`, less the
  /// debt service of the facilities ranked ahead of it at that obligor, so
  /// that the DSCR on cumulative debt service at its rank is the target.
  /// Without a target, the one that repays it exactly over its term.
  ///
  /// The CFADS available to an entity is its own fleets' CFADS plus what its
  /// subsidiaries would distribute in the base case: their available CFADS
  /// less their scheduled debt service, when positive.
  mutating func sculpt() throws(DealError) {
    guard facilities.contains(where: { $0.amort == .sculpted }) else { return }
    let lo = min(1, facilities.map(\.startMonth).min() ?? 1)
    let hi = max(months, facilities.map(\.maturity).max() ?? months)
    let n = hi - lo + 1
    var available = [[Double]](repeating: [Double](repeating: 0, count: n), count: entities.count)
    var service = [[Double]](repeating: [Double](repeating: 0, count: n), count: facilities.count)
    for e in entities.indices {
      for fl in entities[e].fleets {
        for i in 0..<n {
          let m = lo + i
          available[e][i] += fleets[fl].revenue(month: m) - fleets[fl].operatingCost(month: m)
        }
      }
      var ahead = [Double](repeating: 0, count: n)
      for f in entities[e].facilities {
        let fac = facilities[f]
        let r = fac.coupon / 12
        if fac.amort == .sculpted {
          let months = (0..<fac.term).map { fac.startMonth + $0 - lo }
          var target = fac.targetDSCR
          if target == nil {
            // The target that repays exactly: PV(CFADS) / target − PV(ahead) = amount.
            var pvCash = 0.0, pvAhead = 0.0, d = 1.0
            for i in months {
              d /= 1 + r
              pvCash += available[e][i] * d
              pvAhead += ahead[i] * d
            }
            guard pvCash > 0 else {
              throw DealError(
                .invalid, "'\(fac.id)' cannot be sculpted: the CFADS available to its obligor is not positive over its term",
                hint: "set a target with 'set \(fac.id) target_dscr=...' or another amort")
            }
            target = pvCash / (fac.amount + pvAhead)
          }
          var bal = fac.amount
          var principal: [Double] = []
          for i in months {
            let interest = bal * r
            let p = min(bal, max(0, available[e][i] / target! - ahead[i] - interest))
            principal.append(p)
            service[f][i] = interest + p
            bal -= p
          }
          facilities[f].sculptedPrincipal = principal
          facilities[f].targetDSCR = target
        } else {
          var bal = fac.amount
          for k in 1...max(1, fac.term) {
            let i = fac.startMonth + k - 1 - lo
            let interest = bal * r
            var p: Double
            switch fac.amort {
            case .level:
              p = Rates.levelPayment(bal, rate: r, months: fac.term - k + 1) - interest
            case .straight: p = fac.amount / Double(fac.term)
            default: p = 0
            }
            if k == fac.term { p = bal }
            p = min(max(0, p), bal)
            service[f][i] = interest + p
            bal -= p
          }
        }
        for i in 0..<n { ahead[i] += service[f][i] }
      }
      let parent = entities[e].parent
      if parent >= 0 {
        for i in 0..<n { available[parent][i] += max(0, available[e][i] - ahead[i]) }
      }
    }
  }
}
