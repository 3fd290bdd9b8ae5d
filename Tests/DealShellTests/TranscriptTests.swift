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
      // Found by the fuzzer: two wildcards in a row inside a line.
      (["a ......b"], ["a ......b"], true), (["x......y...z"], ["x1y2z"], true), (["x......y"], ["xz"], false),
      (["ab...ba"], ["aba"], false), (["...."], ["x."], true), (["...."], ["x"], false),
      // Byte for byte: a decomposed é is not the precomposed one, U+037E is not ';'.
      (["caf\u{E9}"], ["cafe\u{301}"], false), (["a;b"], ["a\u{37E}b"], false), (["caf\u{E9}..."], ["caf\u{E9} au lait"], true),
    ])
  func wildcards(expected: [String], actual: [String], match: Bool) {
    #expect(Transcript.matches(expected: expected, actual: actual) == match)
  }

  @Test("300,000 lines after a '...' match in one pass, with constant stack; a wrong line still fails")
  func longOutput() {
    let actual = (0..<300_000).map { "line \($0)" }
    #expect(Transcript.matches(expected: ["line 0", "...", "line 299999"], actual: actual))
    #expect(Transcript.matches(expected: ["...", "line 150000", "...", "line 299...9"], actual: actual))
    #expect(!Transcript.matches(expected: ["line 0", "...", "line 300000"], actual: actual))
    #expect(!Transcript.matches(expected: ["line 1", "..."], actual: actual))
    #expect(!Transcript.matches(expected: ["...", "line 299999", "line 0"], actual: actual))
    // A wrong line in a long transcript is reported without a table of
    // 300,000 × 300,000 cells.
    var wrong = actual
    wrong[200_000] = "not this"
    #expect(!Transcript.matches(expected: actual, actual: wrong))
    let d = Transcript.diff(expected: actual, actual: wrong, entry: .init(command: "ls", expected: actual, line: 1))
    #expect(d.contains("-line 200000") && d.contains("+not this"))
  }

  @Test("inputs the fuzzers found: every transcript entry matches itself, without a crash", arguments: ["wildcard-inside-character"])
  func fuzzFinds(_ name: String) throws {
    let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: TestShell.repositoryRoot + "/Tests/Fuzz/Seeds/transcript/" + name)), as: UTF8.self)
    let entries = Transcript.parse(text)
    #expect(!entries.isEmpty)
    for e in entries { #expect(Transcript.matches(expected: e.expected, actual: e.expected)) }
  }

  @Test("parse: commands and their output; a header is ignored")
  func parse() {
    let entries = Transcript.parse("header\ndealsh> ls\nno nodes\n\ndealsh> deal\nx\n")
    #expect(entries.count == 2)
    #expect(entries[0].command == "ls" && entries[0].expected == ["no nodes"])
    #expect(entries[1].line == 5)
  }

  @Test("a command after the shell's prompt: the prompt is checked too")
  func prompts() {
    let entries = Transcript.parse("dealsh neocloud-abl> ls\nx\ndealsh untitled*> deal\ndealsh 0.1.0 — not a command\n")
    #expect(entries.map(\.prompt) == ["dealsh neocloud-abl> ", "dealsh untitled*> "])
    #expect(entries.map(\.command) == ["ls", "deal"])
    #expect(entries[1].expected == ["dealsh 0.1.0 — not a command"])
    let t = TestShell()
    let good = "dealsh untitled> add entity a type=spv\nadded entity 'a' (spv)\ndealsh untitled*> undo\nundone: add entity a type=spv\n"
    #expect(t.shell.check(transcript: good, name: "p").diff == "")
    let u = TestShell()
    let (diff, _, failures) = u.shell.check(transcript: "dealsh untitled*> ls\nno nodes (add one with 'add')\n", name: "p")
    #expect(failures == 1 && diff.contains("-dealsh untitled*> ls") && diff.contains("+dealsh untitled> ls"), "\(diff)")
    let (recorded, _) = TestShell().shell.record(script: "add entity a type=spv\nls\n", prompts: true)
    #expect(recorded.hasPrefix("dealsh untitled> add entity a type=spv\n"), "\(recorded)")
    #expect(recorded.contains("\ndealsh untitled*> ls\n"), "\(recorded)")
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

  static let transcriptFiles = DataCases.files(in: ["Sessions", "Tests/Transcripts"], suffix: ".transcript")

  /// Each transcript is checked by the real binary in the repository's
  /// root (transcripts name files relative to it): the test process never
  /// changes its own working directory, which other tests share.
  @Test("every transcript in the repository replays clean", arguments: transcriptFiles)
  func replay(file: String) throws {
    let root = TestShell.repositoryRoot
    #expect(FileManager.default.fileExists(atPath: root + "/" + file), "\(file)")
    let r = try CLITests.run(["run", "--check", file], in: root, env: ["DEALSH_SESSIONS": "Sessions", "DEALSH_NOW": "", "COLUMNS": ""])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.hasPrefix("ok: \(file) ("), "\(r.out)")
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
