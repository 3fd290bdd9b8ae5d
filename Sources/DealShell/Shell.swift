import DealCore
import DealEngine
import DealPluginAPI
import Foundation
import Synchronization

/// Where a command line came from, for `file:line` in errors.
public struct SourceLocation: Equatable, Sendable {
  public var file: String
  public var line: Int

  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }
}

/// Where the shell's output goes. Tests and transcripts pass closures that
/// collect it; the executable passes standard output and error.
public struct ShellIO {
  public var out: (String) -> Void
  public var err: (String) -> Void

  public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
    self.out = out
    self.err = err
  }
}

/// The outcome of a line.
public enum LineStatus: Equatable {
  case ok
  case failed
  /// The user asked to leave (`quit`).
  case quit
}

/// The interpreter behind every way of using dealsh: the interactive
/// prompt, piped input, `run`, `-c`, `source` and transcript checks all feed
/// lines to `execute`, so there is one code path for all of them.
///
/// It holds the current `Session` value, the undo and redo stacks (earlier
/// and later values of the session; cheap because the graph is a persistent
/// structure) and the journal of the commands that built the session.
public final class Shell {
  public let registry: Registry
  public var io: ShellIO
  public var environment: ShellEnvironment

  public internal(set) var session: Session
  public internal(set) var journal: [String] = []
  /// Metadata of the file the session was read from or last saved to.
  public internal(set) var metadata: SessionMetadata?
  /// The file the session belongs to, if any.
  public internal(set) var path: String?
  /// The file the session was opened from when its content did not match
  /// its content hash (changed outside dealsh); `check` lists it.
  public internal(set) var tampered: String?
  /// `run --strict`: refuse such files.
  public var strict = false
  /// The file an untitled copy was opened from (`open --copy`): shown in the
  /// prompt, never written by a plain `save`.
  public internal(set) var copiedFrom: String?
  /// A fingerprint of the file's bytes as last read or written, to detect
  /// that someone else changed it since (stale save).
  var diskState: FileIO.DiskState?
  /// `timer on`: print each command's time.
  public var timerOn = false
  /// Plugins loaded from shared libraries (kept open while the shell lives).
  var externalPlugins: [AnyObject] = []

  struct Snapshot {
    var session: Session
    var journalCount: Int
    var changeID: Int
    /// Journal entries undone (for redo).
    var undoneEntries: [String] = []
  }
  var undoStack: [Snapshot] = []
  var redoStack: [Snapshot] = []
  var changeID = 0
  var nextChangeID = 1
  var savedChangeID = 0

  /// Script variables (`let`, `--var`).
  public var variables: [String: String] = [:]
  var sourceDepth = 0
  static let maxSourceDepth = 16
  /// How deeply commands may nest through `runCommand` (a plugin calling
  /// the host calling a plugin ...): beyond it a call is refused, not a
  /// stack overflow.
  var hostDepth = 0
  static let maxHostDepth = 8

  /// Asks the user a yes/no question (set by the interactive loop).
  public var confirmHandler: ((String) -> Bool)? = nil
  /// Called after each change to the session with the journal line (the
  /// crash journal of an interactive session hooks in here).
  public var onChange: ((String) -> Void)? = nil
  /// Called when the session is saved, opened or replaced.
  public var onReset: (() -> Void)? = nil
  var quitRequested = false
  /// The crash journal of an interactive session.
  var crashJournal: CrashJournal?
  /// Forgets cached results of read-only commands (benchmarks time the
  /// computation itself).
  public func clearDerivedData() {
    derived.removeAll()
    analysisCache = nil
  }

  /// The analysis of the current session (value curves, waterfall runs,
  /// liquidations), shared by the commands that run while it is unchanged.
  var analysis: DealAnalysis {
    if let a = analysisCache, a.changeID == changeID { return a.analysis }
    let a = DealAnalysis(session: session, schema: schema)
    analysisCache = (changeID, a)
    return a
  }
  var analysisCache: (changeID: Int, analysis: DealAnalysis)?

