import DealCore
import Foundation

/// Working memory carved from one block: 8-byte-aligned pieces taken in
/// order. A counting pass (no block) sizes the block with the same calls
/// that carve it, so the two cannot drift apart.
struct Arena {
  private let base: UnsafeMutableRawPointer?
  private let capacity: Int
  private(set) var used = 0

  /// A counting arena: it hands out no memory, only adds up the sizes.
  init() {
    base = nil
    capacity = .max
  }

  /// An arena on a block of `capacity` bytes whose first `zeroed` bytes are
  /// zeroed at once: the pieces taken there need no filling of their own
  /// unless they start at another value. Pieces beyond (the run's
  /// histories) are written before they are read.
  init(_ base: UnsafeMutableRawPointer, capacity: Int, zeroed: Int) {
    self.base = base
    self.capacity = capacity
    base.initializeMemory(as: UInt8.self, repeating: 0, count: min(zeroed, capacity))
  }

  /// A piece of `n` values, all `v`; `v` is a trivial type's zero unless
  /// said otherwise (`filled: true`).
  /// Where the part a run zeroes ends (set by the run's init).
  private(set) var zeroedEnd = 0
  mutating func endZeroed() { zeroedEnd = used }

  @inline(always) mutating func take<T>(_ n: Int, _ v: T, filled: Bool = false) -> UnsafeMutableBufferPointer<T> {
    let bytes = (max(1, n) * MemoryLayout<T>.stride + 7) & ~7
    defer { used += bytes }
    guard let base else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
    precondition(used + bytes <= capacity, "the run's block is sized for its plan")
    let p = (base + used).bindMemory(to: T.self, capacity: max(1, n))
    if filled { p.initialize(repeating: v, count: max(1, n)) }
    return UnsafeMutableBufferPointer(start: p, count: n)
  }
}

/// The state of one waterfall run (SPEC §5.1): every entity's cash, every
/// facility's balance, reserve and claim, and the month's dues, in buffers
/// carved from one block, so the monthly loop allocates nothing and pays no
/// uniqueness checks. A month is a sequence of steps, one method each
/// (`WaterfallRun+Month.swift`); `WaterfallEngine.run` drives them.
struct WaterfallRun {
  /// The plan's tables (read through raw buffers, `t`, in the monthly
  /// loop); the run keeps them alive. The plan itself is kept only by a
  /// detail run's recorder: a Monte Carlo path copies no arrays.
  let tables: PlanTables
  let t: PlanTables.View
  let detail: Bool
  let paths: ScenarioPaths?
  let months: Int
  let nf: Int, ne: Int

  /// Per facility and per entity: their numbers side by side (see
  /// `FacilityState`, `EntityState`), so the loop reaches all of one
  /// facility's through one pointer.
  let fs: UnsafeMutableBufferPointer<FacilityState>
  let es: UnsafeMutableBufferPointer<EntityState>
  /// The default order (facility indices, `defaults` of them), and a queue
  /// for spreading a default along cross-defaults.
  let order, queue: UnsafeMutableBufferPointer<Int>
  /// By facility and month (`[f * months + m - 1]`): lender receipts,
  /// principal repaid, cumulative debt service at its rank.
  let receipts, principalFlows, dsHistory: UnsafeMutableBufferPointer<Double>

  /// By entity and month: the available CFADS, for trailing ratios.
  let availableHistory: UnsafeMutableBufferPointer<Double>
  /// Detail runs: this month's account of each entity.
  let account: UnsafeMutableBufferPointer<EntityPeriod>

  /// The run's histories in one piece (`RunHistory` reads them), at the
  /// end of every month m (m = 0: before the first), for what happens
  /// after a default (`liquidate`, a Monte Carlo path's recoveries): per
  /// facility its balance, reserve, interest due in the month and all it
  /// has been paid; per entity its cash; the coins left, pledged and free;
  /// the coin price factors. Rows of `months + 1`, in that order.
  let history: UnsafeMutablePointer<Double>
  /// Whether every month is recorded; else only the months in which a
  /// facility or an entity defaults — all a liquidation after the
  /// waterfall's own defaults reads (a Monte Carlo path's).
  let fullHistory: Bool
  /// A Monte Carlo path: once every facility is in default, repaid or
  /// cancelled, the months left only need the deal's DSCR (CFADS over the
  /// contractual debt service), not the entities' collections.
  let shortTail: Bool

