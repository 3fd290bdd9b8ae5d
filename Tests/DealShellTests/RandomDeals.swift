import Foundation
import _DealShellTestSupport

/// Random deals for property tests of the structural waterfall: a tree of
/// entities (some outside it), fleets on leases owned by them, free cash and
/// coins, facilities of every amortization at any entity, pledges with
/// liens, reserves, guarantees, cross-defaults, delayed draws. Each is the
/// list of commands that builds it, so a failing case can be replayed.
struct RandomDeal {
  var commands: [String] = []
  var entities: [String] = []
  var facilities: [String] = []
  var hasLockUp = false

  init(_ rng: inout SeededRandom) {
    func pick<T>(_ xs: [T]) -> T { xs[Int(rng.unit() * Double(xs.count))] }
    func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.unit() * Double(r.count)) }
    func chance(_ p: Double) -> Bool { rng.unit() < p }
    func pct(_ lo: Double, _ hi: Double) -> String { String(format: "%.1f%%", (lo + rng.unit() * (hi - lo)) * 100) }
    let horizon = pick([12, 24, 36, 48])
    commands.append("deal start=2025-01 horizon=\(horizon)")
    let n = int(1...5)
    for i in 0..<n {
      let id = "e\(i)"
      var line = "add entity \(id) type=\(i == 0 ? "sponsor" : pick(["spv", "miner", "neocloud"]))"
      if i > 0, chance(0.85) { line += " parent=e\(int(0...(i - 1)))" }
      commands.append(line)
      entities.append(id)
    }
    commands.append("add asset site type=site mw=500 power_price=\(String(format: "%.3f", 0.03 + rng.unit() * 0.07)) pue=1.3")
    var fleets: [String] = [], cashes: [String] = [], coins: [String] = []
    for (i, e) in entities.enumerated() {
      for k in 0..<int(0...2) {
        let id = "g\(i)\(k)"
        commands.append(
          "add asset \(id) type=gpu model=\(pick(["H100", "H200", "B200"])) units=\(int(50...2000)) unit_cost=\(int(20...40))k life=\(int(36...72)) kw=\(String(format: "%.2f", 1 + rng.unit() * 0.5)) opex=\(int(0...250)) owner=\(e) site=site")
        fleets.append(id)
        if chance(0.85) {
          commands.append(
            "add contract l\(i)\(k) type=lease rate=\(String(format: "%.2f", 1.2 + rng.unit() * 1.8)) utilization=\(pct(0.5, 1)) term=\(int(1...(horizon + 12))) take_or_pay=\(pct(0, 0.95)) spot_rate=\(String(format: "%.2f", 0.8 + rng.unit() * 1.5)) deflation=\(pct(0, 0.6)) fleet=\(id)")
        }
      }
      if chance(0.5) {
        commands.append("add asset c\(i) type=cash amount=\(String(format: "%.1f", rng.unit() * 20))m owner=\(e)")
        cashes.append("c\(i)")
      }
      if chance(0.25) {
        commands.append("add asset b\(i) type=crypto coin=BTC amount=\(int(10...500)) price=\(int(50...100))k owner=\(e)")
        coins.append("b\(i)")
      }
    }
    let amorts = ["level", "straight", "bullet", "sculpted", "sweep"]
    for j in 0..<int(1...6) {
      let id = "f\(j)"
      let amort = pick(amorts)
      var line =
        "add facility \(id) type=\(pick(["term", "bond", "mezz", "abl"])) amount=\(String(format: "%.1f", 1 + rng.unit() * 49))m rate=\(pct(0.02, 0.15)) term=\(int(1...(horizon + 24))) amort=\(amort) rank=\(int(1...3)) borrower=\(pick(entities))"
      if amort == "sculpted" { line += " target_dscr=\(String(format: "%.2f", 1.1 + rng.unit()))x" }
      if amort == "sweep" || chance(0.2) { line += " sweep=\(pct(0, 0.8))" }
      if chance(0.4) { line += " dsra_months=\(int(1...6))" }
      if chance(0.5) { line += " min_dscr=\(String(format: "%.2f", 1 + rng.unit() * 0.5))x" }
      if chance(0.25) {
        line += " lockup_dscr=\(String(format: "%.2f", 1 + rng.unit() * 0.6))x"
        hasLockUp = true
      }
      if chance(0.3) { line += " max_ltv=\(pct(0.5, 1))" }
      if chance(0.2) { line += " advance_rate=\(pct(0.3, 0.9))" }
      if chance(0.2) { line += " start=2025-\(String(format: "%02d", int(2...min(12, horizon))))" }
      commands.append(line)
      facilities.append(id)
    }
    // Pledges: fleets to up to two facilities (liens 1 and 2), cash as
    // reserves, coins with margin calls.
    for fl in fleets {
      let targets = Array(Set((0..<int(0...2)).map { _ in pick(facilities) })).sorted()
      for (k, f) in targets.enumerated() { commands.append("link \(fl) pledged-to \(f) lien=\(k + 1)") }
    }
    for c in cashes where chance(0.3) { commands.append("link \(c) pledged-to \(pick(facilities))") }
    for c in coins where chance(0.5) {
      let f = pick(facilities)
      commands.append("link \(c) pledged-to \(f)")
      commands.append("set \(f) margin_ltv=\(pct(0.5, 0.9))")
    }
    for f in facilities where chance(0.35) { commands.append("link \(pick(entities)) guarantees \(f)") }
    for f in facilities where chance(0.2) {
      let g = pick(facilities)
      if g != f { commands.append("link \(f) cross-default \(g)") }
    }
  }
}
