import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// A leased fleet financed by one facility, for the stress tests.
func stressDeal(facility: String, deflation: String) -> TestShell {
  let t = TestShell()
  t.ok("deal start=2025-01 horizon=48")
  // The SPV distributes what it does not owe to its sponsor, which owes
  // nothing: its lender is paid from the fleet alone.
  t.ok("add entity sponsor type=sponsor")
  t.ok("add entity co type=spv parent=sponsor")
  t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=30000 life=60 owner=co")
  t.ok("add contract l type=lease rate=2.20 utilization=90% term=24 take_or_pay=80% spot_rate=2 deflation=\(deflation) fleet=fleet")
  t.ok("add facility \(facility) type=term amount=$20m rate=9% term=48 borrower=co")
  t.ok("link fleet pledged-to \(facility)")
  return t
}

/// Deterministic `shock` and named scenarios.
@Suite("shock (deterministic) and scenarios")
struct ShockTests {
  func deal() -> TestShell { stressDeal(facility: "f", deflation: "30%") }

  @Test("more deflation never raises the minimum DSCR; the JSON has base and shocked summaries")
  func monotone() {
    let t = deal()
    var last = Double.infinity
    for d in stride(from: 0, through: 90, by: 10) {
      let j = t.json("shock deflation=\(d)%")
      let base = j["base"]?["min_dscr"]?.numberValue
      let shocked = j["shocked"]?["min_dscr"]?.numberValue ?? -.infinity
      #expect(base != nil)
      #expect(shocked <= last + 1e-12, "deflation \(d)%")
      last = shocked
      #expect(j["shocked"]?["facilities"]?["f"]?["loss"] != nil)
    }
  }

  @Test("each key moves the result the way it should")
  func directions() {
    let t = deal()
    func minDSCR(_ args: String) -> Double { t.json("shock \(args)")["shocked"]?["min_dscr"]?.numberValue ?? .nan }
    let base = t.json("shock spot=0%")["base"]?["min_dscr"]?.numberValue ?? .nan
    #expect(minDSCR("spot=-30%") < base)
    #expect(minDSCR("utilization=-30pt") < base)
    #expect(minDSCR("power=+100%") < base)
    #expect(minDSCR("spot=+30%") > base)
    // A fixed-rate deal does not care about the base rate; a floating one does.
    #expect(minDSCR("rate=+300bp") == base)
    t.ok("set f floating=true spread=4.7%")
    let floatBase = t.json("shock rate=0bp")["base"]?["min_dscr"]?.numberValue ?? .nan
    #expect(minDSCR("rate=+300bp") < floatBase)
  }

  @Test("name= keeps a scenario; scenario ls, compare, rm; waterfall scenario=NAME runs under it; undo")
  func scenarios() {
    let t = deal()
    t.ok("shock deflation=60% name=bear")
    #expect(t.shell.session.scenarios["bear"]?.factors == ["deflation": 0.6])
    #expect(t.run("scenario ls").output.contains("bear              deflation=60%"))
    let w = t.json("waterfall scenario=bear")
    let s = t.json("shock deflation=60%")["shocked"]
    #expect(w["min_dscr"] == s?["min_dscr"])
    t.ok("scenario save mild spot=-10% utilization=-5pt")
    let c = t.json("scenario compare base bear mild")
    #expect(c["scenarios"]?["bear"]?["min_dscr"] == s?["min_dscr"])
    t.ok("scenario rm mild")
    #expect(t.shell.session.scenarios["mild"] == nil)
    t.ok("undo")
    #expect(t.shell.session.scenarios["mild"] != nil, "scenario changes are undoable")
  }

  @Test(
    "bad input is refused",
    arguments: [
      ("shock", "no stress given"), ("shock deflation=140%", "must be between 0% and 100%"),
      ("shock spot=$5", "expected a percentage or points"), ("shock defaltion=40%", "did you mean 'deflation'"),
      ("shock spot=-10% name=Bad", "invalid scenario name 'Bad'"), ("scenario compare base ghost", "unknown scenario 'ghost'"),
      ("scenario rm ghost", "unknown scenario 'ghost'"), ("scenario frob", "unknown scenario subcommand 'frob'"),
      ("scenario save base spot=-1%", "invalid scenario name 'base'"), ("waterfall scenario=ghost", "unknown scenario 'ghost'"),
    ])
  func badInput(line: String, message: String) {
    deal().expectRefused(line, message)
  }
}

@Suite("shock grid and solve")
struct GridSolveTests {
  func deal() -> TestShell { stressDeal(facility: "senior", deflation: "10%") }

