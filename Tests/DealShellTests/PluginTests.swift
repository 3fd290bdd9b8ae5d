import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Plugins from shared libraries: the example `headroom` (Swift) checked
/// against the built-in waterfall, a minimal plugin in C, and everything
/// that must be refused with the shell going on.
@Suite("external plugins")
struct PluginTests {
  /// The example plugin, built by `swift build` next to the test bundle.
  static var headroom: String {
    var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<3 {
      let candidate = dir.appendingPathComponent("libDealshHeadroom.so").path
      if FileManager.default.fileExists(atPath: candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return "libDealshHeadroom.so (not built: run 'swift build --product DealshHeadroom')"
  }

  /// Builds Tests/Fixtures/plugins/minimal.c into a shared library.
  static func buildC(_ name: String, defines: [String] = []) throws -> String {
    let root = TestShell.repositoryRoot
    let out = NSTemporaryDirectory() + "dealsh-\(name)-\(UUID().uuidString).so"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["cc", "-shared", "-fPIC", "-I", root + "/Sources/CDealPlugin/include"] + defines
      + ["-o", out, root + "/Tests/Fixtures/plugins/minimal.c"]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "cc builds the C plugin")
    return out
  }

  /// A deal whose loan keeps its covenants in the base case: 1,000 GPUs on a
  /// 12-month lease, then spot; a level loan with DSCR and LTV covenants.
  func deal() -> TestShell {
    let t = TestShell()
    t.ok("deal start=2025-01 horizon=36")
    t.ok("add entity co type=spv")
    t.ok("add asset site type=site mw=2 power_price=0.05 pue=1.2")
    t.ok("add asset fleet type=gpu model=H100 units=1000 unit_cost=25000 life=60 obsolescence=none owner=co site=site")
    t.ok("add contract l type=lease rate=2 utilization=90% term=12 spot_rate=2 deflation=20% fleet=fleet")
    t.ok("add facility loan type=term amount=$12m rate=9% term=36 min_dscr=1.2x max_ltv=80% borrower=co")
    t.ok("link fleet pledged-to loan")
    return t
  }

  func breaches(_ t: TestShell, _ stress: String) -> Bool {
    let w = t.json("waterfall \(stress) --json")
    return (w["breaches"]?.arrayValue ?? []).contains { $0["facility"]?.stringValue == "loan" }
  }

  @Test("headroom loads, and each figure is where the built-in waterfall first breaches")
  func headroomMatchesWaterfall() throws {
    let t = deal()
    #expect(!breaches(t, ""), "the base case keeps its covenants")
    let loaded = t.ok("plugin load \(Self.headroom)")
    #expect(loaded.contains("loaded plugin 'headroom' 1.0.0: headroom"))
    #expect(t.ok("plugins").contains("headroom"))
    #expect(t.ok("help headroom").contains("usage: headroom [FACILITY ...] [scenario=NAME]"))
    let j = t.json("headroom --json")["facilities"]?["loan"]
    let spot = try #require(j?["spot"]?.numberValue), haircut = try #require(j?["haircut"]?.numberValue)
    #expect(spot < 0 && spot > -1 && haircut > 0 && haircut < 1)
    // At the figure it breaches; a little less stress (0.3 % of the range) and it does not.
    #expect(breaches(t, "spot=\(spot)"))
    #expect(!breaches(t, "spot=\(spot + 0.003)"))
    #expect(breaches(t, "haircut=\(haircut)"))
    #expect(!breaches(t, "haircut=\(haircut - 0.003)"))
    // Completion knows the plugin's command and options.
    let c = Completer(shell: t.shell)
    #expect(c.complete(line: "headr", wordStart: 0).contains("headroom"))
    #expect(c.complete(line: "headroom scen", wordStart: 9).contains("scenario="))
  }

  @Test("a library that is no plugin, or speaks another ABI, is refused and the shell goes on")
  func refusals() throws {
    let t = deal()
    let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
      .first { FileManager.default.fileExists(atPath: $0) } ?? "/lib/x86_64-linux-gnu/libm.so.6"
    t.expectRefused("plugin load \(libm)", "is not a dealsh plugin: it has no dealsh_plugin_entry_v1 symbol")
    let wrong = try Self.buildC("abi2", defines: ["-DPLUGIN_ABI_MAJOR=2"])
    t.expectRefused("plugin load \(wrong)", "speaks plugin ABI 2, this dealsh speaks 1")
    t.expectRefused("plugin load /nonexistent/libx.so", "no plugin at '/nonexistent/libx.so'")
    #expect(t.ok("ls facility").contains("loan"), "the shell goes on")
    #expect(!t.ok("plugins").contains("hello"))
  }

  @Test("a minimal plugin written in C works through the same interface")
  func pluginInC() throws {
    let t = deal()
    let lib = try Self.buildC("hello")
    t.ok("plugin load \(lib)")
    #expect(t.ok("hello") == "hello: 5 nodes", "co, site, fleet, l, loan")
    #expect(t.json("hello --json")["nodes"]?.numberValue == 5)
    // Changes go through the host: validated, journaled, undoable.
    #expect(t.ok("hello-note") == "noted; a bad change was refused")
    #expect(t.ok("note").contains("hello from C"))
    #expect(t.ok("history").contains("note \"hello from C\""))
    t.ok("undo")
    #expect(!t.ok("note").contains("hello from C"))
  }

  @Test("a session file that names a plugin does not load it")
  func sessionNamesPlugin() throws {
    let t = deal()
    t.ok("save \(t.folder)/with-plugin.deal")
    var text = try String(contentsOfFile: t.folder + "/with-plugin.deal", encoding: .utf8)
    text = text.replacingOccurrences(of: "  \"modified\":", with: "  \"plugins\": [\"\(Self.headroom)\"],\n  \"modified\":")
    try text.write(toFile: t.folder + "/with-plugin.deal", atomically: true, encoding: .utf8)
    let other = TestShell()
    other.expectRefused("open \(t.folder)/with-plugin.deal", "unknown key \"plugins\"")
    #expect(!other.ok("plugins").contains("headroom"))
    #expect(other.run("headroom").output.contains("unknown command 'headroom'"))
  }

  @Test("at start-up every plugin in $DEALSH_PLUGINS loads; a broken one is a warning")
  func startupFolder() throws {
    let dir = CLITests.tempDir()
    try FileManager.default.copyItem(atPath: Self.headroom, toPath: dir + "/libDealshHeadroom.so")
    try "not a library".write(toFile: dir + "/broken.so", atomically: true, encoding: .utf8)
    let r = try CLITests.run(["-c", "plugins"], env: ["DEALSH_PLUGINS": dir])
    #expect(r.status == 0)
    #expect(r.out.contains("headroom    1.0.0    headroom"))
    #expect(r.err.contains("warning: plugin not loaded: cannot load '\(dir)/broken.so'"))
  }
}

/// Plugin faults cannot take the session with them.
extension PluginTests {
  @Test("a plugin that dereferences NULL: the shell goes on, the session is unchanged, the plugin is disabled")
  func crashingPlugin() throws {
    let t = deal()
    t.ok("plugin load \(try Self.buildC("faults"))")
    t.ok("note before")
    let before = t.shell.session
    t.expectRefused("hello-crash", "plugin 'hello' crashed (SIGSEGV, a bad memory access in 'hello-crash')")
    #expect(t.shell.session == before)
    t.expectRefused("hello", "plugin 'hello' is disabled: it crashed earlier in this session")
    #expect(t.ok("note").contains("before"), "the shell still works")
  }

