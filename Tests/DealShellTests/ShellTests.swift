import DealCore
import DealPluginAPI
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

@Suite("the interpreter")
struct ShellTests {
  @Test("a failing command changes nothing, even in the middle of its work")
  func atomic() throws {
    let t = TestShell()
    t.buildSampleDeal()
    let before = t.shell.session
    let journal = t.shell.journal
    // The node is valid but the shorthand edge is not: nothing may remain.
    #expect(t.run("add asset f2 type=gpu model=H100 units=8 unit_cost=1 owner=ghost").status == .failed)
    #expect(t.run("rm neo fleet ghost --cascade").status == .failed)
    #expect(t.run("set fleet units=5 salvage=2").status == .failed)
    #expect(t.run("deal horizon=0").status == .failed)
    #expect(t.shell.session == before)
    #expect(t.shell.journal == journal)
  }

  @Test("a shell is freed when its last user lets go (its commands hold it unowned), with its session")
  func shellIsFreed() throws {
    weak var shell: Shell?
    do {
      let t = TestShell()
      t.buildSampleDeal()
      for c in ["save", "open sample", "undo", "history", "help", "plugins", "timer on", "depreciate", "waterfall", "liquidate"] { _ = t.run(c) }
      shell = t.shell
      #expect(shell != nil)
    }
    #expect(shell == nil, "a reference cycle keeps the shell and its session alive")
  }

  @Test("undo and redo step through every change")
  func undoRedo() throws {
    let t = TestShell()
    var states: [Session] = [t.shell.session]
    for line in TestShell.sampleDeal {
      t.ok(line)
      states.append(t.shell.session)
    }
    for i in stride(from: states.count - 2, through: 0, by: -1) {
      t.ok("undo")
      #expect(t.shell.session == states[i])
      #expect(t.shell.journal.count == i)
    }
    #expect(t.run("undo").output.contains("nothing to undo"))
    for i in 1..<states.count {
      t.ok("redo")
      #expect(t.shell.session == states[i])
    }
    #expect(t.run("redo").status == .failed)
    // A new change clears the redo stack.
    t.ok("undo")
    t.ok("note hello")
    #expect(t.run("redo").output.contains("nothing to redo"))
  }

  @Test("the dirty mark follows changes, undo back to the saved state and saves")
  func dirty() throws {
    let t = TestShell()
    #expect(!t.shell.isDirty)
    t.ok("add entity a type=spv")
    #expect(t.shell.isDirty)
    t.ok("undo")
    #expect(!t.shell.isDirty)
    t.ok("add entity a type=spv")
    t.ok("save s1")
    #expect(!t.shell.isDirty)
    #expect(t.shell.sessionName == "s1")
  }

  @Test("save twice, open and save: the same bytes; the journal is kept, never run")
  func canonicalFiles() throws {
    let t = TestShell()
    t.buildSampleDeal()
    t.ok("note \"figures from public filings\"")
    t.ok("save sample")
    let path = t.folder + "/sessions/sample.deal"
    let first = try String(contentsOfFile: path, encoding: .utf8)
    t.ok("save")
    #expect(try String(contentsOfFile: path, encoding: .utf8) == first)
    let u = TestShell(env: ["DEALSH_SESSIONS": t.folder + "/sessions", "DEALSH_NOW": "2030-01-01T00:00:00Z"])
    u.ok("open sample")
    #expect(u.shell.session == t.shell.session)
    #expect(u.shell.journal == t.shell.journal)
    u.ok("save")
    #expect(try String(contentsOfFile: path, encoding: .utf8) == first)
    // A change bumps the revision and the modified time.
    u.ok("deal title=changed")
    u.ok("save")
    let third = try String(contentsOfFile: path, encoding: .utf8)
    #expect(third.contains("\"revision\": 2"))
    #expect(third.contains("\"modified\": \"2030-01-01T00:00:00Z\""))
  }

