import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Deterministic `shock` and named scenarios.
@Suite("shock (deterministic) and scenarios")
struct ShockTests {
  func deal() -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=48")
    t.ok("add entity co type=spv")
    t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=30000 life=60 owner=co")
    t.ok("add contract l type=lease rate=2.20 utilization=90% term=24 take_or_pay=80% spot_rate=2 deflation=30% fleet=fleet")
    t.ok("add facility f type=term amount=$20m rate=9% floating=false term=48 borrower=co")
    t.ok("link fleet pledged-to f")
    return t
  }

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
    #expect(t.shell.session.scenarios["bear"] == ["deflation": 0.6])
    #expect(t.run("scenario ls").output.contains("bear      deflation=60%"))
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
    let t = deal()
    let (status, out) = t.run(line)
    #expect(status == .failed)
    #expect(out.contains(message), "\(out)")
  }
}
