import Dispatch

/// A JSON document as a value: what session files, `--json` output and the
/// plugin interface exchange.
///
/// Objects keep their keys in a plain dictionary; the writer always emits
/// them sorted, so the same value always gives the same bytes (SPEC §4:
/// canonical session files).
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public subscript(key: String) -> JSONValue? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var numberValue: Double? {
    if case .number(let n) = self { return n }
    return nil
  }

  public var arrayValue: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var objectValue: [String: JSONValue]? {
    if case .object(let o) = self { return o }
    return nil
  }

  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// A name for the JSON type, used in error messages.
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
  ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .number(Double(value)) }
  public init(floatLiteral value: Double) { self = .number(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
  }
  public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
  /// `.number`, or `.null` for a missing value.
  public static func optional(_ x: Double?) -> JSONValue { x.map { .number($0) } ?? .null }
  public static func optional(_ x: Int?) -> JSONValue { x.map { .number(Double($0)) } ?? .null }
  public static func optional(_ x: String?) -> JSONValue { x.map { .string($0) } ?? .null }
}

// MARK: - Writing

/// Writes canonical JSON text straight into bytes: two-space indentation
/// when `pretty`, canonical numbers. Objects are written in the order their
/// keys are given, so callers give them sorted; `JSONValue` does.
public struct JSONWriter {
  public private(set) var bytes: [UInt8] = []
  public let pretty: Bool
  /// Elements written so far in each open container.
  private var counts: [Int] = []
  private var afterKey = false

  /// Nesting level the text starts at, for a part written separately and
  /// spliced in with `raw`.
  private let baseLevel: Int

  public init(pretty: Bool = true, capacity: Int = 4096, level: Int = 0) {
    self.pretty = pretty
    baseLevel = level
    bytes.reserveCapacity(capacity)
  }

  /// Splices in a value written by another writer started at this level.
  public mutating func raw(_ part: JSONWriter) {
    prefix()
    bytes.append(contentsOf: part.bytes)
  }

  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// Overwrites bytes already written (a placeholder of the same length).
  mutating func patch(at offset: Int, with new: [UInt8]) {
    bytes.replaceSubrange(offset..<(offset + new.count), with: new)
  }

  /// Ends the text with a newline (as files do).
  public mutating func finishLine() { bytes.append(0x0A) }

  private mutating func newline(_ level: Int) {
    guard pretty else { return }
    bytes.append(0x0A)
    for _ in 0..<(2 * (level + baseLevel)) { bytes.append(0x20) }
  }

  private mutating func prefix() {
    if afterKey { afterKey = false; return }
    guard !counts.isEmpty else { return }
    if counts[counts.count - 1] > 0 { bytes.append(UInt8(ascii: ",")) }
    counts[counts.count - 1] += 1
    newline(counts.count)
  }

  public mutating func beginObject() { prefix(); bytes.append(UInt8(ascii: "{")); counts.append(0) }
  public mutating func endObject() {
    if counts.removeLast() > 0 { newline(counts.count) }
    bytes.append(UInt8(ascii: "}"))
  }
  public mutating func beginArray() { prefix(); bytes.append(UInt8(ascii: "[")); counts.append(0) }
  public mutating func endArray() {
    if counts.removeLast() > 0 { newline(counts.count) }
    bytes.append(UInt8(ascii: "]"))
  }

  public mutating func key(_ k: String) {
    prefix()
    JSONWriter.escape(k, into: &bytes)
    bytes.append(UInt8(ascii: ":"))
    if pretty { bytes.append(0x20) }
    afterKey = true
  }

  public mutating func string(_ s: String) { prefix(); JSONWriter.escape(s, into: &bytes) }
  public mutating func number(_ n: Double) {
    prefix()
    // Whole numbers (most of a session's) straight as digits; the rest as
    // `JSONValue.format` writes them.
    if n == n.rounded(), abs(n) < 1e15 {
      var v = Int64(n)
      if v < 0 { bytes.append(UInt8(ascii: "-")); v = -v }
      var digits: (UInt64, UInt64) = (0, 0)  // up to 16 digits, most significant last
      var k = 0
      withUnsafeMutableBytes(of: &digits) { d in
        repeat {
          d[k] = UInt8(truncatingIfNeeded: v % 10) + 0x30
          v /= 10
          k += 1
        } while v > 0
        for i in stride(from: k - 1, through: 0, by: -1) { bytes.append(d[i]) }
      }
      return
    }
    bytes.append(contentsOf: JSONValue.format(number: n).utf8)
  }
  public mutating func bool(_ b: Bool) { prefix(); bytes.append(contentsOf: (b ? "true" : "false").utf8) }
  public mutating func null() { prefix(); bytes.append(contentsOf: "null".utf8) }

