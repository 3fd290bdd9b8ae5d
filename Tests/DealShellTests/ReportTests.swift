import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `report FILE.html` (the browser check is Tests/Report/run.sh).
@Suite("report")
struct ReportTests {
  @Test("the memo is one self-contained HTML file with the charts and the numbers of the commands")
  func memo() throws {
    let t = TestShell()
    t.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal")
    let path = t.folder + "/memo.html"
    let out = t.ok("report \(path) paths=300")
    #expect(out.contains("wrote the credit memo to '\(path)' (5 charts)"))
    let html = try String(contentsOfFile: path, encoding: .utf8)
    #expect(html.hasPrefix("<!DOCTYPE html>") && html.components(separatedBy: "<svg").count - 1 == 5)
    #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src="), "no network reference")
    // Numbers from the commands: the waterfall's default month and the loan's loss.
    let wf = t.json("waterfall --json")
    #expect(html.contains(wf["default_month"]?.numberValue.map { "default month \(Int($0))" } ?? "default month none"))
    #expect(html.contains(Format.money(wf["facilities"]?["ddtl"]?["loss"]?.numberValue ?? 0)))
    #expect(html.contains("Notes and sources") && html.contains("CoreWeave"))
  }

  @Test("a deal without debt, or a file that cannot be written, is refused")
  func errors() {
    let t = TestShell()
    t.expectRefused("report \(t.folder)/x.html", "the deal has no facility to report on")
    t.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal")
    t.expectRefused("report /nonexistent/dir/x.html paths=0", "cannot write '/nonexistent/dir/x.html'")
  }
}
