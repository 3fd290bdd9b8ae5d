@preconcurrency import CLibedit
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Line editing on libedit's readline-compatible API: history persisted in
/// the XDG state folder, `~/.editrc` (read by libedit itself), Tab
/// completion through `Completer`, Ctrl-C that cancels the line.
///
/// libedit calls back through C function pointers that cannot capture
/// context, so the completer lives in a global.
final class LineEditor {
  enum Result: Equatable {
    case line(String)
    case interrupted
    case eof
  }

  let historyFile: String
  nonisolated(unsafe) static var completer: Completer?
  nonisolated(unsafe) static var matches: [String] = []
  nonisolated(unsafe) static let appName = strdup("dealsh")
  nonisolated(unsafe) static let empty = UnsafePointer(strdup("")!)
  /// Word breaks for completion: white space, quotes and the command
  /// separators — not '=', so `cooling=l<Tab>` completes the value of
  /// `cooling` (libedit's default list breaks there and the completer would
  /// see only "l").
  nonisolated(unsafe) static let wordBreaks = strdup(" \t\n\"'`;|&<>")!

  init(historyFile: String, completer: Completer) {
    self.historyFile = historyFile
    LineEditor.completer = completer
    let dir = (historyFile as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    rl_readline_name = UnsafePointer(LineEditor.appName)
    rl_initialize()
    stifle_history(2000)
    _ = read_history(historyFile)
    rl_basic_word_break_characters = UnsafePointer(LineEditor.wordBreaks)
    rl_completer_word_break_characters = LineEditor.wordBreaks
    rl_attempted_completion_function = { text, start, _ in
      LineEditor.attemptCompletion(text, start)
    }
  }

  /// Reads one line. Ctrl-C gives `.interrupted`, Ctrl-D on an empty line
  /// `.eof`.
  func readLine(prompt: String) -> Result {
    let before = Interrupts.count
    guard let raw = readline(prompt) else {
      if Interrupts.count != before {
        fputs("^C\n", stdout)
        fflush(stdout)
        return .interrupted
      }
      return .eof
    }
    defer { free(raw) }
    let line = String(cString: raw)
    if Interrupts.count != before {
      // Interrupted while typing: discard what was typed.
      fputs("\n", stdout)
      return .interrupted
    }
    return .line(line)
  }

  /// Adds a line to the history and writes the history file at once, so
  /// that a crash loses none of it.
  func remember(_ line: String) {
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty else { return }
    add_history(trimmed)
    _ = write_history(historyFile)
  }

  private static func attemptCompletion(
    _ text: UnsafePointer<CChar>?, _ start: Int32
  ) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    rl_attempted_completion_over = 1
    guard let completer, let buffer = rl_line_buffer else { return nil }
    let line = String(cString: buffer)
    // `start` and `rl_point` are byte offsets; the completer works in characters.
    let bytes = Array(line.utf8)
    let point = min(Int(rl_point), bytes.count)
    let prefix = String(decoding: bytes[..<point], as: UTF8.self)
    let wordStart = String(decoding: bytes[..<min(Int(start), point)], as: UTF8.self).count
    matches = completer.complete(line: prefix, wordStart: wordStart)
    guard !matches.isEmpty else { return nil }
    let needsSpace = matches.count > 1 || !(matches[0].hasSuffix("=") || matches[0].hasSuffix("/"))
    rl_completion_append_character = needsSpace ? 32 : 0
    return rl_completion_matches(text ?? LineEditor.empty, { _, state in
      let i = Int(state)
      guard i < LineEditor.matches.count else { return nil }
      return strdup(LineEditor.matches[i])
    })
  }
}
