import DealCore
import Foundation

/// Splits script text into logical lines: a line ending in `\` continues on
/// the next one (the two are joined with a space).
public enum ScriptReader {
  public struct Line: Equatable {
    public var text: String
    /// 1-based number of the first physical line.
    public var number: Int
  }

  public static func lines(_ text: String) -> [Line] {
    var out: [Line] = []
    var pending: String? = nil
    var pendingStart = 0
    var n = 0
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      n += 1
      var line = String(raw)
      if line.hasSuffix("\r") { line.removeLast() }
      let joined = pending.map { $0 + " " + line } ?? line
      let start = pending == nil ? n : pendingStart
      if Lexer.continues(joined) {
        var j = joined
        while j.last?.isWhitespace == true { j.removeLast() }
        j.removeLast()  // the backslash
        pending = j
        pendingStart = start
        continue
      }
      pending = nil
      out.append(Line(text: joined, number: start))
    }
    if let pending { out.append(Line(text: pending, number: pendingStart)) }
    return out
  }
}

extension Shell {
  /// Runs a script's lines with `file:line` locations. Stops at the first
  /// failing line unless `keepGoing`. Returns the status and the number of
  /// lines run.
  public func runScript(_ text: String, file: String, keepGoing: Bool) -> (LineStatus, Int) {
    var status = LineStatus.ok
    var count = 0
    for line in ScriptReader.lines(text) {
      let trimmed = line.text.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      count += 1
      let s = execute(line.text, at: SourceLocation(file: file, line: line.number))
      if s == .quit { return (.quit, count) }
      if s == .failed {
        status = .failed
        if !keepGoing { break }
      }
    }
    return (status, count)
  }
}
