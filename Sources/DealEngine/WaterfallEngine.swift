import DealCore
import Foundation

/// The monthly cash waterfall (SPEC §5 `waterfall`).
///
/// Each month: revenue less power and opex is CFADS, available with any
/// trapped cash. Facilities are paid by rank (then id): interest, scheduled
/// principal, reserve top-up; a shortfall is drawn from the facility's
/// reserve, then from its guarantors' cash and coins; what cannot be paid is
/// a payment default. Then ABL borrowing-base cures and margin calls, sweeps,
/// and what is left goes to equity unless a lock-up traps it. Covenants are
/// tested monthly: trailing-12-month DSCR (fewer months at the start) against
/// `min_dscr`, LTV against `max_ltv`.
public enum WaterfallEngine {
  /// - Parameters:
  ///   - detail: keep the monthly periods, breach texts and IRRs (a Monte
  ///     Carlo path needs none of them).
  ///   - paths: month-by-month factors on top of the scenario (a Monte
  ///     Carlo path), or nil.
  ///   - scratch: a block of at least `plan.arenaBytes` bytes for the run's
  ///     buffers, reused from run to run by a Monte Carlo worker.
  public static func run(
    _ plan: WaterfallPlan, _ sc: Scenario = Scenario(), detail: Bool = true, paths: ScenarioPaths? = nil,
    scratch: UnsafeMutableRawPointer? = nil
  ) -> WaterfallResult {
    let months = plan.months
    let nf = plan.facilities.count
    // The run's state lives in buffers allocated once per run: the monthly
    // loop mutates them with no uniqueness checks and no allocation.
    // One block, carved into 8-byte-aligned pieces (27 pieces at most).
    let pb = plan.pledgedBook, gb = plan.guarantorBook, ng = plan.guarantors.count
    let capacity = plan.arenaBytes
    // A caller running many paths lends its own block (no allocation).
    let arena = scratch ?? UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    defer { if scratch == nil { arena.deallocate() } }
    var used = 0
    func buffer<T>(_ n: Int, _ v: T) -> UnsafeMutableBufferPointer<T> {
      let start = arena + used
      used += (max(1, n) * MemoryLayout<T>.stride + 7) & ~7
      precondition(used <= capacity)
      let b = start.bindMemory(to: T.self, capacity: n)
      b.initialize(repeating: v, count: n)
      return UnsafeMutableBufferPointer(start: b, count: n)
    }
    let balance = buffer(nf, 0.0)
    let reserve = buffer(nf, 0.0)
    for f in 0..<nf { reserve[f] = plan.reserveCash[f] }
    let defaulted = buffer(nf, false)
    let facs = plan.facilities
    // Per-facility accumulators, flat: no struct copies in the loop.
    let interestPaid = buffer(nf, 0.0), principalPaid = buffer(nf, 0.0)
    let receipts = buffer(nf * months, 0.0)
    let loss = buffer(nf, 0.0), defaultAt = buffer(nf, 0)
    let converted = buffer(nf, false), refinancing = buffer(nf, 0.0)
    let coinsSold = buffer(nf, 0.0), guarantorPaid = buffer(nf, 0.0)
    // Coins left (pledged, and guarantors'), and the guarantors' cash.
    let coinAmount = buffer(pb.amount.count, 0.0)
    for k in pb.amount.indices { coinAmount[k] = pb.amount[k] }
    let gCoinAmount = buffer(gb.amount.count, 0.0)
    for k in gb.amount.indices { gCoinAmount[k] = gb.amount[k] }
    let gCash = buffer(ng, 0.0)
    for g in 0..<ng { gCash[g] = plan.guarantors[g].cash }
    // The coin factors change every month (paths): passed, not captured, so
    // the loop keeps them in registers.
    @inline(__always) func price(_ book: WaterfallPlan.CoinBook, _ k: Int, _ factor: (btc: Double, eth: Double)) -> Double {
      book.price[k] * (book.btc[k] ? factor.btc : factor.eth)
    }
    var periods: [Period] = []
    if detail { periods.reserveCapacity(months) }
    var log = EventLog()
    log.keepText = detail
    if detail { log.kinds = [String?](repeating: nil, count: nf) }
    var trapped = 0.0
    let cfadsHistory = buffer(months, 0.0)
    let dsHistory = buffer(months, 0.0)
    var minDSCR: Double? = nil
    var dscrSum = 0.0, dscrCount = 0
    let breached = buffer(nf, false)  // a covenant breach reported once per facility and kind
    let ltvBreached = buffer(nf, false)
    let principalFlows = buffer(nf * months, 0.0)
    let atDefault = buffer(nf, 0.0)  // balances at the end of the first default month
    let reserveAtDefault = buffer(nf, 0.0)  // and the reserve accounts then
    let exposure = buffer(nf, 0.0)  // balance-years outstanding while performing
    let ledger = Ledger(
      months: months, balance: balance, principalPaid: principalPaid, principalFlows: principalFlows, receipts: receipts)
    let nFleets = plan.fleets.count
    // A replaced deflation: (1 − d)^(m/12), one multiplication a month.
    let deflationStep = sc.deflation.map { Foundation.pow(1 - $0, 1.0 / 12) }
    var deflationFactor = 1.0
    // Level payments: (1 + r)^-(months left), one multiplication a month.
    let annuity = buffer(nf, 0.0)
    let annuityRate = buffer(nf, 0.0)  // the monthly rate it was computed at
    let shadow = buffer(nf, -1.0)  // scheduled balance of a defaulted facility
    let lastDue = buffer(nf, 0.0)  // its regular payment before it defaulted
    var cf12 = 0.0, ds12 = 0.0
    var coinFactor = (btc: sc.btcFactor, eth: sc.ethFactor)
    var spotFactor = sc.spotFactor, utilizationChange = sc.utilizationChange, rateChange = sc.rateChange

    for m in 1...months {
      if let p = paths {
        spotFactor = sc.spotFactor * p.spot[m - 1]
        utilizationChange = sc.utilizationChange + p.utilization[m - 1]
        rateChange = sc.rateChange + p.rate[m - 1]
        coinFactor = (sc.btcFactor * p.btc[m - 1], sc.ethFactor * p.eth[m - 1])
      }
      // Operating cash flow.
      var revenue = 0.0, opex = 0.0
      if let step = deflationStep { deflationFactor *= step }
      for fi in 0..<nFleets {
        let x = plan.fleetMonths[fi * months + m - 1]
        opex += x.power * sc.powerFactor + x.opex
        guard x.capacity > 0 else { continue }
        let u = min(1, max(0, x.utilization + utilizationChange))
        // A lease whose tenant defaulted pays only the spot rate.
        if x.inTerm, paths == nil || m < paths!.leaseLost[fi] {
          revenue += x.capacity * x.rate * max(u, x.takeOrPay)
        } else {
          let spot = deflationStep == nil ? x.spotDeflated : x.spotRate * deflationFactor
          revenue += x.capacity * u * spot * spotFactor
        }
      }
      let cfads = revenue - opex
      var cash = max(0, cfads) + trapped
      trapped = 0
      var dsDue = 0.0, interestPaidM = 0.0

      // Draws (a facility drawn before the deal start counts as drawn in month 1).
      for f in 0..<nf where max(1, facs[f].startMonth) == m {
        balance[f] = facs[f].amount
      }

      // Debt service by rank.
      for f in 0..<nf {
        guard m >= facs[f].startMonth, m <= facs[f].maturity else { continue }
        // After a default the schedule still counts in DSCR (contractual
        // debt service on the unpaid balance), so DSCR stays comparable
        // across stresses; nothing is paid.
        if defaulted[f], shadow[f] < 0 { shadow[f] = balance[f] }
        let owed = defaulted[f] ? shadow[f] : balance[f]
        guard owed > 0.005 else { continue }
        let r = (facs[f].floating ? max(0, Rates.base + rateChange) + facs[f].spread : facs[f].rate) / 12
        let interest = owed * r
        let k = m - facs[f].startMonth + 1  // month of the term, 1-based
        let left = facs[f].maturity - m + 1
        var principal: Double
        switch facs[f].amort {
        case .level:
          // While the rate stays the same, one multiplication a month; a
          // floating rate that moved re-prices the annuity on what is left.
          if annuity[f] == 0 || r != annuityRate[f] {
            annuity[f] = Foundation.pow(1 + r, -Double(left))
            annuityRate[f] = r
          } else {
            annuity[f] *= 1 + r
          }
          let pmt = r > 0 ? owed * r / (1 - annuity[f]) : owed / Double(left)
          principal = pmt - interest
        case .straight: principal = facs[f].amount / Double(facs[f].term)
        case .bullet, .sweep: principal = 0
        case .sculpted: principal = k - 1 < facs[f].sculptedPrincipal.count ? facs[f].sculptedPrincipal[k - 1] : 0
        }
        if m == facs[f].maturity { principal = owed }
        principal = min(max(0, principal), owed)
        if defaulted[f] {
          // The contractual schedule: a level or straight loan keeps its
          // regular payment; a bullet its interest, then the balance.
          switch facs[f].amort {
          case .level, .straight: dsDue += lastDue[f]
          default: dsDue += interest + principal
          }
          shadow[f] -= principal
          continue
        }
        // A convertible converts at maturity instead of being repaid.
        if m == facs[f].maturity, facs[f].type == "convertible", let cp = facs[f].conversionPrice, let sp = facs[f].sharePrice {
          if sp >= cp {
            converted[f] = true
            principal = 0
            balance[f] = 0
          } else {
            refinancing[f] = balance[f]
            log.note(m, facs[f].id, "refinancing", "share price \(Format.money(sp, decimals: 2)) below conversion price \(Format.money(cp, decimals: 2)): \(Format.money(balance[f])) to repay")
          }
        }
        let due = interest + principal
        exposure[f] += owed / 12
        if m < facs[f].maturity { lastDue[f] = due }
        dsDue += due
        var paid = min(cash, due)
        cash -= paid
        if paid < due - 0.005 {
          let fromReserve = min(reserve[f], due - paid)
          reserve[f] -= fromReserve
          paid += fromReserve
        }
        if paid < due - 0.005 {
          for g in plan.guarantorsOf[f] where paid < due - 0.005 {
            let fromCash = min(gCash[g], due - paid)
            gCash[g] -= fromCash
            paid += fromCash
            guarantorPaid[f] += fromCash
            for c in gb.start[g]..<gb.start[g + 1] where paid < due - 0.005 {
              let price = price(gb, c, coinFactor)
              guard price > 0 else { continue }
              let sell = min(gCoinAmount[c], (due - paid) / price)
              gCoinAmount[c] -= sell
              paid += sell * price
              guarantorPaid[f] += sell * price
            }
          }
        }
        if paid < due - 0.005 {
          recordDefault(
            f, m, kind: "payment default", detail: "paid \(Format.money(paid)) of \(Format.money(due)) due",
            facilities: facs, crossDefaults: plan.crossDefaults, balance: balance, defaulted: defaulted,
            defaultAt: defaultAt, loss: loss, log: &log)
          receipts[f * months + m - 1] += paid
          continue
        }
        ledger.repay(f, month: m, principal)
        interestPaid[f] += interest
        receipts[f * months + m - 1] += interest
        interestPaidM += interest
        // Reserve top-up to dsra_months of this month's debt service.
        if facs[f].dsraMonths > 0 {
          let target = Double(facs[f].dsraMonths) * due
          let top = min(cash, max(0, target - reserve[f]))
          reserve[f] += top
          cash -= top
        }
      }

      // Collateral, ABL borrowing base and margin calls.
      for f in 0..<nf where !defaulted[f] && balance[f] > 0.005 {
        var value = plan.collateral[f * months + m - 1] * (1 - sc.haircut)
        var coinValue = 0.0
        let coinRange = pb.start[f]..<pb.start[f + 1]
        for c in coinRange { coinValue += coinAmount[c] * price(pb, c, coinFactor) }
        value += coinValue
        if let adv = facs[f].advanceRate, balance[f] > adv * value + 0.005 {
          let need = balance[f] - adv * value
          let pay = min(cash, need)
          cash -= pay
          ledger.repay(f, month: m, pay)
          if pay < need - 0.005 {
            log.note(m, facs[f].id, "borrowing base", "balance above \(Format.percent(adv)) of collateral; \(Format.money(need - pay)) not prepaid")
          }
        }
        if let margin = facs[f].marginLTV, !coinRange.isEmpty, value <= 0 || balance[f] / value > margin {
          // Sell pledged coins to bring LTV back to the margin level.
          let need = (balance[f] - margin * value) / (1 - margin)
          if value > 0, need <= coinValue + 0.005 {
            var left = need
            for c in coinRange where left > 0.005 {
              let price = price(pb, c, coinFactor)
              let sell = min(coinAmount[c], left / price)
              coinAmount[c] -= sell
              left -= sell * price
              coinsSold[f] += sell
            }
            ledger.repay(f, month: m, need)
            value -= need
            log.note(m, facs[f].id, "margin call", "coins sold to repay \(Format.money(need))")
          } else {
            recordDefault(
              f, m, kind: "margin call default",
              detail: "pledged coins worth \(Format.money(coinValue)) cannot cure LTV \(ltvText(balance[f], value, decimals: 0))",
              facilities: facs, crossDefaults: plan.crossDefaults, balance: balance, defaulted: defaulted,
              defaultAt: defaultAt, loss: loss, log: &log)
            continue
          }
        }
        // Collateral worth nothing (a 100 % haircut) breaches any LTV
        // covenant of a secured facility.
        if let maxLTV = facs[f].maxLTV, !ltvBreached[f], value > 0 ? balance[f] / value > maxLTV : plan.isSecured(f) {
          ltvBreached[f] = true
          log.note(m, facs[f].id, "ltv", "LTV \(ltvText(balance[f], value, decimals: 1)) above \(Format.percent(maxLTV))")
        }
      }

      // DSCR and covenants.
      cfadsHistory[m - 1] = cfads
      dsHistory[m - 1] = dsDue
      let dscr: Double? = dsDue > 0.005 ? cfads / dsDue : nil
      if let d = dscr {
        minDSCR = min(minDSCR ?? d, d)
        dscrSum += d
        dscrCount += 1
      }
      cf12 += cfads
      ds12 += dsDue
      if m > 12 {
        cf12 -= cfadsHistory[m - 13]
        ds12 -= dsHistory[m - 13]
      }
      let trailing: Double? = ds12 > 0.005 ? cf12 / ds12 : nil
      var lockedUp = false
      for f in 0..<nf where !defaulted[f] && balance[f] > 0.005 && m >= facs[f].startMonth {
          if let t = trailing, let minD = facs[f].minDSCR, t < minD, !breached[f] {
          breached[f] = true
          log.note(m, facs[f].id, "dscr", "trailing DSCR \(String(format: "%.2f", t))x below \(String(format: "%.2f", minD))x")
        }
        if let t = trailing, let lock = facs[f].lockupDSCR, t < lock { lockedUp = true }
      }

      // Sweeps, then equity (or trapped).
      for f in 0..<nf where !defaulted[f] && balance[f] > 0.005 && m >= facs[f].startMonth {
        let share = facs[f].amort == .sweep && facs[f].sweep == 0 ? 1.0 : facs[f].sweep
        guard share > 0, cash > 0 else { continue }
        let pay = min(cash * share, balance[f])
        cash -= pay
        ledger.repay(f, month: m, pay)
      }
      var toEquity = 0.0
      if lockedUp {
        trapped = cash
      } else {
        toEquity = cash
      }
      // Deal LTV: all debt outstanding (defaulted balances included) over
      // the pledged fleets' market value and the pledged coins.
      var collateralNow = plan.totalCollateral[m - 1] * (1 - sc.haircut)
      for c in 0..<coinAmount.count { collateralNow += coinAmount[c] * price(pb, c, coinFactor) }
      let debtNow = balance.reduce(0, +)
      if log.defaultMonth == m {
        for f in 0..<nf {
          atDefault[f] = balance[f]
          reserveAtDefault[f] = reserve[f]
        }
      }
      if detail {
        periods.append(
          Period(
            month: m, revenue: revenue, opex: opex, cfads: cfads, debtService: dsDue, dscr: dscr,
            ltv: collateralNow > 0 ? debtNow / collateralNow : (debtNow > 0.005 ? nil : 0), balance: debtNow, collateral: collateralNow,
            interest: interestPaidM, principal: ledger.principal(month: m), reserve: reserve.reduce(0, +), toEquity: toEquity, trapped: trapped))
      }
    }

    // Per-facility summaries: balance left, IRR and WAL.
    var results: [FacilityResult] = []
    results.reserveCapacity(nf)
    for f in 0..<nf {
      var r = FacilityResult(id: facs[f].id)
      r.interestPaid = interestPaid[f]
      r.principalPaid = principalPaid[f]
      r.loss = loss[f]
      r.defaultMonth = defaulted[f] ? defaultAt[f] : nil
      if detail { r.defaultKind = log.kinds[f] }
      r.converted = converted[f]
      r.refinancingNeed = refinancing[f]
      r.coinsSold = coinsSold[f]
      r.guarantorPaid = guarantorPaid[f]
      r.balanceEnd = defaulted[f] ? 0 : balance[f]
      r.balanceAtDefault = atDefault[f]
      r.reserveAtDefault = reserveAtDefault[f]
      r.reserveEnd = reserve[f]
      r.exposureYears = exposure[f]
      if detail { r.flows = Array(receipts[(f * months)..<((f + 1) * months)]) }
      // The lender's cash flows at month ends: the draw at the start of its
      // month (the end of the one before), receipts at the end of each month,
      // the balance left at the horizon valued at par.
      if detail {
        var series = [Double](repeating: 0, count: months + 1)
        series[max(1, facs[f].startMonth) - 1] -= facs[f].amount
        for m in 1...months { series[m] += receipts[f * months + m - 1] }
        if !defaulted[f], balance[f] > 0.005 { series[months] += balance[f] }
        r.irr = irr(series)
      }
      // Weighted average life (years from the draw) of the principal
      // repaid, the balance left at the horizon counted as repaid then.
      var weighted = 0.0, total = 0.0
      let draw = max(1, facs[f].startMonth)
      if draw <= months {
        for m in draw...months {
          var p = principalFlows[f * months + m - 1]
          if m == months, !defaulted[f] { p += balance[f] }
          weighted += p * Double(m - draw + 1) / 12
          total += p
        }
      }
      r.wal = total > 0.005 ? weighted / total : nil
      results.append(r)
    }
    return WaterfallResult(
      months: months, minDSCR: minDSCR, avgDSCR: dscrCount > 0 ? dscrSum / Double(dscrCount) : nil,
      firstBreachMonth: log.firstBreach, defaultMonth: log.defaultMonth, periods: periods, facilities: results,
      breaches: log.breaches, defaulted: log.order, defaultedIndices: log.orderIndices)
  }

