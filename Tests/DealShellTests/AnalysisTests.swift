import DealCore
import DealEngine
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// The commands share one typed analysis of the session: what one command
/// cannot compute is an error everywhere, never a silently different number.
@Suite("the shared analysis")
struct AnalysisTests {
  func example(_ name: String) -> TestShell {
    let t = TestShell()
    t.ok("open \(TestShell.repositoryRoot)/Sessions/\(name).deal")
    return t
  }

  @Test("an unpledged GPU fleet bought after the horizon changes neither the waterfall nor the recoveries")
  func lateUnpledgedAsset() {
    let t = example("neocloud-abl")
    let before = t.json("waterfall"), liquidation = t.json("liquidate at=41")
    #expect(before["first_breach_month"]?.numberValue == 21)
    t.ok("add asset later type=gpu model=B200 units=512 unit_cost=$40k acquired=2031-01 owner=neo")
    let after = t.json("waterfall")
    #expect(after["first_breach_month"] == before["first_breach_month"])
    #expect(after["default_month"] == before["default_month"])
    #expect(after["periods"]?.arrayValue?[20]["ltv"] == before["periods"]?.arrayValue?[20]["ltv"], "LTV keeps its collateral")
    #expect(after["periods"]?.arrayValue?[20]["ltv"] != .null)
    let recovered = t.json("liquidate at=41")["facilities"]?["ddtl"]?["recovery_rate"]?.numberValue ?? 0
    #expect(recovered == liquidation["facilities"]?["ddtl"]?["recovery_rate"]?.numberValue)
    #expect(recovered > 0.3)
  }

  @Test("a curve that cannot be computed is an error of every command that needs it, naming the asset")
  func valuationErrorsReachTheUser() {
    let t = example("neocloud-abl")
    // A coin without a price cannot be valued (the commands refuse to make
    // one; here the graph is changed beneath them): the waterfall must not
    // run on without the fleet's market value.
    t.ok("add asset coins type=crypto coin=BTC amount=10 price=90000 owner=neo")
    var s = t.shell.session
    #expect(throws: Never.self) { try s.graph.setAttributes(of: "coins", ["coin": .text("BTC"), "amount": .number(10)]) }
    t.shell.replace(with: SessionFile(session: s, journal: [], metadata: t.shell.metadata!), path: nil, disk: nil)
    for command in ["depreciate", "waterfall", "liquidate", "shock deflation=40%", "shock mc paths=10"] {
      let (status, out) = t.run(command)
      #expect(status == .failed, "\(command)")
      #expect(out.contains("'coins'"), "\(command): \(out)")
    }
  }

  @Test("a value-taking flag followed by another flag is refused, not given the flag as its value")
  func flagValueIsNoFlag() {
    let t = example("neocloud-abl")
    let (status, out) = t.run("waterfall --csv --json")
    #expect(status == .failed)
    #expect(out.contains("'--csv' needs a value (FILE) before '--json'"), "\(out)")
    #expect(!FileManager.default.fileExists(atPath: "--json"))
    // A quoted value that starts with "--" is a value.
    let path = t.folder + "/--odd.csv"
    let (s2, _) = t.run("waterfall --csv '\(path)'")
    #expect(s2 == .ok)
    #expect(FileManager.default.fileExists(atPath: path))
  }

  @Test("a scenario stored with an unknown key or a value out of range refuses the file")
  func storedScenariosAreChecked() throws {
    let bad = ["{\"deflaton\": 0.6}": "unknown stress key 'deflaton' (did you mean 'deflation'?)", "{\"haircut\": -0.5}": "'haircut' must be between 0% and 100%"]
    let text = try String(contentsOfFile: TestShell.repositoryRoot + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    for (scenario, message) in bad {
      let broken = text.replacingOccurrences(of: "\"scenarios\": {}", with: "\"scenarios\": {\"typo\": \(scenario)}")
      #expect(broken != text)
      #expect {
        try SessionCodec.decode(broken, schema: TestShell().shell.schema)
      } throws: { e in
        let m = (e as? SessionCodec.DecodeError)?.message ?? ""
        return m.contains("scenario 'typo': \(message)")
      }
    }
  }

  @Test("the analysis is shared while the session is unchanged and renewed when it changes")
  func cachedPerRevision() {
    let t = example("neocloud-abl")
    let a = t.shell.analysis
    t.ok("waterfall")
    #expect(t.shell.analysis === a)
    t.ok("set ddtl rate=12%")
    #expect(t.shell.analysis !== a)
    let b = t.shell.analysis
    t.ok("undo")
    #expect(t.shell.analysis !== b)
    #expect(t.shell.analysis.session == t.shell.session)
  }
}
