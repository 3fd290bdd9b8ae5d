import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Crash recovery restores exactly the last state of the killed shell, or
/// says what it could not restore and restores nothing. A "kill" here is a
/// shell that stops between two commands without cleaning up: its journal,
/// fsync'd after every change, is what a kill -9 leaves (the terminal tests
/// kill a real process too).
@Suite("crash recovery, exactly")
struct CrashRecoveryTests {
  /// A shell journalling to a shared state folder, as an interactive one.
  func shell(_ dir: String) -> TestShell {
    let t = TestShell(env: ["XDG_STATE_HOME": dir + "/state", "DEALSH_SESSIONS": dir + "/sessions"])
    t.shell.startCrashJournal()
    return t
  }

  /// Leaves the killed shell's journal as an orphan (its process is gone).
  func kill(_ t: TestShell, _ dir: String, as pid: Int) throws {
    guard let j = t.shell.crashJournal else { return }
    j.close()
    let orphan = dir + "/state/dealsh/recovery/\(pid).journal"
    if FileManager.default.fileExists(atPath: j.file) { try FileManager.default.moveItem(atPath: j.file, toPath: orphan) }
    t.shell.crashJournal = nil
    t.shell.onChange = nil
    t.shell.onReset = nil
  }

  static func tempDir() -> String {
    let d = NSTemporaryDirectory() + "dealsh-recovery-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: d + "/sessions", withIntermediateDirectories: true)
    return d
  }

  @Test("the issue's sequence: an undo past the save point comes back exactly")
  func undoPastSave() throws {
    let dir = Self.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t = shell(dir)
    for line in ["add asset f type=gpu model=H100 units=100 unit_cost=30k", "save r1", "set f units=200", "undo", "undo", "redo", "set f life=48"] {
      t.ok(line)
    }
    let want = t.shell.contentHashNow
    #expect(t.shell.session.graph["f"]?.attrs["units"]?.number == 100)
    try kill(t, dir, as: 999_001)
    let u = shell(dir)
    let out = u.ok("recover")
    #expect(out.contains("recovered 5 of 5 changes"), "\(out)")
    #expect(u.shell.contentHashNow == want)
    #expect(u.shell.session.graph["f"]?.attrs["units"]?.number == 100)
    #expect(u.shell.session.graph["f"]?.attrs["life"]?.number == 48)
    #expect(u.shell.isDirty)
  }

  @Test("a base file changed on disk since: nothing is restored, and the journal is kept")
  func changedBase() throws {
    let dir = Self.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t = shell(dir)
    t.ok("add entity a type=spv")
    t.ok("save r2")
    t.ok("set a pd=2%")
    try kill(t, dir, as: 999_002)
    // Someone else saves the file meanwhile.
    let other = TestShell(env: ["DEALSH_SESSIONS": dir + "/sessions"])
    other.ok("open r2")
    other.ok("add entity b type=spv")
    other.ok("save")
    let u = shell(dir)
    u.ok("add entity mine type=sponsor")
    let before = u.shell.session
    u.expectRefused("recover", "cannot restore the lost session exactly: '\(dir)/sessions/r2.deal' has changed since the lost shell read it")
    #expect(u.shell.session == before)
    let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/state/dealsh/recovery")) ?? []
    #expect(left.contains("999002.journal"), "the journal is kept: \(left)")
    u.expectRefused("recover", "has changed since the lost shell read it")
    u.ok("recover --discard")
    #expect(u.ok("recover").contains("nothing to recover"))
  }

  @Test("random sequences of changes, undo, redo, save, open and source, killed at a random point, come back exactly", arguments: 0..<4)
  func random(batch: Int) throws {
    var rng = SeededRandom(seed: 4_200 + UInt64(batch))
    let seed = "\(rng)"
    let dir = Self.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "add entity s\(batch) type=sponsor\nset s\(batch) name=\"from a script\"\n".write(
      toFile: dir + "/script.dsh", atomically: true, encoding: .utf8)
    var saved: [String] = []
    for k in 0..<50 {
      let t = shell(dir)
      var lines: [String] = []
      var n = 0
      let steps = 1 + Int(rng.unit() * 14)
      for _ in 0..<steps {
        let r = rng.unit()
        let line: String
        if r < 0.3 {
          n += 1
          line = "add entity e\(k)x\(n) type=spv pd=\(Int(rng.unit() * 9) + 1)%"
        } else if r < 0.45, let id = t.shell.session.graph.sortedNodes.last(where: { $0.kind == .entity })?.id {
          line = "set \(id) pd=\(Int(rng.unit() * 9) + 1)%"
        } else if r < 0.6 {
          line = "undo"
        } else if r < 0.7 {
          line = "redo"
        } else if r < 0.8 {
          let name = "s\(batch)-\(k)-\(n)"
          line = "save \(name) --force"
          saved.append(name)
        } else if r < 0.88, let name = saved.randomElement(using: &rng) {
          line = "open \(name) --force"
        } else if r < 0.95 {
          line = "source \(dir)/script.dsh"
        } else {
          line = "note \"step \(k)\""
        }
        lines.append(line)
        _ = t.run(line)  // an undo with nothing to undo fails, and changes nothing
      }
      let want = t.shell.contentHashNow
      let dirty = t.shell.isDirty
      let where_ = "sequence \(k) of batch \(batch), \(seed):\n" + lines.joined(separator: "\n")
      try kill(t, dir, as: 990_000 + batch * 100 + k)
      let u = shell(dir)
      let (status, out) = u.run("recover")
      #expect(status == .ok, "\(out)\n\(where_)")
      if dirty || out.hasPrefix("recovered") {
        #expect(out.hasPrefix("recovered"), "\(out)\n\(where_)")
        #expect(u.shell.contentHashNow == want, "\(out)\n\(where_)")
      }
      #expect(CrashJournal.orphans(stateDirectory: dir + "/state").isEmpty, "\(where_)")
      u.shell.crashJournal?.remove()
    }
  }
}

extension CrashRecoveryTests {
  @Test("killed between a save's rename and the journal's removal: recovery re-applies nothing")
  func killedAfterRename() throws {
    let dir = Self.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t = shell(dir)
    t.ok("add entity a type=spv")
    t.ok("save r5")
    t.ok("note once only")
    let journal = try #require(t.shell.crashJournal).file
    let before = try Data(contentsOf: URL(fileURLWithPath: journal))
    t.ok("save")
    // As if killed right after the rename: the journal is still there.
    try before.write(to: URL(fileURLWithPath: journal))
    let saved = t.shell.contentHashNow
    try kill(t, dir, as: 999_005)
    let u = shell(dir)
    let out = u.ok("recover")
    #expect(out.contains("nothing to recover") && out.contains("already holds the lost session's last state"), "\(out)")
    u.ok("open r5")
    #expect(u.shell.session.notes.count == 1, "the note is there once")
    #expect(u.shell.contentHashNow == saved)
    let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/state/dealsh/recovery")) ?? []
    #expect(!left.contains("999005.journal"), "the journal is gone: \(left)")
  }
}