  /// Where a repayment of principal is recorded: the balance, the totals,
  /// the month's principal and the lender's receipts. Writes through the
  /// run's buffers, so it is a plain value the loop can call.
  struct Ledger {
    let months: Int
    let balance, principalPaid, principalFlows, receipts: UnsafeMutableBufferPointer<Double>

    @inline(__always)
    func repay(_ f: Int, month m: Int, _ amount: Double) {
      balance[f] -= amount
      principalPaid[f] += amount
      principalFlows[f * months + m - 1] += amount
      receipts[f * months + m - 1] += amount
    }

    /// Principal repaid in month m, all facilities.
    func principal(month m: Int) -> Double {
      var total = 0.0
      for f in 0..<balance.count { total += principalFlows[f * months + m - 1] }
      return total
    }
  }

  /// Breaches and defaults as they happen. Without `keepText` (a Monte
  /// Carlo path) only the months and the default order are kept: no text
  /// is formatted.
  struct EventLog {
    var keepText = true
    var breaches: [Breach] = []
    var order: [String] = []
    var orderIndices: [Int] = []
    /// Why each facility defaulted, by index (detail runs only).
    var kinds: [String?] = []
    var firstBreach: Int? = nil
    var defaultMonth: Int? = nil

    mutating func note(_ m: Int, _ facility: String, _ kind: String, _ detail: @autoclosure () -> String) {
      if keepText { breaches.append(Breach(month: m, facility: facility, kind: kind, detail: detail())) }
      if firstBreach == nil { firstBreach = m }
    }
  }

