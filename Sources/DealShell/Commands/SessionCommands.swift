import DealCore
import DealPluginAPI
import Foundation

/// Commands that act on the session as a whole (SPEC §4): files, undo,
/// history, scripts, notes.
enum SessionCommands {
  static func all(_ shell: Shell) -> [CommandSpec] {
    [new(shell), save(shell), open(shell), sessions(shell), undo(shell), redo(shell), history(shell), source(shell), note, diff(shell), RecoverCommand.spec(shell)]
  }

  /// Asks before unsaved changes are lost (only on a terminal; scripts say
  /// what they mean).
  static func confirmDiscard(_ shell: Shell, _ ctx: CommandContext, force: Bool) throws(DealError) {
    guard shell.isDirty, !force, ctx.terminal.interactive else { return }
    if !shell.confirm("unsaved changes to '\(shell.sessionName)' will be lost; continue?") {
      throw DealError(.declined, "not done: the session is unchanged ('save' keeps the changes)")
    }
  }

  static func new(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "new", abstract: "start an empty session (asks first if changes are unsaved)",
      usage: "new [TITLE] [--force]", examples: ["new", "new \"Miner refinancing\""],
      flags: [FlagSpec("force", help: "do not ask about unsaved changes")], effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      try confirmDiscard(shell, ctx, force: inv.has("force"))
      shell.replace(with: nil, path: nil, disk: nil)
      let title = inv.positionals.joined(separator: " ")
      try SessionLimits.checkText(title, "the title")
      if !title.isEmpty {
        var s = shell.session
        s.deal.title = title
        shell.commit(s, journalLine: "deal " + Word(text: "title=" + title, start: 0, end: 0, equalsIndex: 5).rendered)
      }
      return CommandOutput(
        text: "new session" + (title.isEmpty ? "" : " '\(title)'"),
        json: ["title": .string(title), "start": .string(shell.session.deal.start.description)])
    }
  }

  static func save(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "save", abstract: "write the session to a .deal file (atomically)",
      usage: "save [PATH] [--force]",
      discussion: """
        A bare name (no '/') is saved in the sessions folder ($DEALSH_SESSIONS, else ./Sessions)
        with '.deal' added. Saving over a file that changed on disk since it was opened, or over
        another existing file, is refused unless --force. The check and the replacement happen under
        a lock every dealsh save takes, so of two saves of one file at once the second is refused.
        A session beyond what a session file holds (64 MiB) is refused before anything is written.
        """,
      examples: ["save", "save neocloud-abl", "save /tmp/deal.deal --force"],
      arguments: [ArgumentSpec("PATH", .files("deal"))],
      flags: [FlagSpec("force", help: "overwrite a file that changed on disk or already exists")],
      effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      try inv.noExtraPositionals(after: 1, usage: "save [PATH] [--force]")
      let result = try shell.save(to: inv.positionals.first, force: inv.has("force"))
      let m = result.metadata
      return CommandOutput(
        text: "saved '\(result.path)' (revision \(m.revision), \(count(shell.session.graph.nodeCount, "node")), \(count(shell.session.graph.edgeCount, "edge")))",
        json: ["path": .string(result.path), "revision": .number(Double(m.revision)), "author": .string(m.author), "modified": .string(m.modified)])
    }
  }

  static func open(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "open", abstract: "read a session from a .deal file (never runs anything in it)",
      usage: "open PATH [--copy] [--force] [--strict]",
      discussion: """
        A bare name resolves in the sessions folder, unless a file of that name is in the current
        folder. The file is checked completely before the session in memory is replaced.
        --copy opens an untitled copy: the prompt says '(copy)', and a plain 'save' refuses, so
        the file itself (an example, a template) is only written by 'save PATH --force'.
        """,
      examples: ["open neocloud-abl", "open Sessions/neocloud-abl.deal", "open neocloud-abl --copy"],
      arguments: [ArgumentSpec("PATH", .files("deal"))],
      flags: [
        FlagSpec("copy", help: "open an untitled copy; 'save NAME' keeps it under a new name"),
        FlagSpec("force", help: "do not ask about unsaved changes"),
        FlagSpec("strict", help: "refuse a file whose content no longer matches its content hash"),
      ],
      effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      let arg = try inv.positional(0, "PATH", usage: "open PATH [--copy] [--force] [--strict]")
      try inv.noExtraPositionals(after: 1, usage: "open PATH [--copy] [--force] [--strict]")
      let path = shell.environment.sessionPath(arg, reading: true)
      let (file, disk, intact) = try shell.readSessionChecked(path)
      if intact == false, inv.has("strict") || shell.strict {
        throw DealError(
          .file, "refused: " + Shell.tamperedMessage(path),
          hint: "open it without --strict to look at it; 'save' then writes a fresh hash", subject: .text(arg))
      }
      try confirmDiscard(shell, ctx, force: inv.has("force"))
      let copy = inv.has("copy")
      if copy {
        // The file's content and journal without its metadata: the first
        // save is revision 1 of a new file.
        shell.replace(with: file, path: nil, disk: nil)
        shell.metadata = nil
        shell.copiedFrom = path
      } else {
        shell.replace(with: file, path: path, disk: disk)
      }
      shell.tampered = intact == false ? path : nil
      let s = shell.session
      let what = "\(s.deal.title.isEmpty ? "untitled" : "\"\(s.deal.title)\""), \(count(s.graph.nodeCount, "node")), \(count(s.graph.edgeCount, "edge"))"
      var text = copy
        ? "opened a copy of '\(path)': \(what); 'save NAME' keeps it under a new name, the file stays as it is"
        : "opened '\(path)': \(what), revision \(file.metadata.revision)"
      if intact == false { text += "\nwarning: " + Shell.tamperedMessage(path) + "; check it before relying on it ('save' writes a fresh hash)" }
      return CommandOutput(
        text: text,
        json: [
          "path": .string(path), "title": .string(s.deal.title), "nodes": .number(Double(s.graph.nodeCount)),
          "edges": .number(Double(s.graph.edgeCount)), "revision": .number(Double(file.metadata.revision)),
          "copy": .bool(copy), "content_intact": intact.map { .bool($0) } ?? .null,
        ])
    }
  }

  static func sessions(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "sessions", abstract: "list the saved sessions in the sessions folder, newest first",
      usage: "sessions", examples: ["sessions", "sessions --csv sessions.csv"], tabular: true
    ) { [unowned shell] inv, ctx in
      try inv.noExtraPositionals(after: 0, usage: "sessions")
      let dir = shell.environment.sessionsDirectory
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".deal") }
      var rows: [(name: String, title: String, author: String, modified: String, revision: Int, error: String?)] = []
      for n in names {
        let p = dir + "/" + n
        do {
          let (f, _) = try shell.readSession(p)
          rows.append((String(n.dropLast(5)), f.session.deal.title, f.metadata.author, f.metadata.modified, f.metadata.revision, nil))
        } catch {
          rows.append((String(n.dropLast(5)), "", "", "", 0, (error as? DealError)?.message ?? "\(error)"))
        }
      }
      rows.sort { ($0.modified, $0.name) > ($1.modified, $1.name) }
      var t = TextTable(["NAME", "TITLE", "AUTHOR", "MODIFIED", "REV"], aligns: [.left, .left, .left, .left, .right])
      for r in rows {
        t.add([r.name, r.error.map { "(unreadable: \($0))" } ?? r.title, r.author, r.modified, r.error == nil ? "\(r.revision)" : ""])
      }
      return CommandOutput(
        text: rows.isEmpty ? "no sessions in '\(dir)'" : t.render(),
        json: [
          "folder": .string(dir),
          "sessions": .array(rows.map {
            ["name": .string($0.name), "title": .string($0.title), "author": .string($0.author),
             "modified": .string($0.modified), "revision": .number(Double($0.revision)), "error": .optional($0.error)]
          }),
        ],
        csv: { (["name", "title", "author", "modified", "revision"], rows.map { [$0.name, $0.title, $0.author, $0.modified, String($0.revision)] }) })
    }
  }

  static func undo(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "undo", abstract: "step back one change", usage: "undo", examples: ["set ddtl rate=12%; undo"], effects: .controlsShell
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 0, usage: "undo")
      let line = try shell.undo()
      return CommandOutput(text: "undone: \(line)", json: ["undone": .string(line)])
    }
  }

  static func redo(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "redo", abstract: "step forward one undone change", usage: "redo", examples: ["set ddtl rate=12%; undo; redo"], effects: .controlsShell
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 0, usage: "redo")
      let line = try shell.redo()
      return CommandOutput(text: "redone: \(line)", json: ["redone": .string(line)])
    }
  }

  static func history(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "history", abstract: "the commands that built this session (its journal)",
      usage: "history", examples: ["history"], effects: .reads
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 0, usage: "history")
      let j = shell.journal
      let width = String(j.count).count
      let text = j.isEmpty ? "no changes yet" : j.enumerated().map { Format.pad(String($0.offset + 1), width, right: true) + "  " + $0.element }.joined(separator: "\n")
      return CommandOutput(text: text, json: ["journal": .array(j.map { .string($0) })])
    }
  }

  static func source(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "source", abstract: "run a script inside the current session",
      usage: "source SCRIPT",
      discussion: "Each command of the script is a change of its own (undo steps back one). The script stops at its first error, which names file:line.",
      examples: ["source Sessions/neocloud-abl.dsh"],
      arguments: [ArgumentSpec("SCRIPT", .files("dsh"))], effects: .controlsShell
    ) { [unowned shell] inv, _ in
      let path = try inv.positional(0, "SCRIPT", usage: "source SCRIPT")
      try inv.noExtraPositionals(after: 1, usage: "source SCRIPT")
      guard shell.sourceDepth < Shell.maxSourceDepth else {
        throw DealError(.invalid, "scripts nested deeper than \(Shell.maxSourceDepth) levels (does '\(path)' source itself?)")
      }
      let text = try FileIO.read(path, limit: 16 << 20, regularOnly: false)
      shell.sourceDepth += 1
      defer { shell.sourceDepth -= 1 }
      let (status, count) = shell.runScript(text, file: path, keepGoing: false)
      return CommandOutput(text: "", json: ["script": .string(path), "commands": .number(Double(count)), "ok": .bool(status == .ok)], failed: status == .failed)
    }
  }

  static func diff(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "diff", abstract: "what changed between this session (or A) and B: deal, nodes, edges, attributes",
      usage: "diff [PATH_A] PATH_B",
      discussion: "With one path, compares the session in memory (before) with the file (after). Bare names resolve in the sessions folder.",
      examples: ["diff neocloud-abl", "diff Sessions/neocloud-abl.deal Sessions/datacenter-project-finance.deal", "diff neocloud-abl --json"],
      arguments: [ArgumentSpec("PATH", .files("deal"), repeats: true)]
    ) { [unowned shell] inv, ctx in
      let usage = "diff [PATH_A] PATH_B"
      _ = try inv.positional(0, "PATH_B", usage: usage)
      try inv.noExtraPositionals(after: 2, usage: usage)
      let paths = inv.positionals.map { shell.environment.sessionPath($0, reading: true) }
      let before: Session, after: Session, names: (String, String)
      if paths.count == 2 {
        before = try shell.readSession(paths[0]).0.session
        after = try shell.readSession(paths[1]).0.session
        names = (paths[0], paths[1])
      } else {
        before = ctx.session
        after = try shell.readSession(paths[0]).0.session
        names = ("the session in memory", paths[0])
      }
      let d = SessionDiff(from: before, to: after)
      let schema = ctx.schema
      return CommandOutput(text: DiffRenderer.text(d, before: before, after: after, names: names, schema: schema), json: DiffRenderer.json(d))
    }
  }

  static let note = CommandSpec(
    name: "note", abstract: "attach a note to the session, or list the notes",
    usage: "note [TEXT]",
    examples: ["note \"Lease rate from public H100 rental quotes, 2024\"", "note"],
    arguments: [ArgumentSpec("TEXT", repeats: true)], effects: .changes
  ) { inv, ctx in
    let text = inv.positionals.joined(separator: " ")
    if !text.isEmpty {
      try SessionLimits.checkText(text, "the note")
      let n = Note(text: text, author: ctx.host.author, time: ctx.host.now())
      ctx.modify { $0.notes.append(n) }
      let count = ctx.session.notes.count
      return CommandOutput(text: "note \(count) added", json: ["added": ["text": .string(n.text), "author": .string(n.author), "time": .string(n.time)]])
    }
    let notes = ctx.session.notes
    let lines = notes.enumerated().map { "\($0.offset + 1). \($0.element.text)" + ($0.element.author.isEmpty ? "" : "  — \($0.element.author), \($0.element.time)") }
    return CommandOutput(
      text: notes.isEmpty ? "no notes" : lines.joined(separator: "\n"),
      json: ["notes": .array(notes.map { ["text": .string($0.text), "author": .string($0.author), "time": .string($0.time)] })])
  }
}