  @Test("grid: the JSON shape of SPEC §5, values that fall with deflation, and a CSV that parses back")
  func grid() throws {
    let t = deal()
    let path = t.folder + "/g.csv"
    let j = t.json("shock grid deflation=0%..60%:4 utilization=0pt..-20pt:3 --csv \(path)")
    #expect(j["metric"] == "min_dscr" && j["row_key"] == "deflation" && j["col_key"] == "utilization")
    #expect(j["rows"] == [0, 0.2, 0.4, 0.6])
    let values = j["values"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.numberValue) ?? [] } ?? []
    #expect(values.count == 4 && values.allSatisfy { $0.count == 3 })
    for c in 0..<3 { for r in 1..<4 { #expect(values[r][c] <= values[r - 1][c] + 1e-12) } }
    for r in 0..<4 { for c in 1..<3 { #expect(values[r][c] <= values[r][c - 1] + 1e-12) } }
    // Each cell is the waterfall under those stresses.
    let w = t.json("waterfall deflation=40% utilization=-10pt")
    #expect(abs(values[2][1] - (w["min_dscr"]?.numberValue ?? .nan)) < 1e-4)
    let csv = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\r\n").filter { !$0.isEmpty }
    #expect(csv.count == 5)
    let cell = csv[3].split(separator: ",")[2]
    #expect(abs(Double(cell)! - values[2][1]) < 1e-4)
  }

  @Test("solve: the breakeven deflation separates default from no default")
  func solve() {
    let t = deal()
    let j = t.json("shock solve default deflation")
    let x = j["breakeven"]?.numberValue ?? .nan
    #expect(x > 0 && x < 1)
    #expect(t.json("waterfall deflation=\(x * 100 + 0.5)%")["default_month"] != .null)
    #expect(t.json("waterfall deflation=\(max(0, x * 100 - 0.5))%")["default_month"] == .null)
    // A frontier over a second key: more spot stress, less deflation needed.
    let f = t.json("shock solve \"senior.loss>0\" deflation spot")["frontier"]?.arrayValue ?? []
    let points = f.compactMap { $0["breakeven"]?.numberValue }
    #expect(points.count >= 2)
    for i in 1..<max(1, points.count) { #expect(points[i] <= points[i - 1] + 1e-9) }
  }

  @Test(
    "bad input",
    arguments: [
      ("shock grid", "takes one or two"), ("shock grid deflation=0%..60%", "invalid range"),
      ("shock grid deflation=0%..60%:4 metric=profit", "unknown metric 'profit'"),
      ("shock grid deflation=0%..60%:4 metric=ghost.loss", "unknown facility 'ghost'"),
      ("shock solve", "takes TARGET KEY"), ("shock solve default colour", "unknown stress key 'colour'"),
      ("shock solve happiness deflation", "unknown target 'happiness'"), ("shock montecarlo", "unknown shock mode 'montecarlo'"),
      ("shock deflation=40% metric=min_dscr", "metric= belongs to 'shock grid'"),
    ])
  func badInput(line: String, message: String) {
    deal().expectRefused(line, message)
  }
}

@Suite("scenario use")
struct ScenarioUseTests {
  @Test("waterfall runs under the scenario in use; shock compares against the base; the choice is saved, diffed and undone")
  func use() throws {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=36")
    t.ok("add entity co type=spv")
    t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=30000 life=60 owner=co")
    t.ok("add contract l type=lease rate=2.20 term=12 fleet=fleet")
    t.ok("add facility f type=term amount=$10m rate=9% term=36 borrower=co")
    t.ok("scenario save bear deflation=60%")
    let base = t.json("waterfall")["min_dscr"]
    let bear = t.json("waterfall scenario=bear")["min_dscr"]
    #expect(base != bear)
    t.ok("save s1")
    t.ok("scenario use bear")
    #expect(t.json("waterfall")["min_dscr"] == bear)
    #expect(t.json("waterfall scenario=base")["min_dscr"] == base)
    #expect(t.json("shock spot=0%")["base"]?["min_dscr"] == base, "shock's base is the base case")
    #expect(t.run("scenario ls").output.contains("bear      *"))
    #expect(t.run("diff s1").output.contains("~ deal active scenario: bear → base"))
    t.ok("save s2")
    let u = TestShell(env: ["DEALSH_SESSIONS": t.folder + "/sessions"])
    u.ok("open s2")
    #expect(u.shell.session.activeScenario == "bear")
    t.ok("undo")
    #expect(t.shell.session.activeScenario == nil)
    t.ok("redo")
    t.ok("scenario rm bear")
    #expect(t.shell.session.activeScenario == nil, "removing the scenario in use returns to the base case")
    #expect(t.run("scenario use ghost").output.contains("unknown scenario 'ghost'"))
  }
}

@Suite("shock grid heat map")
struct HeatMapTests {
  @Test("on a colour terminal every cell is coloured once, equal values included")
  func colours() {
    let t = TestShell(color: true)
    t.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal")
    let out = t.ok("shock grid deflation=0%..60%:4 utilization=0pt..-30pt:4")
    let rows = out.split(separator: "\n").filter { $0.hasSuffix("\u{1B}[0m") }
    #expect(rows.count == 4)
    for r in rows {
      #expect(r.components(separatedBy: "\u{1B}[0m").count - 1 == 4, "four cells, four colours: \(r)")
      #expect(!r.contains("\u{1B}[0m\u{1B}[0m"), "no cell painted twice")
    }
    #expect(!TestShell().ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal; shock grid deflation=0%..60%:4").contains("\u{1B}["), "no colour off a terminal")
  }
}