  @Test("changes made through the host by a plugin command that then fails or crashes are undone")
  func failingPluginChangesNothing() throws {
    let t = deal()
    t.ok("plugin load \(try Self.buildC("rollback"))")
    let before = t.shell.session
    let history = t.ok("history")
    t.expectRefused("hello-change-fail", "gave up halfway")
    #expect(t.shell.session == before, "the note and the entity are gone")
    #expect(t.ok("history") == history, "nor are they in the journal")
    t.ok("add entity mine type=spv")
    t.ok("undo")
    #expect(t.shell.session == before, "undo steps back over the user's own change only")
    t.expectRefused("hello-change-crash", "crashed")
    #expect(t.shell.session == before)
    #expect(t.shell.session.graph["doomed"] == nil)
  }

  @Test("a plugin command that calls itself through the host is stopped at a depth limit")
  func selfCallingPlugin() throws {
    let t = deal()
    t.ok("plugin load \(try Self.buildC("loop"))")
    let (status, out) = t.run("hello-loop")
    #expect(status == .failed)
    #expect(out.contains("hello-loop: a nested call was refused"), "\(out)")
    #expect(t.ok("hello") == "hello: 5 nodes")
  }

  @Test("a truncated library is refused at plugin load, the shell goes on", arguments: [100, 1000, 4000, 8000])
  func truncatedLibrary(_ bytes: Int) throws {
    let lib = try Self.buildC("whole")
    let cut = lib + ".cut-\(bytes).so"
    try Data(try Data(contentsOf: URL(fileURLWithPath: lib)).prefix(bytes)).write(to: URL(fileURLWithPath: cut))
    let t = deal()
    let (status, out) = t.run("plugin load \(cut)")
    #expect(status == .failed)
    #expect(out.contains("cannot load '\(cut)'"), "\(out)")
    t.ok("plugin load \(lib)")
    #expect(t.ok("hello") == "hello: 5 nodes")
  }
}
