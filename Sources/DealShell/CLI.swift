import DealCore
import DealPluginAPI
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Shell {
  /// A shell with the core commands and `plugins` registered.
  /// - Throws: if two plugins claim the same command or attribute.
  public static func make(
    plugins: [any DealPlugin], io: ShellIO, environment: ShellEnvironment
  ) throws(DealError) -> Shell {
    let registry = Registry()
    let shell = Shell(registry: registry, io: io, environment: environment)
    try registry.register(CorePlugin(shell: shell))
    for p in plugins { try registry.register(p) }
    return shell
  }
}

/// The `dealsh` command line (SPEC §1).
public enum CLI {
  public static let usage = """
    usage: dealsh [FILE.deal]                       interactive shell (a script if stdin is not a terminal)
           dealsh --copy FILE.deal                   the shell on an untitled copy (the file is never saved over)
           dealsh -c 'CMD; CMD' [FILE.deal]          run commands and exit
           dealsh run SCRIPT.dsh [--session FILE.deal] [--keep-going] [--strict] [--var NAME=VALUE ...]
           dealsh run --record SCRIPT.dsh [--prompts] replay a script, print a transcript (with the shell's prompts)
           dealsh run --check TRANSCRIPT ...         replay transcripts, diff against them
           dealsh diff --git PATH OLD ... NEW ...      git diff driver for .deal files (see README)
           dealsh --help | --version

    exit status: 0 success, 1 a command failed or a check differed, 2 bad usage or an unreadable file
    """

  /// The interactive shell's first line.
  public static let banner = "dealsh \(DealshVersion.current) — 'help' lists the commands, Tab completes, Ctrl-D quits"

  static func stdoutWriter(_ s: String) {
    fputs(s, stdout)
    fputs("\n", stdout)
  }

  static func stderrWriter(_ s: String) {
    fflush(stdout)
    fputs(s, stderr)
    fputs("\n", stderr)
  }

  public static let standardIO = ShellIO(out: stdoutWriter, err: stderrWriter)

  static func fail(_ message: String, code: Int32 = 2) -> Int32 {
    fputs("dealsh: \(message)\n", stderr)
    return code
  }

  /// Runs the command line; returns the exit status.
  public static func main(_ args: [String], plugins: [any DealPlugin]) -> Int32 {
    let env = ProcessInfo.processInfo.environment
    let stdinTTY = isatty(0) == 1, stdoutTTY = isatty(1) == 1
    var terminal = TerminalInfo(
      width: terminalWidth(env: env, tty: stdoutTTY), color: stdoutTTY && env["NO_COLOR"] == nil && env["TERM"] != "dumb",
      interactive: false)
    func makeShell(interactive: Bool) -> Shell? {
      terminal.interactive = interactive
      do {
        let shell = try Shell.make(plugins: plugins, io: standardIO, environment: ShellEnvironment(env: env, terminal: terminal))
        for problem in shell.loadPluginsFolder() { standardIO.err(problem) }
        return shell
      } catch {
        _ = fail(error.message)
        return nil
      }
    }

    var rest = Array(args.dropFirst())
    if rest.first == "--help" || rest.first == "-h" {
      print(usage)
      return 0
    }
    if rest.first == "--version" {
      print("dealsh \(DealshVersion.current)")
      return 0
    }
    if rest.first == "run" {
      rest.removeFirst()
      return run(rest, makeShell: { makeShell(interactive: false) })
    }
    if rest.first == "diff", rest.dropFirst().first == "--git" {
      // git's external diff driver: PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE.
      let a = Array(rest.dropFirst(2))
      guard a.count == 7 else { return fail("diff --git takes the 7 arguments git passes to a diff driver") }
      guard let shell = makeShell(interactive: false) else { return 2 }
      return shell.gitDiff(path: a[0], old: a[1], new: a[4])
    }
    var command: String? = nil
    var file: String? = nil
    var copy = false
    while !rest.isEmpty {
      let a = rest.removeFirst()
      if a == "-c" {
        guard !rest.isEmpty else { return fail("-c needs commands\n\(usage)") }
        command = rest.removeFirst()
      } else if a == "--copy" {
        copy = true
      } else if a.hasPrefix("-") {
        return fail("unknown option '\(a)'\n\(usage)")
      } else if file == nil {
        file = a
      } else {
        return fail("unexpected argument '\(a)'\n\(usage)")
      }
    }
    let interactive = command == nil && stdinTTY && stdoutTTY
    if copy && file == nil { return fail("--copy needs a session file\n\(usage)") }
    guard let shell = makeShell(interactive: interactive) else { return 2 }
    var greeting: [String] = []
    if let file {
      // The "opened" line is shown after the banner in the shell, and not at
      // all for -c or a script on standard input, whose standard output
      // holds only what their commands print (one JSON document each with
      // --json). Errors still go to standard error.
      let saved = shell.io
      shell.io = ShellIO(out: { greeting.append($0) }, err: saved.err)
      let status = shell.execute("open " + Word(text: file, start: 0, end: 0).rendered + (copy ? " --copy" : ""))
      shell.io = saved
      if status != .ok { return 2 }
      // A file changed outside dealsh is said, on standard error for -c and scripts.
      if !interactive, let t = shell.tampered { saved.err("warning: " + Shell.tamperedMessage(t)) }
    }
    if let command {
      return shell.execute(command) == .failed ? 1 : 0
    }
    if !interactive {
      let text = readAll(stdin)
      let (status, _) = shell.runScript(text, file: "stdin", keepGoing: false)
      return status == .failed ? 1 : 0
    }
    return InteractiveLoop(shell: shell, greeting: greeting).run()
  }

