import Foundation
import Testing

@_spi(Testing) @testable import DealCore

@Suite("session files")
struct SessionCodecTests {
  static func sample() throws -> SessionFile {
    var s = Session(deal: Deal(start: try #require(Month(year: 2025, month: 1)), horizon: 72, title: "Sample \"deal\""))
    try s.graph.add(Node(id: "neo", kind: .entity, type: "neocloud", attrs: ["name": .text("Neo"), "pd": .number(0.02)]))
    try s.graph.add(Node(id: "fleet", kind: .asset, type: "gpu", attrs: [
      "model": .text("H100"), "units": .number(16384), "unit_cost": .number(30000),
      "acquired": .date(try #require(CalendarDate(parsing: "2025-03-15"))), "cooling": .text("air"),
    ]))
    try s.graph.add(Node(id: "loan", kind: .facility, type: "term", attrs: ["amount": .number(4e8), "floating": .bool(true)]))
    try s.graph.link(Edge(EdgeKey(from: "neo", rel: .owns, to: "fleet")))
    try s.graph.link(Edge(EdgeKey(from: "fleet", rel: .pledgedTo, to: "loan"), attrs: ["lien": .number(2)]))
    s.notes = [Note(text: "from public figures", author: "ann", time: "2026-01-01T00:00:00Z")]
    s.scenarios = ["bear": Scenario(values: [.deflation: 0.4, .btc: -0.6])]
    return SessionFile(
      session: s, journal: ["add entity neo type=neocloud", "note \"x\""],
      metadata: SessionMetadata(author: "ann", created: "2026-01-01T00:00:00Z", modified: "2026-01-02T00:00:00Z", dealshVersion: "0.1.0", revision: 3))
  }

  @Test("encode → decode → encode gives the same bytes and the same session")
  func roundTrip() throws {
    let f = try Self.sample()
    let text = SessionCodec.encode(f)
    let back = try SessionCodec.decode(text, schema: .standard)
    #expect(back == f)
    #expect(SessionCodec.encode(back) == text)
    #expect(text.hasSuffix("}\n"))
  }

  @Test("nodes and edges are sorted, whatever the insertion order")
  func canonicalOrder() throws {
    var a = Session(deal: Deal(start: try #require(Month(year: 2025, month: 1))))
    var b = a
    for id in ["zeta", "alpha", "mid"] { try a.graph.add(Node(id: id, kind: .entity, type: "spv")) }
    for id in ["mid", "zeta", "alpha"] { try b.graph.add(Node(id: id, kind: .entity, type: "spv")) }
    let meta = SessionMetadata(author: "", created: "", modified: "", dealshVersion: "", revision: 1)
    let ta = SessionCodec.encode(SessionFile(session: a, journal: [], metadata: meta))
    let tb = SessionCodec.encode(SessionFile(session: b, journal: [], metadata: meta))
    #expect(ta == tb)
    let alpha = try #require(ta.range(of: "\"alpha\""))
    let zeta = try #require(ta.range(of: "\"zeta\""))
    #expect(alpha.lowerBound < zeta.lowerBound)
  }

  /// Replaces a fragment of the sample file's text.
  static func mutated(_ old: String, _ new: String) throws -> String {
    let text = SessionCodec.encode(try sample())
    precondition(text.contains(old), "fragment not found: \(old)")
    return text.replacingOccurrences(of: old, with: new)
  }

  @Test(
    "broken or hostile files are refused with what and where",
    arguments: [
      ("truncated", { try String(SessionCodec.encode(sample()).prefix(200)) }, "(truncated file?)"),
      ("not JSON", { "hello" }, "not valid JSON"),
      ("an array", { "[]" }, "not an object"),
      ("no format", { "{}" }, "no \"format\" key"),
      ("wrong format", { try mutated("\"dealsh.session\"", "\"other\"") }, "format is \"other\""),
      ("newer version", { try mutated("\"version\": 2", "\"version\": 99") }, "version 99 is newer"),
      ("bad version", { try mutated("\"version\": 2", "\"version\": 1.5") }, "whole number"),
      ("unknown top key", { try mutated("\"journal\":", "\"jurnal\": [], \"journal\":") }, "unknown key \"jurnal\" (did you mean 'journal'?)"),
      ("unknown attribute", { try mutated("\"units\":", "\"untis\": 1, \"units\":") }, "node 'fleet': unknown attribute \"untis\""),
      ("duplicate id", { try mutated("\"id\": \"loan\"", "\"id\": \"neo\"") }, "duplicate id"),
      ("dangling edge", { try mutated("\"to\": \"loan\"", "\"to\": \"ghost\"") }, "dangling edge, no node 'ghost'"),
      ("wrong kinds", { try mutated("\"rel\": \"owns\"", "\"rel\": \"borrows\"") }, "'borrows' goes to facility"),
      ("unknown relation", { try mutated("\"rel\": \"owns\"", "\"rel\": \"own\"") }, "unknown relation \"own\""),
      ("out of range", { try mutated("\"pd\": 0.02", "\"pd\": 2") }, "between 0% and 100%"),
      ("wrong type", { try mutated("\"units\": 16384", "\"units\": \"many\"") }, "must be a count"),
      ("not finite", { try mutated("\"units\": 16384", "\"units\": 1e999") }, "out of range"),
      ("bad date", { try mutated("\"2025-03-15\"", "\"2025-02-30\"") }, "not a real date"),
      ("bad id", { try mutated("\"id\": \"neo\"", "\"id\": \"Neo\"") }, "invalid id"),
      ("unknown type", { try mutated("\"type\": \"neocloud\"", "\"type\": \"neoclod\"") }, "did you mean 'neocloud'"),
      ("deep nesting", { String(repeating: "[", count: 50) + String(repeating: "]", count: 50) }, "nesting deeper"),
      ("journal not text", { try mutated("\"note \\\"x\\\"\"", "{\"run\": \"rm -rf /\"}") }, "journal entry 2 must be a string"),
    ])
  func refused(name: String, text: () throws -> String, reason: String) throws {
    let t = try text()
    #expect {
      try SessionCodec.decode(t, schema: .standard)
    } throws: { e in
      let m = (e as? SessionCodec.DecodeError)?.message ?? ""
      if !m.contains(reason) { print("\(name): got \(m)") }
      return m.contains(reason)
    }
  }

  @Test("a large file (its members parsed on two threads) comes back as it was saved")
  func largeRoundTrip() throws {
    var s = Session(deal: Deal(start: try #require(Month(year: 2025, month: 1)), horizon: 120))
    try s.graph.add(Node(id: "root", kind: .entity, type: "sponsor"))
    for i in 0..<400 {
      try s.graph.add(Node(id: "e\(i)", kind: .entity, type: "spv", attrs: ["name": .text("SPV \(i) \"quoted\"")]))
      try s.graph.add(Node(id: "g\(i)", kind: .asset, type: "gpu", attrs: ["units": .number(Double(i + 1)), "unit_cost": .number(30_000.5)]))
      try s.graph.add(Node(id: "f\(i)", kind: .facility, type: "term", attrs: ["amount": .number(2e7), "floating": .bool(i % 2 == 0)]))
      try s.graph.link(Edge(EdgeKey(from: "root", rel: .parentOf, to: "e\(i)")))
      try s.graph.link(Edge(EdgeKey(from: "e\(i)", rel: .owns, to: "g\(i)")))
      try s.graph.link(Edge(EdgeKey(from: "g\(i)", rel: .pledgedTo, to: "f\(i)"), attrs: ["lien": .number(1)]))
      if i > 0 { try s.graph.link(Edge(EdgeKey(from: "f\(i)", rel: .crossDefault, to: "f\(i - 1)"))) }
    }
    let meta = SessionMetadata(author: "a", created: "c", modified: "m", dealshVersion: "v", revision: 1)
    let file = SessionFile(session: s, journal: (0..<40_000).map { "note \"line \($0)\"" }, metadata: meta)
    let text = SessionCodec.encode(file)
    #expect(text.utf8.count > 1 << 20, "large enough for the parallel parse")
    let back = try SessionCodec.decode(text, schema: .standard)
    #expect(back == file)
    #expect(back.session.graph.edges(touching: "root").count == 400)  // a hub's index
    // A dangling edge deep in a large file is named.
    let broken = text.replacingOccurrences(of: "\"to\": \"f398\"", with: "\"to\": \"f999\"")
    #expect(throws: SessionCodec.DecodeError.self) { try SessionCodec.decode(broken, schema: .standard) }
  }

  @Test("a node with a huge attrs object is refused without a quadratic search for repeated keys")
  func hugeAttrs() throws {
    let keys = (0..<60_000).map { "\"k\($0)\": 1" }.joined(separator: ", ")
    let text = try Self.mutated("\"units\": 16384", "\"units\": 16384, " + keys)
    // The reader's dictionary names the first unknown attribute (checking
    // each new key against all before it would be 1.8e9 comparisons here).
    #expect(throws: SessionCodec.DecodeError.self) { try SessionCodec.decode(text, schema: .standard) }
  }

  @Test("a file over the size cap is refused before parsing")
  func sizeCap() {
    let big = String(repeating: " ", count: SessionCodec.maxBytes + 1)
    #expect(throws: SessionCodec.DecodeError.self) { try SessionCodec.decode(big, schema: .standard) }
  }
}

@Suite("check")
struct CheckTests {
  @Test("finds missing attributes, unpledged and over-pledged assets, orphan facilities and leases, cycles")
  func problems() throws {
    var s = Session(deal: Deal(start: try #require(Month(year: 2025, month: 1))))
    try s.graph.add(Node(id: "a", kind: .entity, type: "spv"))
    try s.graph.add(Node(id: "b", kind: .entity, type: "spv"))
    try s.graph.add(Node(id: "fleet", kind: .asset, type: "gpu"))
    try s.graph.add(Node(id: "f1", kind: .facility, type: "term"))
    try s.graph.add(Node(id: "f2", kind: .facility, type: "term"))
    try s.graph.add(Node(id: "l", kind: .contract, type: "lease"))
    try s.graph.link(Edge(EdgeKey(from: "fleet", rel: .pledgedTo, to: "f1")))
    // A second lien 1 is refused when linked ...
    #expect(throws: DealError.self) { try s.graph.link(Edge(EdgeKey(from: "fleet", rel: .pledgedTo, to: "f2"))) }
    try s.graph.link(Edge(EdgeKey(from: "fleet", rel: .pledgedTo, to: "f2"), attrs: ["lien": .number(2)]))
    #expect(throws: DealError.self) {
      try s.graph.setEdgeAttributes(EdgeKey(from: "fleet", rel: .pledgedTo, to: "f2"), ["lien": .number(1)])
    }
    try s.graph.link(Edge(EdgeKey(from: "a", rel: .borrows, to: "f1")))
    try s.graph.link(Edge(EdgeKey(from: "b", rel: .borrows, to: "f2")))
    try s.graph.link(Edge(EdgeKey(from: "a", rel: .guarantees, to: "f2")))
    try s.graph.link(Edge(EdgeKey(from: "b", rel: .guarantees, to: "f1")))
    let msgs = s.check(schema: .standard).map { "\($0.severity.rawValue) \($0.node): \($0.message)" }
    let all = msgs.joined(separator: "\n")
    #expect(all.contains("error fleet: missing 'units'"))
    #expect(!all.contains("over-pledged"))
    #expect(all.contains("error l: lease covers no fleet"))
    #expect(all.contains("warning l: lease has no tenant"))
    #expect(all.contains("warning fleet: no lease covers this fleet"))
    #expect(all.contains("cycle of guarantees: a → b → a"))
    #expect(!all.contains("facility has no obligor"))
  }

  @Test("a file that gives one lien twice is read, and check says so")
  func overPledgedFile() throws {
    let text = """
      {"format": "dealsh.session", "version": 1, "deal": {"start": "2025-01", "horizon": 12},
       "nodes": [{"id": "fleet", "kind": "asset", "type": "gpu", "attrs": {"model": "H100", "units": 10, "unit_cost": 30000}},
                 {"id": "f1", "kind": "facility", "type": "term", "attrs": {"amount": 1000000, "term": 12}},
                 {"id": "f2", "kind": "facility", "type": "term", "attrs": {"amount": 1000000, "term": 12}}],
       "edges": [{"from": "fleet", "rel": "pledged-to", "to": "f1"}, {"from": "fleet", "rel": "pledged-to", "to": "f2"}]}
      """
    let file = try SessionCodec.decode(text, schema: .standard)
    let msgs = file.session.check(schema: .standard).map { "\($0.severity.rawValue) \($0.node): \($0.message)" }
    #expect(msgs.contains("error fleet: over-pledged: lien 1 is given to f1 and f2"), "\(msgs)")
  }
}

@Suite("content hash")
struct ContentHashTests {
  static var root: String {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    return "."
  }
  static let examples = ["neocloud-abl", "miner-double-leverage", "datacenter-project-finance"]

  @Test("a file dealsh wrote is checked on its own bytes, in one pass", arguments: examples)
  func canonical(name: String) throws {
    let text = try String(contentsOfFile: Self.root + "/Sessions/\(name).deal", encoding: .utf8)
    let file = try SessionCodec.decode(text, schema: .standard)
    #expect(SessionCodec.rawContentHash(text) == file.metadata.contentHash)
    #expect(SessionCodec.contentMatches(file, text: text) == true)
  }

  @Test("one digit changed, the old hash kept: a mismatch")
  func changedNumber() throws {
    let text = try String(contentsOfFile: Self.root + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    let changed = text.replacingOccurrences(of: "\"units\": 16384", with: "\"units\": 16385")
    #expect(changed != text)
    let file = try SessionCodec.decode(changed, schema: .standard)
    #expect(SessionCodec.contentMatches(file, text: changed) == false)
  }

  @Test("reformatted by hand, the same content: no mismatch")
  func reformatted() throws {
    let text = try String(contentsOfFile: Self.root + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    let compact = try JSONParser().parse(text).serialized(pretty: false)
    let file = try SessionCodec.decode(compact, schema: .standard)
    #expect(SessionCodec.rawContentHash(compact) == nil)
    #expect(SessionCodec.contentMatches(file, text: compact) == true)
  }

  @Test("500 random single-bit flips: each is refused, detected, or leaves the content as it was")
  func bitFlips() throws {
    let text = try String(contentsOfFile: Self.root + "/Sessions/neocloud-abl.deal", encoding: .utf8)
    let original = try SessionCodec.decode(text, schema: .standard)
    let bytes = Array(text.utf8)
    var state: UInt64 = 0x5EED
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    var silent: [Int] = []
    for _ in 0..<500 {
      var b = bytes
      let at = Int(next() % UInt64(b.count))
      b[at] ^= UInt8(1 << (next() % 8))
      let flipped = String(decoding: b, as: UTF8.self)
      guard let file = try? SessionCodec.decode(flipped, schema: .standard) else { continue }
      if SessionCodec.contentMatches(file, text: flipped) == false { continue }
      // Opened without a word: only if the content is the same (a flip in
      // the metadata, which the hash does not cover).
      if file.session != original.session || file.journal != original.journal { silent.append(at) }
    }
    #expect(silent.isEmpty, "content changed without a mismatch at bytes \(silent)")
  }
}

@Suite("chunked list")
struct ChunkedListTests {
  @Test("indexes, appends and compares like an array; earlier versions keep their elements")
  func valueSemantics() {
    var a = ChunkedList<Int>()
    var versions: [ChunkedList<Int>] = []
    for i in 0..<1_000 {
      versions.append(a)
      a.append(i)
    }
    #expect(Array(a) == Array(0..<1_000))
    #expect(a.count == 1_000 && a[999] == 999 && a[256] == 256)
    for (k, v) in versions.enumerated() where k % 97 == 0 { #expect(Array(v) == Array(0..<k)) }
    #expect(ChunkedList([1, 2, 3]) == [1, 2, 3])
    #expect(ChunkedList([1, 2, 3]) != [1, 2])
  }
}
