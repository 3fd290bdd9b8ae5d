import DealCore
import Foundation

/// One month of the structural waterfall, step by step (SPEC §5.1, README
/// "How cash moves"):
///
/// 1. `factors`: the month's stresses (a Monte Carlo path's, if any).
/// 2. `scheduleDebt`: draws; each facility's interest and scheduled
///    principal due; the contractual debt service of defaulted ones (DSCR).
/// 3. `operatingCash`: each fleet's CFADS (revenue less power and opex, may
///    be negative) into its owner's cash.
/// 4. Each entity, from the bottom of the `parent-of` tree up (`runEntity`):
///    collections for accelerated facilities from its pledged fleets; its own
///    facilities by rank — interest and principal from its cash, its
///    reserve, its free coins, then calls on its guarantors; reserve top-ups;
///    accelerated facilities take what is left; borrowing-base prepayments
///    and margin calls; DSCR covenants and lock-ups; sweeps; the guarantee
///    calls it owes; then what is left goes to its parent, unless a lock-up
///    traps it or it is in default. An entity with no parent keeps its cash.
/// 5. `closeMonth`: consolidated DSCR and LTV, lien-aware LTV covenants,
///    what the month reports.
extension WaterfallRun {
  /// Every month of the run, in order.
  func runMonths() {
    for month in 1...max(1, months) where month <= months {
      factors(month)
      scheduleDebt()
      operatingCash()
      if shortTail, allSettledForGood() {
        closeDSCR()
        continue
      }
      for e in t.steps {
        let ent = entity(e)
        // A top entity without debt only pays guarantee calls and, from
        // its pledged fleets, accelerated facilities: most months nothing.
        if ent.pointee.facilities.isEmpty, !(callsWaiting && !ent.pointee.guaranteed.isEmpty),
          !(anyDefault && !ent.pointee.fleets.isEmpty)
        {
          // A holding entity with nothing to pay passes its cash up.
          es[e].processed = true
          if ent.pointee.parent >= 0 { distribute(e, locked: false) }
          continue
        }
        runEntity(e)
      }
      closeMonth()
    }
    // A balance still outstanding at the horizon counts at par.
    for f in 0..<nf where !fs[f].defaulted && !fs[f].cancelled && fs[f].balance > 0.005 {
      fs[f].pvPrincipal += fs[f].balance * t.discount[months]
    }
  }

  // MARK: 1. The month's factors

  @inline(always) func factors(_ month: Int) {
    m = month
    if let p = paths {
      spotFactor = baseSpot * p.spot[m &- 1]
      utilizationChange = baseUtilization + p.utilization[m &- 1]
      rateChange = baseRate + p.rate[m &- 1]
      coinBTC = baseBTC * p.btc[m &- 1]
      coinETH = baseETH * p.eth[m &- 1]
    }
    if let step = deflationStep { deflationFactor *= step }
    revenue = 0
    opex = 0
    cfads = 0
    dsDue = 0
    interestMonth = 0
    principalMonth = 0
    callsWaiting = false
    for e in 0..<ne {  // a loop: a call to memset costs more for a few entities
      es[e].available = 0
      es[e].processed = false
    }
    if detail { for e in 0..<ne { account[e] = EntityPeriod(month: m, opening: es[e].cash) } }
  }

  /// A facility's numbers, and an entity's, read in place.
  @inline(always) func core(_ f: Int) -> UnsafePointer<WaterfallPlan.FacilityCore> { t.core.baseAddress.unsafelyUnwrapped + f }
  @inline(always) func entity(_ e: Int) -> UnsafePointer<WaterfallPlan.EntityCore> { t.entities.baseAddress.unsafelyUnwrapped + e }

  /// A pledged coin's price this month, and a free coin's.
  @inline(always) func pledgedPrice(_ k: Int) -> Double {
    t.pledgedPrice[k] * (t.pledgedBTC[k] ? coinBTC : coinETH)
  }
  @inline(always) func freePrice(_ k: Int) -> Double {
    t.freePrice[k] * (t.freeBTC[k] ? coinBTC : coinETH)
  }

  /// The monthly rate a facility pays.
  @inline(always) func monthlyRate(_ f: Int) -> Double {
    let c = core(f)
    if fs[f].refinanced { return (max(0, Rates.base + rateChange) + c.pointee.refiSpread) / 12 }
    return (c.pointee.floating ? max(0, Rates.base + rateChange) + c.pointee.spread : c.pointee.rate) / 12
  }

  // MARK: 2. Draws and dues

