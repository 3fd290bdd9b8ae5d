import DealCore
import DealPluginAPI
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// What the shell learns from the process environment: folders, the
/// author's name, the clock, the terminal.
public struct ShellEnvironment {
  public var env: [String: String]
  public var terminal: TerminalInfo
  private let authorCache = AuthorCache()

  public init(env: [String: String] = ProcessInfo.processInfo.environment, terminal: TerminalInfo = TerminalInfo()) {
    self.env = env
    self.terminal = terminal
  }

  /// Where bare session names resolve: `$DEALSH_SESSIONS`, else `./Sessions`.
  public var sessionsDirectory: String {
    if let d = env["DEALSH_SESSIONS"], !d.isEmpty { return d }
    return "Sessions"
  }

  /// `$XDG_STATE_HOME/dealsh`, default `~/.local/state/dealsh`.
  public var stateDirectory: String {
    if let x = env["XDG_STATE_HOME"], x.hasPrefix("/") { return x + "/dealsh" }
    return home + "/.local/state/dealsh"
  }

  public var home: String { env["HOME"] ?? "/tmp" }

  /// Where plugins load from at start-up: `$DEALSH_PLUGINS`, else
  /// `$XDG_DATA_HOME/dealsh/plugins` (default `~/.local/share/dealsh/plugins`).
  /// Never anything a session file names.
  public var pluginsDirectory: String {
    if let d = env["DEALSH_PLUGINS"], !d.isEmpty { return d }
    if let x = env["XDG_DATA_HOME"], x.hasPrefix("/") { return x + "/dealsh/plugins" }
    return home + "/.local/share/dealsh/plugins"
  }

  public var historyFile: String { stateDirectory + "/history" }

  /// `DEALSH_AUTHOR`, else git's `user.name`, else the login name.
  public var author: String {
    if let a = authorCache.value { return a }
    let a = resolveAuthor()
    authorCache.value = a
    return a
  }

  private func resolveAuthor() -> String {
    if let a = env["DEALSH_AUTHOR"], !a.isEmpty { return a }
    if let git = ShellEnvironment.gitUserName(), !git.isEmpty { return git }
    if let u = env["USER"] ?? env["LOGNAME"], !u.isEmpty { return u }
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "unknown"
  }

  static func gitUserName() -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "config", "user.name"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Now as `YYYY-MM-DDTHH:MM:SSZ`; `DEALSH_NOW` pins it (for reproducible
  /// transcripts and files).
  public func now() -> String {
    if let fixed = env["DEALSH_NOW"], !fixed.isEmpty { return fixed }
    var t = time(nil)
    var tm = tm()
    gmtime_r(&t, &tm)
    func two(_ x: Int32) -> String { x < 10 ? "0\(x)" : "\(x)" }
    return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
  }

  /// The current month: the default start of a new deal.
  public var currentMonth: Month {
    let s = now()
    return CalendarDate(parsing: s.prefix(7))?.month ?? Month(year: 2026, month: 1)!
  }

  /// Resolves a session path: a bare name (no `/`) lives in the sessions
  /// folder, and `.deal` is added when there is no extension. When reading,
  /// a file of that name in the current folder wins (`dealsh mydeal.deal`
  /// opens `./mydeal.deal`).
  public func sessionPath(_ name: String, reading: Bool = false) -> String {
    if name.contains("/") { return name }
    if reading {
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: name, isDirectory: &isDir), !isDir.boolValue { return name }
    }
    let file = name.contains(".") ? name : name + ".deal"
    return sessionsDirectory + "/" + file
  }
}

private final class AuthorCache: @unchecked Sendable {
  var value: String?
}

/// Ctrl-C, counted. The SIGINT handler only increments the counter (no
/// `SA_RESTART`, so a blocking `readline` returns); the prompt and long
/// computations compare it with the value they started with.
public enum Interrupts {
  static let counter = Atomic<Int>(0)

  public static var count: Int { counter.load(ordering: .relaxed) }

  /// Counts one interrupt (the signal handler; tests call it directly).
  public static func raise() { counter.add(1, ordering: .relaxed) }

  public static func installHandler() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in Interrupts.raise() }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(SIGINT, &action, nil)
  }
}
