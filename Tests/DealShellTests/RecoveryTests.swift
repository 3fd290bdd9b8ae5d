import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Recovery on the structural waterfall (SPEC §5 `liquidate`): claims from
/// each facility's own default, every dollar of the sale credited once,
/// released collateral back to its owner, going-concern sales of leased
/// fleets, guarantors and estates pari passu, structural subordination,
/// and the Monte Carlo's losses from the same recovery.
@Suite("recovery on the structural waterfall")
struct RecoveryTests {
  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }

  static let batches = Array(0..<5)

  /// The checks of one liquidation against the waterfall run it follows.
  func check(_ o: LiquidationOutcome, _ w: WaterfallResult, atDefault: Bool, _ record: (Bool, String) -> Void) {
    let ws = o.ws
    let scale = max(1, ws.netProceeds)
    record(abs(ws.netProceeds - ws.distributed - ws.leftToOwners) <= 1e-9 * scale + 0.01,
      "proceeds \(ws.netProceeds) ≠ paid to lenders \(ws.distributed) + left to owners \(ws.leftToOwners)")
    var credited = 0.0
    for f in o.plan.facilities.indices {
      credited += ws.recovered(f) + ws.repaidAtSale[f]
      guard ws.inDefault[f] else {
        record(ws.recovered(f) == 0, "\(o.plan.facilities[f]) recovers without being in default")
        continue
      }
      let id = o.plan.facilities[f]
      let r = w.facility(id)!
      record(ws.recovered(f) >= -1e-9, "\(id): a negative recovery")
      record(ws.recovered(f) <= ws.claim[f] + 1e-6, "\(id) recovers \(ws.recovered(f)) on a claim of \(ws.claim[f])")
      // Paid before and in its default month, by the detail run's own
      // monthly flows, against what the histories say.
      let d = LiquidationEngine.stateMonth(ws.defaultMonth[f], o.input)
      let paidBefore = r.periods.prefix(d).reduce(0) { $0 + $1.interest + $1.principal }
      record(abs(paidBefore - o.paidBeforeDefault(f)) <= 1e-6 * max(1, paidBefore), "\(id): paid before default \(o.paidBeforeDefault(f)) ≠ \(paidBefore)")
      if atDefault, r.defaultMonth == ws.defaultMonth[f] {
        record(abs(ws.claim[f] - r.claimAtDefault) < 1e-6, "\(id): claim \(ws.claim[f]) ≠ the waterfall's \(r.claimAtDefault)")
        // What it was owed: principal drawn, interest paid, interest unpaid
        // at default; what it got: its payments and the recovery.
        let interestBefore = r.periods.prefix(d).reduce(0) { $0 + $1.interest }
        let principalBefore = r.periods.prefix(d).reduce(0) { $0 + $1.principal }
        let owed = (principalBefore + r.balanceAtDefault) + interestBefore + (r.claimAtDefault - r.balanceAtDefault)
        record(paidBefore + ws.recovered(f) <= owed + 0.01, "\(id): paid \(paidBefore) + recovered \(ws.recovered(f)) > owed \(owed)")
      }
    }
    record(abs(credited - ws.distributed) <= 1e-9 * scale + 0.01, "credited \(credited) ≠ distributed \(ws.distributed)")
  }

  @Test("on random deals: proceeds all distributed, no recovery above the claim, claims from the waterfall", arguments: batches)
  func randomDeals(batch: Int) throws {
    var rng = SeededRandom(seed: 7_000 + UInt64(batch))
    let seed = "\(rng)"
    var liquidated = 0
    for k in 0..<60 {
      let deal = RandomDeal(&rng)
      let t = TestShell()
      for line in deal.commands { _ = t.run(line) }
      let a = t.shell.analysis
      let w = try a.waterfall(.base).result
      let at = 1 + Int(rng.unit() * Double(t.shell.session.deal.horizon))
      var failures = 0
      let context = "deal \(k) of batch \(batch), \(seed)\n" + deal.commands.joined(separator: "\n")
      for when in [nil, at] as [Int?] {
        guard let o = try a.liquidation(scenario: .base, at: when, facilities: [], parameters: LiquidationParameters()) else { continue }
        liquidated += 1
        check(o, w, atDefault: when == nil) { ok, what in
          guard !ok else { return }
          failures += 1
          if failures <= 3 { Issue.record("\(when.map { "at=\($0)" } ?? "at=default"): \(what)\n\(context)") }
        }
      }
    }
    #expect(liquidated > 40, "the random deals liquidate")
  }

  @Test("a partly paid bond's claim is what it was still owed, and a recovery never exceeds it")
  func partialPayment() {
    // A $100m bullet bond paid from $70m of cash at maturity: the claim is
    // the $30m short (and the month's interest), not the face.
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=12", "add entity h type=sponsor", "add asset cash type=cash amount=$70m owner=h",
      "add facility bond type=bond amount=$100m rate=0% term=12 amort=bullet borrower=h",
      "add asset coins type=crypto coin=BTC amount=100 price=100k owner=h",
    ] { t.ok(line) }
    let w = t.json("waterfall --json")["facilities"]?["bond"]
    #expect(num(w, "default_month") == 12)
    let j = t.json("liquidate --json")
    let b = j["facilities"]?["bond"]
    // The coins went first, in the waterfall (free coins sold to pay).
    #expect(abs(num(b, "claim") - num(w, "claim_at_default")) < 0.01)
    #expect(num(b, "claim") < 30_000_000 + 0.01)
    #expect(num(b, "recovered") <= num(b, "claim") + 0.01)
    #expect(num(b, "paid_before_default") + num(b, "recovered") <= 100_000_000 + 0.01)
  }

  @Test("collateral released when its loan is repaid serves the owner's other creditors")
  func releasedCollateral() {
    // h's BTC secures a short loan repaid in month 6; h's unsecured bond
    // defaults at maturity. The BTC, now free, goes to the bond.
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=24", "add entity h type=sponsor", "add asset cash type=cash amount=$3m owner=h",
      "add asset btc type=crypto coin=BTC amount=100 price=100k owner=h",
      "add facility btcloan type=term amount=$2m rate=8% term=6 amort=bullet borrower=h", "link btc pledged-to btcloan",
      "add facility bond type=bond amount=$40m rate=0% term=24 amort=bullet borrower=h",
    ] { t.ok(line) }
    let j = t.json("liquidate --json")
    #expect(j["defaulted"]?.arrayValue?.compactMap(\.stringValue) == ["bond"])
    let b = j["facilities"]?["bond"]
    let btcSale = num(j["assets"]?["btc"], "net_proceeds")
    #expect(btcSale > 9_000_000, "100 BTC at $100k, less slippage, sold for the bond")
    #expect(abs(num(b, "from_unsecured") - min(num(b, "claim"), btcSale + num(j["entities"]?["h"], "cash"))) < 0.05)
  }

  /// A leased fleet in an SPV, its loan assumed in default at month 12.
  func leased(term: Int, takeOrPay: String = "90%", pd: String = "1%") -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=60", "add entity eq type=sponsor", "add entity spv type=spv parent=eq",
      "add entity tenant type=tenant pd=\(pd)",
      "add asset site type=site mw=10 power_price=0.08 pue=1.3",
      "add asset fleet type=gpu model=H100 units=2000 unit_cost=30000 life=60 salvage=0 kw=1.2 opex=100 cooling=liquid rack_kw=40 owner=spv site=site",
      "add contract l type=lease rate=2.00 utilization=95% term=\(term) take_or_pay=\(takeOrPay) tenant=tenant fleet=fleet",
      "add facility loan type=term amount=$50m rate=10% term=48 borrower=spv", "link fleet pledged-to loan",
    ] { t.ok(line) }
    return t
  }

  @Test("a fleet under lease is sold with its lease: at least the discounted take-or-pay, even in a thin market")
  func goingConcern() {
    let t = leased(term: 36)
    let j = t.json("liquidate at=12 depth=100 --json")
    let fleet = j["assets"]?["fleet"], loan = j["facilities"]?["loan"]
    #expect(fleet?["sale"]?.stringValue == "going_concern")
    #expect(loan?["sale"]?.stringValue == "going_concern")
    // By hand: months 13 to 36 of the take-or-pay floor less power and
    // opex, each paid if the tenant (1 %/yr) has not defaulted, at 12 %/yr.
    let rm = pow(1.12, 1.0 / 12) - 1, h = 1 - pow(0.99, 1.0 / 12)
    let floor = 2000 * 730 * 2.00 * 0.90
    let cost = 2000 * 1.2 * 1.3 * 730 * 0.08 + 2000 * 100.0
    var pv = 0.0
    for j in 1...24 { pv += pow(1 - h, Double(j)) * (floor - cost) / pow(1 + rm, Double(j)) }
    #expect(num(fleet, "net_proceeds") >= pv, "\(num(fleet, "net_proceeds")) < \(pv)")
    #expect(num(fleet, "going_concern_value") > num(fleet, "fire_sale_value"))
    #expect(num(loan, "recovered") >= min(num(loan, "claim"), pv) - 0.01)
    #expect(t.ok("liquidate at=12 depth=100").contains("fleet: sold with its lease"))
    // The lease over before the default: bare GPUs only.
    let short = leased(term: 6).json("liquidate at=12 depth=100 --json")
    #expect(short["assets"]?["fleet"]?["sale"]?.stringValue == "fire_sale")
    #expect(num(short["assets"]?["fleet"], "going_concern_value") == 0)
    // A riskier tenant makes the contract worth less.
    let risky = leased(term: 36, pd: "30%").json("liquidate at=12 depth=100 --json")
    #expect(num(risky["assets"]?["fleet"], "going_concern_value") < num(fleet, "going_concern_value"))
  }

  @Test("structural subordination: a parent's lender reaches the SPV's assets only after the SPV's lender")
  func subordination() {
    func run(spvDebt: String) -> JSONValue {
      let t = TestShell()
      for line in [
        "deal start=2025-01 horizon=36", "add entity p type=sponsor", "add entity s type=spv parent=p",
        "add asset site type=site mw=10 power_price=0.08 pue=1.3",
        "add asset fleet type=gpu model=H100 units=1000 unit_cost=30000 life=60 salvage=0 owner=s site=site",
        "add facility sloan type=term amount=\(spvDebt) rate=10% term=36 borrower=s", "link fleet pledged-to sloan",
        "add facility ploan type=bond amount=$20m rate=10% term=36 amort=bullet borrower=p",
      ] { t.ok(line) }
      return t.json("liquidate at=6 --json")
    }
    // Small SPV debt: the SPV's equity (the fleet less its loan) reaches
    // the parent's estate and its lender.
    let small = run(spvDebt: "$5m")
    let fleet = num(small["assets"]?["fleet"], "net_proceeds")
    let s1 = small["facilities"]?["sloan"], p1 = small["facilities"]?["ploan"]
    #expect(num(s1, "recovery_rate") == 1)
    #expect(num(p1, "from_unsecured") > 0)
    #expect(num(p1, "from_unsecured") <= fleet - num(s1, "recovered") + 0.01)
    // SPV debt above the fleet's value: nothing reaches the parent's lender.
    let big = run(spvDebt: "$40m")
    #expect(num(big["facilities"]?["sloan"], "recovery_rate") < 1)
    #expect(num(big["facilities"]?["ploan"], "from_unsecured") == 0)
    #expect(num(big, "left_to_owners") == 0)
  }

  @Test("a guarantor in default in the waterfall pays nothing more; its estate shares pari passu")
  func guarantorInDefault() throws {
    // The SPV's bullet falls due in month 24 with $1m in hand; the sponsor
    // guarantees it with $2m of cash and an unpledged fleet, and owes a
    // bond of its own due in month 36.
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=36", "add entity g type=sponsor", "add entity s type=spv",
      "add asset sc type=cash amount=$1m owner=s", "add asset gc type=cash amount=$2m owner=g",
      "add asset site type=site mw=10 power_price=0 pue=1",
      "add asset gfleet type=gpu model=H100 units=200 unit_cost=30000 life=60 salvage=0 owner=g site=site",
      "add facility sloan type=term amount=$10m rate=0% term=24 amort=bullet borrower=s guarantor=g",
      "add facility gbond type=bond amount=$4m rate=0% term=36 amort=bullet borrower=g",
    ] { t.ok(line) }
    let w = t.json("waterfall --json")
    #expect(w["entities"]?["g"]?["in_default_month"]?.numberValue == 24)
    // It paid what it had in month 24, and nothing after.
    #expect(abs(num(w["facilities"]?["sloan"], "guarantor_paid") - 2_000_000) < 0.01)
    let j = t.json("liquidate --json")
    let s = j["facilities"]?["sloan"], b = j["facilities"]?["gbond"]
    #expect(j["defaulted"]?.arrayValue?.compactMap(\.stringValue) == ["sloan", "gbond"])
    #expect(j["chain"]?.arrayValue?[1]["cause"]?.stringValue == "its obligor g is in default")
    #expect(num(b, "default_month") == 24 && abs(num(b, "claim") - 4_000_000) < 0.01)
    // The fleet's sale is g's estate, shared by the guarantee's deficiency
    // and g's own bond: the same share of each.
    let estate = num(j["assets"]?["gfleet"], "net_proceeds") + num(j["entities"]?["g"], "cash")
    #expect(estate > 0)
    let paid = num(s, "from_guarantors") + num(b, "from_unsecured")
    #expect(abs(paid - min(estate, num(s, "claim") + num(b, "claim"))) < 0.05, "\(paid) of \(estate)")
    #expect(abs(num(s, "from_guarantors") / num(s, "claim") - num(b, "from_unsecured") / num(b, "claim")) < 1e-6)
  }

  @Test("the Monte Carlo's loss on a path is the liquidation of that path")
  func monteCarloPaths() throws {
    let t = TestShell()
    t.ok("open \(TestShell.repositoryRoot)/Sessions/miner-double-leverage.deal")
    let a = t.shell.analysis
    let months = t.shell.session.deal.horizon
    let plan = try a.plan(months: months)
    let liquidation = try a.liquidationPlan(LiquidationParameters(), scenario: .base, lastDefault: months, months: months)
    var model = MonteCarloModel()
    model.read(t.shell.session, schema: t.shell.schema, fleets: plan.fleets)
    let run = MonteCarloEngine.run(waterfall: plan, liquidation: liquidation, scenario: .base, model: model, paths: 300, seed: 5, threads: 2)
    let nf = plan.facilities.count
    let p = ScenarioPaths(months: months, fleets: plan.fleets.count)
    let calm = MonteCarloModel.cholesky(model.corr), stress = MonteCarloModel.cholesky(model.converge)
    let ws = LiquidationWorkspace(liquidation)
    var compared = 0
    for path in stride(from: 0, to: 300, by: 7) {
      model.fill(p, seed: 5, path: path, calm: calm, stress: stress)
      let block = UnsafeMutableRawPointer.allocate(byteCount: plan.arenaBytes, alignment: 16)
      defer { block.deallocate() }
      let r = WaterfallEngine.simulate(plan, .base, detail: false, paths: p, block: block, capacity: plan.arenaBytes)
      var input = LiquidationInput(defaultMonth: 1, history: RunHistory(r), facilities: nf, entities: r.ne)
      guard input.fill(from: r, at: nil, plan: liquidation) else {
        for f in 0..<nf { #expect(run.losses[path * nf + f] == 0) }
        continue
      }
      LiquidationEngine.run(liquidation, input, into: ws)
      for f in 0..<nf {
        let loss = ws.inDefault[f] ? max(0, ws.claim[f] - ws.recovered(f)) : 0
        #expect(abs(run.losses[path * nf + f] - loss) < 1e-6, "path \(path), \(plan.facilities[f].id)")
      }
      compared += 1
    }
    #expect(compared > 10)
  }
}