  @inline(always) func scheduleDebt() {
    for f in 0..<nf where !fs[f].finished {
      let fac = core(f)
      fs[f].dueInterest = 0
      fs[f].duePrincipal = 0
      fs[f].scheduledBalance = 0
      fs[f].paidNow = 0
      fs[f].dsNow = 0
      fs[f].callLeft = 0
      fs[f].interestNow = 0
      fs[f].settled = false
      guard !fs[f].cancelled else {
        finish(f)
        continue
      }
      if m == fac.pointee.drawMonth { fs[f].balance = fac.pointee.amount }
      let maturity = fs[f].maturity
      guard m >= fac.pointee.startMonth, m <= maturity else {
        // Past its maturity a facility is repaid or accelerated: nothing
        // is due from it again (its dues are cleared this once).
        if m > maturity, !fs[f].defaulted { finish(f) }
        continue
      }
      // After a default the schedule still counts in DSCR (contractual debt
      // service on the unpaid balance), so DSCR stays comparable across
      // stresses; nothing is scheduled for payment.
      if fs[f].defaulted, fs[f].shadow < 0 { fs[f].shadow = fs[f].balance }
      let owed = fs[f].defaulted ? fs[f].shadow : fs[f].balance
      guard owed > 0.005 else { continue }
      // A Monte Carlo path's floating level loan was priced ahead.
      let ahead = fs[f].pricedAhead && !fs[f].refinanced, month = f &* months &+ m &- 1
      let r = ahead ? aheadRate[month] : monthlyRate(f)
      let interest = owed * r
      let k = m &- fac.pointee.startMonth &+ 1  // month of the term, 1-based
      let left = maturity &- m &+ 1
      var principal: Double
      switch fs[f].refinanced ? .level : fac.pointee.amort {
      case .level:
        // While the rate stays the same, one multiplication a month; a
        // floating rate that moved re-prices the annuity on what is left.
        let pmt: Double
        if fs[f].annuity == 0 || r != fs[f].annuityRate {
          // Re-priced: PMT from the growth factor g = (1 + r)^left as
          // owed·r·g/(g − 1), and the annuity 1/g beside it. A Monte Carlo
          // path's floating rate re-prices every month: its factors were
          // taken before the months (`priceAhead`).
          if ahead, r > 0 {
            fs[f].annuity = aheadDiscount[month]
            pmt = owed * aheadPayment[month]
          } else {
            let g = Rates.growthFactor(r, months: left)
            fs[f].annuity = 1 / g
            pmt = Rates.levelPayment(owed, rate: r, growth: g, months: left)
          }
          fs[f].annuityRate = r
        } else {
          fs[f].annuity *= 1 + r
          pmt = r > 0 ? owed * r / (1 - fs[f].annuity) : owed / Double(left)
        }
        principal = pmt - interest
      case .straight: principal = fac.pointee.amount / Double(fac.pointee.term)
      case .bullet, .sweep: principal = 0
      case .sculpted: principal = k &- 1 < fac.pointee.sculpted.count ? t.sculpted[fac.pointee.sculpted.lowerBound &+ k &- 1] : 0
      }
      if m == maturity { principal = owed }
      principal = min(max(0, principal), owed)
      if fs[f].defaulted {
        // The contractual schedule: a level or straight loan keeps its
        // regular payment; a bullet its interest, then the balance.
        switch fac.pointee.amort {
        case .level, .straight: fs[f].dsNow = fs[f].lastDue
        default: fs[f].dsNow = interest + principal
        }
        fs[f].shadow -= principal
        dsDue += fs[f].dsNow
        continue
      }
      // A convertible converts at maturity instead of being repaid, if the
      // share (moving with bitcoin through share_beta) is at or above the
      // conversion price.
      if m == maturity, !fs[f].refinanced, fac.pointee.convertible, let cp = fac.pointee.conversionPrice, let sp0 = fac.pointee.sharePrice {
        let sp = sp0 * Foundation.pow(max(coinBTC, 1e-12), fac.pointee.shareBeta)
        if sp >= cp - 1e-9 {
          fs[f].converted = true
          principal = 0
          // The holders take shares worth the balance × share ÷ conversion
          // price: a receipt in kind, in the lender's flows and IRR.
          if detail { receipts[f &* months &+ m &- 1] += fs[f].balance * sp / cp }
          fs[f].pvPrincipal += fs[f].balance * sp / cp * t.discount[m]
          fs[f].balance = 0
        } else {
          fs[f].refinancing = fs[f].balance
          note(
            m, f, "no conversion", breach: false,
            "share price \(Format.money(sp, decimals: 2)) below conversion price \(Format.money(cp, decimals: 2)): \(Format.money(fs[f].balance)) to repay")
        }
      }
      fs[f].dueInterest = interest
      fs[f].duePrincipal = principal
      fs[f].scheduledBalance = owed
      let due = interest + principal
      fs[f].exposure += owed / 12
      if m < maturity { fs[f].lastDue = due }
      fs[f].dsNow = due
      dsDue += due
    }
  }

  /// A facility with nothing more to pay or collect: the loop skips it,
  /// and its obligor once all of its facilities are done.
  @inline(never) func finish(_ f: Int) {
    close(f)
    fs[f].finished = true
    es[core(f).pointee.obligor].live -= 1
  }

  // MARK: 3. Operating cash

  @inline(always) func operatingCash() {
    let nFleets = t.fleetCount, m = m
    // The month's totals in registers, stored once: through the run's state
    // each addition waited for the store of the one before.
    var revenue = revenue, opex = opex
    for fi in 0..<nFleets {
      let x = t.fleetMonths[fi &* months &+ m &- 1]
      let cost = x.power * powerFactor + x.opex
      var income = 0.0
      if x.capacity > 0 {
        let u = min(1, max(0, x.utilization + utilizationChange))
        // A lease whose tenant defaulted pays only the spot rate.
        if x.inTerm, paths == nil || m < paths!.leaseLost[fi] {
          income = x.capacity * x.rate * max(u, x.takeOrPay)
        } else {
          let spot = deflationStep == nil ? x.spotDeflated : x.spotRate * deflationFactor
          income = x.capacity * u * spot * spotFactor
        }
      }
      revenue += income
      opex += cost
      // Negative CFADS is a cost the owner pays from its cash: never dropped.
      let net = income - cost
      fleetCFADS[fi] = net
      let o = t.fleetOwner[fi]
      es[o].cash += net
      es[o].available += net
      if detail { account[o].cfads += net }
    }
    self.revenue = revenue
    self.opex = opex
    cfads = revenue - opex
  }