  /// Results of read-only commands run through `runCommand`, valid while
  /// `changeID` is `derivedChangeID`.
  var derived: [String: JSONValue] = [:]
  var derivedChangeID = -1
  var cancelBaseline = 0
  /// Interrupts raised for this shell alone (`interrupt()`), beside the
  /// process's Ctrl-C count: a test cancels its own command without
  /// cancelling the commands other tests run at the same time.
  private let ownInterrupts = Atomic<Int>(0)

  public init(registry: Registry, io: ShellIO, environment: ShellEnvironment) {
    self.registry = registry
    self.io = io
    self.environment = environment
    session = Session(deal: Deal(start: environment.currentMonth))
  }

  public var schema: Schema { registry.schema }

  /// Whether the session has changes not yet saved.
  public var isDirty: Bool { changeID != savedChangeID }

  /// The name shown in the prompt: the file's base name, else the title.
  public var sessionName: String {
    func base(_ path: String) -> String {
      var base = path.split(separator: "/").last.map(String.init) ?? path
      if base.hasSuffix(".deal") { base.removeLast(5) }
      return base
    }
    if let path { return base(path) }
    if let copiedFrom { return base(copiedFrom) + " (copy)" }
    return session.deal.title.isEmpty ? "untitled" : session.deal.title
  }

  /// The interactive prompt, `dealsh NAME> `, with `*` after the name while
  /// there are unsaved changes. Transcripts may write commands after it, and
  /// `run --check` then checks it too.
  public var prompt: String {
    // No colour: libedit counts escape codes as printing characters.
    "dealsh " + sessionName + (isDirty ? "*" : "") + "> "
  }

  // MARK: - Running lines

  /// Runs one logical line (possibly several commands separated by `;`).
  /// Stops at the first failing command.
  @discardableResult
  public func execute(_ line: String, at location: SourceLocation? = nil) -> LineStatus {
    let commands: [CommandWords]
    do { commands = try Lexer(variables: variables).split(line) } catch {
      reportLex(error, line: line, location: location)
      return .failed
    }
    for cmd in commands {
      let status = runAndPrint(cmd, location: location)
      if status != .ok { return status }
    }
    return .ok
  }

  func runAndPrint(_ cmd: CommandWords, location: SourceLocation?) -> LineStatus {
    let started = DispatchTime.now().uptimeNanoseconds
    // With `timer on`, each command's time follows its output (on the
    // error stream, so JSON and transcripts of the output stay clean).
    defer {
      // The `timer` command itself is not timed (so `timer on` prints no time).
      if timerOn, cmd.words[0].text != "timer" {
        let ms = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        io.err("time: \(Format.grouped(ms, decimals: ms < 10 ? 2 : 1)) ms (\(cmd.words[0].text))")
      }
    }
    // Whether the output is JSON is read from the parsed command only (a
    // `--json` that is the value of another flag is no --json).
    var wantsJSON = false
    switch run(cmd, parsed: { wantsJSON = $0.json }) {
    case .success(let output):
      if wantsJSON {
        io.out(output.json.serialized(pretty: true))
      } else if !output.text.isEmpty {
        io.out(output.text)
      }
      if quitRequested { return .quit }
      return output.failed ? .failed : .ok
    case .failure(let error) where error.kind == .declined:
      io.out(wantsJSON ? JSONValue.object(["declined": .bool(true), "message": .string(error.message)]).serialized(pretty: true) : error.message)
      return .ok
    case .failure(let error):
      report(error, words: cmd.words, line: cmd.line, location: location, json: wantsJSON)
      return .failed
    }
  }