  /// Writes a whole value, object keys sorted.
  public mutating func value(_ v: JSONValue) {
    switch v {
    case .null: null()
    case .bool(let b): bool(b)
    case .number(let n): number(n)
    case .string(let s): string(s)
    case .array(let a):
      beginArray()
      for x in a { value(x) }
      endArray()
    case .object(let o):
      beginObject()
      for (k, x) in o.sorted(by: { $0.key < $1.key }) {
        key(k)
        value(x)
      }
      endObject()
    }
  }

  static func escape(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    // Most strings need no escape: copy their bytes in one go.
    var s = s
    let copied = s.withUTF8 { buf -> Bool in
      for b in buf where b < 0x20 || b == 0x22 || b == 0x5C { return false }
      out.append(contentsOf: buf)
      return true
    }
    if !copied {
      for b in s.utf8 {
        switch b {
        case 0x22: out.append(contentsOf: "\\\"".utf8)
        case 0x5C: out.append(contentsOf: "\\\\".utf8)
        case 0x0A: out.append(contentsOf: "\\n".utf8)
        case 0x0D: out.append(contentsOf: "\\r".utf8)
        case 0x09: out.append(contentsOf: "\\t".utf8)
        case ..<0x20:
          let hex = String(b, radix: 16)
          out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        default: out.append(b)
        }
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}

extension JSONValue {
  /// Canonical text: keys sorted, two-space indentation when `pretty`,
  /// integral numbers without a fraction, others in the shortest form that
  /// reads back to the same `Double`.
  public func serialized(pretty: Bool = true) -> String {
    var w = JSONWriter(pretty: pretty)
    w.value(self)
    return w.text
  }

  /// The canonical text of a number. Non-finite values have no JSON form and
  /// are written as `null`.
  public static func format(number n: Double) -> String {
    guard n.isFinite else { return "null" }
    if n == n.rounded(), abs(n) < 1e15 {
      if n == 0 { return "0" }  // no "-0"
      return String(Int64(n))
    }
    return "\(n)"
  }
}

// MARK: - Reading

/// Why a JSON text could not be read, with the 1-based line and column.
public struct JSONParseError: Error, Equatable, CustomStringConvertible, Sendable {
  public var message: String
  public var line: Int
  public var column: Int
  public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict JSON reader with limits, for files that may be hostile: it caps
/// nesting depth, rejects duplicate keys, numbers that do not fit a `Double`,
/// and anything after the document.
public struct JSONParser {
  public var maxDepth: Int

  public init(maxDepth: Int = 64) { self.maxDepth = maxDepth }

  public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    var text = text
    let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buf in
      var p = _Reader(bytes: buf, maxDepth: maxDepth)
      do throws(JSONParseError) {
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < p.bytes.count { throw p.error("unexpected text after the end of the document") }
        return .success(v)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// Parses a document whose top level is an object, reading its members'
  /// values on both cores. Large session files are read this way; anything
  /// unusual falls back to `parse`, which then reports the error.
  public func parseObjectInParallel(_ text: String) throws(JSONParseError) -> JSONValue {
    var text = text
    let result: Result<JSONValue, JSONParseError>? = text.withUTF8 { buf in
      guard let members = JSONParser.members(buf, maxDepth: maxDepth) else { return nil }
      // Largest first, each to the less loaded of two workers.
      let order = members.indices.sorted { members[$0].end - members[$0].start > members[$1].end - members[$1].start }
      var loads = [0, 0]
      var assigned: [[Int]] = [[], []]
      for k in order {
        let w = loads[0] <= loads[1] ? 0 : 1
        assigned[w].append(k)
        loads[w] += members[k].end - members[k].start
      }
      // Each worker writes only its own slots.
      let values = UnsafeMutableBufferPointer<JSONValue?>.allocate(capacity: members.count)
      values.initialize(repeating: nil)
      defer { values.deinitialize(); values.deallocate() }
      let depth = maxDepth
      DispatchQueue.concurrentPerform(iterations: 2) { w in
        for k in assigned[w] {
          var r = _Reader(bytes: buf, maxDepth: depth, from: members[k].start, to: members[k].end)
          do throws(JSONParseError) {
            let v = try r.value(depth: 1)
            r.skipSpace()
            if r.i == r.end { values[k] = v }
          } catch {}
        }
      }
      var obj: [String: JSONValue] = [:]
      for (k, m) in members.enumerated() {
        guard let v = values[k] else { return nil }
        obj[m.key] = v
      }
      return .success(.object(obj))
    }
    if let result { return try result.get() }
    return try parse(text)
  }
}

extension JSONParser {
  /// The members of a document whose top level is an object: each key and
  /// the byte range of its value, found without reading the values. Nil
  /// when the document is anything else or malformed (or repeats a key).
  /// `found` sees each member as soon as it is found.
  static func members(
    _ buf: UnsafeBufferPointer<UInt8>, maxDepth: Int, found: ((key: String, start: Int, end: Int)) -> Void = { _ in }
  ) -> [(key: String, start: Int, end: Int)]? {
    var p = _Reader(bytes: buf, maxDepth: maxDepth)
    p.skipSpace()
    guard p.i < p.end, buf[p.i] == UInt8(ascii: "{") else { return nil }
    p.i += 1
    var members: [(key: String, start: Int, end: Int)] = []
    while true {
      p.skipSpace()
      guard p.i < p.end, buf[p.i] == 0x22, let key = try? p.string() else { return nil }
      p.skipSpace()
      guard p.i < p.end, buf[p.i] == UInt8(ascii: ":") else { return nil }
      p.i += 1
      p.skipSpace()
      let start = p.i
      guard p.skipValue() else { return nil }
      var stop = p.i
      while stop > start, [0x20, 0x0A, 0x0D, 0x09].contains(buf[stop - 1]) { stop -= 1 }
      members.append((key, start, stop))
      found((key, start, stop))
      p.skipSpace()
      guard p.i < p.end else { return nil }
      if buf[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
      guard buf[p.i] == UInt8(ascii: "}") else { return nil }
      p.i += 1
      break
    }
    p.skipSpace()
    guard p.i == p.end, Set(members.map(\.key)).count == members.count else { return nil }
    return members
  }
}

/// A cursor over JSON bytes. The session decoder also reads nodes and edges
/// with it directly, without building a document.
struct _Reader {
  let bytes: UnsafeBufferPointer<UInt8>
  let maxDepth: Int
  var i = 0
  /// Reading stops here (a part of the buffer when parts are read in parallel).
  var end: Int

  init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, from start: Int = 0, to end: Int? = nil) {
    self.bytes = bytes
    self.maxDepth = maxDepth
    i = start
    self.end = end ?? bytes.count
  }

  /// Skips one value without building it; nil if it is malformed (the
  /// full reader then says why).
  mutating func skipValue() -> Bool {
    var depth = 0
    while i < end {
      let c = bytes[i]
      switch c {
      case 0x22:  // a string
        i += 1
        while i < end, bytes[i] != 0x22 {
          if bytes[i] == 0x5C { i += 1 }
          i += 1
        }
        guard i < end else { return false }
        i += 1
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        if depth > maxDepth { return false }
        i += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if depth == 0 { return true }
        depth -= 1
        i += 1
      case UInt8(ascii: ","):
        if depth == 0 { return true }
        i += 1
      default:
        i += 1
      }
      if depth == 0, i < end {
        // After a complete scalar or container at the top, stop at the delimiter.
        var j = i
        while j < end, bytes[j] == 0x20 || bytes[j] == 0x0A || bytes[j] == 0x0D || bytes[j] == 0x09 { j += 1 }
        if j < end, bytes[j] == UInt8(ascii: ",") || bytes[j] == UInt8(ascii: "}") { return true }
      }
    }
    return false
  }

  func error(_ message: String) -> JSONParseError {
    var line = 1, col = 1
    var k = 0
    while k < min(i, bytes.count) {
      if bytes[k] == UInt8(ascii: "\n") { line += 1; col = 1 } else if bytes[k] & 0xC0 != 0x80 { col += 1 }
      k += 1
    }
    return JSONParseError(message: message, line: line, column: col)
  }

  mutating func skipSpace() {
    while i < end {
      switch bytes[i] {
      case 0x20, 0x0A, 0x0D, 0x09: i += 1
      default: return
      }
    }
  }

  mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
    guard i < end else { throw error("the document ends early (truncated file?)") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
      i += 1
      var obj: [String: JSONValue] = [:]
      obj.reserveCapacity(6)  // most objects of a session file have a handful of keys
      skipSpace()
      if i < end, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
      while true {
        skipSpace()
        guard i < end else { throw error("the document ends early (truncated file?)") }
        guard bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
        let key = try string()
        skipSpace()
        guard i < end, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
        i += 1
        skipSpace()
        let v = try value(depth: depth + 1)
        if obj.updateValue(v, forKey: key) != nil { throw error("duplicate key \"\(key)\"") }
        skipSpace()
        guard i < end else { throw error("the document ends early (truncated file?)") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
        throw error("expected ',' or '}' in an object")
      }
    case UInt8(ascii: "["):
      guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
      i += 1
      var arr: [JSONValue] = []
      skipSpace()
      if i < end, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
      while true {
        skipSpace()
        arr.append(try value(depth: depth + 1))
        skipSpace()
        guard i < end else { throw error("the document ends early (truncated file?)") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
        throw error("expected ',' or ']' in an array")
      }
    case UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .number(try number())
    default:
      throw error("unexpected character '\(Character(Unicode.Scalar(bytes[i])))'")
    }
  }

  mutating func literal(_ word: String) throws(JSONParseError) {
    let p = Array(word.utf8)
    let n = p.count
    guard i + n <= end else { throw error("the document ends early (truncated file?)") }
    for k in 0..<n where bytes[i + k] != p[k] {
      throw error("unexpected word (expected \(word))")
    }
    i += n
  }

  mutating func number() throws(JSONParseError) -> Double {
    let start = i
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    func digits(_ r: inout _Reader) -> Int {
      let s = r.i
      while r.i < r.end, r.bytes[r.i] >= 0x30, r.bytes[r.i] <= 0x39 { r.i += 1 }
      return r.i - s
    }
    guard i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw error("a number needs digits") }
    if bytes[i] == 0x30, i + 1 < end, bytes[i + 1] >= 0x30, bytes[i + 1] <= 0x39 {
      throw error("a number may not start with 0")
    }
    _ = digits(&self)
    if i < end, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
    }
    if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    guard let v = Double(text), v.isFinite else {
      i = start
      throw error("number \(text) is out of range")
    }
    return v
  }

  mutating func string() throws(JSONParseError) -> String {
    i += 1  // opening quote
    // Fast path: no escapes.
    var j = i
    while j < end, bytes[j] != 0x22, bytes[j] != 0x5C, bytes[j] >= 0x20 { j += 1 }
    if j < end, bytes[j] == 0x22 {
      let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<j]), as: UTF8.self)
      i = j + 1
      return s
    }
    var scalars = String.UnicodeScalarView()
    var runStart = i
    func flush(_ r: _Reader, _ scalars: inout String.UnicodeScalarView, _ from: Int) {
      if from < r.i {
        scalars.append(
          contentsOf: String(decoding: UnsafeBufferPointer(rebasing: r.bytes[from..<r.i]), as: UTF8.self)
            .unicodeScalars)
      }
    }
    while i < end {
      let c = bytes[i]
      if c == UInt8(ascii: "\"") {
        flush(self, &scalars, runStart)
        i += 1
        return String(scalars)
      }
      if c < 0x20 { throw error("control character in a string") }
      if c == UInt8(ascii: "\\") {
        flush(self, &scalars, runStart)
        i += 1
        guard i < end else { break }
        switch bytes[i] {
        case UInt8(ascii: "\""): scalars.append("\"")
        case UInt8(ascii: "\\"): scalars.append("\\")
        case UInt8(ascii: "/"): scalars.append("/")
        case UInt8(ascii: "b"): scalars.append("\u{08}")
        case UInt8(ascii: "f"): scalars.append("\u{0C}")
        case UInt8(ascii: "n"): scalars.append("\n")
        case UInt8(ascii: "r"): scalars.append("\r")
        case UInt8(ascii: "t"): scalars.append("\t")
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code) {
            guard i + 2 < end, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") else {
              throw error("unpaired surrogate in a string")
            }
            i += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in a string") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
          scalars.append(u)
        default: throw error("invalid escape in a string")
        }
        i += 1
        runStart = i
        continue
      }
      i += 1
    }
    throw error("a string is not closed (truncated file?)")
  }

  /// Reads the four hex digits after `\u`; leaves `i` on the last digit.
  mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard i + 4 < end else { throw error("the document ends early (truncated file?)") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      i += 1
      let c = bytes[i]
      let d: UInt32
      switch c {
      case 0x30...0x39: d = UInt32(c - 0x30)
      case 0x41...0x46: d = UInt32(c - 0x41 + 10)
      case 0x61...0x66: d = UInt32(c - 0x61 + 10)
      default: throw error("invalid \\u escape")
      }
      v = v * 16 + d
    }
    return v
  }
}