  // MARK: 4. Each entity

  @inline(always) func runEntity(_ e: Int) {
    let ent = entity(e)
    let own = ent.pointee.facilities
    if anyDefault, !ent.pointee.fleets.isEmpty { collectFromCollateral(e) }
    var locked = false
    if es[e].live > 0 || detail {
      for f in own {
        if fs[f].defaulted {
          // (Most months after a default the collateral's collection has
          // already taken the cash: no call.)
          if es[e].cash > 0.005 { collectClaim(f, from: e, kind: .collection) }
        } else {
          payScheduled(f, e)
          topUpReserve(f, e)
        }
      }
      // Once every facility of the entity is in default or cancelled, the
      // tests and sweeps have nothing left to act on (a detail run still
      // reports the ratios).
      if es[e].performing > 0 || detail {
        if ent.pointee.collateralTests { testCollateral(e) }
        if ent.pointee.coverage || detail { locked = testCoverage(e) }
        if ent.pointee.sweeps { sweep(e) }
      }
    }
    es[e].processed = true
    if callsWaiting, !ent.pointee.guaranteed.isEmpty { settleCalls(e) }
    distribute(e, locked: locked)
  }

  /// Cash moving from an entity's account to a facility's lender.
  @inline(always) func pay(_ f: Int, from e: Int, interest: Double, principal: Double, kind: Transfer.Kind) {
    if interest > 0 {
      fs[f].interestPaid += interest
      fs[f].interestNow += interest
      if detail { receipts[f &* months &+ m &- 1] += interest }
      interestMonth += interest
    }
    if principal > 0 { repay(f, principal) }
    if let rec, e >= 0 { recordPayment(rec, f, from: e, interest: interest, principal: principal, kind: kind) }
  }

  /// A detail run's record of a payment: the payer's account, the transfers.
  @inline(never) func recordPayment(_ rec: Recorder, _ f: Int, from e: Int, interest: Double, principal: Double, kind: Transfer.Kind) {
    account[e].paidToLenders += interest + principal
    let to = fid(f), from = eid(e)
    if kind == .collection {
      rec.transfers.append(Transfer(month: m, from: from, to: to, kind: .collection, amount: interest + principal))
    } else {
      if interest > 0 { rec.transfers.append(Transfer(month: m, from: from, to: to, kind: .interest, amount: interest)) }
      if principal > 0 { rec.transfers.append(Transfer(month: m, from: from, to: to, kind: kind, amount: principal)) }
    }
  }

  /// A detail run's record of a move between an entity and a reserve or
  /// another entity.
  @inline(never) func recordMove(_ kind: Transfer.Kind, from: String, to: String, _ amount: Double) {
    rec?.transfers.append(Transfer(month: m, from: from, to: to, kind: kind, amount: amount))
  }

  /// Principal repaid: the balance, the totals, the month's principal and
  /// the lender's receipts; a facility repaid releases its reserve.
  @inline(always) func repay(_ f: Int, _ amount: Double) {
    fs[f].balance -= amount
    fs[f].principalPaid += amount
    if !fs[f].defaulted { fs[f].pvPrincipal += amount * t.discount[m] }
    if detail {
      principalFlows[f &* months &+ m &- 1] += amount
      receipts[f &* months &+ m &- 1] += amount
    }
    principalMonth += amount
    if fs[f].balance <= 0.005, !fs[f].defaulted, fs[f].reserve > 0 { releaseReserve(f) }
  }

  /// A repaid facility's reserve goes back to its obligor.
  @inline(never) func releaseReserve(_ f: Int) {
    let e = core(f).pointee.obligor
    let amount = fs[f].reserve
    fs[f].reserve = 0
    es[e].cash += amount
    if detail {
      account[e].reserveIn += amount
      recordMove(.reserveRelease, from: fid(f), to: eid(e), amount)
    }
  }

  /// Sells an entity's free coins, at the month's price, for up to `need`.
  @inline(never) func sellFreeCoins(_ e: Int, _ need: Double) -> Double {
    var got = 0.0
    for c in t.freeStart[e]..<t.freeStart[e &+ 1] where got < need - 0.005 {
      let p = freePrice(c)
      guard p > 0, freeLeft[c] > 0 else { continue }
      let sell = min(freeLeft[c], (need - got) / p)
      freeLeft[c] -= sell
      got += sell * p
    }
    es[e].coinSales += got
    if detail { account[e].coinSales += got }
    return got
  }

  /// Interest and scheduled principal from the obligor's cash, then the
  /// facility's reserve, then the obligor's free coins; a shortfall is
  /// called on its guarantors.
  @inline(always) func payScheduled(_ f: Int, _ e: Int) {
    let due = fs[f].dueInterest + fs[f].duePrincipal
    guard due > 0.005 else {
      fs[f].settled = true
      return
    }
    let paid = min(max(0, es[e].cash), due)
    es[e].cash -= paid
    fs[f].paidNow = paid
    if paid >= due - 0.005 {
      settle(f)
    } else if m == fs[f].maturity, core(f).pointee.refiTerm > 0, !fs[f].refinanced, refinance(f, e, paid: paid) {
      let rest = fs[f].dueInterest + fs[f].duePrincipal
      if paid >= rest - 0.005 { settle(f) } else { shortfall(f, e, rest) }
    } else {
      shortfall(f, e, due)
    }
  }

