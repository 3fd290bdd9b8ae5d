import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// The structural waterfall (SPEC §5.1) case by case, each number computed
/// by hand: one case for each way the pooled waterfall got the structure
/// wrong.
///
/// The fleet of most cases earns a round 146,000 a month: 100 GPUs × 730 h
/// × $2.00 at 100 % utilization, no power cost, no opex.
@Suite("structural waterfall: cases by hand")
struct StructuralWaterfallTests {
  static let cfads = 146_000.0

  /// A deal with a site that costs nothing; `fleet(owner:)` adds the fleet.
  func deal(horizon: Int, _ lines: [String]) -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=\(horizon)")
    t.ok("add asset site type=site mw=1 power_price=0 pue=1")
    for line in lines { t.ok(line) }
    return t
  }

  func fleet(_ id: String = "fleet", owner: String, lease: Bool = true) -> [String] {
    ["add asset \(id) type=gpu model=H100 units=100 unit_cost=30000 life=120 salvage=0 obsolescence=none owner=\(owner) site=site"]
      + (lease ? ["add contract l\(id) type=lease rate=2 utilization=100% term=120 fleet=\(id)"] : [])
  }

  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }
  func close(_ a: Double, _ b: Double, _ tol: Double = 0.01) -> Bool { abs(a - b) <= tol }
  /// PMT: the level payment on `amount` at monthly rate `r` over `n` months.
  func pmt(_ amount: Double, _ r: Double, _ n: Int) -> Double { amount * r / (1 - pow(1 + r, -Double(n))) }

  @Test("a holdco with $200m of cash and free bitcoin pays its convertible's coupons: no default, PD 0")
  func holdcoPaysFromCash() {
    let t = deal(horizon: 36, [
      "add entity hold type=miner", "add asset cash type=cash amount=$200m owner=hold",
      "add asset coins type=crypto coin=BTC amount=10000 price=90k owner=hold",
      "add facility conv type=convertible amount=$10m rate=2.75% term=60 amort=bullet conversion_price=12.5 share_price=8.2 borrower=hold",
    ])
    let j = t.json("waterfall")
    #expect(j["default_month"] == .null)
    // 10m × 2.75 % / 12 × 36 months of coupons.
    #expect(close(num(j["facilities"]?["conv"], "interest_paid"), 825_000))
    #expect(close(num(j["entities"]?["hold"], "cash_end"), 200_000_000 - 825_000))
    #expect(num(j["entities"]?["hold"], "coins_sold") == 0, "cash comes first")
    let mc = t.json("shock mc paths=200")
    #expect(num(mc, "pd") == 0 && num(mc["facilities"]?["conv"], "pd") == 0)
  }

  @Test("a subsidiary's secured loan is paid first from its fleet; its parent's note only from what it distributes")
  func structuralSubordination() {
    let lines = ["add entity parent type=sponsor", "add entity spv type=spv parent=parent"] + fleet(owner: "spv") + [
      "add facility note type=bond amount=$5m rate=10% term=60 amort=bullet rank=1 borrower=parent",
      "add facility loan type=term amount=$1.2m rate=8% term=24 amort=level rank=2 borrower=spv", "link fleet pledged-to loan",
    ]
    let t = deal(horizon: 36, lines)
    let j = t.json("waterfall")
    let ds = pmt(1_200_000, 0.08 / 12, 24)  // 54,272.73: a 2.69x cover
    #expect(j["default_month"] == .null)
    #expect(close(num(j["facilities"]?["loan"], "principal_paid"), 1_200_000))
    #expect(close(num(j["facilities"]?["note"], "interest_paid"), 5_000_000 * 0.10 / 12 * 36))
    let r = try? t.shell.analysis.waterfall(.base).result
    let spv = r?.entity("spv")?.periods.first, parent = r?.entity("parent")?.periods.first
    #expect(close(spv?.paidToLenders ?? .nan, ds) && close(spv?.distributionsOut ?? .nan, Self.cfads - ds))
    #expect(close(parent?.distributionsIn ?? .nan, Self.cfads - ds))
    #expect(close(parent?.paidToLenders ?? .nan, 5_000_000 * 0.10 / 12))
    #expect(close(parent?.closing ?? .nan, Self.cfads - ds - 5_000_000 * 0.10 / 12))
    // Without the parent-of edge the SPV keeps its cash: the parent's note
    // defaults at once, the SPV's loan is still paid from its fleet.
    t.ok("unlink parent parent-of spv")
    let k = t.json("waterfall")
    #expect(num(k["facilities"]?["note"], "default_month") == 1)
    #expect(k["facilities"]?["loan"]?["default_month"] == .null)
    #expect(close(num(k["facilities"]?["loan"], "principal_paid"), 1_200_000))
  }

  @Test("what an SPV distributes stays with its guarantor, which then pays the SPV's bullet")
  func distributionsPayTheGuarantee() {
    let t = deal(horizon: 36, ["add entity sponsor type=sponsor", "add entity spv type=spv parent=sponsor"] + fleet(owner: "spv") + [
      "add facility bullet type=term amount=$3m rate=0% term=24 amort=bullet borrower=spv guarantor=sponsor",
    ])
    let j = t.json("waterfall")
    #expect(j["default_month"] == .null)
    // Month 24: the SPV pays 146,000 of 3m; the sponsor, who received
    // 146,000 × 23, pays the rest.
    #expect(close(num(j["facilities"]?["bullet"], "guarantor_paid"), 3_000_000 - Self.cfads))
    #expect(close(num(j["entities"]?["sponsor"], "cash_end"), Self.cfads * 23 - (3_000_000 - Self.cfads) + Self.cfads * 12))
    #expect(close(num(j["entities"]?["sponsor"], "guarantee_paid"), 3_000_000 - Self.cfads))
  }

  @Test("a partial payment in the default month is credited, interest first; after a default nothing goes to equity")
  func partialPaymentAndAcceleration() {
    let t = deal(horizon: 12, ["add entity sponsor type=sponsor", "add entity spv type=spv parent=sponsor"] + fleet(owner: "spv") + [
      "add facility loan type=term amount=$5m rate=12% term=12 amort=level borrower=spv", "link fleet pledged-to loan",
    ])
    let j = t.json("waterfall")
    let f = j["facilities"]?["loan"]
    // Due 444,244 in month 1; the fleet's 146,000 pays the 50,000 interest
    // and 96,000 of principal: the claim is 4,904,000.
    #expect(num(f, "default_month") == 1)
    #expect(close(num(f, "claim_at_default"), 5_000_000 - 96_000))
    #expect(close(num(f, "balance_at_default"), 5_000_000 - 96_000))
    // Accelerated: the next 11 months of CFADS go to the lender.
    #expect(close(num(f, "collected_after_default"), Self.cfads * 11))
    #expect(close(num(f, "interest_paid"), 50_000))
    #expect(close(num(f, "principal_paid"), 96_000 + Self.cfads * 11))
    #expect(close(num(f, "loss"), 5_000_000 - 96_000 - Self.cfads * 11))
    #expect(num(j["entities"]?["sponsor"], "distributions_received") == 0, "nothing reaches equity after the default")
    #expect(num(j["entities"]?["spv"], "in_default_month") == 1)
  }

  @Test("two sculpted tranches: the DSCR on cumulative debt service at each rank is its target; the junior's LTV counts the senior")
  func sculptedTranches() {
    let t = deal(horizon: 24, ["add entity spv type=spv"] + fleet(owner: "spv") + [
      "add facility senior type=term amount=$1m rate=6% term=24 amort=sculpted target_dscr=2x rank=1 borrower=spv",
      "add facility junior type=mezz amount=$0.5m rate=10% term=24 amort=sculpted target_dscr=1.25x rank=2 borrower=spv",
      "link fleet pledged-to senior lien=1", "link fleet pledged-to junior lien=2",
    ])
    let j = t.json("waterfall")
    let s = j["facilities"]?["senior"]?["periods"]?.arrayValue?.first, jr = j["facilities"]?["junior"]?["periods"]?.arrayValue?.first
    // Senior: 146,000 / 2 = 73,000 of debt service; junior: 146,000 / 1.25
    // − 73,000 = 43,800, so the cumulative DSCR at its rank is 1.25x.
    #expect(close(num(s, "dscr"), 2.0, 1e-4) && close(num(jr, "dscr"), 1.25, 1e-4))
    #expect(close(num(s, "interest") + num(s, "principal"), 73_000))
    #expect(close(num(jr, "interest") + num(jr, "principal"), 43_800))
    #expect(j["default_month"] == .null)
    // LTV after month 1: the fleet is worth 3m × 119/120; the senior owes
    // 1m − (73,000 − 5,000), the junior 0.5m − (43,800 − 4,166.67).
    let value = 3_000_000 * 119.0 / 120, senior = 1_000_000 - 68_000.0, junior = 500_000 - (43_800 - 500_000 * 0.10 / 12)
    #expect(close(num(s, "ltv"), senior / value, 1e-4))
    #expect(close(num(jr, "ltv"), (senior + junior) / value, 1e-4), "the junior's LTV counts the better lien")
  }

  @Test("a facility's trailing DSCR counts only the months since its draw")
  func trailingFromTheDraw() {
    let t = deal(horizon: 12, ["add entity spv type=spv"] + fleet(owner: "spv") + [
      "add facility a type=term amount=$1.2m rate=0% term=12 amort=straight rank=1 borrower=spv",
      "add facility b type=term amount=$0.6m rate=0% term=6 amort=straight rank=2 start=2025-07 min_dscr=1x borrower=spv",
    ])
    let j = t.json("waterfall")
    // From month 7 b's rank carries 100,000 + 100,000 against 146,000:
    // 0.73x. Counted from month 1 it would be 1,022,000 / 800,000 = 1.28x.
    let breach = j["breaches"]?.arrayValue?.first { $0["facility"] == "b" && $0["kind"] == "dscr" }
    #expect(breach?["month"] == 7)
    #expect(breach?["detail"]?.stringValue?.hasPrefix("trailing DSCR 0.73x") == true)
    #expect(j["facilities"]?["b"]?["periods"]?.arrayValue?.first?["dscr"] == .null, "no DSCR before its draw")
  }

  @Test("a reserve is not topped up in its final month and goes back to the obligor when the facility is repaid")
  func reserveReleased() {
    let t = deal(horizon: 12, ["add entity sponsor type=sponsor", "add entity spv type=spv parent=sponsor"] + fleet(owner: "spv") + [
      "add facility loan type=term amount=$1.2m rate=0% term=12 amort=straight dsra_months=1 borrower=spv",
    ])
    let j = t.json("waterfall")
    #expect(num(j["facilities"]?["loan"], "reserve_end") == 0)
    // Every month leaves 46,000: the first 100,000 fill the reserve, the
    // final month releases it, so the sponsor ends with all of it.
    #expect(close(num(j["entities"]?["sponsor"], "cash_end"), 46_000 * 12))
    let r = try? t.shell.analysis.waterfall(.base).result
    #expect(close(r?.entity("spv")?.periods.last?.reserveIn ?? .nan, 100_000), "released in month 12")
    #expect(r?.entity("spv")?.periods.last?.reserveOut == 0, "no top-up in the final month")
  }

  @Test("a cross-default before the draw cancels the commitment: nothing is drawn, nothing lost")
  func crossDefaultBeforeDraw() {
    let t = deal(horizon: 12, ["add entity z type=spv"] + fleet("idle", owner: "z", lease: false) + [
      "add facility a type=term amount=$1m rate=5% term=12 borrower=z",
      "add entity spv type=spv",
    ] + fleet(owner: "spv") + [
      "add facility b type=term amount=$1m rate=5% term=6 start=2025-06 borrower=spv", "link a cross-default b",
    ])
    let j = t.json("waterfall")
    let b = j["facilities"]?["b"]
    #expect(num(j["facilities"]?["a"], "default_month") == 1)
    #expect(b?["default_month"] == .null && b?["cancelled"] == true && num(b, "cancelled_month") == 1)
    #expect(num(b, "principal_paid") == 0 && num(b, "loss") == 0 && b?["irr"] == .null)
  }

  @Test("a guarantor in default pays no more calls, whatever cash it holds")
  func defaultedGuarantorStops() {
    let t = deal(horizon: 12, [
      "add entity g type=sponsor", "add asset gcash type=cash amount=$5m owner=g",
      "add facility own type=term amount=$1m rate=0% term=60 amort=bullet borrower=g",
      "add entity spv type=spv parent=g",
    ] + fleet("idle", owner: "spv", lease: false) + [
      "add facility loan type=term amount=$1.2m rate=0% term=12 amort=straight borrower=spv guarantor=g",
      "add entity q type=spv",
    ] + fleet("qidle", owner: "q", lease: false) + [
      "add facility x type=term amount=$1m rate=5% term=12 borrower=q", "link x cross-default own",
    ])
    let j = t.json("waterfall")
    // Month 1: g pays the SPV's 100,000 call; then x defaults and takes g's
    // own bullet with it: g is in default and pays no more calls.
    #expect(num(j["entities"]?["g"], "in_default_month") == 1)
    #expect(close(num(j["facilities"]?["loan"], "guarantor_paid"), 100_000))
    #expect(num(j["facilities"]?["loan"], "default_month") == 2)
    // g's cash went to its own accelerated lender instead.
    #expect(close(num(j["facilities"]?["own"], "collected_after_default"), 1_000_000))
    #expect(close(num(j["entities"]?["g"], "cash_end"), 5_000_000 - 100_000 - 1_000_000))
  }

  @Test("negative CFADS is a cost the owner pays from its cash, never dropped")
  func negativeCFADS() {
    let t = deal(horizon: 12, [
      "add entity spv type=spv", "add asset cash type=cash amount=$100k owner=spv",
      "add asset idle type=gpu model=H100 units=100 unit_cost=30000 opex=100 obsolescence=none owner=spv site=site",
      "add entity other type=spv", "add asset ocash type=cash amount=$1m owner=other",
      "add facility f type=term amount=$100k rate=0% term=12 amort=bullet borrower=other",
    ])
    let j = t.json("waterfall")
    // 100 GPUs × $100 of opex a month, nothing earned: 120,000 over a year
    // against 100,000 of cash; the 20,000 short is carried as negative cash.
    #expect(close(num(j["entities"]?["spv"], "cash_end"), 100_000 - 120_000))
    #expect(close(num(j["periods"]?.arrayValue?.first, "cfads"), -10_000))
  }

  @Test("balance_at_default is each facility's balance at its own default, not the deal's first")
  func ownDefaultMonth() {
    let t = deal(horizon: 12, ["add entity z type=spv"] + fleet("idle", owner: "z", lease: false) + [
      "add facility a type=term amount=$1m rate=5% term=12 borrower=z",
      "add entity spv type=spv",
    ] + fleet(owner: "spv") + ["add facility b type=term amount=$2m rate=0% term=6 amort=bullet borrower=spv"])
    let j = t.json("waterfall")
    #expect(num(j["facilities"]?["a"], "default_month") == 1)
    // b's bullet in month 6: six months of 146,000 pay 876,000 of 2m.
    #expect(num(j["facilities"]?["b"], "default_month") == 6)
    #expect(close(num(j["facilities"]?["b"], "balance_at_default"), 2_000_000 - Self.cfads * 6))
    #expect(close(num(j["facilities"]?["b"], "claim_at_default"), 2_000_000 - Self.cfads * 6))
  }

  @Test("WAL follows the contractual schedule past the horizon")
  func walPastTheHorizon() {
    let t = deal(horizon: 36, [
      "add entity hold type=sponsor", "add asset cash type=cash amount=$100m owner=hold",
      "add facility bullet type=bond amount=$10m rate=5% term=60 amort=bullet borrower=hold",
      "add facility level type=term amount=$10m rate=6% term=60 amort=level borrower=hold",
    ])
    let j = t.json("waterfall")
    #expect(close(num(j["facilities"]?["bullet"], "wal"), 5.0, 1e-4), "repaid at month 60, not cut at 36")
    // A level loan's WAL over its whole schedule.
    let r = 0.06 / 12, p = pmt(10_000_000, r, 60)
    var bal = 10_000_000.0, weighted = 0.0
    for m in 1...60 {
      let principal = p - bal * r
      weighted += principal * Double(m)
      bal -= principal
    }
    #expect(close(num(j["facilities"]?["level"], "wal"), weighted / 10_000_000 / 12, 1e-4))
  }
}

