import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// The README runs verbatim. Its command blocks are transcripts: each
/// ```text block holding prompts (`dealsh NAME> CMD`) continues the shell of
/// the block before it, as a reader typing along would, from the `$ make run`
/// that opens the example; prompts, commands and outputs are replayed by the
/// real binary with `run --check` in a copy of `Sessions/`. `$ dealsh ...`
/// lines run as shell commands, and each line of a ```sh block that runs
/// dealsh must succeed. A README that drifts from what the shell prints
/// fails here with a diff at the README's line numbers.
@Suite("README")
struct ReadmeTests {
  struct Block {
    var info: String
    /// 1-based line of the first line inside the fence.
    var firstLine: Int
    var lines: [String]
  }

  static var readme: String {
    (try? String(contentsOfFile: TestShell.repositoryRoot + "/README.md", encoding: .utf8)) ?? ""
  }

  static func blocks(_ text: String) -> [Block] {
    var out: [Block] = []
    var current: Block? = nil
    for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = String(raw)
      if line.hasPrefix("```") {
        if let c = current {
          out.append(c)
          current = nil
        } else {
          current = Block(info: String(line.dropFirst(3)), firstLine: k + 2, lines: [])
        }
      } else {
        current?.lines.append(line)
      }
    }
    return out
  }

  /// The make target the walkthrough starts from, and what `make run` does.
  static let makeRun = "open --copy Sessions/neocloud-abl.deal"

  /// The transcripts of the README's shell blocks, one per `$ make run`,
  /// each as long as the README (line numbers match), and the `$ dealsh`
  /// lines with their expected output.
  static func transcripts(_ text: String) throws -> (chains: [String], commands: [Command]) {
    let total = text.split(separator: "\n", omittingEmptySubsequences: false).count
    var chains: [[String]] = []
    var commands: [Command] = []
    for block in blocks(text) where block.info == "text" {
      let isShell = block.lines.contains { Transcript.command(in: $0)?.prompt != nil || $0.hasPrefix("$ ") }
      guard isShell else { continue }
      var k = 0
      while k < block.lines.count {
        let line = block.lines[k], n = block.firstLine + k
        if line == "$ make run" {
          chains.append([String](repeating: "", count: total))
          chains[chains.count - 1][n - 1] = "dealsh> " + makeRun
          // make's own lines and the banner: checked below, not replayed.
          k += 1
          while k < block.lines.count, block.lines[k] == "..." || block.lines[k] == CLI.banner {
            chains[chains.count - 1][block.firstLine + k - 1] = "..."
            k += 1
          }
          continue
        }
        if line.hasPrefix("$ dealsh ") || line.hasPrefix("$ cc ") {
          var expected: [String] = []
          k += 1
          while k < block.lines.count, !block.lines[k].hasPrefix("$ "), Transcript.command(in: block.lines[k]) == nil {
            expected.append(block.lines[k])
            k += 1
          }
          commands.append((block.firstLine, n, String(line.dropFirst(2)), expected))
          continue
        }
        if line.hasPrefix("$ ") {
          throw ReadmeError("README line \(n): the check knows '$ make run', '$ dealsh ...' and '$ cc ...', not '\(line)'")
        }
        guard !chains.isEmpty else {
          throw ReadmeError("README line \(n): a prompt before any '$ make run' — which shell is it in?")
        }
        chains[chains.count - 1][n - 1] = line
        k += 1
      }
    }
    return (chains.map { $0.joined(separator: "\n") }, commands)
  }

  /// A `$ ` line outside the walkthrough: the block it is in (the commands
  /// of one block run in order in one folder), its line, what it prints.
  typealias Command = (block: Int, line: Int, command: String, expected: [String])

  struct ReadmeError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
  }

  static func sandbox() throws -> String {
    let dir = NSTemporaryDirectory() + "dealsh-readme-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: TestShell.repositoryRoot + "/Sessions", toPath: dir + "/Sessions")
    return dir
  }

  static func sh(_ script: String, in dir: String) throws -> CLITests.Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    var env = ProcessInfo.processInfo.environment
    env["PATH"] = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
    env["NO_COLOR"] = "1"
    env["DEALSH_AUTHOR"] = "tester"
    env["DEALSH_PLUGINS"] = NSTemporaryDirectory() + "dealsh-no-plugins"
    env["COLUMNS"] = "100"
    env.removeValue(forKey: "DEALSH_SESSIONS")
    p.environment = env
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLITests.Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: "")
  }

  @Test("the extraction finds the walkthrough and every command block")
  func extraction() throws {
    let (chains, commands) = try Self.transcripts(Self.readme)
    #expect(!chains.isEmpty, "no '$ make run' block in the README")
    let entries = chains.flatMap { Transcript.parse($0) }
    #expect(entries.count >= 20, "only \(entries.count) README commands found")
    #expect(entries.allSatisfy { $0.prompt != nil || $0.command == Self.makeRun })
    #expect(!commands.isEmpty, "the plugin example's '$ dealsh -c' is not found")
  }

  @Test("'$ make run' is what the Makefile runs")
  func makeRunTarget() throws {
    let makefile = try String(contentsOfFile: TestShell.repositoryRoot + "/Makefile", encoding: .utf8)
    #expect(makefile.contains("$(RELEASE) --copy Sessions/neocloud-abl.deal"), "the README's walkthrough starts from 'make run'")
    let r = try CLITests.run(["--version"])
    #expect(CLI.banner.hasPrefix(r.out.trimmingCharacters(in: .newlines) + " — "))
  }

  @Test("every prompt block of the README replays to the same output")
  func walkthrough() throws {
    if ProcessInfo.processInfo.environment["DEALSH_RECORD_README"] == "1" { try Self.rerecord() }
    let (chains, _) = try Self.transcripts(Self.readme)
    for (k, chain) in chains.enumerated() {
      let dir = try Self.sandbox()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try chain.write(toFile: dir + "/README.transcript", atomically: true, encoding: .utf8)
      let r = try CLITests.run(["run", "--check", "README.transcript"], in: dir, env: ["COLUMNS": "100"])
      #expect(r.status == 0, "README walkthrough \(k + 1) (line numbers are the README's):\n\(r.out)\(r.err)")
    }
  }

  /// `make readme`: replays the walkthrough and writes what the shell
  /// printed into the README wherever it differs from the block (a block
  /// that matches, `...` and all, is left as it is). The diff of README.md
  /// is then the change to review.
  static func rerecord() throws {
    let path = TestShell.repositoryRoot + "/README.md"
    var lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let blocks = blocks(readme)
    let (chains, _) = try transcripts(readme)
    // Replacements from the bottom up keep earlier line numbers valid.
    var edits: [(range: Range<Int>, with: [String])] = []
    for chain in chains {
      let entries = Transcript.parse(chain)
      let dir = try sandbox()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try entries.map(\.command).joined(separator: "\n").write(toFile: dir + "/readme.dsh", atomically: true, encoding: .utf8)
      let r = try CLITests.run(["run", "--record", "readme.dsh", "--prompts"], in: dir, env: ["COLUMNS": "100"])
      let recorded = Transcript.parse(r.out)
      for (e, got) in zip(entries, recorded) where e.prompt != nil {
        guard let block = blocks.first(where: { $0.firstLine <= e.line && e.line < $0.firstLine + $0.lines.count }) else { continue }
        let next = entries.first { $0.line > e.line }?.line ?? Int.max
        let end = min(next, block.firstLine + block.lines.count)  // 1-based, exclusive
        var old = Array(lines[e.line..<(end - 1)])
        Transcript.trimTrailingBlank(&old)
        if e.prompt != got.prompt || !Transcript.matches(expected: old, actual: got.expected) {
          let keep = Array(lines[(e.line + old.count)..<(end - 1)])  // blank lines before the next prompt
          edits.append(((e.line - 1)..<(end - 1), [(got.prompt ?? "") + got.command] + got.expected + keep))
        }
      }
    }
    for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
      lines.replaceSubrange(edit.range, with: edit.with)
    }
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
  }

  @Test("every '$ dealsh' example prints what the README shows")
  func shellCommands() throws {
    let text = Self.readme
    let (_, commands) = try Self.transcripts(text)
    let plugin = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().appendingPathComponent("libDealshHeadroom.so").path
    for block in Set(commands.map(\.block)).sorted() {
      let dir = try Self.sandbox()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      // What the plugin examples build from: the README's own C code (the
      // last ```c block before the commands) and the plugin header.
      if let c = Self.blocks(text).last(where: { $0.info == "c" && $0.firstLine < block }) {
        try c.lines.joined(separator: "\n").write(toFile: dir + "/minimal.c", atomically: true, encoding: .utf8)
      }
      try FileManager.default.createDirectory(atPath: dir + "/Sources/CDealPlugin", withIntermediateDirectories: true)
      try FileManager.default.copyItem(
        atPath: TestShell.repositoryRoot + "/Sources/CDealPlugin/include", toPath: dir + "/Sources/CDealPlugin/include")
      for c in commands where c.block == block {
        // The one substitution: the example plugin the test build has made.
        let line = c.command.replacingOccurrences(of: "$(make -s example-plugin | tail -1)", with: plugin)
        #expect(!line.contains("$("), "README line \(c.line): a command substitution the check cannot run")
        let r = try Self.sh(line, in: dir)
        var actual = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        Transcript.trimTrailingBlank(&actual)
        var expected = c.expected
        Transcript.trimTrailingBlank(&expected)
        #expect(
          r.status == 0 && Transcript.matches(expected: expected, actual: actual),
          "README line \(c.line): $ \(c.command)\nexit \(r.status)\n\(Transcript.diff(expected: expected, actual: actual, entry: .init(command: c.command, expected: expected, line: c.line)))")
      }
    }
  }

  @Test("every dealsh line of a sh block runs")
  func shBlocks() throws {
    for block in Self.blocks(Self.readme) where block.info == "sh" {
      for (k, raw) in block.lines.enumerated() {
        let line = raw.split(separator: "#", maxSplits: 1).first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        guard line.hasPrefix("dealsh ") || line.hasSuffix("| dealsh") else { continue }
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.sh(line, in: dir)
        #expect(r.status == 0, "README line \(block.firstLine + k): \(line)\n\(r.out)")
      }
    }
  }
}