  /// A Monte Carlo path's floating level loans, priced ahead (see
  /// `priceAhead`): by facility and month (`[f * months + m - 1]`), the
  /// monthly rate r, the payment per dollar owed r·g/(g − 1) and the
  /// annuity 1/g, where g = (1 + r)^left.
  let aheadRate, aheadPayment, aheadDiscount: UnsafeMutableBufferPointer<Double>

  // Per fleet: this month's CFADS.
  let fleetCFADS: UnsafeMutableBufferPointer<Double>
  // Coins left: pledged (per pledged coin) and free (per free coin).
  let pledgedLeft, freeLeft: UnsafeMutableBufferPointer<Double>

  /// The month's scalars and the run's totals, in the block like the
  /// rest: the run itself is an immutable value of pointers, so its
  /// methods take it by reference to memory nothing else writes, and the
  /// compiler keeps every buffer's address in a register.
  struct MonthState {
    var m = 0
    var coinBTC = 1.0, coinETH = 1.0
    var spotFactor = 1.0, utilizationChange = 0.0, rateChange = 0.0, deflationFactor = 1.0
    var revenue = 0.0, opex = 0.0, cfads = 0.0, dsDue = 0.0, interestMonth = 0.0, principalMonth = 0.0
    var anyDefault = false
    /// A default happened this month (its state goes into the histories).
    var defaultEvent = false
    /// Whether a guarantee call waits for its guarantor's step this month.
    var callsWaiting = false
    var defaults = 0
    var minDSCR = Double.nan, dscrSum = 0.0, dscrCount = 0
    var firstBreach = 0, defaultMonth = 0
    /// Facilities neither in default, cancelled nor finished.
    var open = 0
  }
  let state: UnsafeMutablePointer<MonthState>
  let deflationStep: Double?
  /// The scenario's factors, read once (a Monte Carlo path multiplies
  /// them by its own every month).
  let powerFactor, haircut, baseSpot, baseUtilization, baseRate, baseBTC, baseETH: Double

  var m: Int { get { state.pointee.m } nonmutating set { state.pointee.m = newValue } }
  var coinBTC: Double { get { state.pointee.coinBTC } nonmutating set { state.pointee.coinBTC = newValue } }
  var coinETH: Double { get { state.pointee.coinETH } nonmutating set { state.pointee.coinETH = newValue } }
  var spotFactor: Double { get { state.pointee.spotFactor } nonmutating set { state.pointee.spotFactor = newValue } }
  var utilizationChange: Double { get { state.pointee.utilizationChange } nonmutating set { state.pointee.utilizationChange = newValue } }
  var rateChange: Double { get { state.pointee.rateChange } nonmutating set { state.pointee.rateChange = newValue } }
  var deflationFactor: Double { get { state.pointee.deflationFactor } nonmutating set { state.pointee.deflationFactor = newValue } }
  var revenue: Double { get { state.pointee.revenue } nonmutating set { state.pointee.revenue = newValue } }
  var opex: Double { get { state.pointee.opex } nonmutating set { state.pointee.opex = newValue } }
  var cfads: Double { get { state.pointee.cfads } nonmutating set { state.pointee.cfads = newValue } }
  var dsDue: Double { get { state.pointee.dsDue } nonmutating set { state.pointee.dsDue = newValue } }
  var interestMonth: Double { get { state.pointee.interestMonth } nonmutating set { state.pointee.interestMonth = newValue } }
  var principalMonth: Double { get { state.pointee.principalMonth } nonmutating set { state.pointee.principalMonth = newValue } }
  /// Whether any facility is accelerated (collections run only then).
  var anyDefault: Bool { get { state.pointee.anyDefault } nonmutating set { state.pointee.anyDefault = newValue } }
  var callsWaiting: Bool { get { state.pointee.callsWaiting } nonmutating set { state.pointee.callsWaiting = newValue } }
  var defaults: Int { get { state.pointee.defaults } nonmutating set { state.pointee.defaults = newValue } }
  var minDSCR: Double? { state.pointee.minDSCR.isNaN ? nil : state.pointee.minDSCR }
  var firstBreachMonth: Int? { state.pointee.firstBreach > 0 ? state.pointee.firstBreach : nil }
  var defaultMonth: Int? { state.pointee.defaultMonth > 0 ? state.pointee.defaultMonth : nil }