/// What the structural model cannot run with is one clear error naming the
/// node and the fix; `check` lists it, and warns of ranks across obligors.
@Suite("structural waterfall: bad structure")
struct StructureErrorTests {
  func base() -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=24", "add entity hold type=miner", "add entity spv type=spv parent=hold",
      "add asset fleet type=gpu model=H100 units=100 unit_cost=30000 owner=spv",
      "add contract l type=lease rate=2 term=24 fleet=fleet",
      "add facility loan type=term amount=$1m rate=5% term=12 rank=2 borrower=spv", "link fleet pledged-to loan",
    ] { t.ok(line) }
    return t
  }

  @Test(
    "each structure the model cannot run is refused, naming the node and the link that fixes it, and changes nothing",
    arguments: [
      ("add facility orphan type=term amount=$1m rate=5% term=12", "'orphan' has no obligor and no owned collateral to infer one from; 'link BORROWER borrows orphan'"),
      ("add asset idle type=gpu model=H100 units=10 unit_cost=30000", "'idle' has no owner, so its cash belongs to nobody; 'link ENTITY owns idle'"),
      ("add entity other type=sponsor; link other parent-of spv", "'spv' has 2 parents (hold, other): its distributions need one; 'unlink other parent-of spv'"),
      ("add entity co type=spv; link co borrows loan", "'loan' has 2 obligors (co, spv): the cash model needs one; 'unlink spv borrows loan'"),
    ])
  func refused(setup: String, message: String) {
    let t = base()
    t.ok(setup)
    let session = t.shell.session
    for command in ["waterfall", "shock deflation=40%", "liquidate at=6", "shock mc paths=10"] {
      let (status, out) = t.run(command)
      #expect(status == .failed, "\(command)")
      #expect(out.contains(message), "\(command): \(out)")
    }
    #expect(t.shell.session == session, "nothing changed")
    // check lists it as "error   NODE: the rest".
    let node = String(message.split(separator: "'")[0])
    let line = "error   \(node): " + message.dropFirst(node.count + 3)
    #expect(t.run("check").output.contains(line))
  }

  @Test("a facility without a borrows edge is its collateral's owner's; a parent's facility ranked ahead of its subsidiary's is a warning")
  func inferredObligorAndRanks() {
    let t = base()
    t.ok("add facility lease_loan type=term amount=$0.5m rate=5% term=12 rank=3")
    t.ok("link fleet pledged-to lease_loan lien=2")
    let j = t.json("waterfall")
    #expect(j["facilities"]?["lease_loan"]?["obligor"] == "spv")
    t.ok("add facility note type=bond amount=$1m rate=5% term=12 rank=1 borrower=hold")
    let check = t.run("check").output
    #expect(check.contains("warning note: ranked 1 at 'hold', ahead of 'loan' (rank 2) at its subsidiary 'spv'"), "\(check)")
  }
}
