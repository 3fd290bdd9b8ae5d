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

extension JSONValue {
  /// Canonical text: keys sorted, two-space indentation when `pretty`,
  /// integral numbers without a fraction, others in the shortest form that
  /// reads back to the same `Double`.
  public func serialized(pretty: Bool = true) -> String {
    var out = ""
    out.reserveCapacity(256)
    write(into: &out, indent: pretty ? 0 : -1)
    return out
  }

  private func write(into out: inout String, indent: Int) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let n): out += JSONValue.format(number: n)
    case .string(let s): JSONValue.writeString(s, into: &out)
    case .array(let a):
      if a.isEmpty { out += "[]"; return }
      out += "["
      for (i, v) in a.enumerated() {
        if i > 0 { out += "," }
        JSONValue.newline(&out, indent + 1, indent)
        v.write(into: &out, indent: indent < 0 ? -1 : indent + 1)
      }
      JSONValue.newline(&out, indent, indent)
      out += "]"
    case .object(let o):
      if o.isEmpty { out += "{}"; return }
      out += "{"
      for (i, key) in o.keys.sorted().enumerated() {
        if i > 0 { out += "," }
        JSONValue.newline(&out, indent + 1, indent)
        JSONValue.writeString(key, into: &out)
        out += indent < 0 ? ":" : ": "
        o[key]!.write(into: &out, indent: indent < 0 ? -1 : indent + 1)
      }
      JSONValue.newline(&out, indent, indent)
      out += "}"
    }
  }

  private static func newline(_ out: inout String, _ level: Int, _ indent: Int) {
    guard indent >= 0 else { return }
    out += "\n"
    out += String(repeating: "  ", count: level)
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

  static func writeString(_ s: String, into out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20:
        let hex = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(u)
      }
    }
    out += "\""
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
    var bytes = Array(text.utf8)
    return try bytes.withUnsafeMutableBufferPointer { buf throws(JSONParseError) in
      var p = _Reader(bytes: UnsafeBufferPointer(buf), maxDepth: maxDepth)
      p.skipSpace()
      let v = try p.value(depth: 0)
      p.skipSpace()
      if p.i < p.bytes.count { throw p.error("unexpected text after the end of the document") }
      return v
    }
  }
}

private struct _Reader {
  let bytes: UnsafeBufferPointer<UInt8>
  let maxDepth: Int
  var i = 0

  init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
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
    while i < bytes.count {
      switch bytes[i] {
      case 0x20, 0x0A, 0x0D, 0x09: i += 1
      default: return
      }
    }
  }

  mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
    guard i < bytes.count else { throw error("the document ends early (truncated file?)") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
      i += 1
      var obj: [String: JSONValue] = [:]
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
      while true {
        skipSpace()
        guard i < bytes.count else { throw error("the document ends early (truncated file?)") }
        guard bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
        let key = try string()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
        i += 1
        skipSpace()
        let v = try value(depth: depth + 1)
        if obj.updateValue(v, forKey: key) != nil { throw error("duplicate key \"\(key)\"") }
        skipSpace()
        guard i < bytes.count else { throw error("the document ends early (truncated file?)") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
        throw error("expected ',' or '}' in an object")
      }
    case UInt8(ascii: "["):
      guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
      i += 1
      var arr: [JSONValue] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
      while true {
        skipSpace()
        arr.append(try value(depth: depth + 1))
        skipSpace()
        guard i < bytes.count else { throw error("the document ends early (truncated file?)") }
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
    guard i + n <= bytes.count else { throw error("the document ends early (truncated file?)") }
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
      while r.i < r.bytes.count, r.bytes[r.i] >= 0x30, r.bytes[r.i] <= 0x39 { r.i += 1 }
      return r.i - s
    }
    guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw error("a number needs digits") }
    if bytes[i] == 0x30, i + 1 < bytes.count, bytes[i + 1] >= 0x30, bytes[i + 1] <= 0x39 {
      throw error("a number may not start with 0")
    }
    _ = digits(&self)
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
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
    var scalars = String.UnicodeScalarView()
    var runStart = i
    func flush(_ r: _Reader, _ scalars: inout String.UnicodeScalarView, _ from: Int) {
      if from < r.i {
        scalars.append(
          contentsOf: String(decoding: UnsafeBufferPointer(rebasing: r.bytes[from..<r.i]), as: UTF8.self)
            .unicodeScalars)
      }
    }
    while i < bytes.count {
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
        guard i < bytes.count else { break }
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
            guard i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") else {
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
    guard i + 4 < bytes.count else { throw error("the document ends early (truncated file?)") }
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
