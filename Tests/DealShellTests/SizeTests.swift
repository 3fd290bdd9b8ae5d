import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `size` (SPEC §5.2): debt capacity against hand computations, the binding
/// constraint, the two-tier sculpted result, refusals that change nothing.
@Suite("size")
struct SizeTests {
  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }

  /// An SPV whose fleet earns a flat $1,460,000 a month (2,000 GPUs × 730 h
  /// × $1 on a take-or-pay lease, no power, no opex) for 60 months.
  func flat(_ facilities: [String]) -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=60", "add entity eq type=sponsor", "add entity co type=spv parent=eq",
      "add asset site type=site mw=10 power_price=0 pue=1",
      "add asset fleet type=gpu model=H100 units=2000 unit_cost=30000 life=60 salvage=0 obsolescence=none opex=0 owner=co site=site",
      "add contract l type=lease rate=1.00 utilization=100% take_or_pay=100% term=60 spot_rate=1 deflation=0% fleet=fleet",
    ] + facilities { t.ok(line) }
    return t
  }

  static let cfads = 2000 * 730 * 1.0

  /// PV of `monthly` over `n` months at an annual rate paid monthly.
  func pv(_ monthly: Double, rate: Double, months n: Int) -> Double {
    (1...n).reduce(0.0) { $0 + monthly / pow(1 + rate / 12, Double($1)) }
  }

  @Test("a sculpted loan's capacity is the present value of CFADS ÷ target DSCR at its rate")
  func sculpted() {
    let t = flat(["add facility senior type=term amount=$10m rate=8% term=48 amort=sculpted borrower=co", "link fleet pledged-to senior"])
    let j = t.json("size senior target_dscr=1.25x --json")
    let expected = pv(Self.cfads / 1.25, rate: 0.08, months: 48)
    #expect(abs(num(j, "amount") - expected) < 2, "\(num(j, "amount")) vs \(expected)")
    // What binds: the last month, where the schedule no longer repays the
    // loan at the target. 1 % more leaves a balloon that breaks it there.
    #expect(j["binding"]?.stringValue == "target_dscr" && num(j, "binding_month") == 48)
    t.ok("set senior amount=\(Int(num(j, "amount") * 1.01)) target_dscr=1.25x")
    let last = t.json("waterfall --facility senior --json")["periods"]?.arrayValue?[47]
    #expect(num(last, "dscr") < 1.25, "\(num(last, "dscr"))")
  }

  @Test("sizing a sculpted senior then a sculpted junior gives each tier its target on cumulative debt service")
  func twoTier() {
    let t = flat([
      "add facility senior type=term amount=$10m rate=7% term=48 amort=sculpted rank=1 borrower=co", "link fleet pledged-to senior lien=1",
      "add facility junior type=term amount=$1m rate=12% term=48 amort=sculpted rank=2 borrower=co", "link fleet pledged-to junior lien=2",
    ])
    let s = t.json("size senior target_dscr=1.6x --apply --json")
    #expect(abs(num(s, "amount") - pv(Self.cfads / 1.6, rate: 0.07, months: 48)) < 2)
    let j = t.json("size junior target_dscr=1.25x --apply --json")
    // The junior takes CFADS / 1.25 less the senior's CFADS / 1.6.
    #expect(abs(num(j, "amount") - pv(Self.cfads / 1.25 - Self.cfads / 1.6, rate: 0.12, months: 48)) < 2)
    for (id, target) in [("senior", 1.6), ("junior", 1.25)] {
      let periods = t.json("waterfall --facility \(id) --json")["periods"]?.arrayValue ?? []
      let dscrs = periods.prefix(47).compactMap { $0["dscr"]?.numberValue }
      #expect(dscrs.count == 47)
      // The trailing-12 DSCR on cumulative service (rounded to 2 places).
      for d in dscrs { #expect(abs(d - target) < 0.011, "\(id): \(d)") }
    }
  }

  @Test("a level loan sized on LTV: every month within max_ltv, 1 % more breaks it")
  func ltv() {
    let t = flat(["add facility loan type=term amount=$10m rate=9% term=36 borrower=co", "link fleet pledged-to loan"])
    let j = t.json("size loan max_ltv=50% --json")
    #expect(j["binding"]?.stringValue == "max_ltv")
    let amount = num(j, "amount")
    t.ok("set loan amount=\(Int(amount))")
    let ltvs = (t.json("waterfall --facility loan --json")["periods"]?.arrayValue ?? []).compactMap { $0["ltv"]?.numberValue }
    #expect(!ltvs.isEmpty && ltvs.allSatisfy { $0 <= 0.5005 })
    t.ok("set loan amount=\(Int(amount * 1.01))")
    let over = (t.json("waterfall --facility loan --json")["periods"]?.arrayValue ?? []).compactMap { $0["ltv"]?.numberValue }
    #expect(over.contains { $0 > 0.5 })
  }

  @Test("--apply sets the amount as one undoable change; without it nothing changes")
  func apply() {
    let t = flat(["add facility loan type=term amount=$10m rate=9% term=36 borrower=co", "link fleet pledged-to loan"])
    let before = t.shell.session
    _ = t.json("size loan --json")
    #expect(t.shell.session == before)
    let j = t.json("size loan target_dscr=1.5x --apply --json")
    #expect(j["applied"]?.boolValue == true)
    #expect(t.shell.session.graph["loan"]?.attrs["amount"]?.number == num(j, "amount"))
    t.ok("undo")
    #expect(t.shell.session == before)
  }

  @Test("bad input is named and changes nothing")
  func errors() {
    let t = flat(["add facility loan type=term amount=$10m rate=9% term=36 borrower=co", "add facility bare type=term amount=$1m rate=9% term=36 borrower=co"])
    t.ok("link fleet pledged-to loan")
    let before = t.shell.session
    t.expectRefused("size lown", "unknown id 'lown' (did you mean 'loan'?)")
    t.expectRefused("size fleet", "'fleet' is an asset, not a facility")
    t.expectRefused("size loan target_dscr=90x", "no amount of 'loan' meets target_dscr: even $1,000 breaks target_dscr")
    t.expectRefused("size bare max_ltv=50%", "max_ltv needs collateral, and nothing (no GPU fleet, no coins) is pledged to 'bare'")
    t.expectRefused("size loan max_ltv=-5%", "max_ltv")
    t.expectRefused("size", "FACILITY")
    #expect(t.shell.session == before)
  }
}
