// libFuzzer targets (make fuzz): the command-language lexer and number
// parser, the session decoder, the transcript parser, the checker of
// `run --check` (a transcript against an output), and the CSV writer (round
// trip through a CSV reader). The target is chosen by DEALSH_FUZZ_TARGET
// (lexer, session, transcript, check, csv). Every input must be handled
// without a crash: errors are fine, traps are not; the properties stated in
// each case are checked with `precondition`.
import DealCore
import DealPluginAPI
import DealShell
import Foundation

/// A reference matcher for `Transcript.matches`: the textbook table over
/// (pattern line, output line), for small inputs.
func referenceMatches(_ p: [String], _ a: [String]) -> Bool {
  func trimmed(_ s: String) -> String {
    var s = s
    while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
    return s
  }
  let wild = p.map { trimmed($0) == "..." }
  var next = [Bool](repeating: false, count: a.count + 1)
  next[a.count] = true  // the empty pattern matches only the end
  for i in stride(from: p.count - 1, through: 0, by: -1) {
    var cur = [Bool](repeating: false, count: a.count + 1)
    for j in stride(from: a.count, through: 0, by: -1) {
      if wild[i] {
        cur[j] = next[j] || (j < a.count && cur[j + 1])
      } else {
        cur[j] = j < a.count && Transcript.lineMatches(p[i], a[j]) && next[j + 1]
      }
    }
    next = cur
  }
  return next[0]
}

/// An RFC 4180 reader: quoted fields, doubled quotes, CRLF rows.
func readCSV(_ text: String) -> [[String]] {
  var rows: [[String]] = [], row: [String] = [], field: [UInt8] = []
  let b = Array(text.utf8)
  var i = 0, quoted = false
  while i < b.count {
    let c = b[i]
    if quoted {
      if c == 0x22 {
        if i + 1 < b.count, b[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
        quoted = false
      } else {
        field.append(c)
      }
    } else if c == 0x22 {
      quoted = true
    } else if c == 0x2C {
      row.append(String(decoding: field, as: UTF8.self)); field = []
    } else if c == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A {
      row.append(String(decoding: field, as: UTF8.self)); field = []
      rows.append(row); row = []
      i += 1
    } else {
      field.append(c)
    }
    i += 1
  }
  return rows
}

let target = ProcessInfo.processInfo.environment["DEALSH_FUZZ_TARGET"] ?? "lexer"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  switch target {
  case "session":
    if let file = try? SessionCodec.decode(text, schema: .standard) {
      // What decodes must encode and decode again to the same session.
      let again = try? SessionCodec.decode(SessionCodec.encode(file), schema: .standard)
      precondition(again == file, "round trip changed the session")
    }
  case "check":
    // A transcript and what the commands printed, split at the first NUL.
    let parts = text.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
    let entries = Transcript.parse(String(parts[0]))
    let printed = parts.count > 1 ? parts[1].split(separator: "\n", omittingEmptySubsequences: false).map(String.init) : []
    for e in entries {
      let m = Transcript.matches(expected: e.expected, actual: printed)
      _ = Transcript.diff(expected: e.expected, actual: printed, entry: e)
      if e.expected.count * printed.count <= 4096 {
        precondition(m == referenceMatches(e.expected, printed), "the matcher disagrees with the reference")
      }
      precondition(Transcript.matches(expected: e.expected, actual: e.expected), "a transcript does not match its own lines")
    }
  case "csv":
    // Cells separated by 0x01, rows by 0x02; the first row is the header.
    let rows = text.split(separator: "\u{2}", omittingEmptySubsequences: false).map {
      $0.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
    }
    let written = CSV.text(header: rows[0], rows: Array(rows.dropFirst()))
    let read = readCSV(written)
    precondition(read.count == rows.count, "the CSV has another number of rows")
    for (r, row) in rows.enumerated() {
      precondition(read[r].count == row.count, "row \(r) has another number of cells")
      for (k, cell) in row.enumerated() {
        let back = read[r][k]
        // Each cell reads back as written, or with the apostrophe that keeps
        // a would-be formula text; no cell read back starts a formula.
        precondition(back == cell || back == "'" + cell, "cell \(r),\(k) changed: \(cell.debugDescription) → \(back.debugDescription)")
        if let f = back.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(f) {
          precondition(Double(back) != nil, "cell \(r),\(k) would run as a formula: \(back.debugDescription)")
        }
      }
    }
  case "transcript":
    let entries = Transcript.parse(text)
    for e in entries { _ = Transcript.matches(expected: e.expected, actual: e.expected) }
  default:
    if let commands = try? Lexer(variables: ["x": "1", "name": "a b"]).split(text) {
      for c in commands {
        for w in c.words { _ = try? Quantity.parse(w.text) }
        // Rendering gives back the same words.
        let again = try? Lexer().split(c.rendered)
        precondition(again?.first?.words.map(\.text) == c.words.map(\.text) || c.words.isEmpty, "rendering changed the words")
      }
    }
    _ = Lexer.continues(text)
    _ = ScriptReader.lines(text)
    _ = CalendarDate(parsing: text)
  }
  return 0
}