  @Test("saving over a file someone else changed is refused; --force and another path work")
  func staleSave() throws {
    let a = TestShell()
    a.ok("add entity a type=spv")
    a.ok("save shared")
    let b = TestShell(env: ["DEALSH_SESSIONS": a.folder + "/sessions", "DEALSH_AUTHOR": "bob", "DEALSH_NOW": "2026-02-01T00:00:00Z"])
    b.ok("open shared")
    b.ok("add entity b type=spv")
    b.ok("save")
    a.ok("add entity c type=spv")
    let refused = a.run("save")
    #expect(refused.status == .failed)
    #expect(refused.output.contains("was changed on disk since it was opened (revision 2, saved by bob at 2026-02-01T00:00:00Z)"))
    #expect(refused.output.contains("save --force"))
    a.ok("save other")
    #expect(a.run("save shared").status == .failed, "another existing file is not overwritten either")
    a.ok("save shared --force")
  }

  @Test("a file rewritten with the same content (reformatted) is no conflict; a changed one is")
  func contentHashStaleCheck() throws {
    let a = TestShell()
    a.ok("add entity a type=spv pd=2%")
    a.ok("save shared")
    let path = a.folder + "/sessions/shared.deal"
    let saved = try String(contentsOfFile: path, encoding: .utf8)
    #expect(saved.contains("\"content_hash\": \"fnv1a64:"))
    // Someone re-indents the file (a tool, a merge): other bytes, same deal.
    let object = try JSONSerialization.jsonObject(with: Data(saved.utf8))
    let reformatted = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    try reformatted.write(to: URL(fileURLWithPath: path))
    a.ok("add entity b type=spv")
    a.ok("save")
    // Someone changes the deal: refused.
    let b = TestShell(env: ["DEALSH_SESSIONS": a.folder + "/sessions", "DEALSH_AUTHOR": "bob"])
    b.ok("open shared")
    b.ok("set a pd=3%")
    b.ok("save")
    a.ok("add entity c type=spv")
    #expect(a.run("save").output.contains("was changed on disk since it was opened"))
  }

  @Test("a version 1 file migrates on open: the same session, saved as version 2 with its content hash")
  func migrationFromVersion1() throws {
    let v1 = TestShell.repositoryRoot + "/Tests/Fixtures/v1/neocloud-abl.deal"
    let text = try String(contentsOfFile: v1, encoding: .utf8)
    #expect(text.contains("\"version\": 1") && !text.contains("content_hash"))
    let t = TestShell()
    t.ok("open \(v1)")
    let migrated = t.shell.session
    // The same deal as the current example before its equity sponsor was
    // added (the fixture was saved then).
    let current = TestShell()
    current.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal")
    current.ok("rm fund --cascade")
    #expect(migrated.graph == current.shell.session.graph && migrated.deal == current.shell.session.deal)
    #expect(migrated.notes == current.shell.session.notes)
    t.ok("save \(t.folder)/migrated.deal")
    let written = try String(contentsOfFile: t.folder + "/migrated.deal", encoding: .utf8)
    #expect(written.contains("\"version\": 2") && written.contains("\"content_hash\": \"fnv1a64:"))
    let again = TestShell()
    again.ok("open \(t.folder)/migrated.deal")
    #expect(again.shell.session == migrated)
    // The hash is the content's: the same session saved again has the same.
    func hash(_ s: String) -> Substring? { s.range(of: "\"content_hash\": \"").map { s[$0.upperBound...].prefix(24) } }
    again.ok("save \(t.folder)/again.deal")
    let resaved = try String(contentsOfFile: t.folder + "/again.deal", encoding: .utf8)
    #expect(hash(written) != nil && hash(written) == hash(resaved))
  }

  @Test("timer on prints each command's time after it; off stops it")
  func timer() {
    let t = TestShell()
    #expect(t.ok("timer") == "timer off")
    t.ok("timer on")
    let out = t.ok("ls")
    #expect(out.contains("time: ") && out.hasSuffix(" ms (ls)"))
    t.ok("timer off")
    #expect(!t.ok("ls").contains("time: "))
    t.expectRefused("timer maybe", "unknown timer state 'maybe'")
  }