// MARK: - Files

extension Shell {
  /// Reads and decodes a session file; returns it and the fingerprint of
  /// its bytes. Nothing in the shell changes.
  func readSession(_ path: String) throws(DealError) -> (SessionFile, UInt64) {
    let (file, disk, _) = try readSessionChecked(path)
    return (file, disk.fingerprint)
  }

  /// Reads a session and checks its content against its content hash:
  /// `intact` is false when the file changed outside dealsh since it was
  /// saved (nil for a file with no hash, migrated from format 1). `disk`
  /// names the file that was read (taken before reading it).
  func readSessionChecked(_ path: String) throws(DealError) -> (file: SessionFile, disk: FileIO.DiskState, intact: Bool?) {
    let (text, identity) = try FileIO.readFile(path)
    do {
      let file = try SessionCodec.decode(text, schema: schema)
      let disk = FileIO.DiskState(
        identity: identity ?? FileIO.Identity(stat()), fingerprint: FileIO.fingerprint(text), contentHash: file.metadata.contentHash)
      return (file, disk, SessionCodec.contentMatches(file, text: text))
    } catch {
      throw DealError(.file, "cannot open '\(path)': \(error.message)", hint: "the session in memory is unchanged")
    }
  }

  /// What `open` says of a file whose content no longer matches its hash.
  static func tamperedMessage(_ path: String) -> String {
    "'\(path)' was changed outside dealsh: its content no longer matches the content hash it was saved with "
      + "(a damaged copy, or a hand-edited or merged file)"
  }

