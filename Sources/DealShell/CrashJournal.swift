import DealCore
import DealPluginAPI
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// The crash journal of an interactive session (SPEC §4): every change is
/// appended, and fsync'd, to `$XDG_STATE_HOME/dealsh/recovery/PID.journal`
/// as it happens, so a crash (kill -9, a closed terminal, power loss) loses
/// nothing. The file goes away when the session is saved or the shell
/// exits cleanly; the next start finds journals whose process is gone.
///
/// Format: JSON lines. The first is the base the changes apply to:
/// `{"path": FILE or null, "pid", "started", "hash": H, "base": SESSION}` —
/// the file's content hash, and the whole session when it has no file (a
/// new session, an untitled copy). Each next line is a change with the
/// content hash of the session after it: `{"line": COMMAND, "hash": H}`,
/// `{"undo": true, "hash": H}`, `{"redo": true, "hash": H}`, or, for an undo
/// or redo that replaying the journal could not repeat (an undo past the last
/// save, whose earlier states only the lost shell held),
/// `{"snapshot": SESSION, "hash": H}`. Recovery checks every hash.
final class CrashJournal {
  let folder: String
  let file: String
  private var fd: Int32 = -1
  private var header: String = ""
  private(set) var changes = 0
  /// What a replay of this journal would have on its undo and redo stacks:
  /// an undo or redo beyond them is written as a snapshot.
  private var replayUndo = 0, replayRedo = 0

  init(stateDirectory: String) {
    folder = stateDirectory + "/recovery"
    file = folder + "/\(getpid()).journal"
  }

  /// Starts over from the session as it is now (read from `path`, saved
  /// there, or with no file: then the session itself is the base).
  func reset(path: String?, now: String, hash: String, base: () -> String) {
    close()
    unlink(file)
    changes = 0
    replayUndo = 0
    replayRedo = 0
    var head: [String: JSONValue] = [
      "path": .optional(path.map { CrashJournal.absolute($0) }), "pid": .number(Double(getpid())), "started": .string(now),
      "hash": .string(hash),
    ]
    if path == nil { head["base"] = .string(base()) }
    header = JSONValue.object(head).serialized(pretty: false)
  }

  enum Change {
    case line(String)
    case undo
    case redo
    /// The whole session (after a recovery: the journal starts from it).
    case snapshot
  }

  /// Appends one change and flushes it to disk. `snapshot` gives the whole
  /// session after the change, for an undo or redo a replay cannot repeat.
  func record(_ change: Change, hash: String, snapshot: () -> String) {
    var value: [String: JSONValue] = ["hash": .string(hash)]
    switch change {
    case .line(let l):
      value["line"] = .string(l)
      replayUndo += 1
      replayRedo = 0
    case .undo where replayUndo > 0:
      value["undo"] = true
      replayUndo -= 1
      replayRedo += 1
    case .redo where replayRedo > 0:
      value["redo"] = true
      replayRedo -= 1
      replayUndo += 1
    case .undo, .redo, .snapshot:
      value["snapshot"] = .string(snapshot())
      replayUndo = 0
      replayRedo = 0
    }
    if fd < 0 {
      try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return }
      write(header + "\n")
    }
    write(JSONValue.object(value).serialized(pretty: false) + "\n")
    fsync(fd)
    changes += 1
  }

  private func write(_ s: String) {
    var bytes = Array(s.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
  }

  func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  /// Removes the journal (after a save or a clean exit).
  func remove() {
    close()
    unlink(file)
    changes = 0
  }

  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
  }

  /// A journal left by a session that ended without saving.
  struct Orphan {
    var file: String
    var path: String?
    var started: String
    var head: JSONValue
    var entries: [JSONValue]
    /// Lines that did not parse (a write cut short by the crash: the last).
    var unreadable: Int
  }

  /// Journals in the folder whose process is gone, newest first.
  static func orphans(stateDirectory: String) -> [Orphan] {
    let folder = stateDirectory + "/recovery"
    var out: [Orphan] = []
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".journal") {
      guard let pid = Int32(name.dropLast(8)), pid != getpid() else { continue }
      if kill(pid, 0) == 0 { continue }  // still running
      let file = folder + "/" + name
      guard let text = try? FileIO.read(file, limit: 1 << 30) else { continue }
      let raw = text.split(separator: "\n")
      let lines = raw.compactMap { try? JSONParser().parse(String($0)) }
      guard let head = lines.first, lines.count > 1 else {
        unlink(file)
        continue
      }
      out.append(
        Orphan(
          file: file, path: head["path"]?.stringValue, started: head["started"]?.stringValue ?? "", head: head,
          entries: Array(lines.dropFirst()), unreadable: raw.count - lines.count))
    }
    return out.sorted { $0.started > $1.started }
  }
}

