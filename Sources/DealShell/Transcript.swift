import DealCore
import Foundation

/// Transcripts (SPEC §1): each line starting with `dealsh> ` is a command;
/// the lines after it, up to the next command, are its expected output
/// (standard output and error as the user saw them). A line `...` matches
/// any number of lines; `...` inside a line matches any text.
///
/// A command may also follow the shell's own prompt, `dealsh NAME> ` or
/// `dealsh NAME*> ` (as the README's examples are written); the check then
/// compares the prompt too, so the session open and its unsaved-changes mark
/// are part of what a transcript records.
public enum Transcript {
  public static let prompt = "dealsh> "

  public struct Entry: Equatable {
    public var command: String
    public var expected: [String]
    /// 1-based line of the command in the transcript.
    public var line: Int
    /// The shell's prompt as written before the command (`dealsh NAME> `),
    /// nil for the plain `dealsh> `.
    public var prompt: String? = nil
  }

  /// The prompt and command of a line that is a command, else nil.
  static func command(in line: String) -> (prompt: String?, command: String)? {
    if line.hasPrefix(prompt) || line == "dealsh>" { return (nil, String(line.dropFirst(prompt.count))) }
    guard line.hasPrefix("dealsh "), let gt = line.firstIndex(of: ">") else { return nil }
    let name = line[line.index(line.startIndex, offsetBy: 7)..<gt]
    let after = line.index(after: gt)
    guard !name.isEmpty, name.first != " ", name.count <= 120, after == line.endIndex || line[after] == " " else { return nil }
    let end = after == line.endIndex ? after : line.index(after: after)
    return (String(line[..<end]), String(line[end...]))
  }

  /// Parses a transcript. Lines before the first command are a header and
  /// are ignored.
  public static func parse(_ text: String) -> [Entry] {
    var entries: [Entry] = []
    var n = 0
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      n += 1
      let line = String(raw)
      if let c = command(in: line) {
        entries.append(Entry(command: c.command, expected: [], line: n, prompt: c.prompt))
      } else if !entries.isEmpty {
        entries[entries.count - 1].expected.append(line)
      }
    }
    for i in entries.indices { trimTrailingBlank(&entries[i].expected) }
    return entries
  }

  static func trimTrailingBlank(_ lines: inout [String]) {
    while let last = lines.last, last.trimmingTrailingSpace.isEmpty { lines.removeLast() }
  }

  /// Formats a recorded transcript.
  public static func render(_ entries: [(prompt: String?, command: String, output: [String])]) -> String {
    var out = ""
    for e in entries {
      out += (e.prompt ?? prompt) + e.command + "\n"
      for l in e.output { out += l + "\n" }
    }
    return out
  }

  // MARK: Matching

  /// Whether `actual` matches `expected`, honouring `...` wildcards: a
  /// glob matcher over lines (a `...` line matches any run of lines),
  /// iterative, with one backtracking point — the last `...` seen — so the
  /// stack stays constant and a long output after a `...` takes one pass.
  public static func matches(expected: [String], actual: [String]) -> Bool {
    var i = 0, j = 0
    var star = -1, resume = 0
    let wild = expected.map { $0.trimmingTrailingSpace == "..." }
    while j < actual.count {
      if i < expected.count, wild[i] {
        star = i
        resume = j
        i += 1
      } else if i < expected.count, lineMatches(expected[i], actual[j]) {
        i += 1
        j += 1
      } else if star >= 0 {
        // Let the last `...` take one more line, and try again after it.
        resume += 1
        j = resume
        i = star + 1
      } else {
        return false
      }
    }
    while i < expected.count, wild[i] { i += 1 }
    return i == expected.count
  }

  /// One line against a pattern in which `...` matches any text. Lines
  /// compare byte for byte (not as Unicode-equivalent strings: a transcript
  /// checks exactly what was printed), so a wildcard never splits a
  /// character's bytes differently from the line.
  public static func lineMatches(_ pattern: String, _ line: String) -> Bool {
    let p = pattern.trimmingTrailingSpace, l = line.trimmingTrailingSpace
    guard p.contains("...") else { return p.utf8.elementsEqual(l.utf8) }
    let pb = Array(p.utf8), lb = Array(l.utf8)
    // The literal parts between the wildcards.
    var parts: [ArraySlice<UInt8>] = []
    var from = 0, i = 0
    while i + 3 <= pb.count {
      if pb[i] == 0x2E, pb[i + 1] == 0x2E, pb[i + 2] == 0x2E {
        parts.append(pb[from..<i])
        i += 3
        from = i
      } else {
        i += 1
      }
    }
    parts.append(pb[from...])
    guard lb.starts(with: parts[0]) else { return false }
    var at = parts[0].count
    for k in 1..<(parts.count - 1) where !parts[k].isEmpty {
      guard let found = firstIndex(of: parts[k], in: lb, from: at) else { return false }
      at = found + parts[k].count
    }
    let last = parts[parts.count - 1]
    return lb.count - at >= last.count && lb[(lb.count - last.count)...].elementsEqual(last)
  }

  /// Where `needle` first occurs in `hay` at or after `from`.
  static func firstIndex(of needle: ArraySlice<UInt8>, in hay: [UInt8], from: Int) -> Int? {
    guard needle.count <= hay.count - from else { return nil }
    let first = needle[needle.startIndex]
    var i = from
    while i + needle.count <= hay.count {
      if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
      i += 1
    }
    return nil
  }

  /// The first line where the two part, with a few lines of each after it
  /// (for outputs too long for a full diff).
  public static func headDiff(expected: [String], actual: [String], entry: Entry) -> String {
    var k = 0
    while k < expected.count, k < actual.count, expected[k].trimmingTrailingSpace != "...", lineMatches(expected[k], actual[k]) { k += 1 }
    var out = ["@@ -\(entry.line + 1 + k),\(expected.count - k) +\(entry.line + 1 + k),\(actual.count - k) @@ \(entry.prompt ?? prompt)\(entry.command) (\(expected.count) expected lines, \(actual.count) printed; from the first difference)"]
    out += expected[k..<min(expected.count, k + 5)].map { "-" + $0 }
    out += actual[k..<min(actual.count, k + 5)].map { "+" + $0 }
    return out.joined(separator: "\n")
  }

  /// A unified diff of one entry's expected and actual output.
  public static func diff(expected: [String], actual: [String], entry: Entry) -> String {
    let n = expected.count, m = actual.count
    // Too large for a table of common subsequences: the first difference
    // and what follows it.
    if n * m > 4_000_000 { return headDiff(expected: expected, actual: actual, entry: entry) }
    // Longest common subsequence, with wildcard lines counted as equal.
    var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) {
      for j in stride(from: m - 1, through: 0, by: -1) {
        lcs[i][j] = lineMatches(expected[i], actual[j]) ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
      }
    }
    var out = ["@@ -\(entry.line + 1),\(n) +\(entry.line + 1),\(m) @@ \(entry.prompt ?? prompt)\(entry.command)"]
    var i = 0, j = 0
    while i < n || j < m {
      if i < n, j < m, lineMatches(expected[i], actual[j]) {
        out.append(" " + actual[j])
        i += 1
        j += 1
      } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
        out.append("-" + expected[i])
        i += 1
      } else {
        out.append("+" + actual[j])
        j += 1
      }
    }
    return out.joined(separator: "\n")
  }
}

