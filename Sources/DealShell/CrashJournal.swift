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
/// Format: JSON lines. The first is `{"path": FILE or null, "pid", "started"}`
/// (the file the changes apply to); each next line is `{"line": COMMAND}`,
/// `{"undo": true}` or `{"redo": true}`.
final class CrashJournal {
  let folder: String
  let file: String
  private var fd: Int32 = -1
  private var header: String = ""
  private(set) var changes = 0

  init(stateDirectory: String) {
    folder = stateDirectory + "/recovery"
    file = folder + "/\(getpid()).journal"
  }

  /// Starts over for a session read from `path` (or a new one).
  func reset(path: String?, now: String) {
    close()
    unlink(file)
    changes = 0
    header = JSONValue.object(["path": .optional(path.map { CrashJournal.absolute($0) }), "pid": .number(Double(getpid())), "started": .string(now)])
      .serialized(pretty: false)
  }

  /// Appends one change and flushes it to disk.
  func record(_ entry: String) {
    let value: JSONValue
    switch entry {
    case "undo": value = ["undo": true]
    case "redo": value = ["redo": true]
    default: value = ["line": .string(entry)]
    }
    if fd < 0 {
      try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return }
      write(header + "\n")
    }
    write(value.serialized(pretty: false) + "\n")
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
    var entries: [JSONValue]
  }

  /// Journals in the folder whose process is gone, newest first.
  static func orphans(stateDirectory: String) -> [Orphan] {
    let folder = stateDirectory + "/recovery"
    var out: [Orphan] = []
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".journal") {
      guard let pid = Int32(name.dropLast(8)), pid != getpid() else { continue }
      if kill(pid, 0) == 0 { continue }  // still running
      let file = folder + "/" + name
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
      let lines = text.split(separator: "\n").compactMap { try? JSONParser().parse(String($0)) }
      guard let head = lines.first, lines.count > 1 else {
        unlink(file)
        continue
      }
      out.append(Orphan(file: file, path: head["path"]?.stringValue, started: head["started"]?.stringValue ?? "", entries: Array(lines.dropFirst())))
    }
    return out.sorted { $0.started > $1.started }
  }
}

extension Shell {
  /// Journals every change of an interactive session to disk.
  func startCrashJournal() {
    let journal = CrashJournal(stateDirectory: environment.stateDirectory)
    journal.reset(path: path, now: environment.now())
    crashJournal = journal
    onChange = { [unowned self] line in
      self.crashJournal?.record(line)
    }
    onReset = { [unowned self] in
      self.crashJournal?.reset(path: self.path, now: self.environment.now())
    }
  }

  /// Says, at start-up, that a session ended with unsaved changes.
  func announceOrphans() {
    let orphans = CrashJournal.orphans(stateDirectory: environment.stateDirectory)
    guard let o = orphans.first else { return }
    let name = o.path.map { ($0 as NSString).lastPathComponent } ?? "an unsaved session"
    io.out(
      "\(name) has \(o.entries.count) unsaved change\(o.entries.count == 1 ? "" : "s") from a session that ended at \(o.started) or later;"
        + " 'recover' restores them, 'recover --discard' drops them")
  }
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
      try SessionCommands.confirmDiscard(shell, ctx, force: false)
      if let p = o.path {
        let (file, fp) = try shell.readSession(p)
        shell.replace(with: file, path: p, disk: FileIO.diskState(p, fingerprint: fp))
      } else {
        shell.replace(with: nil, path: nil, disk: nil)
      }
      var replayed = 0
      for e in o.entries {
        let line: String
        if e["undo"] != nil {
          line = "undo"
        } else if e["redo"] != nil {
          line = "redo"
        } else if let l = e["line"]?.stringValue {
          line = l
        } else {
          continue
        }
        let (status, _) = shell.capture(line)
        if status == .ok { replayed += 1 }
      }
      unlink(o.file)
      return CommandOutput(
        text: "recovered \(replayed) of \(o.entries.count) change\(o.entries.count == 1 ? "" : "s")" + (o.path.map { " on '\($0)'" } ?? "") + "; 'save' keeps them",
        json: ["recovered": .number(Double(replayed)), "changes": .number(Double(o.entries.count)), "path": .optional(o.path)])
    }
  }
}