  /// What a detail run records besides the numbers: event texts, the
  /// monthly periods of the deal, of each facility and each entity, the
  /// transfers. Nil for a Monte Carlo path, which records none of them.
  final class Recorder {
    /// The plan, for what only a detail run shows (lien-aware LTV, ids).
    let plan: WaterfallPlan
    var breaches: [Breach] = []
    /// Why each facility defaulted, by index.
    var kinds: [String?]
    var periods: [Period] = []
    var facilityPeriods: [[FacilityPeriod]]
    var entityPeriods: [[EntityPeriod]]
    var transfers: [Transfer] = []

    init(_ plan: WaterfallPlan) {
      self.plan = plan
      kinds = [String?](repeating: nil, count: plan.facilities.count)
      periods.reserveCapacity(plan.months)
      facilityPeriods = [[FacilityPeriod]](repeating: [], count: plan.facilities.count)
      entityPeriods = [[EntityPeriod]](repeating: [], count: plan.entities.count)
    }
  }
  let rec: Recorder?

  /// A facility's id, an entity's (for texts and results).
  func fid(_ f: Int) -> String { tables.facilityIDs[f] }
  func eid(_ e: Int) -> String { tables.entityIDs[e] }

  /// An event; a breach (not a cure or the end of a lock-up) also sets the
  /// first breach month. Without a recorder no text is formatted.
  func note(_ month: Int, _ f: Int, _ kind: String, breach: Bool = true, _ detail: @autoclosure () -> String) {
    if let rec { rec.breaches.append(Breach(month: month, facility: fid(f), kind: kind, detail: detail())) }
    if breach, state.pointee.firstBreach == 0 { state.pointee.firstBreach = month }
  }

  /// Bytes a run of `plan` needs: the same takes as `init`, counted.
  /// `zeroed`: the part a detail run zeroes; `leanZeroed`: a run without
  /// detail's (no receipts by month, no entity accounts).
  static func bytes(_ plan: borrowing WaterfallPlan) -> (total: Int, zeroed: Int, leanZeroed: Int) {
    var a = Arena()
    _ = WaterfallRun(plan, Scenario(), detail: true, paths: nil, arena: &a)  // the larger of the two
    var lean = Arena()
    _ = WaterfallRun(plan, Scenario(), detail: false, paths: nil, arena: &lean)
    return (a.used, a.zeroedEnd, lean.zeroedEnd)
  }

  init(
    _ plan: borrowing WaterfallPlan, _ sc: borrowing Scenario, detail: Bool, history: Bool = true, shortTail: Bool = false, paths: ScenarioPaths?,
    arena a: inout Arena
  ) {
    tables = plan.tables!
    t = tables.view
    self.detail = detail
    self.fullHistory = detail || history
    self.shortTail = shortTail && !detail
    self.paths = paths
    let nf = t.core.count, ne = t.entities.count, months = t.months
    self.months = months
    self.nf = nf
    self.ne = ne
    // Taken one by one, in this order, each straight into its field: no
    // array of buffers, so a run allocates nothing but its block.
    fs = a.take(nf, FacilityState(), filled: true)
    order = a.take(nf, 0); queue = a.take(nf, 0)
    // Receipts and principal by month only for a detail run (its flows,
    // IRR and WAL); a Monte Carlo path needs neither.
    receipts = a.take(detail ? nf * months : 0, 0.0); principalFlows = a.take(detail ? nf * months : 0, 0.0)
    es = a.take(ne, EntityState(), filled: true)
    account = a.take(detail ? ne : 0, EntityPeriod(month: 0))  // a detail run's only
    fleetCFADS = a.take(t.fleetCount, 0.0)
    pledgedLeft = a.take(t.pledgedAmount.count, 0.0)
    freeLeft = a.take(t.freeAmount.count, 0.0)
    state = a.take(1, MonthState(), filled: true).baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
    // Last: the histories, which every month overwrites (not zeroed).
    a.endZeroed()
    // Trailing-ratio histories: a month is written before any later month
    // reads it.
    dsHistory = a.take(nf * months, 0.0)
    availableHistory = a.take(ne * months, 0.0)
    let rows = 4 * nf + ne + t.pledgedAmount.count + t.freeAmount.count + 2
    self.history = a.take(rows * (months + 1), 0.0).baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!
    // Written by `priceAhead` before they are read, like the histories.
    aheadRate = a.take(nf * months, 0.0); aheadPayment = a.take(nf * months, 0.0); aheadDiscount = a.take(nf * months, 0.0)
    deflationStep = sc.deflation.map { Foundation.pow(1 - $0, 1.0 / 12) }
    powerFactor = sc.powerFactor
    haircut = sc.haircut
    baseSpot = sc.spotFactor
    baseUtilization = sc.utilizationChange
    baseRate = sc.rateChange
    baseBTC = sc.btcFactor
    baseETH = sc.ethFactor
    rec = detail && fs.baseAddress != nil ? Recorder(copy plan) : nil
  }

