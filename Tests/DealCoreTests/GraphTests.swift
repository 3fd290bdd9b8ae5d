import Testing
import _DealShellTestSupport

@testable import DealCore

@Suite("the deal graph")
struct GraphTests {
  /// One node of every kind and type.
  static func fullGraph() throws -> DealGraph {
    var g = DealGraph()
    for (kind, types) in Schema.standard.types {
      for t in types { try g.add(Node(id: "\(kind.rawValue)-\(t)", kind: kind, type: t)) }
    }
    return g
  }

  @Test("each relation joins exactly the kinds and types it allows", arguments: Relation.allCases)
  func relationKinds(rel: Relation) throws {
    let base = try Self.fullGraph()
    for a in base.sortedNodes {
      for b in base.sortedNodes where a.id != b.id {
        var g = base
        let allowed =
          a.kind == rel.from.kind && (rel.from.types?.contains(a.type) ?? true)
          && b.kind == rel.to.kind && (rel.to.types?.contains(b.type) ?? true)
        let result = Result { () throws(DealError) in try g.link(Edge(EdgeKey(from: a.id, rel: rel, to: b.id))) }
        switch result {
        case .success: #expect(allowed, "\(a.id) \(rel.rawValue) \(b.id) should be refused")
        case .failure(let e):
          #expect(!allowed, "\(a.id) \(rel.rawValue) \(b.id) should be allowed: \(e.message)")
          #expect(g == base, "a refused link changes nothing")
        }
      }
    }
  }

  @Test("ids are unique and well formed")
  func ids() throws {
    var g = DealGraph()
    try g.add(Node(id: "neo", kind: .entity, type: "neocloud"))
    #expect(throws: DealError.self) { try g.add(Node(id: "neo", kind: .asset, type: "gpu")) }
    for bad in ["Neo", "1x", "-x", "a b", "a.b", "", String(repeating: "a", count: 65), "é"] {
      #expect(throws: DealError.self, "\(bad)") { try g.add(Node(id: bad, kind: .entity, type: "spv")) }
    }
    for good in ["a", "a1", "a_b", "a-b", "zeta-capital_2"] {
      try g.add(Node(id: good, kind: .entity, type: "spv"))
    }
  }

  @Test("rm refuses while edges reference a node, and --cascade removes them")
  func remove() throws {
    var g = DealGraph()
    try g.add(Node(id: "neo", kind: .entity, type: "neocloud"))
    try g.add(Node(id: "loan", kind: .facility, type: "term"))
    try g.link(Edge(EdgeKey(from: "neo", rel: .borrows, to: "loan")))
    let before = g
    #expect(throws: DealError.self) { try g.remove("loan", cascade: false) }
    #expect(g == before)
    let removed = try g.remove("loan", cascade: true)
    #expect(removed.count == 1)
    #expect(g.edgeCount == 0 && g.nodeCount == 1)
    #expect(g.edges(touching: "neo").isEmpty)
  }

  @Test("a parent-of cycle is refused, a self-loop too")
  func cycles() throws {
    var g = DealGraph()
    for id in ["a", "b", "c"] { try g.add(Node(id: id, kind: .entity, type: "spv")) }
    try g.link(Edge(EdgeKey(from: "a", rel: .parentOf, to: "b")))
    try g.link(Edge(EdgeKey(from: "b", rel: .parentOf, to: "c")))
    #expect(throws: DealError.self) { try g.link(Edge(EdgeKey(from: "c", rel: .parentOf, to: "a"))) }
    #expect(throws: DealError.self) { try g.link(Edge(EdgeKey(from: "a", rel: .parentOf, to: "a"))) }
    #expect(throws: DealError.self) { try g.link(Edge(EdgeKey(from: "a", rel: .parentOf, to: "b"))) }
  }

  @Test("nodes and edges sort by id as strings do, whatever the ids' lengths and shared prefixes")
  func sortOrder() throws {
    var g = DealGraph()
    var rng = SeededRandom(seed: 3)
    let stems = ["a", "abcdefgh", "abcdefg", "abcdefghi", "abcdefghij", "z9", "m-", "m_", "b0"]
    var ids: [String] = []
    for stem in stems {
      for k in 0..<6 {
        let id = k == 0 ? stem : stem + String(Int(rng.unit() * 1000))
        if !ids.contains(id) {
          ids.append(id)
          try g.add(ids.count % 2 == 0 ? Node(id: id, kind: .entity, type: "spv") : Node(id: id, kind: .facility, type: "term"))
        }
      }
    }
    for _ in 0..<1600 {
      let a = ids[Int(rng.unit() * Double(ids.count))], b = ids[Int(rng.unit() * Double(ids.count))]
      let rel: Relation = rng.unit() < 0.5 ? .crossDefault : .parentOf
      guard a != b else { continue }
      try? g.link(Edge(EdgeKey(from: a, rel: rel, to: b)))
    }
    #expect(g.sortedIDs == ids.sorted(), "\(rng)")
    #expect(g.sortedNodes.map(\.id) == ids.sorted(), "\(rng)")
    #expect(g.edgeCount > 100, "\(rng)")
    #expect(g.sortedEdges.map(\.key) == g.edges.keys.sorted(), "\(rng)")
  }