  /// Runs one command and commits its changes if it succeeds. `parsed`
  /// sees the invocation once the words are parsed.
  func run(_ cmd: CommandWords, parsed: (Invocation) -> Void = { _ in }) -> Result<CommandOutput, DealError> {
    let name = cmd.words[0].text
    guard let entry = registry.command(name) else {
      let near = Suggest.closest(to: name, in: registry.allNames)
      return .failure(
        DealError(
          .usage, "unknown command '\(name)'" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
          hint: near == nil ? "'help' lists the commands" : nil, subject: .word(0)))
    }
    let spec = entry.spec
    let invocation: Invocation
    do { invocation = try Invocation(words: cmd.words, spec: spec) } catch {
      return .failure(error.withCommand(spec.name))
    }
    parsed(invocation)
    if invocation.has("help") {
      return .success(HelpRenderer(registry: registry, style: Style(false)).commandHelp(spec, plugin: entry.plugin))
    }
    var context = CommandContext(session: session, schema: schema, host: self, terminal: environment.terminal, analysis: analysis)
    cancelBaseline = Interrupts.count + ownInterrupts.load(ordering: .relaxed)
    // A command that fails leaves the session as it was, changes made
    // through the host included (a plugin that changed the session, then
    // failed or crashed). Commands that control the shell (source, open,
    // undo) keep what they did.
    let checkpoint = Checkpoint(self)
    func failed(_ e: DealError) -> Result<CommandOutput, DealError> {
      if spec.effects != .controlsShell { rollBack(to: checkpoint) }
      return .failure(e.withCommand(spec.name))
    }
    do {
      var output = try spec.run(invocation, &context)
      // --csv FILE for a tabular command that does not write its own;
      // written before the change is kept, so a file that cannot be
      // written leaves the session as it was.
      if let path = invocation.flags["csv"], !spec.flags.contains(where: { $0.name == "csv" }) {
        guard let table = output.csv?() else {
          throw DealError(.usage, "'\(cmd.rendered)' prints no table to write as CSV", hint: "'help \(spec.name)' says which forms have one")
        }
        try CSV.write(CSV.text(header: table.header, rows: table.rows), to: path)
        let before = output
        output = CommandOutput(
          text: before.text + "\nwrote \(table.rows.count) row\(table.rows.count == 1 ? "" : "s") to '\(path)'", json: before.json,
          failed: before.failed, files: before.files + [path], csv: before.csv)
      }
      if context.changed, spec.effects == .changes {
        commit(context.session, journalLine: cmd.rendered)
      }
      return .success(output)
    } catch let e as DealError {
      return failed(e)
    } catch {
      return failed(DealError(.invalid, "\(error)"))
    }
  }

  /// The shell's state before a command, to go back to if it fails.
  struct Checkpoint {
    var session: Session, journalCount: Int, undoCount: Int, redoStack: [Snapshot], changeID: Int
    init(_ s: Shell) {
      (session, journalCount, undoCount, redoStack, changeID) = (s.session, s.journal.count, s.undoStack.count, s.redoStack, s.changeID)
    }
  }

  /// Undoes the changes made since `c` (by commands run through the host)
  /// and journals the state for crash recovery.
  func rollBack(to c: Checkpoint) {
    guard changeID != c.changeID else { return }
    session = c.session
    journal.removeLast(max(0, journal.count - c.journalCount))
    undoStack.removeLast(max(0, undoStack.count - c.undoCount))
    redoStack = c.redoStack
    changeID = c.changeID
    crashJournal?.record(.snapshot, hash: contentHashNow, snapshot: { self.snapshotText })
  }

  /// Makes `newSession` current, with an undo step and a journal entry.
  func commit(_ newSession: Session, journalLine: String) {
    undoStack.append(Snapshot(session: session, journalCount: journal.count, changeID: changeID))
    redoStack.removeAll()
    session = newSession
    journal.append(journalLine)
    changeID = nextChangeID
    nextChangeID += 1
    onChange?(journalLine)
  }

  // MARK: - Undo