  /// A balance the obligor's cash cannot pay at maturity is refinanced
  /// (SPEC §5.2) when the tests hold: the balance to refinance over its
  /// collateral's value at most `refi_max_ltv`; the obligor's CFADS of the
  /// last twelve months (annualised if it has been drawn for less) at least
  /// `refi_min_dscr` times a year of the new loan's debt service (a level loan over `refi_term` months at the base
  /// rate plus `refi_spread`). The principal the cash does not cover is
  /// then due over the new term; the interest of the month is still due now.
  @inline(never) func refinance(_ f: Int, _ e: Int, paid: Double) -> Bool {
    let fac = core(f).pointee
    let amount = min(fs[f].duePrincipal, fs[f].dueInterest + fs[f].duePrincipal - paid)
    guard amount > 0.005 else { return false }
    if let maxLTV = fac.refiMaxLTV {
      let value = collateralValue(f).value
      guard value > 0.005, amount / value <= maxLTV + 1e-12 else {
        note(
          m, f, "no refinancing", breach: false,
          "\(Format.money(amount)) is LTV \(Self.ltvText(amount, value, decimals: 1)) of its collateral, above \(Format.percent(maxLTV))")
        return false
      }
    }
    let r = (max(0, Rates.base + rateChange) + fac.refiSpread) / 12
    let payment = Rates.levelPayment(amount, rate: r, months: fac.refiTerm)
    if let minDSCR = fac.refiMinDSCR {
      // The trailing sum runs to last month: a year of it, or what there
      // is since the draw, annualised.
      let counted = min(12, m - fac.drawMonth)
      let cover = counted > 0 ? fs[f].cf12 * 12 / Double(counted) / (12 * payment) : 0
      guard cover >= minDSCR - 1e-9 else {
        note(
          m, f, "no refinancing", breach: false,
          "the last year's CFADS covers the new debt service \(Format.plain(cover, maxDecimals: 2))x, below \(Format.plain(minDSCR, maxDecimals: 2))x")
        return false
      }
    }
    fs[f].duePrincipal -= amount
    fs[f].refinanced = true
    fs[f].maturity = m + fac.refiTerm
    fs[f].annuity = 0
    fs[f].refinancing = max(fs[f].refinancing, amount)
    note(
      m, f, "refinanced", breach: false,
      "\(Format.money(amount)) unpaid at maturity refinanced for \(fac.refiTerm) months at base + \(Format.percent(fac.refiSpread, maxDecimals: 2))")
    return true
  }

  /// What the obligor's cash did not pay: from the facility's reserve, then
  /// the obligor's free coins, then calls on its guarantors.
  @inline(never) func shortfall(_ f: Int, _ e: Int, _ due: Double) {
    var paid = fs[f].paidNow
    if paid < due - 0.005, fs[f].reserve > 0 {
      let take = min(fs[f].reserve, due - paid)
      fs[f].reserve -= take
      paid += take
      if detail {
        account[e].reserveIn += take
        recordMove(.reserveDraw, from: fid(f), to: eid(e), take)
      }
    }
    if paid < due - 0.005 { paid += sellFreeCoins(e, due - paid) }
    fs[f].paidNow = paid
    if paid >= due - 0.005 {
      settle(f)
    } else {
      fs[f].callLeft = due - paid
      fs[f].callNext = 0
      advanceCall(f)
    }
  }

  /// The month's scheduled payment is made in full.
  @inline(always) func settle(_ f: Int) {
    fs[f].settled = true
    if fs[f].scheduledBalance > 0.005 { fs[f].pvBalance += fs[f].scheduledBalance * t.discount[m] }
    pay(f, from: core(f).pointee.obligor, interest: fs[f].dueInterest, principal: fs[f].duePrincipal, kind: .principal)
    // A convertible that converted owes nothing more: its reserve is free.
    if fs[f].balance <= 0.005, fs[f].reserve > 0 { releaseReserve(f) }
  }

  /// Calls what is still unpaid on the facility's guarantors in turn: one
  /// whose guarantee step is still to come this month pays then (after its
  /// own facilities); one whose step has passed pays at once from what it
  /// has; one in default pays nothing. What no guarantor pays is a payment
  /// default.
  @inline(never) func advanceCall(_ f: Int) {
    let gs = core(f).pointee.guarantors
    while fs[f].callLeft > 0.005, fs[f].callNext < gs.count {
      let g = t.guarantors[gs.lowerBound + fs[f].callNext]
      if es[g].defaultAt > 0 {
        fs[f].callNext += 1
        continue
      }
      guard es[g].processed else {
        callsWaiting = true  // paid at its guarantee step
        return
      }
      honour(f, by: g)
      fs[f].callNext += 1
    }
    if fs[f].callLeft > 0.005 {
      let due = fs[f].dueInterest + fs[f].duePrincipal, paid = fs[f].paidNow
      recordDefault(f, kind: "payment default") { "paid \(Format.money(paid)) of \(Format.money(due)) due" }
    } else {
      settle(f)
    }
  }

