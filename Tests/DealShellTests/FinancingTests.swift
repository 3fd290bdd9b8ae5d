import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Convertibles whose share moves with bitcoin, refinancing at maturity
/// (SPEC §5.2), against hand computations.
@Suite("convertibles and refinancing")
struct FinancingTests {
  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }

  /// A holdco with $150m of cash, its bitcoin, and a 12-month convertible.
  func convertible(sharePrice: Double, beta: Double = 1.5) -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=24", "add entity h type=miner", "add asset cash type=cash amount=$150m owner=h",
      "add asset coins type=crypto coin=BTC amount=100 price=100k vol=60% owner=h",
      "add facility conv type=convertible amount=$100m rate=0% term=12 amort=bullet conversion_price=12.50 share_price=\(sharePrice) share_beta=\(beta) borrower=h",
    ] { t.ok(line) }
    return t
  }

  @Test("the share moves with bitcoin through share_beta: conversion at or above the price, else the bullet is due")
  func shareBeta() {
    let t = convertible(sharePrice: 10)
    // $10 × 1.2^1.5 = $13.15 ≥ $12.50: converts; × 1.15^1.5 = $12.33: does not.
    let up = t.json("waterfall btc=+20% --json")["facilities"]?["conv"]
    #expect(up?["converted"]?.boolValue == true)
    #expect(num(up, "principal_paid") == 0)
    let less = t.json("waterfall btc=+15% --json")["facilities"]?["conv"]
    #expect(less?["converted"]?.boolValue == false)
    #expect(num(less, "principal_paid") == 100_000_000)
    #expect(t.ok("waterfall btc=+15%").contains("no conversion: share price $12.33 below conversion price $12.50"))
    // With no beta the share does not move.
    let flat = convertible(sharePrice: 10, beta: 0).json("waterfall btc=+50% --json")["facilities"]?["conv"]
    #expect(flat?["converted"]?.boolValue == false)
    // The holders' shares are their receipt: 100m × 13.15 / 12.5 → IRR > 0.
    #expect(num(up, "irr") > 0.04)
  }

  @Test("in the Monte Carlo the share follows each path's bitcoin: conversion is uncertain")
  func shareOnPaths() {
    // In the money at $13 (conversion below a 2.6 % fall of bitcoin).
    let t = convertible(sharePrice: 13)
    #expect(t.json("waterfall --json")["facilities"]?["conv"]?["converted"]?.boolValue == true)
    let pd = num(t.json("shock mc paths=2000 --json")["facilities"]?["conv"], "pd")
    #expect(pd == 0, "$150m of cash pays the bullet when it does not convert")
    // Without the cash the bullet defaults on the paths where bitcoin fell.
    t.ok("set cash amount=$1m")
    let risky = num(t.json("shock mc paths=2000 --json")["facilities"]?["conv"], "pd")
    #expect(risky > 0.3 && risky < 0.7, "\(risky)")
  }

  /// A company whose fleet earns $`monthly`m a month net, a $40m bullet
  /// due in month 12 it cannot repay from one year's cash, refinancing terms.
  func refinancing(_ terms: String) -> TestShell {
    let t = TestShell()
    for line in [
      "deal start=2025-01 horizon=36", "add entity co type=spv", "add asset site type=site mw=10 power_price=0 pue=1",
      "add asset fleet type=gpu model=H100 units=2000 unit_cost=30000 life=60 salvage=0 obsolescence=none opex=0 owner=co site=site",
      "add contract l type=lease rate=1.00 utilization=100% take_or_pay=100% term=36 spot_rate=1 deflation=0% fleet=fleet",
      "add facility loan type=term amount=$40m rate=10% term=12 amort=bullet borrower=co \(terms)", "link fleet pledged-to loan",
    ] { t.ok(line) }
    return t
  }

  @Test("a bullet the cash cannot pay is refinanced when the tests hold: a level loan at base + spread over the new term")
  func refinanced() {
    // CFADS: 2,000 × 730 h × $1 = $1.46m a month; at month 12 the company
    // has 12 months of it less interest: short of $40m.
    let t = refinancing("refi_term=24 refi_spread=6% refi_max_ltv=90% refi_min_dscr=1.15x")
    let f = t.json("waterfall --json")["facilities"]?["loan"]
    #expect(f?["refinanced"]?.boolValue == true)
    #expect(f?["default_month"] == .null)
    let periods = t.json("waterfall --facility loan --json")["periods"]?.arrayValue ?? []
    #expect(periods.count == 36)
    // Month 12: interest and what the cash could pay; the rest refinanced.
    let cash12 = 12 * 1_460_000.0 - 12 * 40_000_000 * 0.10 / 12
    let rest = 40_000_000 - cash12
    #expect(abs(num(periods[11], "principal") - cash12) < 1, "\(num(periods[11], "principal"))")
    #expect(abs(num(periods[11], "balance") - rest) < 1)
    // Month 13: the level payment on the rest at (4.3 % + 6 %) / 12 over 24.
    let r = (Rates.base + 0.06) / 12
    let payment = rest * r / (1 - pow(1 + r, -24))
    #expect(abs(num(periods[12], "interest") + num(periods[12], "principal") - payment) < 1)
    #expect(abs(num(periods[12], "interest") - rest * r) < 1)
    #expect(t.ok("waterfall").contains("refinanced: $"))
    // Repaid by month 36, within the horizon.
    #expect(num(f, "balance_end") < 1)
  }

  @Test("no refinancing when a test fails, or without refi_term: the bullet is a payment default")
  func refused() {
    // The DSCR test: a year of $1.46m over 12 × the new payment on the
    // $26.5m left ($1.22m): 1.19x.
    #expect(refinancing("refi_term=24 refi_spread=6% refi_min_dscr=1.3x").json("waterfall --json")["facilities"]?["loan"]?["default_month"]?.numberValue == 12)
    #expect(refinancing("refi_term=24 refi_spread=6% refi_min_dscr=1.15x").json("waterfall --json")["facilities"]?["loan"]?["refinanced"]?.boolValue == true)
    // The LTV test: $26.5m left over a fleet worth about $48m at month 12.
    #expect(refinancing("refi_term=24 refi_max_ltv=30%").json("waterfall --json")["facilities"]?["loan"]?["default_month"]?.numberValue == 12)
    #expect(refinancing("refi_term=24 refi_max_ltv=60%").json("waterfall --json")["facilities"]?["loan"]?["refinanced"]?.boolValue == true)
    let none = refinancing("").json("waterfall --json")["facilities"]?["loan"]
    #expect(num(none, "default_month") == 12 && none?["refinanced"]?.boolValue == false)
  }
}