  /// Steps back one change. Returns the journal line undone.
  func undo() throws(DealError) -> String {
    guard let snap = undoStack.popLast() else { throw DealError(.invalid, "nothing to undo") }
    let undone = Array(journal[snap.journalCount...])
    redoStack.append(Snapshot(session: session, journalCount: journal.count, changeID: changeID, undoneEntries: undone))
    session = snap.session
    journal.removeLast(journal.count - snap.journalCount)
    changeID = snap.changeID
    onChange?("undo")
    return undone.joined(separator: "; ")
  }

  /// Steps forward one undone change. Returns the journal line redone.
  func redo() throws(DealError) -> String {
    guard let snap = redoStack.popLast() else { throw DealError(.invalid, "nothing to redo") }
    undoStack.append(Snapshot(session: session, journalCount: journal.count, changeID: changeID))
    session = snap.session
    journal += snap.undoneEntries
    changeID = snap.changeID
    onChange?("redo")
    return snap.undoneEntries.joined(separator: "; ")
  }

  /// Replaces the whole session (open, new): history starts again.
  func replace(with file: SessionFile?, path: String?, disk: FileIO.DiskState?) {
    if let file {
      session = file.session
      journal = file.journal
      metadata = file.metadata
    } else {
      session = Session(deal: Deal(start: environment.currentMonth))
      journal = []
      metadata = nil
    }
    self.path = path
    copiedFrom = nil
    tampered = nil
    diskState = disk
    undoStack.removeAll()
    redoStack.removeAll()
    changeID = nextChangeID
    nextChangeID += 1
    savedChangeID = changeID
    onReset?()
  }

  /// Marks the current state as saved.
  func markSaved(path: String, metadata: SessionMetadata, disk: FileIO.DiskState?) {
    self.path = path
    copiedFrom = nil
    tampered = nil
    self.metadata = metadata
    diskState = disk
    savedChangeID = changeID
    onReset?()
  }

  // MARK: - Errors

  func reportLex(_ e: LexError, line: String, location: SourceLocation?) {
    var lines = ["error: " + prefix(location) + e.message]
    lines += caret(line: line, start: e.start, end: e.end)
    if let h = e.hint { lines.append("hint: " + h) }
    io.err(lines.joined(separator: "\n"))
  }

  /// Prints an error: one line `error: ...`; then, unless `--json`, the
  /// line with a caret under the bad word, and a hint.
  func report(_ e: DealError, words: [Word], line: String, location: SourceLocation?, json: Bool) {
    var lines = ["error: " + prefix(location) + e.message]
    if !json {
      if let (s, t) = span(of: e.subject, in: words) { lines += caret(line: line, start: s, end: t) }
      if let h = e.hint { lines.append("hint: " + h) }
    }
    io.err(lines.joined(separator: "\n"))
  }

  private func prefix(_ location: SourceLocation?) -> String {
    location.map { "\($0.file):\($0.line): " } ?? ""
  }

  /// Characters of the line an error echoes: a longer line is cut to a
  /// window around the word (some context before it, `…` where it is cut),
  /// so a 70,000-character value does not fill the terminal twice.
  static let echoWidth = 120

  private func caret(line: String, start: Int, end: Int) -> [String] {
    guard !line.contains("\n") else { return [] }
    let chars = Array(line)
    let start = min(max(0, start), chars.count)
    var from = 0, to = chars.count
    if chars.count > Self.echoWidth {
      from = max(0, start - 40)
      to = min(chars.count, from + Self.echoWidth)
      from = max(0, min(from, to - Self.echoWidth))
    }
    let shown = (from > 0 ? "…" : "") + String(chars[from..<to]) + (to < chars.count ? "…" : "")
    let column = start - from + (from > 0 ? 1 : 0)
    let width = max(1, min(end, to) - start)
    return [
      "  " + shown,
      "  " + String(repeating: " ", count: column) + "^" + String(repeating: "~", count: width - 1),
    ]
  }