extension Shell {
  /// Runs a command line and returns everything it printed, standard
  /// output and error interleaved, as lines.
  public func capture(_ line: String) -> (LineStatus, [String]) {
    let saved = io
    var buffer: [String] = []
    io = ShellIO(out: { buffer.append($0) }, err: { buffer.append($0) })
    defer { io = saved }
    let status = execute(line)
    var lines = buffer.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    Transcript.trimTrailingBlank(&lines)
    return (status, lines)
  }

  /// Replays a transcript and returns the diff (empty if it matches) and
  /// the number of commands checked.
  public func check(transcript text: String, name: String) -> (diff: String, commands: Int, failures: Int) {
    var hunks: [String] = []
    let entries = Transcript.parse(text)
    for e in entries {
      if let written = e.prompt, written.trimmingTrailingSpace != prompt.trimmingTrailingSpace {
        hunks.append("@@ -\(e.line),1 +\(e.line),1 @@ the prompt\n-\(written)\(e.command)\n+\(prompt)\(e.command)")
      }
      let (status, actual) = capture(e.command)
      if !Transcript.matches(expected: e.expected, actual: actual) {
        hunks.append(Transcript.diff(expected: e.expected, actual: actual, entry: e))
      }
      if status == .quit { break }
    }
    guard !hunks.isEmpty else { return ("", entries.count, 0) }
    return (["--- \(name) (expected)", "+++ \(name) (actual)"].joined(separator: "\n") + "\n" + hunks.joined(separator: "\n"), entries.count, hunks.count)
  }

  /// Replays a script and returns a transcript of it; with `prompts`, each
  /// command follows the prompt the shell showed before it (`dealsh NAME> `).
  public func record(script text: String, prompts: Bool = false) -> (String, LineStatus) {
    var entries: [(String?, String, [String])] = []
    var worst = LineStatus.ok
    for line in ScriptReader.lines(text) {
      let trimmed = line.text.trimmingTrailingSpace
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      let shown = prompts ? prompt : nil
      let (status, out) = capture(line.text)
      entries.append((shown, line.text, out))
      if status == .failed { worst = .failed }
      if status == .quit { break }
    }
    return (Transcript.render(entries), worst)
  }
}

extension String {
  var trimmingTrailingSpace: String {
    var s = self
    while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
    return s
  }
}