  @Test("open refuses a bad file and keeps the session in memory")
  func openBad() throws {
    let t = TestShell()
    t.buildSampleDeal()
    let before = t.shell.session
    let bad = t.folder + "/bad.deal"
    try "{\"format\": \"dealsh.session\", \"version\": 7}".write(toFile: bad, atomically: true, encoding: .utf8)
    let r = t.run("open \(bad)")
    #expect(r.status == .failed)
    #expect(r.output.hasPrefix("error: open: cannot open '\(bad)': session format version 7 is newer"))
    #expect(t.shell.session == before)
    #expect(t.run("open /nonexistent/x.deal").output.contains("cannot read '/nonexistent/x.deal'"))
  }

  @Test("errors: one line naming the command and the word, then the line with a caret, then a hint")
  func errorFormat() {
    let t = TestShell()
    t.ok("add entity neo type=neocloud")
    #expect(
      t.run("add asset fleet type=gpu untis=5").output == """
        error: add: unknown key 'untis' for asset (gpu) (did you mean 'units'?)
          add asset fleet type=gpu untis=5
                                   ^~~~~
        hint: keys: model, units, unit_cost, acquired, life, salvage, kw, cooling, rack_kw, opex, method, convention, obsolescence, owner, site, pledged_to
        """)
    #expect(
      t.run("shw neo").output == """
        error: unknown command 'shw' (did you mean 'show'?)
          shw neo
          ^~~
        """)
    #expect(t.run("show ne --json").output == "error: show: unknown id 'ne' (did you mean 'neo'?)", "--json errors are one line")
    #expect(
      t.run("set neo pd=150%").output == """
        error: set: invalid value '150%' for 'pd': must be between 0% and 100%
          set neo pd=150%
                     ^~~~
        """)
  }

  @Test("a key given twice is refused, the caret under the second, and nothing changes")
  func duplicateKey() {
    let t = TestShell()
    #expect(
      t.run("add entity x type=spv pd=1% pd=2%").output == """
        error: add: 'pd' is given twice ('pd=1%' and 'pd=2%')
          add entity x type=spv pd=1% pd=2%
                                      ^~~~~
        hint: give each key once
        """)
    #expect(t.shell.session.graph["x"] == nil)
    t.ok("add entity x type=spv pd=1%")
    #expect(t.run("set x pd=2% name=a pd=3%").status == .failed)
    #expect(t.shell.session.graph["x"]?.attrs["pd"]?.number == 0.01)
    #expect(t.run("waterfall months=12 months=24").output.hasPrefix("error: waterfall: 'months' is given twice"))
  }

  @Test("an error on a long line echoes a window around the word, cut with …, the caret still under it")
  func longLineEcho() {
    let t = TestShell()
    let long = String(repeating: "x", count: 60_000)
    func echo(_ line: String) -> (error: String, shown: String, caret: String, under: Substring) {
      let lines = t.run(line).output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      guard lines.count == 3 else { return ("\(lines.count) lines", "", "", "") }
      let column = lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) } ?? 0
      return (lines[0], lines[1], lines[2], lines[1].dropFirst(column).prefix(4))
    }
    // The bad word after the long value: context before it, cut in front.
    let after = echo("add entity e type=spv name=\"\(long)\" pd=150%")
    #expect(after.error == "error: add: invalid value '150%' for 'pd': must be between 0% and 100%")
    #expect(after.shown.count <= 2 + Shell.echoWidth + 2 && after.shown.hasPrefix("  …x") && after.shown.hasSuffix(" pd=150%"))
    #expect(after.under == "150%" && after.caret.hasSuffix("^~~~"))
    // The bad word before it: the line from its start, cut behind.
    let before = echo("add entity e type=spv pd=150% name=\"\(long)\"")
    #expect(before.shown.hasPrefix("  add entity e type=spv pd=150% name=\"xxx") && before.shown.hasSuffix("x…"))
    #expect(before.shown.count <= 2 + Shell.echoWidth + 1 && before.under == "150%")
    // A short line is echoed whole, as before.
    #expect(t.run("shw neo").output.contains("\n  shw neo\n  ^~~"))
    #expect(t.shell.session.graph["e"] == nil)
  }

  @Test("scripts stop at the first error and name file:line; --keep-going goes on")
  func scripts() throws {
    let t = TestShell()
    let script = "add entity a type=spv\n# comment\n\nadd entity b \\\n  type=spvv\nadd entity c type=spv\n"
    let (status, count) = t.shell.runScript(script, file: "s.dsh", keepGoing: false)
    #expect(status == .failed && count == 2)
    #expect(t.shell.session.graph["c"] == nil)
    #expect(t.transcript.isEmpty)
    let u = TestShell()
    let (s2, c2) = u.shell.runScript(script, file: "s.dsh", keepGoing: true)
    #expect(s2 == .failed && c2 == 3)
    #expect(u.shell.session.graph["c"] != nil)
  }

  @Test("error locations in scripts carry file:line")
  func scriptLocation() {
    let t = TestShell()
    let out = t.run("source /nonexistent.dsh").output
    #expect(out.contains("error: source: cannot read '/nonexistent.dsh'"))
    let path = t.folder + "/x.dsh"
    try? "add entity a type=spv\nadd entity b type=nope\n".write(toFile: path, atomically: true, encoding: .utf8)
    let r = t.run("source \(path)")
    #expect(r.status == .failed)
    #expect(r.output.contains("error: \(path):2: add: unknown entity type 'nope'"))
    #expect(t.shell.session.graph["a"] != nil, "each line of a script is its own change")
  }

  @Test("variables: let and $NAME")
  func variables() {
    let t = TestShell()
    t.ok("let kind=entity id=acme")
    t.ok("add $kind $id type=sponsor")
    #expect(t.shell.session.graph["acme"] != nil)
    #expect(t.run("show $idd").output.contains("unknown variable '$idd' (did you mean '$id'?)") == false)
    #expect(t.run("show $idd").output.contains("did you mean '$id'?"))
    #expect(t.shell.journal.last == "add entity acme type=sponsor", "the journal holds the expanded command")
  }

  @Test("--json on every command prints exactly one JSON document")
  func jsonEverywhere() throws {
    let t = TestShell()
    t.buildSampleDeal()
    let lines = [
      "deal", "ls", "ls gpu", "show fleet", "graph", "check", "history", "help", "help add", "help gpu",
      "help relations", "plugins", "sessions", "note", "let", "set fleet life=48", "unset fleet life", "undo", "redo",
      "link neo guarantees loan", "unlink neo guarantees loan", "add entity x type=spv", "rm x", "save sample",
    ]
    for line in lines {
      let (status, out) = t.run(line + " --json")
      #expect(status == .ok, "\(line): \(out)")
      #expect(throws: Never.self, "\(line)") { try JSONParser().parse(out) }
    }
    let ls = t.json("ls")
    #expect(ls["nodes"]?.arrayValue?.first?["id"] == "hyper", "entities first, then by id")
    let show = t.json("show fleet")
    #expect(show["attrs"]?["units"] == 1024)
    #expect(show["attrs"]?["life"] == 60)
    #expect(show["edges"]?.arrayValue?.contains(["from": "fleet", "rel": "pledged-to", "to": "loan", "attrs": ["lien": 1]]) == true)
    let plugins = t.json("plugins")
    #expect(plugins["plugins"]?.arrayValue?.first?["name"] == "core")
  }

  @Test("new asks on a terminal before unsaved changes are lost")
  func newAsks() {
    let t = TestShell(interactive: true)
    t.ok("add entity a type=spv")
    var asked: [String] = []
    t.shell.confirmHandler = { q in asked.append(q); return false }
    // Answering no is not an error: nothing is done, and the line says so.
    let (status, out) = t.run("new")
    #expect(status == .ok && out.contains("not done: the session is unchanged"))
    #expect(t.shell.session.graph["a"] != nil)
    #expect(asked.count == 1)
    t.shell.confirmHandler = { _ in true }
    t.ok("new \"Fresh deal\"")
    #expect(t.shell.session.graph.nodeCount == 0)
    #expect(t.shell.session.deal.title == "Fresh deal")
  }

  @Test("10,000 nodes: undo keeps every earlier value intact")
  func bigUndo() throws {
    let t = TestShell()
    t.ok("add facility f type=term amount=1 term=12")
    for i in 0..<2000 { t.ok("add asset a\(i) type=cash amount=\(i)") }
    let mid = t.shell.session
    for i in 0..<2000 { t.ok("link a\(i) pledged-to f") }
    for _ in 0..<2000 { t.ok("undo") }
    #expect(t.shell.session == mid)
    #expect(t.shell.session.graph.edgeCount == 0)
  }
}