  @Test("the one-pass cycle test agrees with walking every edge")
  func cycleTest() {
    func keys(_ pairs: [(String, String)]) -> [EdgeKey] { pairs.map { EdgeKey(from: $0.0, rel: .parentOf, to: $0.1) } }
    #expect(!DealGraph.hasCycle(keys([])))
    #expect(!DealGraph.hasCycle(keys([("a", "b"), ("b", "c"), ("a", "c")])))  // a diamond's edge, no cycle
    #expect(!DealGraph.hasCycle(keys([("a", "b"), ("c", "b"), ("d", "c"), ("d", "a")])))
    #expect(DealGraph.hasCycle(keys([("a", "b"), ("b", "c"), ("c", "a")])))
    #expect(DealGraph.hasCycle(keys([("x", "y"), ("a", "b"), ("b", "a")])))  // in a second component
    #expect(DealGraph.hasCycle(keys([("a", "b"), ("b", "c"), ("c", "d"), ("d", "b")])))  // not through the root
  }

  @Test("a session file with a parent-of cycle is refused, naming the edge that closes it")
  func cycleInFile() throws {
    var g = DealGraph()
    for id in ["a", "b", "c", "d"] { try g.add(Node(id: id, kind: .entity, type: "spv")) }
    try g.link(Edge(EdgeKey(from: "a", rel: .parentOf, to: "b")))
    try g.link(Edge(EdgeKey(from: "b", rel: .parentOf, to: "c")))
    try g.link(Edge(EdgeKey(from: "c", rel: .parentOf, to: "d")))
    let meta = SessionMetadata(author: "", created: "", modified: "", dealshVersion: "", revision: 1)
    var text = SessionCodec.encode(SessionFile(session: Session(deal: Deal(start: Month(year: 2025, month: 1)!), graph: g), journal: [], metadata: meta))
    text = text.replacingOccurrences(of: "\"to\": \"d\"", with: "\"to\": \"a\"")  // c parent-of a
    #expect(throws: SessionCodec.DecodeError("'a parent-of b' makes a cycle of parent-of")) {
      try SessionCodec.decode(text, schema: .standard)
    }
  }

  @Test("copies are independent values (undo snapshots never change)")
  func valueSemantics() throws {
    var g = DealGraph()
    for i in 0..<200 { try g.add(Node(id: "n\(i)", kind: .entity, type: "spv")) }
    let snapshot = g
    try g.add(Node(id: "later", kind: .entity, type: "spv"))
    try g.setAttributes(of: "n5", ["name": .text("changed")])
    try g.link(Edge(EdgeKey(from: "n1", rel: .parentOf, to: "n2")))
    #expect(snapshot.nodeCount == 200)
    #expect(snapshot["later"] == nil)
    #expect(snapshot["n5"]?.attrs.isEmpty == true)
    #expect(snapshot.edgeCount == 0)
    #expect(g.nodeCount == 201)
  }

  @Test("unlink of a missing edge names the edges there are")
  func unlinkMissing() throws {
    var g = DealGraph()
    try g.add(Node(id: "neo", kind: .entity, type: "neocloud"))
    try g.add(Node(id: "loan", kind: .facility, type: "term"))
    try g.link(Edge(EdgeKey(from: "neo", rel: .borrows, to: "loan")))
    #expect {
      try g.unlink(EdgeKey(from: "neo", rel: .guarantees, to: "loan"))
    } throws: { e in
      (e as? DealError)?.hint?.contains("neo borrows loan") == true
    }
  }
}

@Suite("attribute values and their bounds")
struct SchemaTests {
  static var numberAttributes: [(String, String, AttributeSpec)] {
    var out: [(String, String, AttributeSpec)] = []
    for (kind, types) in Schema.standard.types.sorted(by: { $0.key < $1.key }) {
      for t in types {
        for spec in Schema.standard.attributes(kind: kind, type: t) {
          if case .number = spec.type { out.append((kind.rawValue, t, spec)) }
        }
      }
    }
    return out
  }

