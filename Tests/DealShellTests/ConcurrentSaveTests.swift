import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

#if canImport(Glibc)
  import Glibc
#endif

/// Saving in a folder other people (and other dealsh processes) write to:
/// two saves at once lose nothing, the temporary file cannot be redirected
/// by a planted link, odd paths and special files are refused.
@Suite("safe saves")
struct ConcurrentSaveTests {
  static func base(in dir: String) throws -> String {
    let t = TestShell()
    t.ok("add asset fleet type=gpu model=H100 units=100 unit_cost=30k")
    t.ok("add contract lease1 type=lease rate=2 fleet=fleet")
    let path = dir + "/shared.deal"
    t.ok("save \(path)")
    return path
  }

  @Test("two interactive shells save the same file at once: one wins, the other is told and keeps its changes")
  func twoShellsSaveAtOnce() throws {
    let dir = CLITests.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let original = try Data(contentsOf: URL(fileURLWithPath: try Self.base(in: dir)))
    let file = dir + "/shared.deal"
    let env = ["XDG_STATE_HOME": dir + "/state", "DEALSH_SESSIONS": dir, "DEALSH_PLUGINS": dir + "/no-plugins", "DEALSH_AUTHOR": "tester"]
    var wins = [0, 0]
    for round in 0..<100 {
      try original.write(to: URL(fileURLWithPath: file))
      let a = try PtyShell([file], env: env)
      let b = try PtyShell([file], env: env)
      defer { a.kill(); b.kill() }
      #expect(a.wait { $0.contains("shared> ") } && b.wait { $0.contains("shared> ") }, "both shells start")
      a.type("set fleet units=\(200 + round)")
      b.type("set lease1 rate=3.\(round)")
      #expect(a.wait { $0.contains("shared*> ") } && b.wait { $0.contains("shared*> ") }, "both have a change")
      let (ma, mb) = (a.output.count, b.output.count)
      a.type("save")
      b.type("save")
      let answered: (String) -> Bool = { $0.contains("saved '") || $0.contains("error:") }
      #expect(a.wait { answered(String($0.dropFirst(ma))) } && b.wait { answered(String($0.dropFirst(mb))) }, "round \(round): both answer")
      let outs = [a.output(since: ma), b.output(since: mb)]
      let saved = outs.map { $0.contains("saved '") }
      #expect(saved.filter { $0 }.count == 1, "round \(round): exactly one save wins: \(outs)")
      guard let winner = saved.firstIndex(of: true) else { continue }
      wins[winner] += 1
      let loser = outs[1 - winner]
      #expect(loser.contains("was changed on disk since it was opened") && loser.contains("your changes are kept"), "round \(round): \(loser)")
      // The file holds the winner's change, not the loser's.
      let t = TestShell()
      t.ok("open \(file)")
      let units = t.json("show fleet --json")["attrs"]?["units"]?.numberValue
      let rate = t.json("show lease1 --json")["attrs"]?["rate"]?.numberValue
      if winner == 0 {
        #expect(units == Double(200 + round) && rate == 2, "round \(round): A's change only")
      } else {
        #expect(units == 100 && rate == Double("3.\(round)"), "round \(round): B's change only")
      }
      // The loser still has its change, unsaved.
      let l = winner == 0 ? b : a
      #expect(l.wait { $0.hasSuffix("shared*> ") }, "round \(round): the loser's prompt still shows unsaved changes")
    }
    #expect(wins[0] + wins[1] == 100, "\(wins)")
    let strays = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
    #expect(strays.isEmpty, "no temporary files left: \(strays)")
  }
}

extension ConcurrentSaveTests {
  @Test("a link planted where the temporary file goes is never followed")
  func plantedLink() throws {
    let dir = CLITests.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let victim = dir + "/victim.txt"
    try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
    // The name the first random number gives, and the old predictable name.
    var numbers: [UInt64] = [0xabc, 0xdef]
    let first = dir + "/" + FileIO.temporaryPrefix("x.deal") + "\(getpid())-abc"
    try FileManager.default.createSymbolicLink(atPath: first, withDestinationPath: victim)
    let (fd, tmp) = try FileIO.createTemporary(folder: dir, name: "x.deal", random: { numbers.removeFirst() })
    close(fd)
    #expect(tmp.hasSuffix("-def"), "the planted name is skipped")
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
    unlink(tmp)
    // A whole save, with a link at the name older versions used.
    let old = dir + "/.shared.deal.tmp-\(getpid())"
    try FileManager.default.createSymbolicLink(atPath: old, withDestinationPath: victim)
    _ = try Self.base(in: dir)
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious", "the save did not write through the link")
    #expect(FileIO.exists(dir + "/shared.deal"))
  }

