import DealBuiltins
import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

@Suite("transcripts")
struct TranscriptTests {
  @Test(
    "`...` matches any lines or any text",
    arguments: [
      (["a", "...", "d"], ["a", "b", "c", "d"], true), (["a", "...", "d"], ["a", "d"], true),
      (["a", "...", "d"], ["a", "b"], false), (["saved '...' (revision 1)"], ["saved '/tmp/x' (revision 1)"], true),
      (["saved '...' (revision 1)"], ["saved '/tmp/x' (revision 2)"], false), (["..."], [], true),
      (["x"], ["x", "y"], false), (["a...b...c"], ["a1b2c"], true), (["a...b...c"], ["a1c2b"], false),
    ])
  func wildcards(expected: [String], actual: [String], match: Bool) {
    #expect(Transcript.matches(expected: expected, actual: actual) == match)
  }

  @Test("parse: commands and their output; a header is ignored")
  func parse() {
    let entries = Transcript.parse("header\ndealsh> ls\nno nodes\n\ndealsh> deal\nx\n")
    #expect(entries.count == 2)
    #expect(entries[0].command == "ls" && entries[0].expected == ["no nodes"])
    #expect(entries[1].line == 5)
  }

  @Test("a difference is reported as a unified diff")
  func diff() {
    let t = TestShell()
    let (diff, commands, failures) = t.shell.check(transcript: "dealsh> ls\nno nodes at all\n", name: "t.transcript")
    #expect(commands == 1 && failures == 1)
    #expect(diff.contains("--- t.transcript (expected)"))
    #expect(diff.contains("-no nodes at all"))
    #expect(diff.contains("+no nodes (add one with 'add')"))
  }

  @Test("record then check round-trips")
  func recordCheck() {
    let t = TestShell()
    let (text, _) = t.shell.record(script: TestShell.sampleDeal.joined(separator: "\n") + "\nls\nshow nope\n")
    let u = TestShell()
    #expect(u.shell.check(transcript: text, name: "r").diff == "")
  }

  static var transcriptFiles: [String] {
    let root = TestShell.repositoryRoot
    var out: [String] = []
    for dir in ["Sessions", "Tests/Transcripts"] {
      let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + dir)) ?? []
      out += files.filter { $0.hasSuffix(".transcript") }.sorted().map { dir + "/" + $0 }
    }
    return out
  }

  @Test("every transcript in the repository replays clean", arguments: transcriptFiles)
  func replay(file: String) throws {
    let root = TestShell.repositoryRoot
    let saved = FileManager.default.currentDirectoryPath
    // Transcripts name files relative to the repository root.
    #expect(FileManager.default.changeCurrentDirectoryPath(root))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
    let t = TestShell(env: ["DEALSH_SESSIONS": "Sessions"])
    t.shell.variables["TMP"] = t.folder
    let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
    let result = t.shell.check(transcript: text, name: file)
    #expect(result.diff == "", "\(result.diff)")
    #expect(result.commands > 0)
  }

  @Test("every folder under Plugins/ is registered in BuiltInPlugins")
  func builtInList() throws {
    let root = TestShell.repositoryRoot
    let folders = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/Plugins")) ?? [])
      .filter { !$0.hasPrefix(".") && !$0.hasPrefix("Example") }.map { $0.lowercased() }.sorted()
    let registered = BuiltInPlugins.all.map { $0.name.lowercased() }
    for f in folders {
      #expect(
        registered.contains(f),
        "Plugins/\(f) is not in Sources/DealBuiltins/BuiltInPlugins.swift: add its plugin to `all` (sorted by name)")
    }
    #expect(registered == registered.sorted(), "keep BuiltInPlugins.all sorted by name")
  }
}
