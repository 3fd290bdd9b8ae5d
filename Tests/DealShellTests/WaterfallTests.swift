import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `waterfall`: schedules against spreadsheet references and hand
/// computations, covenants, reserves, margin calls, guarantees, edge cases.
@Suite("waterfall")
struct WaterfallTests {
  /// A deal whose cash flow is easy to compute by hand: 100 GPUs at
  /// $2.00/h, 100 % utilization, no power cost (power_price 0).
  func deal(horizon: Int = 60, leaseTerm: Int = 120, rate: Double = 2.0, extra: [String] = []) -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=\(horizon)")
    // The SPV distributes its excess to a sponsor that owes nothing (and
    // guarantees nothing unless a test says so).
    t.ok("add entity eq type=sponsor")
    t.ok("add entity co type=spv parent=eq")
    t.ok("add asset site type=site mw=1 power_price=0 pue=1")
    t.ok("add asset fleet type=gpu model=H100 units=100 unit_cost=30000 life=120 salvage=0 obsolescence=none owner=co site=site")
    t.ok("add contract l type=lease rate=\(rate) utilization=100% term=\(leaseTerm) spot_rate=1 deflation=50% fleet=fleet")
    for line in extra { t.ok(line) }
    return t
  }

  func periods(_ j: JSONValue) -> [JSONValue] { j["periods"]?.arrayValue ?? [] }
  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }

  @Test("level amortization matches the spreadsheet's PMT, IPMT and PPMT examples")
  func spreadsheetPMT() {
    // PMT(8%/12, 10, 10000) = -1,037.03
    let a = deal(horizon: 12, extra: ["add facility f type=term amount=10000 rate=8% term=10 borrower=co"])
    let pa = periods(a.json("waterfall"))
    for k in 0..<10 { #expect(abs(num(pa[k], "debt_service") - 1037.03) < 0.01, "month \(k + 1)") }
    // IPMT(10%/12, 1, 3*12, 8000) = -66.67
    let b = deal(horizon: 12, extra: ["add facility f type=term amount=8000 rate=10% term=36 borrower=co"])
    #expect(abs(num(periods(b.json("waterfall"))[0], "interest") - 66.67) < 0.005)
    // PPMT(10%/12, 1, 2*12, 2000) = -75.62
    let c = deal(horizon: 12, extra: ["add facility f type=term amount=2000 rate=10% term=24 borrower=co"])
    #expect(abs(num(periods(c.json("waterfall"))[0], "principal") - 75.62) < 0.005)
  }

  @Test("a 60-month level schedule: every month's interest, principal and balance to the cent")
  func levelSchedule() {
    let t = deal(extra: ["add facility f type=term amount=$1m rate=9% term=60 borrower=co"])
    let p = periods(t.json("waterfall"))
    let r = 0.09 / 12, n = 60.0, amount = 1_000_000.0
    let pmt = amount * r / (1 - pow(1 + r, -n))
    var bal = amount
    for k in 0..<60 {
      let interest = bal * r
      let principal = pmt - interest
      bal -= principal
      #expect(abs(num(p[k], "interest") - interest) < 0.006, "interest month \(k + 1)")
      #expect(abs(num(p[k], "principal") - principal) < 0.006, "principal month \(k + 1)")
      #expect(abs(num(p[k], "balance") - max(0, bal)) < 0.01, "balance month \(k + 1)")
    }
    let f = t.json("waterfall")["facilities"]?["f"]
    #expect(num(f, "balance_end") == 0 && num(f, "loss") == 0)
    #expect(abs(num(f, "irr") - (pow(1 + r, 12) - 1)) < 1e-4, "the lender earns the coupon")
  }

  @Test("revenue, power, CFADS and DSCR by hand; spot deflation after a 12-month term")
  func revenueByHand() {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=24")
    t.ok("add entity co type=spv")
    t.ok("add asset site type=site mw=1 power_price=0.10 pue=1.5")
    t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=30000 kw=1 opex=50 owner=co site=site obsolescence=none")
    t.ok("add contract l type=lease rate=2.50 utilization=80% term=12 take_or_pay=90% spot_rate=2 deflation=36% fleet=fleet")
    t.ok("add facility f type=term amount=$10m rate=6% term=24 amort=straight borrower=co")
    let p = periods(t.json("waterfall"))
    // In the term the take-or-pay floor (90 %) beats utilization (80 %).
    let revenue1 = 1000 * 730 * 2.50 * 0.90
    let power = 1000 * 1.0 * 1.5 * 730 * 0.10
    let opex = power + 1000 * 50
    #expect(abs(num(p[0], "revenue") - revenue1) < 0.01)
    #expect(abs(num(p[0], "opex") - opex) < 0.01)
    #expect(abs(num(p[0], "cfads") - (revenue1 - opex)) < 0.01)
    let ds1 = 10_000_000 / 24.0 + 10_000_000 * 0.06 / 12
    #expect(abs(num(p[0], "debt_service") - ds1) < 0.01)
    #expect(abs(num(p[0], "dscr") - ((revenue1 - opex) / ds1)) < 0.0001)
    // Month 13: spot 2.00 × (1 − 36 %)^(13/12) at 80 % utilization.
    let revenue13 = 1000 * 0.80 * 730 * 2.0 * pow(0.64, 13.0 / 12)
    #expect(abs(num(p[12], "revenue") - revenue13) < 0.01)
  }

  @Test("sculpted debt: debt service = CFADS / target DSCR each month, repaid exactly over the term")
  func sculpted() throws {
    // With no target, dealsh finds the one that repays exactly.
    let t = deal(horizon: 48, leaseTerm: 24, extra: ["add facility f type=term amount=$2m rate=8% term=36 amort=sculpted borrower=co"])
    let j = t.json("waterfall")
    let p = periods(j)
    let target = num(p[0], "dscr")
    for k in 0..<36 { #expect(abs(num(p[k], "dscr") - target) < 1e-3, "month \(k + 1): \(num(p[k], "dscr")) vs \(target)") }
    #expect(abs(num(p[35], "balance")) < 0.01)
    #expect(num(j["facilities"]?["f"], "balance_end") < 0.01)
    // With a target, the schedule follows it.
    let u = deal(horizon: 48, leaseTerm: 24, extra: ["add facility f type=term amount=$1m rate=8% term=36 amort=sculpted target_dscr=1.5x borrower=co"])
    #expect(abs(num(periods(u.json("waterfall"))[3], "dscr") - 1.5) < 1e-3)
  }

  @Test("the trailing-12-month DSCR covenant trips in the month a hand computation says")
  func dscrCovenant() {
    // CFADS 146,000 a month for 12 months, then 0; debt service 100,000.
    let t = deal(horizon: 24, leaseTerm: 12, extra: [
      "set l deflation=100%",
      "add facility f type=term amount=$2.4m rate=0% term=24 amort=straight min_dscr=1.2x borrower=co",
      "add asset cash type=cash amount=$10m owner=co pledged_to=f",
    ])
    let j = t.json("waterfall")
    // Trailing DSCR after month m > 12: 146,000 × (24 − m) / 1,200,000; below 1.2 first at m = 15.
    var expected: Int? = nil
    for m in 13...24 where expected == nil {
      let cf = 146_000.0 * Double(max(0, 24 - m))
      if cf / 1_200_000 < 1.2 { expected = m }
    }
    let breach = j["breaches"]?.arrayValue?.first { $0["kind"] == "dscr" }
    #expect(breach?["month"]?.numberValue == Double(expected ?? -1))
    #expect(j["default_month"] == .null, "the reserve pays while cash is short")
  }

  @Test("a reserve (DSRA) delays a payment default by the months it covers")
  func reserveDelaysDefault() {
    func defaultMonth(reserve: String?) -> Double? {
      var extra = [
        "set l deflation=100%", "add facility f type=term amount=$2.4m rate=0% term=24 amort=straight borrower=co",
      ]
      if let reserve { extra.append("add asset cash type=cash amount=\(reserve) owner=co pledged_to=f") }
      return deal(horizon: 24, leaseTerm: 12, extra: extra).json("waterfall")["default_month"]?.numberValue
    }
    #expect(defaultMonth(reserve: nil) == 13, "revenue stops after month 12")
    #expect(defaultMonth(reserve: "$300k") == 16, "three months of 100,000")
    #expect(defaultMonth(reserve: "$350k") == 16, "not quite four")
  }

  @Test("a margin call sells exactly the coins needed; a 100 % drawdown defaults")
  func marginCall() {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=12")
    t.ok("add entity m type=miner")
    t.ok("add asset coins type=crypto coin=BTC amount=100 price=100000 owner=m")
    t.ok("add facility loan type=term amount=$5m rate=0% term=12 amort=bullet margin_ltv=60% borrower=m")
    t.ok("link coins pledged-to loan")
    // LTV 50 % at $100k: no call.
    #expect(t.json("waterfall")["facilities"]?["loan"]?["coins_sold"] == 0)
    // At $75k the coins are worth 7.5m; LTV 66.7 % > 60 %. Selling x coins:
    // (5m − 75k·x) / (7.5m − 75k·x) = 60 %  ⇒  30k·x = 0.5m  ⇒  x = 16.67
    t.ok("set coins price=75000")
    let j = t.json("waterfall")
    #expect(abs(num(j["facilities"]?["loan"], "coins_sold") - 50.0 / 3) < 1e-6)
    #expect(abs(num(periods(j)[0], "ltv") - 0.6) < 1e-9, "cured to the margin level exactly")
    let call = j["breaches"]?.arrayValue?.first { $0["kind"] == "margin call" }
    #expect(call?["month"] == 1)
    // A 100 % drawdown: nothing to sell, the loan defaults.
    t.ok("set coins price=0")
    let k = t.json("waterfall")
    #expect(k["default_month"] == 1)
    #expect(k["breaches"]?.arrayValue?.first?["kind"] == "margin call default")
  }

  @Test("a guarantor pays the obligor's shortfall until its own cash and coins run out")
  func guarantor() {
    let t = deal(horizon: 24, leaseTerm: 12, extra: [
      "set l deflation=100%",
      "add facility f type=term amount=$2.4m rate=0% term=24 amort=straight borrower=co",
      "add entity parent type=sponsor", "link parent guarantees f",
      "add asset pcash type=cash amount=$250k owner=parent", "add asset pbtc type=crypto coin=BTC amount=1 price=100000 owner=parent",
    ])
    let j = t.json("waterfall")
    // 350,000 of support pays months 13, 14, 15 (300,000) and 50,000 of month 16.
    #expect(j["default_month"] == 16)
    #expect(num(j["facilities"]?["f"], "guarantor_paid") == 350_000)
  }

  @Test("edge cases: zero revenue, a lease ending in month 1, a facility longer than the horizon, a later draw")
  func edgeCases() {
    // Zero revenue: the first payment defaults.
    let z = deal(horizon: 12, rate: 0, extra: ["add facility f type=term amount=1000 rate=5% term=12 borrower=co"])
    #expect(z.json("waterfall")["default_month"] == 1)
    // A lease ending in month 1: contract revenue in month 1, spot after.
    let one = deal(horizon: 3, leaseTerm: 1, extra: ["add facility f type=term amount=1000 rate=5% term=3 borrower=co"])
    let p = periods(one.json("waterfall"))
    #expect(abs(num(p[0], "revenue") - 100 * 730 * 2.0) < 0.01)
    #expect(abs(num(p[1], "revenue") - 100 * 730 * 1.0 * pow(0.5, 2.0 / 12)) < 0.01)
    // Longer than the horizon: the balance left is reported, no loss.
    let long = deal(horizon: 12, extra: ["add facility f type=term amount=$1m rate=9% term=60 borrower=co"])
    let f = long.json("waterfall")["facilities"]?["f"]
    #expect(num(f, "balance_end") > 800_000 && num(f, "loss") == 0)
    // Drawn later: nothing due before its start month.
    let later = deal(horizon: 12, extra: ["add facility f type=term amount=$1m rate=9% term=60 start=2025-07 borrower=co"])
    let q = periods(later.json("waterfall"))
    #expect(num(q[5], "debt_service") == 0 && num(q[6], "debt_service") > 0)
  }

  @Test("a convertible converts when the share price is at or above the conversion price, else needs refinancing")
  func convertible() {
    func run(_ share: Int) -> JSONValue {
      deal(horizon: 12, extra: ["add facility c type=convertible amount=$1m rate=2% term=6 amort=bullet conversion_price=20 share_price=\(share) borrower=co"])
        .json("waterfall")
    }
    let yes = run(25)
    #expect(yes["facilities"]?["c"]?["converted"] == true)
    #expect(yes["default_month"] == .null)
    let no = run(15)
    #expect(no["facilities"]?["c"]?["refinancing_need"] == 1_000_000)
    #expect(no["breaches"]?.arrayValue?.contains { $0["kind"] == "no conversion" } == true)
  }

  @Test("payment by rank: the senior is paid first; cross-default spreads a default")
  func rankAndCrossDefault() {
    let t = deal(horizon: 24, leaseTerm: 12, extra: [
      "set l deflation=100%",
      "add facility senior type=term amount=$1.2m rate=0% term=24 amort=straight rank=1 borrower=co",
      "add facility junior type=mezz amount=$2.4m rate=0% term=24 amort=straight rank=2 borrower=co",
      "link junior cross-default senior",
    ])
    let j = t.json("waterfall")
    #expect(j["defaulted"] == ["junior", "senior"], "the junior fails first, the senior by cross-default")
    #expect(j["breaches"]?.arrayValue?.first?["facility"] == "junior")
  }

  @Test("bad input: unknown scenario, months beyond the horizon, no facility")
  func badInput() {
    let t = deal(horizon: 12)
    #expect(t.run("waterfall").output.contains("the deal has no facility to pay"))
    t.ok("add facility f type=term amount=1000 rate=5% term=12 borrower=co")
    #expect(t.run("waterfall scenario=bear").output.contains("unknown scenario 'bear'"))
    #expect(t.run("waterfall months=13").output.contains("invalid value '13' for 'months'"))
    #expect(t.run("waterfall --chart pie").output.contains("unknown chart 'pie'"))
  }

  @Test("a lock-up traps cash below lockup_dscr; an ABL above its borrowing base prepays or breaches")
  func lockupAndBorrowingBase() {
    // CFADS 146,000 a month; a level loan needing ~110,000: DSCR ~1.33x.
    let locked = deal(horizon: 12, extra: ["add facility f type=term amount=$1.25m rate=6% term=12 lockup_dscr=1.5x borrower=co"])
    let p = periods(locked.json("waterfall"))
    #expect(num(p[0], "to_equity") == 0 && num(p[0], "trapped") > 0, "below 1.5x: no distribution")
    let open = deal(horizon: 12, extra: ["add facility f type=term amount=$1.25m rate=6% term=12 lockup_dscr=1.2x borrower=co"])
    #expect(num(periods(open.json("waterfall"))[0], "to_equity") > 0)
    // ABL: 50 % advance on a fleet worth 3m (straight line over 120 months,
    // no salvage): borrowing base 1.475m after month 1; a 2m balance must
    // prepay the excess from cash, which is not enough: a breach.
    let abl = deal(horizon: 12, extra: [
      "add facility a type=abl amount=$2m rate=0% term=12 amort=bullet advance_rate=50% borrower=co",
      "link fleet pledged-to a",
    ])
    let j = abl.json("waterfall")
    let first = periods(j)[0]
    #expect(abs(num(first, "principal") - 146_000) < 0.01, "all the month's cash prepays the excess")
    #expect(j["breaches"]?.arrayValue?.first?["kind"] == "borrowing base")
  }

  @Test("a run's numbers do not depend on what its working block held before", arguments: [
    "neocloud-abl", "miner-double-leverage", "datacenter-project-finance", "draw-in-month-7",
  ])
  func blockContentsDoNotLeak(_ name: String) throws {
    let t: TestShell
    if name == "draw-in-month-7" {
      // A facility drawn in month 7 beside one drawn in month 1: the months
      // before its draw have no history of their own.
      t = deal(horizon: 12, extra: [
        "add facility a type=term amount=$1.2m rate=0% term=12 amort=straight rank=1 borrower=co",
        "add facility b type=term amount=$0.6m rate=0% term=6 amort=straight rank=2 start=2025-07 min_dscr=1x borrower=co",
      ])
    } else {
      t = TestShell()
      t.ok("open \(TestShell.repositoryRoot)/Sessions/\(name).deal")
      t.ok("deal horizon=120")
    }
    let plan = try DealAnalysis(session: t.shell.session, schema: t.shell.schema).plan()
    let block = UnsafeMutableRawPointer.allocate(byteCount: plan.arenaBytes, alignment: 16)
    defer { block.deallocate() }
    for detail in [true, false] {
      var results: [WaterfallResult] = []
      for pattern: UInt8 in [0x00, 0x5A, 0xC3] {
        block.initializeMemory(as: UInt8.self, repeating: pattern, count: plan.arenaBytes)
        results.append(WaterfallEngine.run(plan, Scenario(), detail: detail, scratch: block))
      }
      for r in results.dropFirst() {
        #expect(r.facilities == results[0].facilities, "\(name), detail \(detail)")
        #expect(r.entities == results[0].entities)
        #expect(r.periods == results[0].periods)
        #expect(r.minDSCR == results[0].minDSCR && r.defaultMonth == results[0].defaultMonth)
      }
    }
  }

  @Test("a floating level loan re-prices its payment when the base rate moves, and still amortizes to zero")
  func floatingRepricing() throws {
    let t = deal(horizon: 36, extra: ["add facility f type=term amount=$1m floating=true spread=5% term=36 borrower=co"])
    let plan = try WaterfallPlan.compile(t.shell.session, schema: t.shell.schema, marketValues: [:])
    let paths = ScenarioPaths(months: 36, fleets: plan.fleets.count)
    for m in 12..<36 { paths.rate[m] = 0.02 }  // +200 bp from month 13
    let r = WaterfallEngine.run(plan, Scenario(), detail: true, paths: paths)
    let r1 = (Rates.base + 0.05) / 12, r2 = (Rates.base + 0.07) / 12
    var balance = 1_000_000.0
    let pmt1 = balance * r1 / (1 - pow(1 + r1, -36))
    for m in 1...12 { balance -= pmt1 - balance * r1; _ = m }
    // From month 13, PMT at the new rate on the balance left over 24 months.
    let pmt2 = balance * r2 / (1 - pow(1 + r2, -24))
    #expect(abs(r.periods[0].debtService - pmt1) < 0.01)
    #expect(abs(r.periods[11].debtService - pmt1) < 0.01)
    #expect(abs(r.periods[12].debtService - pmt2) < 0.01)
    #expect(abs(r.periods[35].debtService - pmt2) < 0.01)
    #expect(r.facilities[0].balanceEnd < 0.01 && r.defaultMonth == nil)
  }

  @Test("a Monte Carlo path's floating level loans are priced ahead: the same rates and annuities as month by month, the same payments", arguments: [
    (term: 36, start: "", rate: 0.01), (term: 48, start: "start=2025-07", rate: 0.03), (term: 300, start: "start=2025-03", rate: 0.02),
  ])
  func pricedAhead(_ c: (term: Int, start: String, rate: Double)) throws {
    // Horizons shorter and longer than the term; a loan over 255 months
    // takes the general squaring (the others eight fixed bits).
    for horizon in [24, c.term + 12] {
      let t = deal(horizon: horizon, extra: [
        "add facility f type=term amount=$1m floating=true spread=5% term=\(c.term) \(c.start) borrower=co",
        "add facility g type=term amount=$1m rate=8% term=24 borrower=co",
      ])
      let plan = try WaterfallPlan.compile(t.shell.session, schema: t.shell.schema, marketValues: [:])
      let paths = ScenarioPaths(months: horizon, fleets: plan.fleets.count)
      var rng = SeededRandom(seed: 11)
      for m in 0..<horizon { paths.rate[m] = (rng.unit() - 0.6) * 2 * c.rate }  // some months floored at 0
      let block = UnsafeMutableRawPointer.allocate(byteCount: plan.arenaBytes, alignment: 16)
      defer { block.deallocate() }
      let scenario = Scenario(values: [.rate: 0.004])
      let run = WaterfallEngine.simulate(plan, scenario, detail: false, paths: paths, block: block, capacity: plan.arenaBytes)
      let f = plan.facilities.firstIndex { $0.id == "f" }!, g = plan.facilities.firstIndex { $0.id == "g" }!
      #expect(run.fs[f].pricedAhead && !run.fs[g].pricedAhead, "only the floating level loan, \(rng)")
      let core = plan.core[f]
      for m in max(1, core.startMonth)...min(core.maturity, horizon) {
        let r = (max(0, Rates.base + (0.004 + paths.rate[m - 1])) + core.spread) / 12
        let growth = Rates.growthFactor(r, months: core.maturity - m + 1)
        let k = f * horizon + m - 1
        #expect(run.aheadRate[k] == r && run.aheadDiscount[k] == 1 / growth, "month \(m), \(rng)")
        #expect(run.aheadPayment[k] == r * growth / (growth - 1), "month \(m), \(rng)")
        let owed = 987_654.32
        #expect(abs(owed * run.aheadPayment[k] - Rates.levelPayment(owed, rate: r, months: core.maturity - m + 1)) < 1e-9, "month \(m)")
      }
    }
  }

  @Test("--chart alone draws the default chart (DSCR)")
  func chartDefault() {
    let t = TestShell()
    t.buildSampleDeal()
    let alone = t.ok("waterfall --chart")
    #expect(alone == t.ok("waterfall --chart dscr"))
    #expect(t.ok("waterfall --chart --detail") == t.ok("waterfall --chart dscr --detail"))
    t.expectRefused("waterfall --chart pie", "unknown chart 'pie'")
  }
}