  @Test("every number attribute enforces its bounds")
  func bounds() throws {
    #expect(Self.numberAttributes.count > 30)
    for (kind, type, spec) in Self.numberAttributes {
      guard case .number(let n) = spec.type else { continue }
      let at = "\(kind)/\(type).\(spec.key)"
      // The lower bound itself (if allowed) is accepted; below it is not.
      if n.min.isFinite {
        let below = n.min - (n.integer ? 1 : 0.001)
        #expect(throws: DealError.self, "\(at) accepts \(below)") { try spec.parse(JSONValue.format(number: below)) }
        if n.minInclusive {
          #expect(try spec.parse(JSONValue.format(number: n.min)) == .number(n.min), "\(at)")
        } else {
          #expect(throws: DealError.self, "\(at) accepts its exclusive minimum") { try spec.parse(JSONValue.format(number: n.min)) }
        }
      }
      if n.max.isFinite {
        let above = n.max + (n.integer ? 1 : 0.001)
        #expect(throws: DealError.self, "\(at) accepts \(above)") { try spec.parse(JSONValue.format(number: above)) }
        #expect(spec.check(.number(above)) != nil, "\(at) file check")
      }
      if n.integer {
        #expect(throws: DealError.self, "\(at) accepts a fraction") { try spec.parse("\(n.min + 1).5") }
      }
    }
  }

  @Test(
    "units of values are checked against the attribute",
    arguments: [
      ("salvage", "5%", 0.05), ("salvage", "0.05", 0.05), ("salvage", "500bp", 0.05),
      ("life", "48", 48), ("life", "48mo", 48), ("life", "4y", 48), ("unit_cost", "$30k", 30000),
      ("units", "16k", 16000), ("kw", "1.2", 1.2),
    ])
  func accepted(key: String, text: String, value: Double) throws {
    let spec = try #require(Schema.standard.attribute(kind: .asset, type: "gpu", key: key))
    #expect(try spec.parse(text) == .number(value))
  }

  @Test(
    "wrong units are refused with the reason",
    arguments: [
      ("salvage", "110%", "between 0% and 100%"), ("salvage", "$5", "not a dollar amount"),
      ("salvage", "-5pt", "change in points"), ("life", "0", "between 1 month and 1,200 months"),
      ("life", "1.3y", "whole number of months"), ("life", "5%", "a duration in months, not a percentage"),
      ("units", "0", "more than 0"), ("units", "1.5", "whole number"), ("unit_cost", "-1", "at least $0"),
      ("acquired", "2025-13", "not a real date"), ("acquired", "soon", "expected a date"), ("acquired", "2025-02-30", "not a real date"),
      ("cooling", "water", "invalid value 'water' for 'cooling'"), ("model", "H1000", "did you mean 'H100'"),
      ("unit_cost", "5y", "a dollar amount, not a duration"),
    ])
  func refused(key: String, text: String, reason: String) throws {
    let spec = try #require(Schema.standard.attribute(kind: .asset, type: "gpu", key: key))
    #expect {
      try spec.parse(text)
    } throws: { e in
      let m = (e as? DealError)?.message ?? ""
      return m.contains(reason)
    }
  }

  @Test("defaults: fixed, deal start, another key, by coin")
  func defaults() throws {
    let schema = Schema.standard
    var s = Session(deal: Deal(start: try #require(Month(year: 2025, month: 3))))
    try s.graph.add(Node(id: "l", kind: .contract, type: "lease", attrs: ["rate": .number(2.5)]))
    try s.graph.add(Node(id: "b", kind: .asset, type: "crypto", attrs: ["coin": .text("ETH")]))
    #expect(s.value("l", "spot_rate", schema: schema) == .number(2.5))
    #expect(s.value("l", "start", schema: schema) == .date(CalendarDate(month: s.deal.start)))
    #expect(s.value("l", "deflation", schema: schema) == .number(0.30))
    #expect(s.value("b", "vol", schema: schema) == .number(0.70))
  }

  @Test("plugins extend the schema; a duplicate key is refused")
  func extend() throws {
    var schema = Schema.standard
    try schema.extend(kind: .asset, type: "gpu", with: [AttributeSpec("method", .choice(["straight", "ddb"]), help: "m")])
    #expect(schema.attribute(kind: .asset, type: "gpu", key: "method") != nil)
    #expect(throws: DealError.self) {
      try schema.extend(kind: .asset, type: "gpu", with: [AttributeSpec("units", .text, help: "dup")])
    }
  }
}