  /// The state before the first month (a method of its own: one called
  /// from `init` would make the compiler copy the whole run).
  func start() {
    state.pointee.coinBTC = baseBTC
    state.pointee.coinETH = baseETH
    state.pointee.spotFactor = baseSpot
    state.pointee.utilizationChange = baseUtilization
    state.pointee.rateChange = baseRate
    state.pointee.open = nf
    for f in 0..<nf {
      fs[f].reserve = t.core[f].reserveCash
      fs[f].maturity = t.core[f].maturity
    }
    for e in 0..<ne {
      es[e].cash = t.entities[e].cash
      es[e].live = t.entities[e].facilities.count
      es[e].performing = t.entities[e].facilities.count
    }
    for k in 0..<pledgedLeft.count { pledgedLeft[k] = t.pledgedAmount[k] }
    for k in 0..<freeLeft.count { freeLeft[k] = t.freeAmount[k] }
    if let p = paths { for f in 0..<nf { priceAhead(f, p) } }
    record(month: 0)
  }

  /// A Monte Carlo path's floating level loan re-prices its annuity every
  /// month, as its rate moves: a division and a chain of a dozen dependent
  /// multiplications that the rest of the month waited for, and a second
  /// division between the balance and the payment. Its rates and factors
  /// depend only on the path, so they are taken here for every month of its
  /// term at once, in loops the compiler vectorises: the rate and
  /// (1 + r)^left by the same operations in the same order as
  /// `monthlyRate` and `Rates.growthFactor` (multiplying by 1 where a
  /// month's exponent has no more bits is exact), then the payment per
  /// dollar owed, so that the month's payment is one multiplication
  /// (within an ulp or two of `Rates.levelPayment`, which divides last).
  func priceAhead(_ f: Int, _ p: ScenarioPaths) {
    let c = core(f)
    fs[f].pricedAhead = false
    guard c.pointee.floating, c.pointee.amort == .level else { return }
    let maturity = c.pointee.maturity, lo = max(1, c.pointee.startMonth), hi = min(maturity, months)
    guard lo <= hi, let path = p.rate.baseAddress, let ratePlane = aheadRate.baseAddress,
      let growthPlane = aheadPayment.baseAddress, let discountPlane = aheadDiscount.baseAddress
    else { return }
    // From month `lo` on, n months, the exponent of month lo + i being
    // top − i. Wrapping arithmetic and counted loops: no overflow checks,
    // which would keep the compiler from vectorising.
    let n = hi &- lo &+ 1, top = maturity &- lo &+ 1, from = f &* months &+ lo &- 1
    // growth: g, then the payment factor; power: (1 + r)^(2^bit), then 1/g.
    let rate = ratePlane + from, growth = growthPlane + from, power = discountPlane + from
    let moves = path + (lo &- 1)
    let shift = baseRate, spread = c.pointee.spread
    // As `factors` and `monthlyRate` take it.
    for i in 0..<n { rate[i] = (max(0, Rates.base + (shift + moves[i])) + spread) / 12 }
    if top < 256 {
      // Eight bits for every month (a fixed count the compiler unrolls,
      // which leaves one loop over the months to vectorise).
      for i in 0..<n {
        var g = 1.0, p = 1 + rate[i], e = top &- i
        for _ in 0..<8 {
          g *= e & 1 == 0 ? 1.0 : p
          p *= p
          e &>>= 1
        }
        growth[i] = g
      }
    } else {
      for i in 0..<n { growth[i] = Rates.growthFactor(rate[i], months: top &- i) }
    }
    for i in 0..<n {
      let g = growth[i]
      power[i] = 1 / g
      growth[i] = rate[i] * g / (g - 1)  // the payment per dollar owed (r > 0; else unused)
    }
    fs[f].pricedAhead = true
  }