  /// The character span of the word an error is about.
  func span(of subject: DealError.Subject?, in words: [Word]) -> (Int, Int)? {
    guard let subject else { return nil }
    func keyOf(_ w: Word) -> String? { w.key.map(String.init) }
    switch subject {
    case .word(let i):
      guard i >= 0, i < words.count else { return nil }
      return (words[i].start, words[i].end)
    case .key(let k):
      guard let w = words.dropFirst().first(where: { keyOf($0) == k }) else { return nil }
      return (w.start, w.start + k.count)
    case .value(let k):
      guard let w = words.dropFirst().first(where: { keyOf($0) == k }) else { return nil }
      return (min(w.start + k.count + 1, w.end - 1), w.end)
    case .text(let t):
      if let w = words.dropFirst().first(where: { $0.text == t }) { return (w.start, w.end) }
      if let w = words.dropFirst().first(where: { w in w.value.map { String($0) == t } ?? false }) {
        return (w.start + (w.key?.count ?? 0) + 1, w.end)
      }
      if let w = words.dropFirst().first(where: { keyOf($0) == t }) { return (w.start, w.start + t.count) }
      return nil
    }
  }
}

extension DealError {
  /// Prefixes the message with the command's name ("add: ...").
  func withCommand(_ name: String) -> DealError {
    var e = self
    if !e.message.hasPrefix(name + ": ") { e.message = name + ": " + e.message }
    return e
  }
}

// MARK: - Services for commands

extension Shell: CommandHost {
  public func runCommand(_ line: String) throws(DealError) -> JSONValue {
    guard hostDepth < Shell.maxHostDepth else {
      throw DealError(
        .invalid, "commands run through the host nest deeper than \(Shell.maxHostDepth) levels (does a plugin command call itself?)",
        hint: "the session is unchanged")
    }
    hostDepth += 1
    defer { hostDepth -= 1 }
    let commands: [CommandWords]
    do { commands = try Lexer(variables: variables).split(line) } catch {
      throw DealError(.usage, error.message, hint: error.hint)
    }
    var last: JSONValue = .null
    for cmd in commands {
      // Results of read-only commands are derived data of the session:
      // kept until the session changes, so every plugin reads the numbers
      // the user saw (e.g. waterfall reads depreciate's curves).
      let key = cmd.rendered
      let readOnly = registry.command(cmd.words[0].text)?.spec.effects == .reads && !key.contains("--csv")
      if derivedChangeID != changeID {
        derived.removeAll()
        derivedChangeID = changeID
      }
      if readOnly, let cached = derived[key] {
        last = cached
        continue
      }
      // Save and restore the cancel baseline of the calling command.
      let baseline = cancelBaseline
      defer { cancelBaseline = baseline }
      switch run(cmd) {
      case .success(let out):
        last = out.json
        if readOnly && derivedChangeID == changeID { derived[key] = last }
      case .failure(let e): throw e
      }
    }
    return last
  }

  public func confirm(_ question: String) -> Bool {
    confirmHandler?(question) ?? false
  }

  public var isCancelled: Bool { Interrupts.count + ownInterrupts.load(ordering: .relaxed) != cancelBaseline }

  /// Cancels the command this shell runs, as Ctrl-C would, from any thread.
  public func interrupt() { ownInterrupts.add(1, ordering: .relaxed) }

  public var author: String { environment.author }

  public func now() -> String { environment.now() }

  public func print(_ line: String) { io.err(line) }

  public func progress(_ fraction: Double?, _ label: String) {
    guard environment.terminal.interactive else { return }
    var line = "\r\u{1B}[2K"
    if let f = fraction {
      let width = 30, filled = Int((min(1, max(0, f)) * Double(width)).rounded())
      line += "\(label) [" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        + "] \(Int((f * 100).rounded()))%  (Ctrl-C cancels)"
    }
    fputs(line, stderr)
    fflush(stderr)
  }
}
