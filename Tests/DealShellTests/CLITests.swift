import DealCore
import Foundation
import Testing
import _DealShellTestSupport

/// The real `dealsh` executable, run as a user would: exit codes, standard
/// output and error, scripts, piped input, transcripts.
@Suite("the dealsh command line")
struct CLITests {
  struct Run {
    var status: Int32
    var out: String
    var err: String
  }

  static var binary: String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // The test bundle may sit one level deeper than the products.
    for _ in 0..<3 {
      let candidate = dir.appendingPathComponent("dealsh").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return "dealsh"
  }

  static func run(_ args: [String], stdin: String? = nil, in dir: String? = nil, env extra: [String: String] = [:]) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["DEALSH_AUTHOR"] = "tester"
    env["NO_COLOR"] = "1"
    env["DEALSH_PLUGINS"] = NSTemporaryDirectory() + "dealsh-no-plugins"
    env.merge(extra) { _, new in new }
    p.environment = env
    if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(stdin.data(using: .utf8)!) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
  }

  static func tempDir() -> String {
    let d = NSTemporaryDirectory() + "dealsh-cli-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }

  @Test("--version, --help, bad usage")
  func basics() throws {
    let v = try Self.run(["--version"])
    #expect(v.status == 0 && v.out == "dealsh 0.1.0\n")
    let h = try Self.run(["--help"])
    #expect(h.status == 0 && h.out.contains("dealsh run SCRIPT.dsh"))
    let bad = try Self.run(["--frobnicate"])
    #expect(bad.status == 2 && bad.err.contains("unknown option '--frobnicate'"))
    #expect(try Self.run(["run"]).status == 2)
    #expect(try Self.run(["run", "/nonexistent.dsh"]).status == 2)
    #expect(try Self.run(["/nonexistent.deal", "-c", "ls"]).status == 2)
  }

  @Test("-c runs commands; a failure exits 1 with the error on standard error")
  func dashC() throws {
    let ok = try Self.run(["-c", "add entity a type=spv; ls --json"])
    #expect(ok.status == 0)
    #expect(ok.err.isEmpty)
    let fail = try Self.run(["-c", "ls; shw"])
    #expect(fail.status == 1)
    #expect(fail.out.contains("no nodes"))
    #expect(fail.err.hasPrefix("error: unknown command 'shw' (did you mean 'show'?)"))
  }

  @Test("--json prints exactly one JSON document on standard output")
  func json() throws {
    let r = try Self.run(["-c", "add entity a type=spv > /dev/null; show a --json"])
    // The redirect is not shell syntax: the first command fails on it.
    #expect(r.status == 1)
    let s = try Self.run(["-c", "show a --json"])
    #expect(s.status == 1 && s.out.isEmpty && s.err.split(separator: "\n").count == 1)
    let dir = Self.tempDir()
    let script = dir + "/x.dsh"
    try "add entity a type=spv name=\"A\"\n".write(toFile: script, atomically: true, encoding: .utf8)
    let t = try Self.run(["run", script])
    #expect(t.status == 0)
    let j = try Self.run(["-c", "source \(script) > /dev/null"])
    #expect(j.status == 1)
  }

  @Test("a session named on the command line opens quietly for -c and piped scripts: standard output is the commands' own")
  func quietOpen() throws {
    let root = TestShell.repositoryRoot
    let r = try Self.run(["-c", "ls facility --json", "Sessions/neocloud-abl.deal"], in: root)
    #expect(r.status == 0 && r.err.isEmpty, "\(r.err)")
    let doc = try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    #expect((doc as? [String: Any])?["nodes"] != nil, "\(r.out)")
    let p = try Self.run(["Sessions/neocloud-abl.deal"], stdin: "deal --json\n", in: root)
    #expect(p.status == 0)
    #expect((try? JSONSerialization.jsonObject(with: Data(p.out.utf8))) != nil, "\(p.out)")
    let bad = try Self.run(["-c", "ls", "Sessions/nope.deal"], in: root)
    #expect(bad.status == 2 && bad.out.isEmpty && bad.err.contains("cannot read 'Sessions/nope.deal'"), "\(bad.err)")
  }

  @Test("a file changed outside dealsh: a warning on opening and in check; --strict refuses it")
  func tampered() throws {
    let dir = Self.tempDir()
    let text = try String(contentsOfFile: TestShell.repositoryRoot + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    try text.replacingOccurrences(of: "\"units\": 16384", with: "\"units\": 16385").write(
      toFile: dir + "/t.deal", atomically: true, encoding: .utf8)
    let o = try Self.run(["-c", "open t.deal; check"], in: dir)
    #expect(o.out.contains("warning: 't.deal' was changed outside dealsh"), "\(o.out)")
    #expect(o.out.contains("warning t.deal: the file was changed outside dealsh"))
    let c = try Self.run(["-c", "ls --json", "t.deal"], in: dir)
    #expect(c.status == 0 && c.err.contains("warning: 't.deal' was changed outside dealsh"), "\(c.err)")
    #expect((try? JSONSerialization.jsonObject(with: Data(c.out.utf8))) != nil, "standard output stays one JSON document")
    let strict = try Self.run(["-c", "open t.deal --strict"], in: dir)
    #expect(strict.status == 1 && strict.err.contains("refused: 't.deal' was changed outside dealsh"))
    try "open t.deal\n".write(toFile: dir + "/s.dsh", atomically: true, encoding: .utf8)
    #expect(try Self.run(["run", "s.dsh", "--strict"], in: dir).status == 1)
    #expect(try Self.run(["run", "s.dsh"], in: dir).status == 0)
    // Saving writes a fresh hash: the warning goes.
    #expect(try Self.run(["-c", "open t.deal; save --force"], in: dir).status == 0)
    let again = try Self.run(["-c", "open t.deal --strict; check"], in: dir)
    #expect(again.status == 0 && !again.out.contains("changed outside"), "\(again.out)\(again.err)")
  }

  @Test("a file in the current folder wins over the sessions folder")
  func localFileWins() throws {
    let dir = Self.tempDir()
    try FileManager.default.createDirectory(atPath: dir + "/Sessions", withIntermediateDirectories: true)
    #expect(try Self.run(["-c", "add entity here type=spv; save mydeal.deal"], in: dir).status == 0)
    try FileManager.default.moveItem(atPath: dir + "/Sessions/mydeal.deal", toPath: dir + "/mydeal.deal")
    let r = try Self.run(["-c", "ls", "mydeal.deal"], in: dir)
    #expect(r.status == 0 && r.out.contains("here"), "\(r.out)\(r.err)")
    let o = try Self.run(["-c", "open mydeal.deal; diff mydeal.deal"], in: dir)
    #expect(o.status == 0 && o.out.contains("opened 'mydeal.deal'"), "\(o.out)\(o.err)")
  }

  @Test("--copy and open --copy: an untitled copy that a plain save cannot write over the file")
  func copy() throws {
    let dir = Self.tempDir()
    try FileManager.default.copyItem(atPath: TestShell.repositoryRoot + "/Sessions", toPath: dir + "/Sessions")
    let original = try String(contentsOfFile: dir + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    let r = try Self.run(["--copy", "Sessions/neocloud-abl.deal"], stdin: "set lease1 term=4y\nsave\n", in: dir)
    #expect(r.status == 1)
    #expect(r.err.contains("this session is a copy of 'Sessions/neocloud-abl.deal' and has no file of its own"), "\(r.err)")
    #expect(try String(contentsOfFile: dir + "/Sessions/neocloud-abl.deal", encoding: .utf8) == original)
    let s = try Self.run(["-c", "open neocloud-abl --copy; set lease1 term=4y; save mine; ls contract"], in: dir)
    #expect(s.status == 0, "\(s.err)")
    #expect(s.out.contains("opened a copy of 'Sessions/neocloud-abl.deal'"))
    #expect(s.out.contains("saved 'Sessions/mine.deal' (revision 1, 9 nodes, 11 edges)"), "\(s.out)")
    #expect(try String(contentsOfFile: dir + "/Sessions/neocloud-abl.deal", encoding: .utf8) == original)
    #expect(try Self.run(["--copy"]).status == 2)
  }

  @Test("run stops at the first error with file:line; --keep-going goes on; --var fills $NAME")
  func runScript() throws {
    let dir = Self.tempDir()
    let script = dir + "/s.dsh"
    try "add entity a type=$kind\nadd entity b type=spvv\nadd entity c type=spv\nls\n".write(toFile: script, atomically: true, encoding: .utf8)
    let stop = try Self.run(["run", script, "--var", "kind=spv"])
    #expect(stop.status == 1)
    #expect(stop.err.hasPrefix("error: \(script):2: add: unknown entity type 'spvv' (did you mean 'spv'?)"))
    #expect(!stop.out.contains("added entity 'c'"))
    let go = try Self.run(["run", script, "--keep-going", "--var", "kind=spv"])
    #expect(go.status == 1)
    #expect(go.out.contains("added entity 'c'"))
    let noVar = try Self.run(["run", script])
    #expect(noVar.err.contains("unknown variable '$kind'"))
  }

  @Test("run --session opens a session first")
  func runSession() throws {
    let dir = Self.tempDir()
    let r1 = try Self.run(["-c", "add entity a type=spv; save \(dir)/s.deal"])
    #expect(r1.status == 0)
    try "ls\n".write(toFile: dir + "/ls.dsh", atomically: true, encoding: .utf8)
    let r2 = try Self.run(["run", dir + "/ls.dsh", "--session", dir + "/s.deal"])
    #expect(r2.status == 0 && r2.out.contains("a   entity  spv"))
  }

  @Test("piped standard input is a script: no prompt, no escape codes")
  func piped() throws {
    let r = try Self.run([], stdin: "add entity a type=spv\nls\n")
    #expect(r.status == 0)
    #expect(!r.out.contains("dealsh>"))
    #expect(!r.out.contains("\u{1B}"))
    #expect(r.out.contains("a   entity  spv"))
    let f = try Self.run([], stdin: "ls\nnope\nls\n")
    #expect(f.status == 1)
    #expect(f.err.contains("error: stdin:2: unknown command 'nope'"))
  }

  @Test("run --record prints a transcript that run --check accepts; a change gives a diff and exit 1")
  func recordCheck() throws {
    let dir = Self.tempDir()
    try "add entity a type=spv\nls\nshow b\n".write(toFile: dir + "/s.dsh", atomically: true, encoding: .utf8)
    let rec = try Self.run(["run", "--record", dir + "/s.dsh"])
    #expect(rec.status == 0)
    #expect(rec.out.hasPrefix("dealsh> add entity a type=spv\nadded entity 'a' (spv)\ndealsh> ls\n"))
    try rec.out.write(toFile: dir + "/s.transcript", atomically: true, encoding: .utf8)
    let ok = try Self.run(["run", "--check", dir + "/s.transcript"])
    #expect(ok.status == 0, "\(ok.out)")
    try rec.out.replacingOccurrences(of: "(spv)", with: "(sponsor)").write(toFile: dir + "/bad.transcript", atomically: true, encoding: .utf8)
    let bad = try Self.run(["run", "--check", dir + "/bad.transcript"])
    #expect(bad.status == 1)
    #expect(bad.out.contains("-added entity 'a' (sponsor)\n+added entity 'a' (spv)"))
    #expect(bad.out.contains("+++ \(dir)/bad.transcript (actual)"))
  }
}

@Suite("dealsh diff --git")
struct GitDiffTests {
  @Test("works as git's external diff driver, /dev/null for a missing side")
  func gitDriver() throws {
    let dir = CLITests.tempDir()
    #expect(try CLITests.run(["-c", "deal start=2025-01; add entity a type=spv; save \(dir)/old.deal"]).status == 0)
    #expect(try CLITests.run(["-c", "open \(dir)/old.deal; add entity b type=sponsor; save \(dir)/new.deal"]).status == 0)
    let r = try CLITests.run(["diff", "--git", "deal.deal", dir + "/old.deal", "0000", "100644", dir + "/new.deal", "1111", "100644"])
    #expect(r.status == 0)
    #expect(r.out == "diff --git a/deal.deal b/deal.deal\n--- a/deal.deal\n+++ b/deal.deal\n+ node b (entity sponsor)\n")
    let added = try CLITests.run(["diff", "--git", "deal.deal", "/dev/null", ".", ".", dir + "/new.deal", ".", "."])
    #expect(added.out.contains("+ node a (entity spv)") && added.out.contains("+ node b (entity sponsor)"))
    #expect(try CLITests.run(["diff", "--git", "x"]).status == 2)
  }
}
