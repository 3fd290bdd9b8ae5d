import DealCore
@testable import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `depreciate`: each method against a published reference, invariants on
/// random inputs, step-downs, and bad input.
@Suite("depreciate")
struct DepreciateTests {
  /// A one-GPU asset, so its value is the unit cost.
  func shell(cost: Double, salvage: Double, life: Int, method: String, horizon: Int = 120, extra: String = "") -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=\(horizon)")
    t.ok("add asset a type=gpu model=H100 units=1 unit_cost=\(cost) salvage=\(salvage) life=\(life) method=\(method) obsolescence=none \(extra)")
    return t
  }

  func book(_ t: TestShell, _ args: String = "") -> [Double] {
    t.json("depreciate a \(args)")["assets"]?["a"]?["book_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
  }

  func market(_ t: TestShell, _ id: String = "a", _ args: String = "") -> [Double] {
    t.json("depreciate \(id) \(args)")["assets"]?[id]?["market_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
  }

  // MARK: IRS Publication 946, table ..A-5 (5-year property)

  @Test(
    "MACRS 5-year rates derived from the method match IRS Publication 946",
    arguments: [
      (Depreciation.Convention.halfYear, [20.00, 32.00, 19.20, 11.52, 11.52, 5.76]),
      (.midQuarter(1), [35.00, 26.00, 15.60, 11.01, 11.01, 1.38]),
      (.midQuarter(2), [25.00, 30.00, 18.00, 11.37, 11.37, 4.26]),
      (.midQuarter(3), [15.00, 34.00, 20.40, 12.24, 11.30, 7.06]),
      (.midQuarter(4), [5.00, 38.00, 22.80, 13.68, 10.94, 9.58]),
    ])
  func macrsTables(convention: Depreciation.Convention, irs: [Double]) {
    let rates = Depreciation.macrsRates(recovery: 5, convention: convention)
    #expect(rates.count == irs.count)
    for (r, p) in zip(rates, irs) { #expect(abs(r * 100 - p) < 0.006, "\(convention): \(r * 100) vs \(p)") }
    #expect(abs(rates.reduce(0, +) - 1) < 1e-12)
  }

  @Test("macrs5 through the command: each tax year's amount spread over its 12 months")
  func macrsCommand() {
    let t = shell(cost: 100_000, salvage: 0.05, life: 60, method: "macrs5", horizon: 84)
    let b = book(t)
    let expected = [80_000.0, 48_000, 28_800, 17_280, 5_760, 0]
    for (y, v) in expected.enumerated() { #expect(abs(b[12 * (y + 1) - 1] - v) < 0.01, "year \(y + 1)") }
    #expect(abs(b[0] - (100_000 - 20_000.0 / 12)) < 0.01)
    #expect(b[83] == 0)
  }

  @Test("macrs5 mid-quarter takes the quarter from the acquisition month")
  func macrsMidQuarter() {
    // Acquired in November: 4th quarter, 5 % in the first (2-month) tax year.
    let t = shell(cost: 100_000, salvage: 0, life: 60, method: "macrs5", horizon: 84, extra: "acquired=2025-11 convention=mid-quarter")
    let b = book(t)
    #expect(b[9] == 0, "not yet acquired in October")
    #expect(abs(b[11] - 95_000) < 0.01, "end of 2025: 5 % gone")
    #expect(abs(b[23] - 57_000) < 0.01, "end of 2026: 38 % more")
  }

  // MARK: Spreadsheet functions (the vendors' documented examples)

  @Test("SLN, SYD, DDB and VDB reproduce their documented examples")
  func spreadsheetFunctions() {
    #expect(Depreciation.sln(cost: 30000, salvage: 7500, life: 10) == 2250)
    #expect(abs(Depreciation.syd(cost: 30000, salvage: 7500, life: 10, per: 1) - 4090.91) < 0.005)
    #expect(abs(Depreciation.syd(cost: 30000, salvage: 7500, life: 10, per: 10) - 409.09) < 0.005)
    #expect(abs(Depreciation.ddb(cost: 2400, salvage: 300, life: 3650, period: 1) - 1.32) < 0.005)
    #expect(abs(Depreciation.ddb(cost: 2400, salvage: 300, life: 120, period: 1) - 40.00) < 0.005)
    #expect(abs(Depreciation.ddb(cost: 2400, salvage: 300, life: 10, period: 1) - 480.00) < 0.005)
    #expect(abs(Depreciation.ddb(cost: 2400, salvage: 300, life: 10, period: 2, factor: 1.5) - 306.00) < 0.005)
    #expect(abs(Depreciation.ddb(cost: 2400, salvage: 300, life: 10, period: 10) - 22.12) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 3650, start: 0, end: 1) - 1.32) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 120, start: 0, end: 1) - 40.00) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 10, start: 0, end: 1) - 480.00) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 120, start: 6, end: 18) - 396.31) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 120, start: 6, end: 18, factor: 1.5) - 311.81) < 0.005)
    #expect(abs(Depreciation.vdb(cost: 2400, salvage: 300, life: 10, start: 0, end: 0.875, factor: 1.5) - 315.00) < 0.005)
  }

  @Test("the same examples through depreciate, with monthly periods")
  func spreadsheetThroughCommand() {
    // SLN(30000, 7500, 10): 2,250 a month over a 10-month life.
    let sl = book(shell(cost: 30000, salvage: 0.25, life: 10, method: "straight"))
    #expect(abs(sl[0] - 27750) < 0.01 && abs(sl[9] - 7500) < 0.01 && abs(sl[30] - 7500) < 0.01)
    // SYD(30000, 7500, 10, 1) = 4,090.91 and SYD(..., 10) = 409.09.
    let sy = book(shell(cost: 30000, salvage: 0.25, life: 10, method: "syd"))
    #expect(abs((30000 - sy[0]) - 4090.91) < 0.01)
    #expect(abs((sy[8] - sy[9]) - 409.09) < 0.01)
    // DDB(2400, 300, 120, 1) = 40 and VDB(2400, 300, 120, 6, 18) = 396.31.
    let dd = book(shell(cost: 2400, salvage: 0.125, life: 120, method: "ddb"))
    #expect(abs((2400 - dd[0]) - 40.00) < 0.01)
    #expect(abs((dd[5] - dd[17]) - 396.31) < 0.01)
    #expect(abs(dd[119] - 300) < 0.01, "down to salvage at the end of the life")
  }

  // MARK: Invariants

  @Test("on random inputs, book value never rises, never falls below salvage, and loses cost − salvage over the life")
  func invariants() {
    var rng = SeededRandom(seed: 24)
    let seed = "\(rng)"
    for _ in 0..<24 {
      let cost = Double.random(in: 1_000...100_000, using: &rng).rounded()
      let salvage = (Double.random(in: 0...0.5, using: &rng) * 100).rounded() / 100
      let life = Int.random(in: 1...96, using: &rng)
      for method in ["straight", "ddb", "syd"] {
        let b = book(shell(cost: cost, salvage: salvage, life: life, method: method))
        let inCase = "\(method) cost \(cost) salvage \(salvage) life \(life); \(seed)"
        #expect(b.count == 120, "\(inCase)")
        for i in 1..<b.count { #expect(b[i] <= b[i - 1] + 1e-6, "rises at month \(i + 1): \(inCase)") }
        #expect(b.allSatisfy { $0 >= cost * salvage - 0.01 }, "below salvage: \(inCase)")
        #expect(abs((cost - b[life - 1]) - (cost - cost * salvage)) < 0.02, "\(inCase)")
      }
    }
  }

  func rentalShell(deflation: String) -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=72")
    t.ok("add asset a type=gpu model=H100 units=1000 unit_cost=30000 life=60 obsolescence=none method=rental")
    t.ok("add contract l type=lease rate=2.00 term=24 utilization=80% deflation=\(deflation) fleet=a")
    return t
  }

  @Test("rental value falls when deflation rises and is zero once the fleet earns nothing more")
  func rental() {
    let low = book(rentalShell(deflation: "20%")), high = book(rentalShell(deflation: "40%"))
    #expect(high[0] < low[0])
    #expect(high[30] < low[30])
    #expect(low[59] == 0 && low[71] == 0, "nothing to earn after the fleet's life (month 60)")
    #expect(low[58] > 0)
    // Hand check of the last month: month 60's net income discounted one month.
    let spot = 2.0 * pow(0.8, 60.0 / 12), revenue = 1000 * 0.8 * 730 * spot, power = 1000 * 1.2 * 1.3 * 730 * 0.07
    let expected = (revenue - power) / pow(1.12, 1.0 / 12)
    #expect(abs(low[58] - expected) < 0.01)
    // No lease: no value.
    let t = TestShell()
    t.ok("deal start=2025-01")
    t.ok("add asset a type=gpu model=H100 units=10 unit_cost=1 method=rental")
    #expect(book(t).allSatisfy { $0 == 0 })
  }

  // MARK: Step-downs, acquisition, crypto, cash

  @Test("market value = book value × the launch step-downs; overrides replace the calendar")
  func stepDowns() {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=48")
    t.ok("add asset a type=gpu model=H100 units=1 unit_cost=1000 salvage=0 life=48")
    let calendar = t.json("depreciate a")["assets"]?["a"]
    let b = calendar?["book_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    let m = calendar?["market_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    #expect(m[7] == b[7], "no step before 2025-09")
    #expect(abs(m[8] - b[8] * 0.9) < 0.01, "Blackwell Ultra, 2025-09: -10%")
    #expect(abs(m[20] - b[20] * 0.9 * 0.75) < 0.01, "Rubin, 2026-09: -25%")
    let o = market(t, "a", "obsolescence=\"2026-01:-50%\"")
    #expect(o[11] == b[11] && abs(o[12] - b[12] * 0.5) < 0.01)
    #expect(market(t, "a", "obsolescence=none") == b)
    t.ok("set a obsolescence=\"2025-03:-30%\"")
    let own = market(t)
    #expect(own[1] == b[1] && abs(own[2] - b[2] * 0.7) < 0.01)
    // A Blackwell card is not hit by Blackwell's own launches.
    t.ok("add asset bw type=gpu model=B200 units=1 unit_cost=1000 salvage=0 life=48")
    let bw = t.json("depreciate bw")["assets"]?["bw"]
    #expect(bw?["book_value"]?.arrayValue?[10] == bw?["market_value"]?.arrayValue?[10])
  }

  @Test("an asset acquired after the start is worth nothing before; crypto is amount × price; cash at face")
  func acquisitionCryptoCash() {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=24")
    t.ok("add asset a type=gpu model=H100 units=2 unit_cost=1000 salvage=0 life=10 acquired=2025-06 obsolescence=none")
    t.ok("add asset btc type=crypto coin=BTC amount=10 price=95k")
    t.ok("add asset c type=cash amount=$5m")
    let j = t.json("depreciate")
    let a = j["assets"]?["a"]?["book_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    #expect(a[0...4].allSatisfy { $0 == 0 })
    #expect(a[5] == 1800, "bought in month 6, one month of a 10-month straight line")
    #expect(j["assets"]?["btc"]?["market_value"]?.arrayValue?.allSatisfy { $0 == 950_000 } == true)
    #expect(j["assets"]?["c"]?["book_value"]?.arrayValue?.first == 5_000_000)
    #expect(j["total_market_value"]?.arrayValue?[5] == .number(1800 + 950_000 + 5_000_000))
  }

  @Test("the CSV file parses back to the numbers of the JSON")
  func csv() throws {
    let t = shell(cost: 2400, salvage: 0.125, life: 120, method: "ddb", horizon: 24)
    let path = t.folder + "/v.csv"
    t.ok("depreciate a --csv \(path)")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    #expect(lines[0] == "month,date,a_book_usd,a_market_usd,total_market_usd")
    #expect(lines.count == 25)
    let b = book(t)
    for (i, line) in lines.dropFirst().enumerated() {
      let f = line.split(separator: ",")
      #expect(Double(f[2]) == b[i])
    }
  }

  @Test(
    "bad input is refused with a clear error",
    arguments: [
      ("depreciate life=0", "invalid value '0' for 'life'"), ("depreciate method=fifo", "unknown method 'fifo'"),
      ("depreciate obsolescence=\"2040-01:-20%\"", "outside the deal (2025-01 to 2029-12)"),
      ("depreciate obsolescence=\"2026-01:-20\"", "must be between -100% and +100%"),
      ("depreciate obsolescence=soon", "is not DATE:CHANGE"), ("depreciate ghost", "unknown id 'ghost'"),
      ("depreciate l", "'l' is a contract (lease); depreciate values gpu, crypto and cash assets"),
      ("set a salvage=150%", "must be between 0% and 100%"), ("set a model=H1000", "invalid value 'H1000' for 'model'"),
      ("set a method=lifo", "invalid value 'lifo' for 'method'"), ("depreciate convention=quarterly", "unknown convention"),
    ])
  func badInput(line: String, message: String) {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=60")
    t.ok("add asset a type=gpu model=H100 units=1 unit_cost=1000")
    t.ok("add contract l type=lease rate=2 term=12 fleet=a")
    t.expectRefused(line, message)
  }

  @Test("an asset acquired after the horizon is worth nothing within it, and says so")
  func lateAcquisition() {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=12")
    t.ok("add asset a type=gpu model=H100 units=1 unit_cost=1000 acquired=2027-01")
    #expect(t.ok("depreciate").contains("a: acquired in 2027-01, after the last month valued (2025-12): no value before then"))
    let values = t.json("depreciate")["assets"]?["a"]?["market_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    #expect(values.count == 12 && values.allSatisfy { $0 == 0 })
    // Run past the horizon, the curve starts at the acquisition.
    let later = t.json("depreciate months=36")["assets"]?["a"]?["market_value"]?.arrayValue?.compactMap(\.numberValue) ?? []
    #expect(later.count == 36 && later[23] == 0 && later[24] > 0)
  }
}
