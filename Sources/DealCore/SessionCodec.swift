import Foundation
import Dispatch

/// Reads and writes `.deal` files (SPEC §4): versioned, canonical JSON.
///
/// Writing is canonical: keys sorted, nodes by id, edges by (from, rel, to),
/// two-space indentation, one trailing newline, so the same session always
/// gives the same bytes. Reading is strict: anything unexpected is refused
/// with a message that says what and where, and nothing in the file is ever
/// executed (the journal is read as text).
public enum SessionCodec {
  public static let format = "dealsh.session"
  /// The version this build writes. 2 added `content_hash`.
  public static let version = 2
  /// Files larger than this are refused before they are parsed.
  public static let maxBytes = SessionLimits.maxFileBytes
  public static let maxDepth = 32
  public static let maxNodes = SessionLimits.maxNodes
  public static let maxJournal = SessionLimits.maxJournal

  /// Why a session file was refused.
  public struct DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
  }

  // MARK: Writing

  public static func encode(_ file: SessionFile) -> String { String(decoding: encodeBytes(file), as: UTF8.self) }

  /// The file's bytes (what `encode` gives, as UTF-8).
  public static func encodeBytes(_ file: SessionFile) -> [UInt8] {
    let s = file.session
    let m = file.metadata
    // The node and edge lists and the journal are most of a large file:
    // write them on both cores, then splice them into the document.
    final class Parts: @unchecked Sendable {
      var nodes = JSONWriter(level: 1)
      var edges = JSONWriter(level: 1)
      var journal = JSONWriter(level: 1)
    }
    let parts = Parts()
    let big = s.graph.nodeCount + s.graph.edgeCount + file.journal.count > 2000
    let work: (Int) -> Void = { part in
      if part == 2 {
        var w = JSONWriter(pretty: true, capacity: 64 + 64 * file.journal.count, level: 1)
        w.beginArray()
        for j in file.journal { w.string(j) }
        w.endArray()
        parts.journal = w
      } else if part == 0 {
        var w = JSONWriter(pretty: true, capacity: 64 + 160 * s.graph.edgeCount, level: 1)
        var scratch: [(key: String, value: AttrValue)] = []
        w.beginArray()
        for e in s.graph.sortedEdges {
          w.beginObject()
          writeAttributes(e.attrs, &w, &scratch)
          w.key("from"); w.string(e.from)
          w.key("rel"); w.string(e.rel.rawValue)
          w.key("to"); w.string(e.to)
          w.endObject()
        }
        w.endArray()
        parts.edges = w
      } else {
        var w = JSONWriter(pretty: true, capacity: 64 + 240 * s.graph.nodeCount, level: 1)
        var scratch: [(key: String, value: AttrValue)] = []
        w.beginArray()
        for n in s.graph.sortedNodes {
          w.beginObject()
          writeAttributes(n.attrs, &w, &scratch)
          w.key("id"); w.string(n.id)
          w.key("kind"); w.string(n.kind.rawValue)
          w.key("type"); w.string(n.type)
          w.endObject()
        }
        w.endArray()
        parts.nodes = w
      }
    }
    if big { DispatchQueue.concurrentPerform(iterations: 3, execute: work) } else { work(0); work(1); work(2) }

    // Keys in sorted order throughout.
    var w = JSONWriter(pretty: true, capacity: 4096 + parts.nodes.bytes.count + parts.edges.bytes.count + parts.journal.bytes.count)
    // The content hash covers the bytes of every content member (not the
    // metadata): written as a placeholder, patched at the end.
    var hashed: [Range<Int>] = []
    var mark = 0
    w.beginObject()
    if let active = s.activeScenario {
      mark = w.bytes.count
      w.key("active_scenario"); w.string(active)
      hashed.append(mark..<w.bytes.count)
    }
    w.key("author"); w.string(m.author)
    w.key("content_hash")
    let hashAt = w.bytes.count + 1 + contentHashPrefix.utf8.count
    w.string(contentHashPrefix + String(repeating: "0", count: 16))
    w.key("created"); w.string(m.created)
    mark = w.bytes.count
    w.key("deal")
    w.beginObject()
    w.key("currency"); w.string(s.deal.currency)
    w.key("horizon"); w.number(Double(s.deal.horizon))
    w.key("start"); w.string(s.deal.start.description)
    w.key("title"); w.string(s.deal.title)
    w.endObject()
    hashed.append(mark..<w.bytes.count)
    w.key("dealsh_version"); w.string(m.dealshVersion)
    mark = w.bytes.count
    w.key("edges"); w.raw(parts.edges)
    hashed.append(mark..<w.bytes.count)
    w.key("format"); w.string(format)
    mark = w.bytes.count
    w.key("journal"); w.raw(parts.journal)
    hashed.append(mark..<w.bytes.count)
    w.key("modified"); w.string(m.modified)
    mark = w.bytes.count
    w.key("nodes"); w.raw(parts.nodes)
    w.key("notes")
    w.beginArray()
    for n in s.notes {
      w.beginObject()
      w.key("author"); w.string(n.author)
      w.key("text"); w.string(n.text)
      w.key("time"); w.string(n.time)
      w.endObject()
    }
    w.endArray()
    hashed.append(mark..<w.bytes.count)
    w.key("revision"); w.number(Double(m.revision))
    mark = w.bytes.count
    w.key("scenarios")
    w.beginObject()
    for (name, scenario) in s.scenarios.sorted(by: { $0.key < $1.key }) {
      w.key(name)
      w.beginObject()
      for (k, v) in scenario.values.sorted(by: { $0.key < $1.key }) {
        w.key(k.rawValue)
        w.number(v)
      }
      w.endObject()
    }
    w.endObject()
    hashed.append(mark..<w.bytes.count)
    w.key("version"); w.number(Double(version))
    w.endObject()
    w.finishLine()
    let hash = w.bytes.withUnsafeBytes { buf -> UInt64 in
      var h = FNV64()
      for r in hashed { h.add(UnsafeRawBufferPointer(rebasing: buf[r])) }
      return h.value
    }
    w.patch(at: hashAt, with: Array(hex16(hash).utf8))
    return w.bytes
  }

  /// `content_hash`: FNV-1a (64-bit) over the bytes of the content members
  /// as written — deal, nodes, edges, scenarios, notes, journal, the scenario
  /// in use — so two files hold the same session exactly when their hashes
  /// match, whoever saved them and when.
  public static let contentHashPrefix = "fnv1a64:"

  /// The content hash a file of this session would carry.
  public static func contentHash(_ file: SessionFile) -> String {
    let text = encode(file)
    guard let r = text.range(of: "\"content_hash\": \"") else { return "" }
    return String(text[r.upperBound...].prefix(contentHashPrefix.count + 16))
  }

  /// Whether the content of `file`, read from `text`, still has the
  /// content hash it carries (nil when it carries none: a migrated file).
  /// A file dealsh wrote is canonical, so the hash is taken over its own
  /// bytes in one pass; a file written otherwise (reformatted by hand) is
  /// encoded again and hashed, so only a change of content is a mismatch.
  public static func contentMatches(_ file: SessionFile, text: String) -> Bool? {
    guard let stored = file.metadata.contentHash else { return nil }
    if let raw = rawContentHash(text), raw == stored { return true }
    return contentHash(file) == stored
  }

  /// The content hash over the bytes of a canonical file's content members
  /// as they stand (nil if the text is not laid out as dealsh writes it).
  static func rawContentHash(_ text: String) -> String? {
    var copy = text
    return copy.withUTF8 { b -> String? in
      let n = b.count
      guard n > 4, b[0] == 0x7B, b[1] == 0x0A else { return nil }
      // Top-level members start at "\n  \"" (nested lines are indented
      // deeper, and strings hold no raw newline); each hashed range runs
      // from the separator before the member to the end of its value.
      var starts: [(key: Substring, at: Int)] = []
      var i = 1
      while i + 3 < n {
        if b[i] == 0x0A, b[i + 1] == 0x20, b[i + 2] == 0x20, b[i + 3] == 0x22 {
          var j = i + 4
          while j < n, b[j] != 0x22 { j += 1 }
          guard j < n else { return nil }
          let key = Substring(String(decoding: UnsafeBufferPointer(rebasing: b[(i + 4)..<j]), as: UTF8.self))
          starts.append((key, b[i - 1] == 0x2C ? i - 1 : i))
          i = j
        }
        i += 1
      }
      guard b[n - 1] == 0x0A, n >= 3, b[n - 2] == 0x7D, b[n - 3] == 0x0A else { return nil }
      let end = n - 3
      func range(_ k: Int) -> Range<Int> { starts[k].at..<(k + 1 < starts.count ? starts[k + 1].at : end) }
      var ranges: [Range<Int>] = []
      var k = 0
      while k < starts.count {
        switch starts[k].key {
        case "active_scenario", "deal", "edges", "journal", "scenarios":
          ranges.append(range(k))
        case "nodes":
          // Nodes and notes are one range, as written.
          guard k + 1 < starts.count, starts[k + 1].key == "notes" else { return nil }
          ranges.append(starts[k].at..<range(k + 1).upperBound)
          k += 1
        default: break
        }
        k += 1
      }
      var h = FNV64()
      for r in ranges { h.add(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(b)[r])) }
      return contentHashPrefix + hex16(h.value)
    }
  }

  static func hex16(_ x: UInt64) -> String {
    let s = String(x, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }

  /// FNV-1a over bytes, 8 at a time (with a shift that mixes the high
  /// bits down): for content hashes and fingerprints of files.
  public struct FNV64 {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func add(_ raw: UnsafeRawBufferPointer) {
      let prime: UInt64 = 0x100_0000_01b3
      let words = raw.count / 8
      for k in 0..<words {
        value = (value ^ raw.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self)) &* prime
        value ^= value >> 29
      }
      for k in (words * 8)..<raw.count { value = (value ^ UInt64(raw[k])) &* prime }
    }
  }

  /// `scratch`: reused from node to node, so sorting allocates nothing.
  private static func writeAttributes(
    _ a: [String: AttrValue], _ w: inout JSONWriter, _ scratch: inout [(key: String, value: AttrValue)]
  ) {
    guard !a.isEmpty else { return }
    w.key("attrs")
    w.beginObject()
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: a)
    scratch.sort { $0.key < $1.key }
    for (k, v) in scratch {
      w.key(k)
      switch v {
      case .number(let x): w.number(x)
      case .bool(let b): w.bool(b)
      case .date(let d): w.string(d.description)
      case .text(let t): w.string(t)
      }
    }
    w.endObject()
  }

  // MARK: Reading

  /// Decodes a session file, checking every part of it against `schema`.
  /// - Throws: `DecodeError` saying what is wrong and where.
  public static func decode(_ text: String, schema: Schema) throws(DecodeError) -> SessionFile {
    if text.utf8.count > maxBytes {
      throw DecodeError("file is larger than \(maxBytes >> 20) MiB")
    }
    let doc: JSONValue
    do {
      let parser = JSONParser(maxDepth: maxDepth)
      doc = text.utf8.count > 1 << 20 ? try parser.parseObjectInParallel(text) : try parser.parse(text)
    } catch {
      throw DecodeError("not valid JSON (\(error.description))")
    }
    guard case .object(let top) = doc else { throw DecodeError("not a dealsh session (the file is \(doc.typeName), not an object)") }
    guard let fmt = top["format"] else { throw DecodeError("not a dealsh session (no \"format\" key)") }
    guard fmt.stringValue == format else {
      throw DecodeError("not a dealsh session (format is \(fmt.serialized(pretty: false)), expected \"\(format)\")")
    }
    guard let vnum = top["version"]?.numberValue, vnum == vnum.rounded(), vnum >= 1, vnum < 1e6 else {
      throw DecodeError("\"version\" must be a whole number ≥ 1")
    }
    let v = Int(vnum)
    if v > version {
      throw DecodeError("session format version \(v) is newer than this dealsh reads (\(version)); upgrade dealsh")
    }
    var obj = top
    if v < version { obj = try SessionMigration.migrate(obj, from: v) }
    let file = try decodeCurrent(obj, schema: schema, migrated: v < version)
    // A large document takes a while to free: let another thread do it.
    if text.utf8.count > 1 << 20 { releaseInBackground(Document(doc, obj)) }
    return file
  }

  /// Holds a parsed document so that its last reference can be dropped on
  /// another thread.
  final class Document: @unchecked Sendable {
    var parts: (JSONValue, [String: JSONValue])?
    init(_ doc: JSONValue, _ obj: [String: JSONValue]) { parts = (doc, obj) }
  }

  static func releaseInBackground(_ d: Document) {
    DispatchQueue.global(qos: .utility).async { d.parts = nil }
  }

  static let topKeys: Set<String> = [
    "format", "version", "dealsh_version", "author", "created", "modified", "revision", "deal", "nodes", "edges",
    "notes", "scenarios", "journal", "active_scenario", "content_hash",
  ]

  /// Decodes a document of the current version (`migrated`: one that a
  /// migration brought up to it, which carries no content hash yet).
  static func decodeCurrent(
    _ top: [String: JSONValue], schema: Schema, migrated: Bool = false
  ) throws(DecodeError) -> SessionFile {
    try unknownKeys(top, allowed: topKeys, at: "the top level")
    let meta = SessionMetadata(
      author: try str(top, "author", "the top level", required: false),
      created: try str(top, "created", "the top level", required: false),
      modified: try str(top, "modified", "the top level", required: false),
      dealshVersion: try str(top, "dealsh_version", "the top level", required: false),
      revision: try int(top["revision"] ?? .number(0), "\"revision\"", min: 0, max: 1 << 40))
    var metadata = meta
    let hash = try str(top, "content_hash", "the top level", required: !migrated)
    if !hash.isEmpty {
        guard hash.hasPrefix(contentHashPrefix), hash.utf8.count == contentHashPrefix.utf8.count + 16,
        hash.utf8.dropFirst(contentHashPrefix.utf8.count).allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
      else {
        throw DecodeError("\"content_hash\" must be \(contentHashPrefix) and 16 hex digits, not \"\(hash)\"")
      }
      metadata.contentHash = hash
    }

    // Deal settings.
    guard case .object(let d)? = top["deal"] else { throw DecodeError("missing or malformed \"deal\" object") }
    try unknownKeys(d, allowed: ["start", "horizon", "currency", "title"], at: "\"deal\"")
    let startText = try str(d, "start", "\"deal\"")
    guard let start = CalendarDate(parsing: startText), start.day == nil else {
      throw DecodeError("\"deal\": \"start\" must be a month like 2025-01, not \"\(startText)\"")
    }
    let horizon = try int(d["horizon"] ?? .number(60), "\"deal\": \"horizon\"", min: 1, max: 600)
    let currency = try str(d, "currency", "\"deal\"", required: false)
    guard currency.isEmpty || currency == "USD" else { throw DecodeError("\"deal\": currency \"\(currency)\" is not supported (USD only)") }
    let deal = Deal(start: start.month, horizon: horizon, currency: "USD", title: try str(d, "title", "\"deal\"", required: false))

    // Nodes and edges are read on both cores; an edge's ends are checked
    // against the nodes afterwards, in file order.
    let graph: DealGraph
    do {
      final class Parts: @unchecked Sendable {
        var nodes: Result<([Node], [String: Node]), DecodeError> = .failure(DecodeError("not read"))
        var edges: Result<[Edge], DecodeError> = .failure(DecodeError("not read"))
      }
      let parts = Parts()
      let work: (Int) -> Void = { part in
        if part == 0 {
          do throws(DecodeError) { parts.nodes = .success(try decodeNodes(top, schema: schema)) } catch { parts.nodes = .failure(error) }
        } else {
          do throws(DecodeError) { parts.edges = .success(try decodeEdges(top, schema: schema)) } catch { parts.edges = .failure(error) }
        }
      }
      let count = (top["nodes"]?.arrayValue?.count ?? 0) + (top["edges"]?.arrayValue?.count ?? 0)
      if count > 2000 { DispatchQueue.concurrentPerform(iterations: 2, execute: work) } else { work(0); work(1) }
      let (nodeList, kinds) = try parts.nodes.get()
      let edgeList = try parts.edges.get()
      for e in edgeList { try checkEnds(e, kinds[e.from], kinds[e.to]) }
      do { graph = try DealGraph(checkedNodes: nodeList, edges: edgeList) } catch { throw DecodeError(error.message) }
    }

    // Notes.
    var notes: [Note] = []
    guard case .array(let ns)? = top["notes"] ?? .array([]) else { throw DecodeError("\"notes\" must be an array") }
    for (i, nv) in ns.enumerated() {
      let at = "note \(i + 1)"
      guard case .object(let n) = nv else { throw DecodeError("\(at): must be an object") }
      try unknownKeys(n, allowed: ["text", "author", "time"], at: at)
      notes.append(Note(text: try str(n, "text", at), author: try str(n, "author", at, required: false), time: try str(n, "time", at, required: false)))
    }

    // Scenarios.
    var scenarios: [String: Scenario] = [:]
    guard case .object(let sc)? = top["scenarios"] ?? .object([:]) else { throw DecodeError("\"scenarios\" must be an object") }
    for (name, v) in sc {
      guard DealGraph.isValidID(name) else { throw DecodeError("scenario \"\(name)\": invalid name") }
      guard case .object(let factors) = v else { throw DecodeError("scenario '\(name)': must be an object") }
      var out: [String: Double] = [:]
      for (k, x) in factors {
        guard let num = x.numberValue, num.isFinite, abs(num) < 1e12 else {
          throw DecodeError("scenario '\(name)': \"\(k)\" must be a finite number")
        }
        out[k] = num
      }
      do { scenarios[name] = try Scenario(factors: out) } catch { throw DecodeError("scenario '\(name)': \(error.message)") }
    }

    // Journal: text only, never executed.
    guard case .array(let js)? = top["journal"] ?? .array([]) else { throw DecodeError("\"journal\" must be an array") }
    if js.count > maxJournal { throw DecodeError("journal has more than \(maxJournal) entries") }
    var journal: [String] = []
    journal.reserveCapacity(js.count)
    for (i, j) in js.enumerated() {
      guard let s = j.stringValue else { throw DecodeError("journal entry \(i + 1) must be a string") }
      journal.append(s)
    }

    var session = Session(deal: deal, graph: graph, notes: notes, scenarios: scenarios)
    if top["active_scenario"] != nil {
      let active = try str(top, "active_scenario", "the top level")
      guard scenarios[active] != nil else { throw DecodeError("\"active_scenario\": '\(active)' is not one of the scenarios") }
      session.activeScenario = active
    }
    return SessionFile(session: session, journal: journal, metadata: metadata)
  }

  static func decodeNodes(_ top: [String: JSONValue], schema: Schema) throws(DecodeError) -> ([Node], [String: Node]) {
    var nodeList: [Node] = []
    var kinds: [String: Node] = [:]
    var specCache: [SpecSlot: [String: AttributeSpec]] = [:]
    guard case .array(let nodes)? = top["nodes"] ?? .array([]) else { throw DecodeError("\"nodes\" must be an array") }
    if nodes.count > maxNodes { throw DecodeError("more than \(maxNodes) nodes") }
    nodeList.reserveCapacity(nodes.count)
    kinds.reserveCapacity(nodes.count)
    for (i, nv) in nodes.enumerated() {
      func at() -> String { "node \(i + 1)" }
      guard case .object(let n) = nv else { throw DecodeError("\(at()): must be an object") }
      try unknownKeys(n, allowed: nodeKeys, at: at())
      let id = try str(n, "id", at())
      func at2() -> String { "node '\(id)'" }
      guard DealGraph.isValidID(id) else { throw DecodeError("\(at()): invalid id \"\(id)\"") }
      let kindText = try str(n, "kind", at2())
      // (An unknown kind is reported before a missing type.)
      let type = NodeKind(rawValue: kindText) == nil ? "" : try str(n, "type", at2())
      let pairs: [String: JSONValue]?
      switch n["attrs"] {
      case nil: pairs = nil
      case .object(let o)?: pairs = o
      default: throw DecodeError("\(at2()): \"attrs\" must be an object")
      }
      let node = try checkedNode(id: id, kind: kindText, type: type, attrs: pairs, schema: schema, specs: &specCache)
      guard kinds[id] == nil else { throw DecodeError("node '\(id)': duplicate id") }
      kinds[id] = Node(id: id, kind: node.kind, type: node.type)
      nodeList.append(node)
    }

    return (nodeList, kinds)
  }

  /// Checks one node read from a file: its kind, type and attributes
  /// against `schema` (the id is known to be well formed; whether it is
  /// taken is the caller's to check).
  static func checkedNode(
    id: String, kind kindText: String, type: String, attrs: (some Sequence<(key: String, value: JSONValue)>)?,
    schema: Schema, specs specCache: inout [SpecSlot: [String: AttributeSpec]]
  ) throws(DecodeError) -> Node {
    func at2() -> String { "node '\(id)'" }
    guard let kind = NodeKind(rawValue: kindText) else {
      throw DecodeError("\(at2()): unknown kind \"\(kindText)\"\(Suggest.clause(for: kindText, in: NodeKind.allCases.map(\.rawValue)))")
    }
    let slot = SpecSlot(kind: kind, type: type)
    let specs: [String: AttributeSpec]
    if let cached = specCache[slot] { specs = cached } else {
      guard schema.types[kind]?.contains(type) == true else {
        throw DecodeError("\(at2()): unknown \(kind.rawValue) type \"\(type)\"\(Suggest.clause(for: type, in: schema.types[kind] ?? []))")
      }
      specs = Dictionary(schema.attributes(kind: kind, type: type).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
      specCache[slot] = specs
    }
    let values = try attrs.map { a throws(DecodeError) in try attributes(a, specs: specs, at: at2()) } ?? [:]
    return Node(id: id, kind: kind, type: type, attrs: values)
  }

  /// The attribute specs of a kind and type of node, looked up once a file.
  struct SpecSlot: Hashable {
    var kind: NodeKind
    var type: String
  }

  static func decodeEdges(_ top: [String: JSONValue], schema: Schema) throws(DecodeError) -> [Edge] {
    var edgeSpecCache: [Relation: [String: AttributeSpec]] = [:]
    guard case .array(let edges)? = top["edges"] ?? .array([]) else { throw DecodeError("\"edges\" must be an array") }
    if edges.count > SessionLimits.maxEdges { throw DecodeError("more than \(SessionLimits.maxEdges) edges") }
    var edgeList: [Edge] = []
    edgeList.reserveCapacity(edges.count)
    var seen = Set<EdgeKey>(minimumCapacity: edges.count)
    for (i, ev) in edges.enumerated() {
      func at() -> String { "edge \(i + 1)" }
      guard case .object(let e) = ev else { throw DecodeError("\(at()): must be an object") }
      try unknownKeys(e, allowed: edgeKeys, at: at())
      let from = try str(e, "from", at()), relText = try str(e, "rel", at()), to = try str(e, "to", at())
      let pairs: [String: JSONValue]?
      switch e["attrs"] {
      case nil: pairs = nil
      case .object(let o)?: pairs = o
      default:
        // (An unknown relation is reported before malformed attributes.)
        if Relation(rawValue: relText) != nil { throw DecodeError("edge '\(from) \(relText) \(to)': \"attrs\" must be an object") }
        pairs = nil
      }
      try addEdge(index: i, from: from, rel: relText, to: to, attrs: pairs, schema: schema, specs: &edgeSpecCache, seen: &seen, to: &edgeList)
    }

    return edgeList
  }

  /// Checks that an edge's ends exist (`a`, `b`: the nodes of those ids)
  /// with the kinds its relation joins.
  static func checkEnds(_ e: Edge, _ a: Node?, _ b: Node?) throws(DecodeError) {
    func at2() -> String { "edge '\(e.key)'" }
    guard let a else { throw DecodeError("\(at2()): dangling edge, no node '\(e.from)'") }
    guard let b else { throw DecodeError("\(at2()): dangling edge, no node '\(e.to)'") }
    do { try DealGraph.checkEnds(e.rel, a, b) } catch { throw DecodeError("\(at2()): \(error.message)") }
  }

  /// Checks one edge read from a file (its relation, ends and attributes;
  /// not yet whether its ends exist) and adds it to the list.
  static func addEdge(
    index i: Int, from: String, rel relText: String, to: String, attrs: (some Sequence<(key: String, value: JSONValue)>)?,
    schema: Schema, specs edgeSpecCache: inout [Relation: [String: AttributeSpec]], seen: inout Set<EdgeKey>, to edgeList: inout [Edge]
  ) throws(DecodeError) {
    guard let rel = Relation(rawValue: relText) else {
      throw DecodeError("edge \(i + 1): unknown relation \"\(relText)\"\(Suggest.clause(for: relText, in: Relation.allCases.map(\.rawValue)))")
    }
    func at2() -> String { "edge '\(from) \(relText) \(to)'" }
    if from == to { throw DecodeError("\(at2()): an edge cannot join a node to itself") }
    let key = EdgeKey(from: from, rel: rel, to: to)
    guard seen.insert(key).inserted else { throw DecodeError("\(at2()): duplicate edge") }
    let edgeSpecs: [String: AttributeSpec]
    if let cached = edgeSpecCache[rel] { edgeSpecs = cached } else {
      edgeSpecs = Dictionary((schema.edgeAttributes[rel] ?? []).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
      edgeSpecCache[rel] = edgeSpecs
    }
    let values = try attrs.map { a throws(DecodeError) in try attributes(a, specs: edgeSpecs, at: at2()) } ?? [:]
    edgeList.append(Edge(key, attrs: values))
  }

  static func str(
    _ o: [String: JSONValue], _ k: String, _ at: @autoclosure () -> String, required: Bool = true
  ) throws(DecodeError) -> String {
    guard let v = o[k] else {
      if required { throw DecodeError("\(at()): missing \"\(k)\"") }
      return ""
    }
    guard case .string(let s) = v else { throw DecodeError("\(at()): \"\(k)\" must be a string, not \(v.typeName)") }
    guard s.utf8.count <= SessionLimits.maxTextBytes else { throw DecodeError("\(at()): \"\(k)\" is too long") }
    return s
  }

  static func int(_ v: JSONValue, _ what: String, min: Int, max: Int) throws(DecodeError) -> Int {
    guard let x = v.numberValue, x == x.rounded(), x >= Double(min), x <= Double(max) else {
      throw DecodeError("\(what) must be a whole number from \(min) to \(max), not \(v.serialized(pretty: false))")
    }
    return Int(x)
  }

  static let nodeKeys: Set<String> = ["id", "kind", "type", "attrs"]
  static let edgeKeys: Set<String> = ["from", "rel", "to", "attrs"]

  static func unknownKeys(
    _ o: [String: JSONValue], allowed: Set<String>, at: @autoclosure () -> String
  ) throws(DecodeError) {
    // Cheap when every key is known: count the allowed keys present.
    var known = 0
    for k in allowed where o[k] != nil { known += 1 }
    guard known != o.count else { return }
    for k in o.keys.sorted() where !allowed.contains(k) {
      throw DecodeError("\(at()): unknown key \"\(k)\"\(Suggest.clause(for: k, in: allowed))")
    }
  }

  /// Checks the attributes of a node or an edge against their specs.
  static func attributes(
    _ o: some Sequence<(key: String, value: JSONValue)>, specs: [String: AttributeSpec], at: @autoclosure () -> String
  ) throws(DecodeError) -> [String: AttrValue] {
    var out: [String: AttrValue] = [:]
    out.reserveCapacity(o.underestimatedCount)
    for (k, raw) in o {
      guard let spec = specs[k] else {
        throw DecodeError("\(at()): unknown attribute \"\(k)\"\(Suggest.clause(for: k, in: specs.keys.sorted()))")
      }
      let value: AttrValue
      switch (spec.type, raw) {
      case (.number, .number(let x)): value = .number(x)
      case (.bool, .bool(let b)): value = .bool(b)
      case (.date, .string(let s)):
        guard let d = CalendarDate(parsing: s) else { throw DecodeError("\(at()): \"\(k)\": \"\(s)\" is not a real date") }
        value = .date(d)
      case (.choice, .string(let s)), (.text, .string(let s)):
        guard s.utf8.count <= SessionLimits.maxAttributeBytes else { throw DecodeError("\(at()): \"\(k)\" is too long") }
        value = .text(s)
      default:
        throw DecodeError("\(at()): \"\(k)\" must be \(spec.type.summary), not \(raw.typeName)")
      }
      if let why = spec.check(value) { throw DecodeError("\(at()): \"\(k)\": \(why)") }
      out[k] = value
    }
    return out
  }
}

/// Brings older session files up to the current version, one step at a
/// time. Version 1 is the first format; a step is added here whenever the
/// format changes, with a test that migrates a file of the old version.
public enum SessionMigration {
  public static func migrate(
    _ doc: [String: JSONValue], from version: Int
  ) throws(SessionCodec.DecodeError) -> [String: JSONValue] {
    var d = doc
    var v = version
    while v < SessionCodec.version {
      switch v {
      case 1:
        // 1 → 2: version 2 files carry a content hash; a version 1 file has
        // none (the next save writes it) and may not claim one.
        guard d["content_hash"] == nil else {
          throw SessionCodec.DecodeError("unknown key \"content_hash\" in a version 1 file")
        }
      default:
        throw SessionCodec.DecodeError("no migration from session format version \(v)")
      }
      v += 1
      d["version"] = .number(Double(v))
    }
    return d
  }
}