  /// Saves the session (SPEC §4). The revision and modified time change only
  /// when the content changed since it was last read or written, so saving
  /// an unchanged session gives the same bytes.
  func save(to arg: String?, force: Bool) throws(DealError) -> (path: String, metadata: SessionMetadata) {
    guard let target = arg.map({ environment.sessionPath($0) }) ?? path else {
      if let copiedFrom {
        throw DealError(
          .usage, "this session is a copy of '\(copiedFrom)' and has no file of its own",
          hint: "'save NAME' saves it in \(environment.sessionsDirectory)/NAME.deal; 'save \(copiedFrom) --force' overwrites the original")
      }
      throw DealError(.usage, "this session has no file yet", hint: "'save NAME' saves it in \(environment.sessionsDirectory)/NAME.deal")
    }
    let now = environment.now()
    var meta: SessionMetadata
    if let m = metadata, !isDirty, target == path || arg != nil {
      meta = m
    } else {
      meta = SessionMetadata(
        author: environment.author, created: metadata?.created ?? now, modified: now,
        dealshVersion: DealshVersion.current, revision: (metadata?.revision ?? 0) + 1)
    }
    if metadata == nil { meta.created = now }
    try SessionLimits.check(session, journalCount: journal.count, author: environment.author)
    let text = SessionCodec.encodeBytes(SessionFile(session: session, journal: journal, metadata: meta))
    if text.count > SessionCodec.maxBytes {
      throw DealError(
        .invalid,
        "the session would be a \(Format.grouped(Double(text.count) / Double(1 << 20), decimals: 1)) MiB file, more than the \(SessionCodec.maxBytes >> 20) MiB a session file may hold; nothing was written",
        hint: "split the deal into sessions, or remove nodes; 'open' refuses larger files")
    }
    // The check of the file on disk runs under the folder's save lock,
    // after the new file is written and synced and just before the rename:
    // another dealsh saving the same file waits, then sees this save.
    let identity = try FileIO.writeAtomically(text, to: target) { () throws(DealError) in
      guard FileIO.exists(target), !force else { return }
      let sameFile = target == path
      if sameFile, let known = diskState, !FileIO.unchanged(target, since: known) {
        var who = ""
        var sameContent = false
        if let onDisk = try? FileIO.read(target), let other = try? SessionCodec.decode(onDisk, schema: schema) {
          who = " (revision \(other.metadata.revision), saved by \(other.metadata.author) at \(other.metadata.modified))"
          // Rewritten with the same content (reformatted, or saved again
          // with new metadata): nothing of anyone's would be lost.
          if let hash = known.contentHash, SessionCodec.contentHash(other) == hash { sameContent = true }
        }
        if !sameContent { throw DealError(
          .invalid, "'\(target)' was changed on disk since it was opened\(who); nothing was written, your changes are kept",
          hint: "'save --force' overwrites it; 'save PATH' writes elsewhere; 'diff \(target)' shows what changed") }
      }
      if !sameFile {
        throw DealError(.invalid, "'\(target)' already exists", hint: "'save \(arg ?? target) --force' overwrites it")
      }
    }
    markSaved(
      path: target, metadata: meta,
      disk: FileIO.DiskState(identity: identity, fingerprint: FileIO.fingerprint(text), contentHash: FileIO.contentHash(in: text)))
    return (target, meta)
  }
}

/// "1 node", "3 nodes".
func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

/// The version of this build.
public enum DealshVersion {
  public static let current = "0.1.0"
}
