import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Every example in every command's help runs, as SwiftLint runs the
/// examples of its rules: an example a user copies from `help` works.
///
/// Each command's examples run in order, as one script, by the real binary
/// in a folder of their own (examples write files such as `memo.html`), on
/// each example deal in turn and on an empty session; every example must
/// succeed on at least one of them.
@Suite("help examples")
struct HelpExamplesTests {
  static var commands: [(name: String, examples: [String])] {
    TestShell().shell.registry.commandNames.compactMap { name in
      guard let spec = TestShell().shell.registry.command(name)?.spec else { return nil }
      return (name, spec.examples)
    }
  }

  static let sessions = ["neocloud-abl", "miner-double-leverage", "datacenter-project-finance", ""]

  @Test("the built-ins and the core declare examples")
  func examplesExist() {
    let commands = Self.commands
    #expect(commands.count >= 30, "the registry lists the commands")
    for c in commands { #expect(!c.examples.isEmpty, "'\(c.name)' has no example in its help") }
  }

  @Test("every example of every command runs on one of the example deals", arguments: commands.map(\.name))
  func examplesRun(command: String) throws {
    let examples = try #require(Self.commands.first { $0.name == command }).examples
    var failing = Set(examples.indices)
    var last: [Int: String] = [:]
    let plugin = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().appendingPathComponent("libDealshHeadroom.so").path
    for session in Self.sessions where !failing.isEmpty {
      let dir = NSTemporaryDirectory() + "dealsh-examples-" + UUID().uuidString
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      // What examples name: the example sessions and scripts in Sessions/,
      // the example plugin beside them.
      try FileManager.default.copyItem(atPath: TestShell.repositoryRoot + "/Sessions", toPath: dir + "/Sessions")
      try? FileManager.default.copyItem(atPath: plugin, toPath: dir + "/libDealshHeadroom.so")
      var lines: [String] = []
      if !session.isEmpty { lines.append("open \(session)") }
      lines += examples
      try lines.joined(separator: "\n").write(toFile: dir + "/examples.dsh", atomically: true, encoding: .utf8)
      let r = try CLITests.run(["run", "--record", "examples.dsh"], in: dir, env: ["DEALSH_SESSIONS": "Sessions"])
      let entries = Array(Transcript.parse(r.out).dropFirst(session.isEmpty ? 0 : 1))
      #expect(entries.count == examples.count, "\(command) on \(session): \(r.out)\(r.err)")
      for (k, e) in entries.enumerated() where k < examples.count {
        if e.expected.contains(where: { $0.hasPrefix("error: ") }) {
          last[k] = (session.isEmpty ? "an empty session" : session) + ": " + e.expected.joined(separator: "\n")
        } else {
          failing.remove(k)
        }
      }
    }
    for k in failing.sorted() {
      Issue.record("'\(examples[k])' (help \(command)) fails on every example deal; last on \(last[k] ?? "?")")
    }
  }
}