  /// A guarantor pays a call from its cash, then its free coins; one that
  /// cannot pay it all is in default.
  @inline(never) func honour(_ f: Int, by g: Int) {
    let need = fs[f].callLeft
    var paid = min(max(0, es[g].cash), need)
    es[g].cash -= paid
    if paid < need - 0.005 { paid += sellFreeCoins(g, need - paid) }
    fs[f].callLeft -= paid
    fs[f].paidNow += paid
    fs[f].guarantorPaid += paid
    es[g].guarOut += paid
    let e = core(f).pointee.obligor
    es[e].guarIn += paid
    if detail {
      account[g].guaranteesOut += paid
      account[e].guaranteesIn += paid
      if paid > 0 { rec?.transfers.append(Transfer(month: m, from: eid(g), to: eid(e), kind: .guarantee, amount: paid)) }
    }
    if fs[f].callLeft > 0.005 {
      entityDefault(g)
      note(
        m, f, "guarantor default",
        "\(eid(g)) paid \(Format.money(paid)) of a \(Format.money(need)) call under its guarantee")
    }
  }

  /// Pays the calls waiting for this guarantor's step.
  @inline(always) func settleCalls(_ g: Int) {
    for k in entity(g).pointee.guaranteed {
      let f = t.entityGuaranteed[k]
      guard fs[f].callLeft > 0.005, !fs[f].settled, !fs[f].defaulted else { continue }
      let gs = core(f).pointee.guarantors
      if fs[f].callNext < gs.count, t.guarantors[gs.lowerBound + fs[f].callNext] == g { advanceCall(f) }
    }
  }

  /// Reserve top-up to `dsra_months` of this month's debt service; none in
  /// or after the facility's final month.
  @inline(always) func topUpReserve(_ f: Int, _ e: Int) {
    let fac = core(f)
    guard fac.pointee.dsraMonths > 0, fs[f].settled, !fs[f].defaulted, m < fs[f].maturity, fs[f].balance > 0.005 else { return }
    let target = Double(fac.pointee.dsraMonths) * (fs[f].dueInterest + fs[f].duePrincipal)
    let top = min(max(0, es[e].cash), max(0, target - fs[f].reserve))
    guard top > 0 else { return }
    fs[f].reserve += top
    es[e].cash -= top
    if detail {
      account[e].reserveOut += top
      recordMove(.reserveTopUp, from: eid(e), to: fid(f), top)
    }
  }

  // MARK: Defaults and collections

  /// A default: the partial payment is credited (interest first, then
  /// principal), the rest of the balance and the interest unpaid are the
  /// claim; the obligor is in default; the default spreads along
  /// `cross-default` edges to facilities already drawn (one not yet drawn
  /// is cancelled instead).
  @inline(never) func recordDefault(_ f: Int, kind: String, detail text: () -> String) {
    guard !fs[f].defaulted else { return }
    markDefault(f, kind: kind, from: -1)
    note(m, f, kind, text())
    // Breadth first along cross-defaults.
    var head = 0, tail = 0
    queue[tail] = f
    tail += 1
    while head < tail {
      let g = queue[head]
      head += 1
      for k in core(g).pointee.crossDefaults {
        let h = t.crossDefaults[k]
        // A facility repaid has nothing left to accelerate.
        guard !fs[h].defaulted, !fs[h].cancelled, m < core(h).pointee.drawMonth || fs[h].balance > 0.005 else { continue }
        if m < core(h).pointee.drawMonth {
          close(h)
          fs[h].cancelled = true
          es[core(h).pointee.obligor].performing -= 1
          fs[h].defaultAt = m  // the month it was cancelled
          note(m, h, "cancelled", breach: false, "not drawn: cross-default from \(fid(g))")
          continue
        }
        markDefault(h, kind: "cross-default", from: g)
        note(m, h, "cross-default", "cross-default from \(fid(g))")
        queue[tail] = h
        tail += 1
      }
    }
  }

  /// A facility defaults: what was paid towards this month's payment and
  /// not yet credited (its obligor's cash, reserve, coins, guarantee
  /// payments) is credited now, interest first; the interest still unpaid
  /// and the balance are its claim.
  @inline(never) func markDefault(_ f: Int, kind: String, from: Int) {
    if fs[f].settled {
      fs[f].unpaidInterest = 0
    } else {
      let paid = fs[f].paidNow, credited = min(paid, fs[f].dueInterest)
      fs[f].pvOther += credited * t.discount[m]
      pay(f, from: core(f).pointee.obligor, interest: credited, principal: paid - credited, kind: .principal)
      fs[f].unpaidInterest = fs[f].dueInterest - credited
      fs[f].callLeft = 0
    }
    close(f)
    fs[f].defaulted = true
    es[core(f).pointee.obligor].performing -= 1
    fs[f].settled = true
    anyDefault = true
    fs[f].defaultAt = m
    fs[f].claim = fs[f].balance + fs[f].unpaidInterest
    fs[f].claimAtDefault = fs[f].claim
    fs[f].balanceAtDefault = fs[f].balance
    fs[f].reserveAtDefault = fs[f].reserve
    order[defaults] = f
    defaults += 1
    rec?.kinds[f] = from < 0 ? kind : "cross-default"
    if state.pointee.defaultMonth == 0 { state.pointee.defaultMonth = m }
    entityDefault(core(f).pointee.obligor)
  }

  @inline(never) func entityDefault(_ e: Int) {
    if es[e].defaultAt == 0 { es[e].defaultAt = m }
    state.pointee.defaultEvent = true
  }

