import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `liquidate`: the sale model against a hand computation, lien order,
/// conservation, market depth, cooling, and default contagion.
@Suite("liquidate")
struct LiquidateTests {
  /// One fleet of `units` GPUs at $30k, straight-line over 60 months to 0,
  /// no step-downs, no power cost unless asked; owned by `co`.
  func deal(units: Int = 1000, cooling: String = "air", rackKW: Int = 10, powerPrice: Double = 0, extra: [String]) -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=60")
    t.ok("add entity eq type=sponsor")
    t.ok("add entity co type=spv parent=eq")
    t.ok("add asset site type=site mw=10 power_price=\(powerPrice) pue=1")
    t.ok(
      "add asset fleet type=gpu model=H100 units=\(units) unit_cost=30000 life=60 salvage=0 obsolescence=none cooling=\(cooling) rack_kw=\(rackKW) owner=co site=site")
    t.ok("add contract l type=lease rate=2 utilization=100% term=60 fleet=fleet")
    for line in extra { t.ok(line) }
    return t
  }

  func num(_ v: JSONValue?, _ k: String) -> Double { v?[k]?.numberValue ?? .nan }
  func names(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap(\.stringValue) ?? [] }

  @Test("one month's sale by hand: market value × (1 − impact) × (1 − workout), discounted one month")
  func handComputed() {
    let t = deal(units: 100, extra: ["add facility f type=term amount=$5m rate=8% term=48 borrower=co", "link fleet pledged-to f"])
    let mv = t.json("depreciate --json")["assets"]?["fleet"]?["market_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    let j = t.json("liquidate at=12 depth=100 --json")
    // Sold in month 13 at its market value then (index 12), 20 % impact at
    // full depth, 5 % workout, no carry (power price 0, opex 0), one month
    // at 12 %/yr; air-cooled 10 kW racks: no cooling haircut.
    let expected = mv[12] * 0.8 * 0.95 / pow(1.12, 1.0 / 12)
    #expect(abs(num(j["assets"]?["fleet"], "net_proceeds") - expected) < 0.01)
    #expect(num(j["assets"]?["fleet"], "cooling_haircut") == 0)
    let f = j["facilities"]?["f"]
    #expect(num(f, "months_to_liquidate") == 1)
    let claim = num(f, "claim")
    #expect(abs(num(f, "recovery_rate") - min(1, expected / claim)) < 1e-4)
    #expect(abs(num(f, "loss") - max(0, claim - expected)) < 0.01)
    // A default assumed in month 12 comes before its payment: the claim is
    // the balance at the end of month 11 and month 12's interest (8 %/12).
    let balance = t.json("waterfall months=11 --json")["facilities"]?["f"]?["balance_end"]?.numberValue ?? .nan
    #expect(abs(balance * (1 + 0.08 / 12) - claim) < 0.01, "\(balance) \(claim)")
    #expect(num(f, "default_month") == 12)
    #expect(f?["sale"]?.stringValue == "going_concern" || f?["sale"]?.stringValue == "fire_sale")
  }

  @Test("lien order: a first lien never recovers a smaller share than a second; recoveries in [0, 1]; nothing distributed twice")
  func lienOrderAndConservation() {
    var rng = SeededRandom(seed: 12)
    let seed = "\(rng)"
    for _ in 0..<12 {
      let senior = Int.random(in: 1...40, using: &rng), junior = Int.random(in: 1...40, using: &rng)
      let at = Int.random(in: 1...50, using: &rng), depth = [100, 300, 1000, 5000].randomElement(using: &rng)!
      let t = deal(
        powerPrice: 0.08,
        extra: [
          "add facility senior type=term amount=$\(senior)m rate=9% term=60 borrower=co", "link fleet pledged-to senior lien=1",
          "add facility junior type=term amount=$\(junior)m rate=14% term=60 rank=2 borrower=co", "link fleet pledged-to junior lien=2",
          "add asset cash type=cash amount=$2m owner=co",
        ])
      let j = t.json("liquidate at=\(at) depth=\(depth) --json")
      let s = j["facilities"]?["senior"], jr = j["facilities"]?["junior"]
      let rs = num(s, "recovery_rate"), rj = num(jr, "recovery_rate")
      let inCase = "\(senior)m/\(junior)m at \(at), depth \(depth); \(seed)"
      #expect(rs >= rj - 1e-9, "senior \(rs) junior \(rj) (\(inCase))")
      for r in [rs, rj] { #expect(r >= 0 && r <= 1, "\(inCase)") }
      let recovered = num(s, "recovered") + num(jr, "recovered")
      #expect(recovered <= num(j, "net_proceeds") + 0.02, "rounded to cents; \(inCase)")
      #expect(abs(num(j, "distributed") - recovered) < 0.02, "\(inCase)")
      for f in [s, jr] {
        #expect(abs(num(f, "claim") - num(f, "recovered") - num(f, "loss")) < 0.02, "\(inCase)")
        #expect(abs(num(f, "from_collateral") + num(f, "from_guarantors") + num(f, "from_unsecured") - num(f, "recovered")) < 0.02, "\(inCase)")
      }
    }
  }

  @Test("months to liquidate count the sales a facility is paid from: its collateral, a guarantor's assets, the estate")
  func monthsFromEstateAndGuarantor() {
    // An unsecured loan to co is repaid from co's unpledged fleet (4,000
    // units at 500 a month: 8 months); a loan to an empty SPV guaranteed
    // by co is paid by co from the same fleet.
    let t = deal(
      units: 4000,
      extra: [
        "add facility unsec type=term amount=$1m rate=8% term=48 borrower=co",
        "add entity spv type=spv",
        "add facility guaranteed type=term amount=$1m rate=8% term=48 borrower=spv",
        "link co guarantees guaranteed",
      ])
    let j = t.json("liquidate unsec guaranteed at=6 depth=500 --json")
    for id in ["unsec", "guaranteed"] {
      let f = j["facilities"]?[id]
      #expect(num(f, "recovery_rate") == 1, "\(id)")
      #expect(num(f, "months_to_liquidate") == 8, "\(id) is paid when the fleet is sold")
    }
    #expect(num(j["facilities"]?["unsec"], "from_unsecured") > 0)
    #expect(num(j["facilities"]?["guaranteed"], "from_guarantors") > 0)
  }

  @Test("a deeper market recovers at least as much and sells faster; months ≈ units / depth")
  func depth() {
    let t = deal(
      units: 4000, powerPrice: 0.08,
      extra: ["add facility f type=term amount=$100m rate=9% term=60 borrower=co", "link fleet pledged-to f"])
    var last: (rate: Double, months: Double)? = nil
    for depth in [100.0, 250, 400, 1000, 1500, 4000, 10_000] {
      let f = t.json("liquidate at=24 depth=\(Int(depth)) --json")["facilities"]?["f"]
      let rate = num(f, "recovery_rate"), months = num(f, "months_to_liquidate")
      // At the market's pace, unless selling the rest in one block is
      // worth more than carrying it (then sooner).
      #expect(months <= (4000 / depth).rounded(.up) && months >= 1)
      if depth >= 1000 { #expect(months == (4000 / depth).rounded(.up)) }
      if let last {
        #expect(rate >= last.rate - 1e-9, "depth \(depth)")
        #expect(months <= last.months)
      }
      last = (rate, months)
    }
    #expect(last!.rate > 0)
  }

  @Test("liquid-cooled dense racks recover no more than air-cooled ones")
  func cooling() {
    func rate(_ cooling: String, _ rackKW: Int) -> Double {
      let t = deal(cooling: cooling, rackKW: rackKW, extra: ["add facility f type=term amount=$40m rate=9% term=60 borrower=co", "link fleet pledged-to f"])
      return num(t.json("liquidate at=12 --json")["facilities"]?["f"], "recovery_rate")
    }
    let air = rate("air", 10), air40 = rate("air", 40), liquid40 = rate("liquid", 40), liquid100 = rate("liquid", 100)
    #expect(air > air40 && air40 > liquid40 && liquid40 > liquid100)
    #expect(LiquidationParameters().coolingHaircut(rackKW: 10, liquid: false) == 0)
    #expect(abs(LiquidationParameters.hostableShare(rackKW: 25, liquid: false) - 0.475) < 1e-12, "interpolated between 20 and 30 kW")
  }

  @Test("contagion: three facilities linked by cross-default all default, in order")
  func crossDefaultChain() {
    let t = deal(extra: [
      "add facility a type=term amount=$10m rate=9% term=60 borrower=co", "link fleet pledged-to a",
      "add facility b type=term amount=$5m rate=9% term=60 borrower=co",
      "add facility c type=term amount=$5m rate=9% term=60 borrower=co",
      "link a cross-default b", "link b cross-default c",
    ])
    let j = t.json("liquidate a at=6 --json")
    #expect(names(j["defaulted"]) == ["a", "b", "c"])
    #expect(j["chain"]?.arrayValue?.map { $0["cause"]?.stringValue ?? "" } == ["assumed default", "cross-default from a", "cross-default from b"])
  }

  @Test("a guarantor with enough assets stops the chain; one without is in default: its lenders and the guarantee share its cash pari passu")
  func guarantorStopsChain() {
    // The guarantor is a sponsor outside co's tree, with only its cash (no
    // distributions from co) and two loans of its own.
    func run(_ cash: String) -> JSONValue {
      let t = deal(extra: [
        "add entity g type=sponsor", "add asset gcash type=cash amount=\(cash) owner=g",
        "add facility a type=term amount=$30m rate=9% term=60 borrower=co guarantor=g", "link fleet pledged-to a",
        "add facility p type=bond amount=$5m rate=0% term=60 amort=bullet borrower=g",
        "add facility q type=bond amount=$5m rate=0% term=60 amort=bullet borrower=g", "link p cross-default q",
      ])
      return t.json("liquidate a at=12 --json")
    }
    let rich = run("$100m")
    #expect(names(rich["defaulted"]) == ["a"])
    #expect(num(rich["facilities"]?["a"], "recovery_rate") == 1)
    #expect(num(rich["facilities"]?["a"], "from_guarantors") > 0)
    let poor = run("$1m")
    #expect(names(poor["defaulted"]) == ["a", "p", "q"])
    #expect(poor["chain"]?.arrayValue?[1]["cause"]?.stringValue == "its obligor g is in default")
    // g's $1m is shared pari passu by the guarantee (a's deficiency after
    // its fleet) and g's own lenders: the same share of each claim.
    let a = poor["facilities"]?["a"], pf = poor["facilities"]?["p"], qf = poor["facilities"]?["q"]
    let deficiency = num(a, "claim") - num(a, "from_collateral")
    let paid = num(a, "from_guarantors") + num(pf, "from_unsecured") + num(qf, "from_unsecured")
    #expect(abs(paid - 1_000_000) < 0.05, "\(paid)")
    #expect(abs(num(a, "from_guarantors") / deficiency - num(pf, "from_unsecured") / num(pf, "claim")) < 1e-6)
    #expect(abs(num(pf, "from_unsecured") / num(pf, "claim") - num(qf, "from_unsecured") / num(qf, "claim")) < 1e-9)
  }

  @Test("at=default takes the waterfall's default month; a deal that never defaults says so")
  func atDefault() {
    let t = deal(extra: ["add facility f type=term amount=$20m rate=9% term=36 borrower=co", "link fleet pledged-to f"])
    let calm = t.json("liquidate --json")
    #expect(calm["default_month"] == .null && names(calm["defaulted"]).isEmpty)
    #expect(t.ok("liquidate").contains("no default within the horizon (60 months) under the base case"))
    let wf = t.json("waterfall utilization=-100pt --json")
    let d = num(wf, "default_month")
    #expect(d.isFinite, "the stress makes the deal default")
    t.ok("scenario save crash utilization=-100pt")
    let j = t.json("liquidate scenario=crash --json")
    #expect(num(j, "default_month") == d)
    #expect(names(j["defaulted"]) == names(wf["defaulted"]))
    // The claim is the waterfall's claim at the facility's own default.
    #expect(num(j["facilities"]?["f"], "claim") == num(wf["facilities"]?["f"], "claim_at_default"))
    #expect(num(j["facilities"]?["f"], "default_month") == num(wf["facilities"]?["f"], "default_month"))
  }

  @Test("bad input is named: unknown facility, at outside the deal, a depth of zero")
  func errors() {
    let t = deal(extra: ["add facility fac type=term amount=$20m rate=9% term=36 borrower=co"])
    t.expectRefused("liquidate fax at=3", "unknown id 'fax'")
    t.expectRefused("liquidate fleet at=3", "'fleet' is not a facility")
    t.expectRefused("liquidate at=61", "outside the deal")
    t.expectRefused("liquidate at=2030-01", "outside the deal")
    t.expectRefused("liquidate at=soon", "invalid value for 'at'")
    t.expectRefused("liquidate at=3 depth=0", "depth")
  }

  @Test("CSV parses back to the recoveries in the JSON")
  func csv() throws {
    let t = deal(extra: ["add facility f type=term amount=$20m rate=9% term=36 borrower=co", "link fleet pledged-to f"])
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("liq-\(UUID().uuidString).csv").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let j = t.json("liquidate at=10 --csv \(path) --json")
    let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    #expect(rows[0].first == "facility" && rows.count == 2)
    #expect(Double(String(rows[1][5])) == num(j["facilities"]?["f"], "recovery_rate"))
    #expect(Double(String(rows[1][6])) == num(j["facilities"]?["f"], "loss"))
  }
}