  /// Writes the histories' entries for the end of month `month`.
  @inline(always) func record(month: Int) {
    let h = months + 1
    var row = history + month
    for f in 0..<nf { row[f * h] = fs[f].balance }
    row += nf * h
    for f in 0..<nf { row[f * h] = fs[f].reserve }
    row += nf * h
    for f in 0..<nf { row[f * h] = month == 0 ? 0 : fs[f].dueInterest }
    row += nf * h
    for f in 0..<nf { row[f * h] = fs[f].interestPaid + fs[f].principalPaid }
    row += nf * h
    for e in 0..<ne { row[e * h] = es[e].cash }
    row += ne * h
    for k in 0..<pledgedLeft.count { row[k * h] = pledgedLeft[k] }
    row += pledgedLeft.count * h
    for k in 0..<freeLeft.count { row[k * h] = freeLeft[k] }
    row += freeLeft.count * h
    row[0] = coinBTC
    row[h] = coinETH
  }
}

/// One facility's numbers in a run (SPEC §5.1), the month's first.
struct FacilityState {
  /// This month: interest and principal due, what was paid towards them,
  /// the contractual debt service (for DSCR), what is still called on
  /// guarantors, interest received; the balance the interest is on.
  var dueInterest = 0.0, duePrincipal = 0.0, paidNow = 0.0, dsNow = 0.0, callLeft = 0.0, interestNow = 0.0
  var scheduledBalance = 0.0
  var balance = 0.0, reserve = 0.0, claim = 0.0, unpaidInterest = 0.0
  /// A level loan's (1 + r)^−left and the rate it was taken at; the
  /// contractual balance of a defaulted facility (−1: not yet set); the
  /// last regular payment.
  var annuity = 0.0, annuityRate = 0.0, shadow = -1.0, lastDue = 0.0
  /// Trailing 12-month sums since the draw: the obligor's available CFADS
  /// and the cumulative debt service at the facility's rank; this month's
  /// scheduled debt service of the obligor at its rank and above.
  var cf12 = 0.0, ds12 = 0.0, cumulativeNow = 0.0
  var interestPaid = 0.0, principalPaid = 0.0
  /// Pricing (SPEC §5.2 `spread_to_price`), discounted at the base rate:
  /// principal received while performing (and the value of shares on
  /// conversion, a balance left at the horizon at par), the balances on
  /// which a month's interest was paid in full, interest paid in part in
  /// the default month.
  var pvPrincipal = 0.0, pvBalance = 0.0, pvOther = 0.0
  var exposure = 0.0
  var claimAtDefault = 0.0, collected = 0.0, refinancing = 0.0, coinsSold = 0.0, guarantorPaid = 0.0
  var balanceAtDefault = 0.0, reserveAtDefault = 0.0, balanceAtDealDefault = 0.0, reserveAtDealDefault = 0.0
  /// Its maturity in this run (a refinancing moves it); the month it
  /// defaulted (or was cancelled); the next guarantor to call.
  var maturity = 0, defaultAt = 0, callNext = 0
  var defaulted = false, cancelled = false, converted = false, breached = false, ltvBreached = false, lockedUp = false
  /// This month's payment made (or nothing due).
  var settled = false
  /// Past its maturity (or cancelled): the monthly loop skips it.
  var finished = false
  /// Refinanced: then a level loan at the base rate plus `refi_spread`.
  var refinanced = false
  /// Its rates and annuity factors are priced ahead (`priceAhead`).
  var pricedAhead = false
}

/// One entity's numbers in a run.
struct EntityState {
  var cash = 0.0
  /// This month: CFADS available (own fleets and distributions received).
  var available = 0.0
  var distIn = 0.0, distOut = 0.0, guarIn = 0.0, guarOut = 0.0, coinSales = 0.0
  /// The month it went into default (0: never); how many of its
  /// facilities are not finished; how many are neither in default nor
  /// cancelled (none: no covenant, collateral test or sweep is left to run).
  var defaultAt = 0, live = 0, performing = 0
  /// Whether its guarantee step has passed this month (a call made after
  /// it is paid at once); whether a lock-up trapped its cash.
  var processed = false, trappedNow = false
}