extension Shell {
  /// The content hash of the session now (what a file of it would carry).
  var contentHashNow: String {
    SessionCodec.contentHash(SessionFile(session: session, journal: journal, metadata: CrashJournal.blankMetadata))
  }

  /// The session now as the text of a session file.
  var snapshotText: String {
    SessionCodec.encode(SessionFile(session: session, journal: journal, metadata: CrashJournal.blankMetadata))
  }

  /// Journals every change of an interactive session to disk.
  func startCrashJournal() {
    let journal = CrashJournal(stateDirectory: environment.stateDirectory)
    crashJournal = journal
    onChange = { [unowned self] line in
      let change: CrashJournal.Change = line == "undo" ? .undo : (line == "redo" ? .redo : .line(line))
      self.crashJournal?.record(change, hash: self.contentHashNow, snapshot: { self.snapshotText })
    }
    onReset = { [unowned self] in
      self.crashJournal?.reset(path: self.path, now: self.environment.now(), hash: self.contentHashNow, base: { self.snapshotText })
    }
    onReset?()
  }

  /// Says, at start-up, that a session ended with unsaved changes.
  func announceOrphans() {
    var orphans = CrashJournal.orphans(stateDirectory: environment.stateDirectory)
    // A shell killed after its save's rename, before it removed its journal:
    // the file already holds every change.
    orphans.removeAll { o in
      guard alreadySaved(o) else { return false }
      unlink(o.file)
      return true
    }
    guard let o = orphans.first else { return }
    let name = o.path.map { ($0 as NSString).lastPathComponent } ?? "an unsaved session"
    io.out(
      "\(name) has \(o.entries.count) unsaved change\(o.entries.count == 1 ? "" : "s") from a session that ended at \(o.started) or later"
        + " without saving (a crash, a kill, a plugin fault); 'recover' restores them exactly, 'recover --discard' drops them")
  }

  /// Whether a lost shell's file on disk holds the state its journal ends
  /// in (saved, then killed before the journal went away).
  func alreadySaved(_ o: CrashJournal.Orphan) -> Bool {
    guard let p = o.path, let last = o.entries.last?["hash"]?.stringValue, o.head["hash"]?.stringValue != last,
      let (file, _, _) = try? readSessionChecked(p)
    else { return false }
    return SessionCodec.contentHash(file) == last
  }
}

extension CrashJournal {
  static let blankMetadata = SessionMetadata(author: "", created: "", modified: "", dealshVersion: DealshVersion.current, revision: 0)
}

/// `recover`: restores the changes of a session that died.
enum RecoverCommand {
  static func spec(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "recover", abstract: "restore the unsaved changes of a session that ended (crash, kill -9, lost terminal)",
      usage: "recover [--discard]",
      discussion: """
        Interactive sessions journal every change to $XDG_STATE_HOME/dealsh/recovery as it happens. 'recover' opens
        the file the lost session was working on (or a new session) and replays its changes; '--discard' drops them.
        """,
      examples: ["recover", "recover --discard"],
      flags: [FlagSpec("discard", help: "drop the unsaved changes instead")], effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      try inv.noExtraPositionals(after: 0, usage: "recover [--discard]")
      let orphans = CrashJournal.orphans(stateDirectory: shell.environment.stateDirectory)
      // Nothing to recover is an answer, not a failure.
      guard let o = orphans.first else { return CommandOutput(text: "nothing to recover", json: ["recovered": .number(0)]) }
      if inv.has("discard") {
        for x in orphans { unlink(x.file) }
        return CommandOutput(text: "dropped the unsaved changes of \(orphans.count) session\(orphans.count == 1 ? "" : "s")", json: ["discarded": .number(Double(orphans.count))])
      }
      if shell.alreadySaved(o) {
        unlink(o.file)
        return CommandOutput(
          text: "nothing to recover: '\(o.path ?? "")' already holds the lost session's last state (it was saved before the shell ended)",
          json: ["recovered": .number(0), "already_saved": true, "path": .optional(o.path)])
      }
      try SessionCommands.confirmDiscard(shell, ctx, force: false)
      let outcome = try shell.recover(o)
      unlink(o.file)
      return CommandOutput(
        text: "recovered \(outcome.changes) of \(o.entries.count) change\(o.entries.count == 1 ? "" : "s")" + (o.path.map { " on '\($0)'" } ?? "")
          + ", the session as the lost shell left it (content hash \(outcome.hash) checked); 'save' keeps them",
        json: ["recovered": .number(Double(outcome.changes)), "changes": .number(Double(o.entries.count)), "path": .optional(o.path), "hash": .string(outcome.hash)])
    }
  }
}