@Suite("Tab completion")
struct CompletionTests {
  func complete(_ t: TestShell, _ line: String) -> [String] {
    let start = line.lastIndex(of: " ").map { line.distance(from: line.startIndex, to: $0) + 1 } ?? 0
    return Completer(shell: t.shell).complete(line: line, wordStart: start)
  }

  @Test("commands, ids, relations, keys, values, options, flags")
  func completes() {
    let t = TestShell()
    t.buildSampleDeal()
    #expect(complete(t, "sh") == ["shock", "show"])
    #expect(complete(t, "shoc") == ["shock"])
    #expect(complete(t, "s").contains("save") && complete(t, "s").contains("set"))
    #expect(complete(t, "show fl") == ["fleet"])
    #expect(complete(t, "link fleet pl") == ["pledged-to"])
    #expect(complete(t, "link fleet pledged-to l") == ["lease1", "lien=", "loan"])
    #expect(complete(t, "set fleet un") == ["unit_cost=", "units="])
    #expect(complete(t, "set fleet cooling=") == ["cooling=air", "cooling=liquid"])
    #expect(complete(t, "add asset x type=") == ["type=cash", "type=crypto", "type=gpu", "type=site"])
    #expect(complete(t, "add asset x type=gpu mo") == ["model="])
    #expect(complete(t, "add asset x type=gpu owner=") == ["owner=hyper", "owner=neo"])
    #expect(complete(t, "add fa") == ["facility"])
    #expect(complete(t, "rm fleet --c") == ["--cascade"])
    #expect(complete(t, "deal ho") == ["horizon="])
    #expect(complete(t, "ls; shoc") == ["shock"])
    #expect(complete(t, "unset fleet ") == ["model", "unit_cost", "units"])
    #expect(complete(t, "help rel") == ["relations"])
    // The commands added with the later plugins.
    #expect(complete(t, "liquidate at=") == ["at=default"])
    #expect(complete(t, "liquidate dep") == ["depth="])
    #expect(complete(t, "liquidate lo") == ["loan"])
    #expect(complete(t, "timer ") == ["off", "on"])
    #expect(complete(t, "plugin l") == ["load", "ls"])
    #expect(complete(t, "shock mc conv") == ["converge="])
    #expect(complete(t, "report memo.html pa") == ["paths="])
  }
}