  /// An LTV for a breach's text ("∞" without collateral value). Called
  /// only inside the log's autoclosures, so a Monte Carlo path formats no
  /// text.
  static func ltvText(_ balance: Double, _ value: Double, decimals: Int) -> String {
    value > 0 ? Format.percent(balance / value, maxDecimals: decimals) : "∞"
  }

  /// Records a default and spreads it along cross-default edges, in order.
  static func recordDefault(
    _ f: Int, _ m: Int, kind: String, detail: @autoclosure () -> String, facilities: [FacilityPlan], crossDefaults: [[Int]],
    balance: UnsafeMutableBufferPointer<Double>, defaulted: UnsafeMutableBufferPointer<Bool>,
    defaultAt: UnsafeMutableBufferPointer<Int>, loss: UnsafeMutableBufferPointer<Double>, log: inout EventLog
  ) {
    // Breadth first: (facility, where it came from, or -1 for f itself).
    var queue = [(f, -1)]
    var k = 0
    while k < queue.count {
      let (g, from) = queue[k]
      k += 1
      guard !defaulted[g] else { continue }
      defaulted[g] = true
      defaultAt[g] = m
      loss[g] = balance[g]
      log.order.append(facilities[g].id)
      log.orderIndices.append(g)
      if log.keepText { log.kinds[g] = from < 0 ? kind : "cross-default" }
      if from < 0 {
        log.note(m, facilities[g].id, kind, detail())
      } else {
        log.note(m, facilities[g].id, "cross-default", "cross-default from " + facilities[from].id)
      }
      if log.defaultMonth == nil { log.defaultMonth = m }
      for h in crossDefaults[g] where !defaulted[h] { queue.append((h, g)) }
    }
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
      if fm.sign == flo.sign { lo = mid; flo = fm } else { hi = mid }
      if hi - lo < 1e-13 { break }
    }
    return Foundation.pow(1 + (lo + hi) / 2, 12) - 1
  }
}