  static func run(_ argv: [String], makeShell: () -> Shell?) -> Int32 {
    var args = argv
    var check: [String] = []
    var record: String? = nil
    var prompts = false
    var strict = false
    var session: String? = nil
    var keepGoing = false
    var vars: [String: String] = [:]
    var script: String? = nil
    var checking = false
    while !args.isEmpty {
      let a = args.removeFirst()
      switch a {
      case "--check": checking = true
      case "--record":
        guard !args.isEmpty else { return fail("--record needs a script") }
        record = args.removeFirst()
      case "--session":
        guard !args.isEmpty else { return fail("--session needs a file") }
        session = args.removeFirst()
      case "--keep-going": keepGoing = true
      case "--strict": strict = true
      case "--prompts": prompts = true
      case "--var":
        guard !args.isEmpty else { return fail("--var needs NAME=VALUE") }
        let kv = args.removeFirst()
        guard let eq = kv.firstIndex(of: "="), eq != kv.startIndex else { return fail("--var needs NAME=VALUE, not '\(kv)'") }
        vars[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
      default:
        if a.hasPrefix("--var=") {
          args.insert(String(a.dropFirst(6)), at: 0)
          args.insert("--var", at: 0)
        } else if a.hasPrefix("-") {
          return fail("unknown option '\(a)'\n\(usage)")
        } else if checking {
          check.append(a)
        } else if script == nil {
          script = a
        } else {
          return fail("unexpected argument '\(a)'\n\(usage)")
        }
      }
    }
    if checking {
      guard !check.isEmpty else { return fail("--check needs a transcript") }
      var failed = 0, passed = 0
      for path in check {
        guard let text = try? FileIO.read(path, limit: 64 << 20, regularOnly: false) else { return fail("cannot read '\(path)'") }
        guard let shell = makeShell() else { return 2 }
        shell.variables = vars
        shell.strict = strict
        let tmp = makeTempDir()
        shell.variables["TMP"] = tmp
        let result = shell.check(transcript: text, name: path)
        try? FileManager.default.removeItem(atPath: tmp)
        if result.diff.isEmpty {
          passed += 1
          print("ok: \(path) (\(result.commands) commands)")
        } else {
          failed += 1
          print(result.diff)
          print("FAILED: \(path) (\(result.failures) of \(result.commands) commands differ)")
        }
      }
      return failed > 0 ? 1 : 0
    }
    if let record {
      guard let text = try? FileIO.read(record, limit: 16 << 20, regularOnly: false) else { return fail("cannot read '\(record)'") }
      guard let shell = makeShell() else { return 2 }
      shell.variables = vars
      let (transcript, _) = shell.record(script: text, prompts: prompts)
      fputs(transcript, stdout)
      return 0
    }
    guard let script else { return fail("run needs a script\n\(usage)") }
    let text: String
    do { text = try FileIO.read(script, limit: 16 << 20, regularOnly: false) } catch { return fail(error.message) }
    guard let shell = makeShell() else { return 2 }
    shell.variables = vars
    shell.strict = strict
    if let session {
      if shell.execute("open " + Word(text: session, start: 0, end: 0).rendered) != .ok { return 2 }
    }
    let (status, _) = shell.runScript(text, file: script, keepGoing: keepGoing)
    return status == .failed ? 1 : 0
  }

  static func readAll(_ f: UnsafeMutablePointer<FILE>) -> String {
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = fread(&buf, 1, buf.count, f)
      if n <= 0 { break }
      data += buf[0..<n]
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func makeTempDir() -> String {
    var template = Array((NSTemporaryDirectory() + "/dealsh-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { return NSTemporaryDirectory() }
    return String(cString: p)
  }

  static func terminalWidth(env: [String: String], tty: Bool) -> Int {
    if let c = env["COLUMNS"], let w = Int(c), w >= 40 { return min(w, 400) }
    if tty {
      var ws = winsize()
      if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col >= 40 { return Int(ws.ws_col) }
    }
    return 100
  }
}

/// The interactive prompt loop.
final class InteractiveLoop {
  let shell: Shell
  let editor: LineEditor
  /// Lines printed after the banner (the session opened from the command line).
  let greeting: [String]

  init(shell: Shell, greeting: [String] = []) {
    self.shell = shell
    self.greeting = greeting
    editor = LineEditor(historyFile: shell.environment.historyFile, completer: Completer(shell: shell))
  }

  func ask(_ question: String) -> Bool {
    switch editor.readLine(prompt: question + " [y/N] ") {
    case .line(let answer): return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    default:
      fputs("\n", stdout)
      return false
    }
  }

  func run() -> Int32 {
    Interrupts.installHandler()
    shell.confirmHandler = { [unowned self] q in self.ask(q) }
    fputs(CLI.banner + "\n", stdout)
    for line in greeting { fputs(line + "\n", stdout) }
    shell.announceOrphans()
    shell.startCrashJournal()
    defer { shell.crashJournal?.remove() }
    while true {
      var line = ""
      var result = editor.readLine(prompt: shell.prompt)
      // Continuation lines.
      while case .line(let l) = result, Lexer.continues(line + l) {
        var part = l
        while part.last?.isWhitespace == true { part.removeLast() }
        part.removeLast()
        line += part + " "
        result = editor.readLine(prompt: "...> ")
      }
      switch result {
      case .interrupted:
        continue
      case .eof:
        if shell.isDirty {
          fputs("\n", stdout)
          if !ask("unsaved changes to '\(shell.sessionName)' will be lost; quit anyway?") { continue }
        } else {
          fputs("\n", stdout)
        }
        return 0
      case .line(let l):
        line += l
      }
      editor.remember(line)
      let status = shell.execute(line)
      fflush(stdout)
      if status == .quit { return 0 }
    }
  }
}