@Suite("diff")
struct DiffTests {
  @Test("nodes, edges, attributes, deal settings, scenarios and notes; identical files say so")
  func diff() throws {
    let t = TestShell()
    t.buildSampleDeal()
    t.ok("save a")
    #expect(t.run("diff a").output.hasPrefix("no differences"))
    #expect(t.json("diff a")["identical"] == true)
    t.ok("set fleet units=2048 life=48")
    t.ok("unset lease1 take_or_pay")
    t.ok("rm hyper --cascade")
    t.ok("add entity parent type=sponsor")
    t.ok("link parent guarantees loan")
    t.ok("deal horizon=72")
    t.ok("note changed")
    t.ok("save b")
    let j = t.json("diff a b")
    #expect(j["identical"] == false)
    #expect(j["deal"]?["horizon"] == ["from": "60", "to": "72"])
    #expect(j["nodes"]?["added"]?.arrayValue?.map { $0["id"] } == ["parent"])
    #expect(j["nodes"]?["removed"]?.arrayValue?.map { $0["id"] } == ["hyper"])
    let fleet = j["nodes"]?["changed"]?.arrayValue?.first { $0["id"] == "fleet" }
    #expect(fleet?["attrs"]?["units"] == ["from": 1024, "to": 2048])
    let lease = j["nodes"]?["changed"]?.arrayValue?.first { $0["id"] == "lease1" }
    #expect(lease?["attrs"]?["take_or_pay"] == ["from": 0.9, "to": nil])
    #expect(j["edges"]?["added"]?.arrayValue?.contains(["from": "parent", "rel": "guarantees", "to": "loan"]) == true)
    #expect(j["edges"]?["removed"]?.arrayValue?.contains(["from": "hyper", "rel": "rents", "to": "lease1"]) == true)
    #expect(j["notes"]?["added"] == 1)
    let text = t.run("diff a b").output
    #expect(text.contains("~ node fleet: life (default 60 months) → 48 months, units 1,024 → 2,048"))
    #expect(text.contains("~ node lease1: take_or_pay 90% → (default 0%)"))
    #expect(text.contains("- node hyper (entity tenant)"))
    #expect(t.run("diff a ghost").output.contains("cannot read"))
  }
}