  /// An accelerated facility takes what its payer has, up to its claim:
  /// interest unpaid first, then principal.
  @inline(never) func collectClaim(_ f: Int, from e: Int, limit: Double = .infinity, kind: Transfer.Kind) {
    let take = min(max(0, es[e].cash), fs[f].claim, limit)
    guard take > 0.005 else { return }
    es[e].cash -= take
    fs[f].claim -= take
    fs[f].collected += take
    let i = min(take, fs[f].unpaidInterest)
    fs[f].unpaidInterest -= i
    pay(f, from: e, interest: i, principal: take - i, kind: kind)
  }

  /// The CFADS of the entity's fleets that are pledged to an accelerated
  /// facility goes down the liens on each fleet: a performing facility of
  /// this entity with a better lien keeps its month's payment, an
  /// accelerated one takes up to its claim.
  @inline(never) func collectFromCollateral(_ e: Int) {
    for k in entity(e).pointee.fleets {
      let fl = t.entityFleets[k]
      let liens = t.lienStart[fl]..<t.lienStart[fl &+ 1]
      // (With no accelerated facility on the fleet, the loop only counts
      // down its local pool: nothing moves.)
      var pool = min(max(0, fleetCFADS[fl]), max(0, es[e].cash))
      for l in liens where pool > 0.005 {
        let h = t.lienFacility[l]
        if fs[h].defaulted {
          let before = fs[h].collected
          collectClaim(h, from: e, limit: pool, kind: .collection)
          pool -= fs[h].collected - before
        } else if core(h).pointee.obligor == e {
          pool -= min(pool, fs[h].dueInterest + fs[h].duePrincipal)
        }
      }
    }
  }

  // MARK: Collateral tests

  /// A facility's collateral value this month: its fleets after the
  /// scenario's haircut, its coins at the month's price.
  @inline(always) func collateralValue(_ f: Int) -> (value: Double, coins: Double) {
    var coins = 0.0
    for c in t.pledgedStart[f]..<t.pledgedStart[f &+ 1] { coins += pledgedLeft[c] * pledgedPrice(c) }
    return (t.collateral[f &* months &+ m &- 1] * (1 - haircut) + coins, coins)
  }

  /// Borrowing-base prepayments (ABL) from the obligor's cash, and margin
  /// calls that sell pledged coins.
  @inline(always) func testCollateral(_ e: Int) {
    for f in entity(e).pointee.facilities where !fs[f].defaulted && fs[f].balance > 0.005 {
      let fac = core(f)
      guard fac.pointee.advanceRate != nil || fac.pointee.marginLTV != nil, m >= fac.pointee.drawMonth else { continue }
      var (value, coinValue) = collateralValue(f)
      if let adv = fac.pointee.advanceRate, fs[f].balance > adv * value + 0.005 {
        let need = fs[f].balance - adv * value
        let prepay = min(max(0, es[e].cash), need)
        es[e].cash -= prepay
        pay(f, from: e, interest: 0, principal: prepay, kind: .principal)
        if prepay < need - 0.005 {
          note(
m, f, "borrowing base", "balance above \(Format.percent(adv)) of collateral; \(Format.money(need - prepay)) not prepaid")
        }
      }
      let range = t.pledgedStart[f]..<t.pledgedStart[f &+ 1]
      if let margin = fac.pointee.marginLTV, !range.isEmpty, fs[f].balance > 0.005, value <= 0 || fs[f].balance > margin * value + 0.5 {
        // Sell pledged coins to bring LTV back to the margin level.
        let need = (fs[f].balance - margin * value) / (1 - margin)
        if value > 0, need <= coinValue + 0.005 {
          var left = need
          for c in range where left > 0.005 {
            let p = pledgedPrice(c)
            let sell = min(pledgedLeft[c], left / p)
            pledgedLeft[c] -= sell
            left -= sell * p
            fs[f].coinsSold += sell
          }
          pay(f, from: -1, interest: 0, principal: need, kind: .marginSale)
          if detail { rec?.transfers.append(Transfer(month: m, from: "collateral", to: fid(f), kind: .marginSale, amount: need)) }
          value -= need
          note(
m, f, "margin call", breach: false, "coins sold to repay \(Format.money(need))")
        } else {
          let owed = fs[f].balance
          recordDefault(f, kind: "margin call default") {
            "pledged coins worth \(Format.money(coinValue)) cannot cure LTV \(Self.ltvText(owed, value, decimals: 0))"
          }
        }
      }
    }
  }

  /// An LTV for an event's text ("∞" without collateral value). Called only
  /// inside the log's autoclosures, so a Monte Carlo path formats no text.
  static func ltvText(_ balance: Double, _ value: Double, decimals: Int) -> String {
    value > 0 ? Format.percent(balance / value, maxDecimals: decimals) : "∞"
  }

  // MARK: Coverage