  @Test("temporary files of saves whose process is gone are removed; a live one's stay")
  func staleTemporaries() throws {
    let dir = CLITests.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A pid that is surely gone: a child that has exited and been reaped.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    let dead = dir + "/.shared.deal.tmp-\(p.processIdentifier)-1f"
    let live = dir + "/.shared.deal.tmp-\(getpid())-2f"
    try "half a session".write(toFile: dead, atomically: false, encoding: .utf8)
    try "a save under way".write(toFile: live, atomically: false, encoding: .utf8)
    _ = try Self.base(in: dir)
    #expect(!FileIO.exists(dead), "the dead process's temporary file is gone")
    #expect(FileIO.exists(live), "a running process's temporary file is left alone")
  }

  @Test("paths that name a folder are refused with a message, not a crash", arguments: ["x/", "y//", "./ --force", ".", "..", "/"])
  func oddPaths(_ arg: String) throws {
    let t = TestShell()
    t.ok("add asset fleet type=gpu model=H100 units=100 unit_cost=30k")
    let before = t.shell.session
    let (status, out) = t.run("save \(arg)")
    #expect(status == .failed)
    #expect(out.contains("names a folder, not a file") || out.contains("is a folder"), "\(out)")
    #expect(t.shell.session == before && t.shell.isDirty)
  }

  @Test("a FIFO named .deal is refused at once by open and listed as unreadable by sessions")
  func fifo() throws {
    let dir = CLITests.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(mkfifo(dir + "/pipe.deal", 0o600) == 0)
    let t = TestShell(env: ["DEALSH_SESSIONS": dir])
    let (status, out) = t.run("open \(dir)/pipe.deal")
    #expect(status == .failed)
    #expect(out.contains("is a FIFO (named pipe), not a regular file"), "\(out)")
    let s = t.ok("sessions")
    #expect(s.contains("pipe") && s.contains("unreadable"), "\(s)")
    let f = t.run("save \(dir)/pipe.deal --force")
    #expect(f.0 == .failed && f.1.contains("FIFO"), "\(f.1)")
  }

  @Test("values the reader would refuse are refused where they are set, and save refuses a file open would refuse")
  func readerLimits() throws {
    let dir = CLITests.tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t = TestShell()
    t.ok("add entity e type=spv")
    let long = String(repeating: "x", count: 70_000)
    var r = t.run("add entity f type=spv name=\(long)")
    #expect(r.0 == .failed && r.1.contains("more than the 64 KiB a session file holds"), "\(r.1.prefix(200))")
    r = t.run("set e name=\(long)")
    #expect(r.0 == .failed && r.1.contains("64 KiB"))
    let mib = String(repeating: "n", count: (1 << 20) + 1)
    r = t.run("note \(mib)")
    #expect(r.0 == .failed && r.1.contains("more than the 1 MiB a session file holds"), "\(r.1.prefix(200))")
    r = t.run("deal title=\(mib)")
    #expect(r.0 == .failed && r.1.contains("1 MiB"))
    #expect(t.shell.session.notes.isEmpty && t.shell.session.deal.title.isEmpty)
    // Seventy notes of almost 1 MiB: each is allowed, the file would not be.
    let note = String(repeating: "n", count: (1 << 20) - 100)
    for _ in 0..<70 { t.shell.commit({ var s = t.shell.session; s.notes.append(Note(text: note, author: "", time: "")); return s }(), journalLine: "note") }
    let path = dir + "/big.deal"
    r = t.run("save \(path)")
    #expect(r.0 == .failed && r.1.contains("more than the 64 MiB a session file may hold; nothing was written"), "\(r.1.prefix(300))")
    #expect(!FileIO.exists(path) && t.shell.isDirty)
    let strays = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(strays.isEmpty, "\(strays)")
  }
}
