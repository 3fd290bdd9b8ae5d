import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The real `dealsh` on a pseudo-terminal, as a user at a terminal runs it
/// (isatty is true, so it is the interactive shell with its prompt): text
/// is typed into it and its screen output read back.
final class PtyShell {
  let pid: pid_t
  private let master: Int32
  private(set) var output = ""

  init(_ args: [String], env extra: [String: String]) throws {
    var m: Int32 = 0, s: Int32 = 0
    guard openpty(&m, &s, nil, nil, nil) == 0 else { throw POSIXError(.EIO) }
    master = m
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, s, fd) }
    posix_spawn_file_actions_addclose(&actions, s)
    posix_spawn_file_actions_addclose(&actions, m)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    posix_spawnattr_setflags(&attr, Int16(0x80))  // POSIX_SPAWN_SETSID: the pty is its terminal
    var env = ProcessInfo.processInfo.environment
    env["TERM"] = "dumb"
    env["NO_COLOR"] = "1"
    env.merge(extra) { _, new in new }
    let argv = ([CLITests.binary] + args).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var child: pid_t = 0
    let rc = posix_spawn(&child, CLITests.binary, &actions, &attr, argv, envp)
    close(s)
    guard rc == 0 else { close(m); throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
    pid = child
    let flags = fcntl(m, F_GETFL)
    _ = fcntl(m, F_SETFL, flags | O_NONBLOCK)
  }

  /// Types a line (Enter included).
  func type(_ line: String) {
    var bytes = Array((line + "\r").utf8)
    _ = bytes.withUnsafeMutableBytes { write(master, $0.baseAddress, $0.count) }
  }

  /// Reads what the shell printed until `done` holds for it (or the
  /// timeout); returns whether it did.
  @discardableResult
  func wait(timeout: Double = 20, until done: (String) -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    var buf = [UInt8](repeating: 0, count: 1 << 14)
    while !done(output) {
      if Date() > deadline { return false }
      var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
      _ = poll(&p, 1, 50)
      let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
      if n > 0 { output += String(decoding: buf[0..<n], as: UTF8.self) } else if n == 0 { return done(output) }
    }
    return true
  }

  /// Output printed since `mark` (a count of characters of `output`).
  func output(since mark: Int) -> String { String(output.dropFirst(mark)) }

  func kill() {
    _ = Glibc.kill(pid, SIGKILL)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    close(master)
  }
}