  /// DSCR per facility on the obligor's numbers: its available CFADS over
  /// its scheduled debt service at the facility's rank and above, trailing
  /// twelve months since the draw. Breaches and cures of `min_dscr`, the
  /// start and end of `lockup_dscr` lock-ups. Returns whether a lock-up
  /// traps the entity's cash this month.
  @inline(always) func testCoverage(_ e: Int) -> Bool {
    let own = entity(e).pointee.facilities
    availableHistory[e &* months &+ m &- 1] = es[e].available
    var locked = false
    // Cumulative debt service at each rank: the facilities are in rank
    // order, so a running sum to the end of each rank's block.
    var running = 0.0
    for f in own {
      running += fs[f].dsNow
      let rank = core(f).pointee.rank
      if f &+ 1 == own.upperBound || core(f &+ 1).pointee.rank != rank {
        var g = f
        while g >= own.lowerBound, core(g).pointee.rank == rank {
          fs[g].cumulativeNow = running
          g -= 1
        }
      }
    }
    for f in own {
      let fac = core(f)
      // A defaulted facility is never tested again (a detail run still
      // reports its ratios).
      guard !fs[f].cancelled, m >= fac.pointee.drawMonth, detail || !fs[f].defaulted else { continue }
      let cumulative = fs[f].cumulativeNow
      guard detail || fac.pointee.minDSCR != nil || fac.pointee.lockupDSCR != nil || fac.pointee.refiMinDSCR != nil else { continue }
      dsHistory[f &* months &+ m &- 1] = cumulative
      fs[f].cf12 += es[e].available
      fs[f].ds12 += cumulative
      if m &- 12 >= fac.pointee.drawMonth {
        fs[f].cf12 -= availableHistory[e &* months &+ m &- 13]
        fs[f].ds12 -= dsHistory[f &* months &+ m &- 13]
      }
      guard !fs[f].defaulted, fs[f].balance > 0.005 else { continue }
      guard fs[f].ds12 > 0.005 else { continue }
      let trailing = fs[f].cf12 / fs[f].ds12
      if let minD = fac.pointee.minDSCR, (trailing < minD) != fs[f].breached { dscrEvent(f, trailing, minD) }
      if let lock = fac.pointee.lockupDSCR {
        if trailing < lock { locked = true }
        if (trailing < lock) != fs[f].lockedUp { lockUpEvent(f, e, trailing, lock) }
      }
    }
    return locked
  }

  /// A DSCR covenant breached, or cured.
  @inline(never) func dscrEvent(_ f: Int, _ trailing: Double, _ minD: Double) {
    fs[f].breached = trailing < minD
    if fs[f].breached {
      note(m, f, "dscr", "trailing DSCR \(String(format: "%.2f", trailing))x below \(String(format: "%.2f", minD))x")
    } else {
      note(m, f, "cure", breach: false, "trailing DSCR \(String(format: "%.2f", trailing))x back at or above \(String(format: "%.2f", minD))x")
    }
  }

  /// A lock-up starts, or ends.
  @inline(never) func lockUpEvent(_ f: Int, _ e: Int, _ trailing: Double, _ lock: Double) {
    fs[f].lockedUp = trailing < lock
    if fs[f].lockedUp {
      note(
        m, f, "lock-up", breach: false,
        "trailing DSCR \(String(format: "%.2f", trailing))x below \(String(format: "%.2f", lock))x: \(eid(e)) distributes nothing")
    } else {
      note(m, f, "lock-up ends", breach: false, "trailing DSCR \(String(format: "%.2f", trailing))x at or above \(String(format: "%.2f", lock))x")
    }
  }

  // MARK: Sweeps and distributions

  @inline(always) func sweep(_ e: Int) {
    for f in entity(e).pointee.facilities where !fs[f].defaulted && fs[f].balance > 0.005 {
      let share = core(f).pointee.sweepShare
      guard share > 0, es[e].cash > 0, m >= core(f).pointee.startMonth else { continue }
      let amount = min(es[e].cash * share, fs[f].balance)
      es[e].cash -= amount
      pay(f, from: e, interest: 0, principal: amount, kind: .principal)
    }
  }

  /// What is left goes to the parent, unless a lock-up traps it or the
  /// entity is in default; an entity with no parent keeps it.
  @inline(always) func distribute(_ e: Int, locked: Bool) {
    let parent = entity(e).pointee.parent
    es[e].trappedNow = locked && es[e].cash > 0.005
    guard parent >= 0, !locked, es[e].defaultAt == 0, es[e].cash > 0.005 else { return }
    let amount = es[e].cash
    es[e].cash = 0
    es[parent].cash += amount
    es[parent].available += amount
    es[e].distOut += amount
    es[parent].distIn += amount
    if detail {
      account[e].distributionsOut += amount
      account[parent].distributionsIn += amount
      recordMove(.distribution, from: eid(e), to: eid(parent), amount)
    }
  }

  // MARK: 5. The month's close

  /// Whether nothing is left to pay or to default: every facility is in
  /// default, cancelled or finished.
  @inline(always) func allSettledForGood() -> Bool { state.pointee.open == 0 }

  /// Facility f leaves the open ones (about to be marked in default,
  /// cancelled or finished): counted once, whichever comes first.
  @inline(always) func close(_ f: Int) {
    if !(fs[f].defaulted || fs[f].cancelled || fs[f].finished) { state.pointee.open -= 1 }
  }

  /// The deal's DSCR of the month into the run's minimum and average.
  @inline(always) func closeDSCR() {
    if dsDue > 0.005 {
      let d = cfads / dsDue
      // A select, not a branch: a path's new minimum comes at no month a
      // predictor could learn (NaN, the start, takes d).
      let low = state.pointee.minDSCR
      state.pointee.minDSCR = low <= d ? low : d
      state.pointee.dscrSum += d
      state.pointee.dscrCount += 1
    }
  }