@Suite("crash recovery")
struct RecoverTests {
  @Test("a journal left by a dead process is replayed on its file: commands, undo and redo")
  func recover() throws {
    let t = TestShell()
    t.buildSampleDeal()
    t.ok("save base")
    let state = t.folder + "/state/dealsh/recovery"
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    let header: JSONValue = ["path": .string(t.folder + "/sessions/base.deal"), "pid": 4_000_000, "started": "2026-01-15T09:00:00Z"]
    let lines = [
      header, ["line": "add entity extra type=spv"], ["line": "set fleet units=2048"], ["undo": true],
      ["line": "deal horizon=72"], ["undo": true], ["redo": true],
    ]
    try (lines.map { $0.serialized(pretty: false) }.joined(separator: "\n") + "\n")
      .write(toFile: state + "/4000000.journal", atomically: true, encoding: .utf8)
    let u = TestShell(env: ["XDG_STATE_HOME": t.folder + "/state", "DEALSH_SESSIONS": t.folder + "/sessions"])
    let out = u.ok("recover")
    #expect(out.contains("recovered 6 of 6 changes"))
    #expect(u.shell.session.graph["extra"] != nil)
    #expect(u.shell.session.graph["fleet"]?.attrs["units"] == .number(1024), "the undone change stays undone")
    #expect(u.shell.session.deal.horizon == 72, "the redone change is back")
    #expect(u.shell.isDirty)
    #expect(u.run("recover").output.contains("nothing to recover"))
    #expect(!FileManager.default.fileExists(atPath: state + "/4000000.journal"))
  }

  @Test("recover --discard drops a dead session's changes")
  func discard() throws {
    let t = TestShell()
    let state = t.folder + "/state/dealsh/recovery"
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    try "{\"path\":null,\"pid\":4000001,\"started\":\"x\"}\n{\"line\":\"add entity a type=spv\"}\n"
      .write(toFile: state + "/4000001.journal", atomically: true, encoding: .utf8)
    #expect(t.ok("recover --discard").contains("dropped"))
    #expect(t.shell.session.graph.nodeCount == 0)
    #expect(t.ok("recover").contains("nothing to recover"), "nothing left: an answer, not an error")
  }

  @Test("check reports a site's power and rack density, and cooling, beyond what it has; link refuses a lien already given")
  func physicalLimits() {
    let t = TestShell()
    t.ok("add entity co type=spv")
    t.ok("add asset s type=site mw=8 rack_kw_max=130 cooling=air")
    t.ok("add asset f type=gpu model=H100 units=20000 unit_cost=30k kw=1.2 rack_kw=140 cooling=liquid owner=co site=s")
    let out = t.run("check").output
    #expect(out.contains("error   s: its fleets (f) draw 24 MW of IT power (31.2 MW at PUE 1.3), more than its 8 MW"), "\(out)")
    #expect(out.contains("error   f: racks of 140 kW exceed what site 's' can host (130 kW a rack)"))
    #expect(out.contains("error   f: needs liquid cooling; site 's' is air-cooled"))
    t.ok("set s mw=30 rack_kw_max=150 cooling=liquid")
    #expect(!t.run("check").output.contains("error   "))
    t.ok("add facility a type=term amount=1m term=12 borrower=co")
    t.ok("add facility b type=term amount=1m term=12 borrower=co")
    t.ok("link f pledged-to a")
    let before = t.shell.session
    t.expectRefused("link f pledged-to b", "'f' already gives lien 1 to 'a'")
    t.expectRefused("link f pledged-to b lien=1", "'f' already gives lien 1 to 'a'")
    #expect(t.shell.session == before)
    t.ok("link f pledged-to b lien=2")
  }
}
