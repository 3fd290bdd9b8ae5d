import Foundation
import Testing

@testable import DealCore

@Suite("canonical JSON")
struct JSONTests {
  @Test("keys are sorted and numbers canonical")
  func canonical() {
    let v: JSONValue = ["b": 1, "a": [0.3, 1e-7, -0.0, 2.5e20, 16384], "c": ["z": true, "y": nil], "d": "q\"\n\u{1}"]
    #expect(
      v.serialized(pretty: false)
        == #"{"a":[0.3,1e-07,0,2.5e+20,16384],"b":1,"c":{"y":null,"z":true},"d":"q\"\n\u0001"}"#)
  }

  @Test("whole numbers are written digit by digit exactly as the canonical form")
  func wholeNumbers() {
    let xs: [Double] = [0, -0.0, 1, -1, 9, 10, -10, 16384, 4e8, 123_456_789_012_345, -999_999_999_999_999, 1e15, 2.5, -0.5, 1e300]
    for x in xs {
      var w = JSONWriter(pretty: false)
      w.number(x)
      #expect(String(decoding: w.bytes, as: UTF8.self) == JSONValue.format(number: x), "\(x)")
    }
  }

  @Test("what is written reads back the same")
  func roundTrip() throws {
    let v: JSONValue = ["x": [1, 2.5, "é ✓ 😀", ["k": false]], "empty": [:], "list": []]
    #expect(try JSONParser().parse(v.serialized()) == v)
    #expect(try JSONParser().parse(v.serialized(pretty: false)) == v)
  }

  @Test(
    "malformed text is refused with a position",
    arguments: [
      ("", "ends early"), ("{", "ends early"), ("{\"a\":1", "ends early"), ("[1,]", "unexpected character"),
      ("{\"a\":1,\"a\":2}", "duplicate key"), ("01", "may not start with 0"), ("1.", "digits after"),
      ("NaN", "unexpected character"), ("1e400", "out of range"), ("\"abc", "not closed"), ("[1] 2", "after the end"),
      ("\"\\x\"", "invalid escape"), ("\"\\ud800\"", "unpaired surrogate"), ("tru", "ends early"),
      ("{a:1}", "expected a key"),
    ])
  func malformed(text: String, reason: String) {
    #expect {
      try JSONParser().parse(text)
    } throws: { e in
      (e as? JSONParseError)?.message.contains(reason) == true
    }
  }

  @Test("nesting depth is capped")
  func depth() {
    let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    #expect(throws: JSONParseError.self) { try JSONParser(maxDepth: 64).parse(deep) }
    #expect(throws: Never.self) { try JSONParser(maxDepth: 128).parse(deep) }
  }

  @Test("the parallel reader of large objects gives the same value, and falls back on errors")
  func parallel() throws {
    var members: [String: JSONValue] = [:]
    for k in 0..<50 {
      members["k\(k)"] = .array((0..<200).map { i in ["id": .string("n\(i) \"q\" \\ ,}]"), "v": .number(Double(i) / 7), "b": .bool(i % 2 == 0)] })
    }
    members["scalar"] = 42
    members["text"] = "a, } ] string"
    let doc = JSONValue.object(members)
    let text = doc.serialized()
    #expect(try JSONParser().parseObjectInParallel(text) == doc)
    #expect(try JSONParser().parseObjectInParallel(doc.serialized(pretty: false)) == doc)
    for broken in [String(text.dropLast(10)), text.replacingOccurrences(of: "\"k7\"", with: "\"k8\""), "{\"a\": 1,}"] {
      #expect(throws: JSONParseError.self) { try JSONParser().parseObjectInParallel(broken) }
    }
  }

  @Test("errors carry line and column")
  func position() {
    #expect {
      try JSONParser().parse("{\n  \"a\": x\n}")
    } throws: { e in
      guard let e = e as? JSONParseError else { return false }
      return e.line == 2 && e.column == 8
    }
  }
}

@Suite("number formatting for tables")
struct FormatTests {
  @Test(
    "grouped, money, percent, price",
    arguments: [
      (Format.grouped(1_234_567.891, decimals: 2), "1,234,567.89"), (Format.grouped(-999.5, decimals: 0), "-1,000"),
      (Format.grouped(0.004, decimals: 2), "0.00"), (Format.grouped(-0.004, decimals: 2), "0.00"),
      (Format.money(491_520_000), "$491,520,000"), (Format.money(-3400), "-$3,400"), (Format.percent(0.125), "12.5%"),
      (Format.percent(0.3), "30%"), (Format.price(2.2), "2.20"), (Format.price(0.0725), "0.0725"), (Format.plain(1.30), "1.3"),
      (Format.plain(16384), "16,384"),
    ])
  func formats(actual: String, expected: String) {
    #expect(actual == expected)
  }
}