  @inline(always) func closeMonth() {
    closeDSCR()
    if state.pointee.defaultMonth == m {
      for f in 0..<nf {
        fs[f].balanceAtDealDefault = fs[f].defaulted ? fs[f].claim - fs[f].unpaidInterest : fs[f].balance
        fs[f].reserveAtDealDefault = fs[f].reserve
      }
    }
    if fullHistory || state.pointee.defaultEvent {
      record(month: m)
      state.pointee.defaultEvent = false
    }
    if let rec { recordMonth(rec) }
  }

  /// What a detail run records of the month: covenants on lien-aware LTV,
  /// the deal's period, each facility's and entity's month.
  @inline(never) func recordMonth(_ rec: Recorder) {
    let plan = rec.plan
    let dscr: Double? = dsDue > 0.005 ? cfads / dsDue : nil
    // Lien-aware LTV of each facility, and its covenant.
    var ltvs = [Double?](repeating: nil, count: nf)
    let values = assetValues(plan)
    for f in 0..<nf where !fs[f].cancelled && m >= plan.facilities[f].drawMonth {
      let owed = fs[f].defaulted ? fs[f].claim : fs[f].balance
      ltvs[f] = lienAwareLTV(f, owed: owed, values, plan)
      let spec = plan.facilities[f]
      if let maxLTV = spec.maxLTV, !fs[f].defaulted, fs[f].balance > 0.005, !fs[f].ltvBreached {
        let secured = plan.isSecured(f)
        if let l = ltvs[f] ?? (secured ? .infinity : nil), l > maxLTV {
          fs[f].ltvBreached = true
          note(m, f, "ltv", "LTV \(l.isFinite ? Format.percent(l, maxDecimals: 1) : "∞") above \(Format.percent(maxLTV))")
        }
      }
    }
    // Deal LTV: all debt outstanding (defaulted claims included) over the
    // pledged fleets' market value and the pledged coins.
    var collateralNow = plan.totalCollateral[m - 1] * (1 - haircut)
    for c in 0..<pledgedLeft.count { collateralNow += pledgedLeft[c] * pledgedPrice(c) }
    var debtNow = 0.0, reserves = 0.0
    for f in 0..<nf {
      debtNow += fs[f].defaulted ? fs[f].claim : fs[f].balance
      reserves += fs[f].reserve
    }
    var kept = 0.0, trapped = 0.0
    for e in 0..<ne {
      account[e].closing = es[e].cash
      if entity(e).pointee.parent < 0, es[e].defaultAt == 0, !es[e].trappedNow { kept += max(0, account[e].sources - account[e].uses) }
      if es[e].trappedNow { trapped += es[e].cash }
      rec.entityPeriods[e].append(account[e])
    }
    rec.periods.append(
      Period(
        month: m, revenue: revenue, opex: opex, cfads: cfads, debtService: dsDue, dscr: dscr,
        ltv: collateralNow > 0 ? debtNow / collateralNow : (debtNow > 0.005 ? nil : 0), balance: debtNow, collateral: collateralNow,
        interest: interestMonth, principal: principalMonth, reserve: reserves, toEquity: kept, trapped: trapped))
    for f in 0..<nf {
      let e = plan.facilities[f].obligor
      // The coverage step writes the history only from the draw on (and
      // never for a cancelled facility): no ratio before.
      let tested = !fs[f].cancelled && m >= plan.facilities[f].drawMonth
      let cumulative = tested ? dsHistory[f &* months &+ m &- 1] : 0
      rec.facilityPeriods[f].append(
        FacilityPeriod(
          month: m, interest: fs[f].interestNow, principal: principalFlows[f &* months &+ m &- 1],
          balance: fs[f].defaulted ? fs[f].claim : fs[f].balance, dscr: cumulative > 0.005 ? es[e].available / cumulative : nil, ltv: ltvs[f]))
    }
  }

  /// This month's value of every pledged fleet (after the haircut) and of
  /// every facility's pledged coins.
  @inline(never) func assetValues(_ plan: WaterfallPlan) -> (fleets: [Double], coins: [Double]) {
    let fleets = (0..<plan.fleets.count).map { plan.fleetValue[$0 &* months &+ m &- 1] * (1 - haircut) }
    let coins = (0..<nf).map { f in
      (t.pledgedStart[f]..<t.pledgedStart[f + 1]).reduce(0.0) { $0 + pledgedLeft[$1] * pledgedPrice($1) }
    }
    return (fleets, coins)
  }

  /// This facility's balance and the balances of facilities with a better
  /// lien on its fleets (each counted for the share of its collateral those
  /// fleets are), over its collateral's value.
  @inline(never) func lienAwareLTV(_ f: Int, owed: Double, _ values: (fleets: [Double], coins: [Double]), _ plan: WaterfallPlan) -> Double? {
    let spec = plan.facilities[f]
    var value = values.coins[f]
    for fl in spec.pledgedFleets { value += values.fleets[fl] }
    var ahead = 0.0
    for (k, fl) in spec.pledgedFleets.enumerated() {
      for (g, lien) in plan.fleetLiens[fl] where g != f && lien < spec.pledgedLiens[k] {
        let other = plan.facilities[g]
        var total = values.coins[g]
        for x in other.pledgedFleets { total += values.fleets[x] }
        guard total > 0 else { continue }
        ahead += (fs[g].defaulted ? fs[g].claim : fs[g].balance) * values.fleets[fl] / total
      }
    }
    if value > 0 { return (owed + ahead) / value }
    return owed + ahead > 0.005 ? nil : 0
  }
}