extension Shell {
  /// What the shell was before a recovery, to put back if it fails.
  private struct Saved {
    var session: Session, journal: [String], metadata: SessionMetadata?, path: String?, copiedFrom: String?
    var diskState: FileIO.DiskState?, undoStack: [Snapshot], redoStack: [Snapshot], changeID: Int, savedChangeID: Int
  }

  /// Replays a lost session's journal exactly, checking the content hash
  /// of its base and after every change; on any difference it restores
  /// nothing (the shell is as it was, the journal kept) and says where.
  func recover(_ o: CrashJournal.Orphan) throws(DealError) -> (changes: Int, hash: String) {
    let saved = Saved(
      session: session, journal: journal, metadata: metadata, path: path, copiedFrom: copiedFrom, diskState: diskState,
      undoStack: undoStack, redoStack: redoStack, changeID: changeID, savedChangeID: savedChangeID)
    let hooks = (onChange, onReset)
    onChange = nil
    onReset = nil
    func fail(_ why: String) -> DealError {
      session = saved.session
      journal = saved.journal
      metadata = saved.metadata
      path = saved.path
      copiedFrom = saved.copiedFrom
      diskState = saved.diskState
      undoStack = saved.undoStack
      redoStack = saved.redoStack
      changeID = saved.changeID
      savedChangeID = saved.savedChangeID
      (onChange, onReset) = hooks
      return DealError(
        .invalid, "cannot restore the lost session exactly: \(why); nothing was restored",
        hint: "the journal is kept at \(o.file); 'recover --discard' drops it")
    }
    if o.unreadable > 0 { throw fail("\(o.unreadable) line\(o.unreadable == 1 ? "" : "s") of its journal cannot be read") }
    // The base.
    if let p = o.path {
      let file: SessionFile, disk: FileIO.DiskState
      do { (file, disk, _) = try readSessionChecked(p) } catch { throw fail("its file '\(p)' cannot be read (\(error.message))") }
      replace(with: file, path: p, disk: disk)
    } else if let text = o.head["base"]?.stringValue, let file = try? SessionCodec.decode(text, schema: schema) {
      replace(with: file, path: nil, disk: nil)
      metadata = nil
    } else {
      throw fail("its journal does not say what session the changes apply to")
    }
    if let want = o.head["hash"]?.stringValue, want != contentHashNow {
      throw fail("'\(o.path ?? "the base session")' has changed since the lost shell read it (content hash \(contentHashNow), not \(want))")
    }
    // The changes, each checked.
    for (k, e) in o.entries.enumerated() {
      let step = "change \(k + 1) of \(o.entries.count)"
      if let text = e["snapshot"]?.stringValue {
        guard let file = try? SessionCodec.decode(text, schema: schema) else { throw fail("\(step) (a snapshot) cannot be read") }
        // The state itself; the file, its metadata and disk state stay.
        let (keepPath, keepMeta, keepDisk) = (path, metadata, diskState)
        replace(with: file, path: keepPath, disk: keepDisk)
        metadata = keepMeta
      } else {
        let line: String
        if e["undo"] != nil { line = "undo" } else if e["redo"] != nil { line = "redo" } else if let l = e["line"]?.stringValue { line = l } else {
          throw fail("\(step) cannot be read")
        }
        let (status, out) = capture(line)
        guard status == .ok else { throw fail("\(step) ('\(line)') failed: \(out.first ?? "")") }
      }
      if let want = e["hash"]?.stringValue, want != contentHashNow {
        throw fail("\(step) gives a session other than the lost shell's (content hash \(contentHashNow), not \(want))")
      }
    }
    let hash = contentHashNow
    (onChange, onReset) = hooks
    // Unsaved (unless it came back to the file), and journalled afresh.
    if let want = o.head["hash"]?.stringValue, o.path != nil, want == hash { savedChangeID = changeID } else { savedChangeID = -1 }
    onReset?()
    if savedChangeID != changeID {
      crashJournal?.record(.snapshot, hash: hash, snapshot: { self.snapshotText })
    }
    return (o.entries.count, hash)
  }
}
