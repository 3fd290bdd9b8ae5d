/// Reads and writes `.deal` files (SPEC §4): versioned, canonical JSON.
///
/// Writing is canonical: keys sorted, nodes by id, edges by (from, rel, to),
/// two-space indentation, one trailing newline, so the same session always
/// gives the same bytes. Reading is strict: anything unexpected is refused
/// with a message that says what and where, and nothing in the file is ever
/// executed (the journal is read as text).
public enum SessionCodec {
  public static let format = "dealsh.session"
  /// The version this build writes.
  public static let version = 1
  /// Files larger than this are refused before they are parsed.
  public static let maxBytes = 64 << 20
  public static let maxDepth = 32
  public static let maxNodes = 1_000_000
  public static let maxJournal = 1_000_000

  /// Why a session file was refused.
  public struct DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
  }

  // MARK: Writing

  public static func encode(_ file: SessionFile) -> String {
    let s = file.session
    let nodes: [JSONValue] = s.graph.sortedNodes.map { n in
      var o: [String: JSONValue] = ["id": .string(n.id), "kind": .string(n.kind.rawValue), "type": .string(n.type)]
      if !n.attrs.isEmpty { o["attrs"] = .object(n.attrs.mapValues(\.json)) }
      return .object(o)
    }
    let edges: [JSONValue] = s.graph.sortedEdges.map { e in
      var o: [String: JSONValue] = ["from": .string(e.from), "rel": .string(e.rel.rawValue), "to": .string(e.to)]
      if !e.attrs.isEmpty { o["attrs"] = .object(e.attrs.mapValues(\.json)) }
      return .object(o)
    }
    let doc: JSONValue = .object([
      "format": .string(format),
      "version": .number(Double(version)),
      "dealsh_version": .string(file.metadata.dealshVersion),
      "author": .string(file.metadata.author),
      "created": .string(file.metadata.created),
      "modified": .string(file.metadata.modified),
      "revision": .number(Double(file.metadata.revision)),
      "deal": .object([
        "start": .string(s.deal.start.description),
        "horizon": .number(Double(s.deal.horizon)),
        "currency": .string(s.deal.currency),
        "title": .string(s.deal.title),
      ]),
      "nodes": .array(nodes),
      "edges": .array(edges),
      "notes": .array(s.notes.map { .object(["text": .string($0.text), "author": .string($0.author), "time": .string($0.time)]) }),
      "scenarios": .object(s.scenarios.mapValues { .object($0.mapValues { .number($0) }) }),
      "journal": .array(file.journal.map { .string($0) }),
    ])
    return doc.serialized(pretty: true) + "\n"
  }

  // MARK: Reading

  /// Decodes a session file, checking every part of it against `schema`.
  /// - Throws: `DecodeError` saying what is wrong and where.
  public static func decode(_ text: String, schema: Schema) throws(DecodeError) -> SessionFile {
    if text.utf8.count > maxBytes {
      throw DecodeError("file is larger than \(maxBytes >> 20) MiB")
    }
    let doc: JSONValue
    do { doc = try JSONParser(maxDepth: maxDepth).parse(text) } catch {
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
    return try decodeCurrent(obj, schema: schema)
  }

  static let topKeys: Set<String> = [
    "format", "version", "dealsh_version", "author", "created", "modified", "revision", "deal", "nodes", "edges",
    "notes", "scenarios", "journal",
  ]

  static func decodeCurrent(_ top: [String: JSONValue], schema: Schema) throws(DecodeError) -> SessionFile {
    try unknownKeys(top, allowed: topKeys, at: "the top level")
    func str(_ o: [String: JSONValue], _ k: String, _ at: String, required: Bool = true) throws(DecodeError) -> String {
      guard let v = o[k] else {
        if required { throw DecodeError("\(at): missing \"\(k)\"") }
        return ""
      }
      guard let s = v.stringValue else { throw DecodeError("\(at): \"\(k)\" must be a string, not \(v.typeName)") }
      guard s.utf8.count <= 1 << 20 else { throw DecodeError("\(at): \"\(k)\" is too long") }
      return s
    }

    let meta = SessionMetadata(
      author: try str(top, "author", "the top level", required: false),
      created: try str(top, "created", "the top level", required: false),
      modified: try str(top, "modified", "the top level", required: false),
      dealshVersion: try str(top, "dealsh_version", "the top level", required: false),
      revision: try int(top["revision"] ?? .number(0), "\"revision\"", min: 0, max: 1 << 40))

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

    // Nodes.
    var graph = DealGraph()
    guard case .array(let nodes)? = top["nodes"] ?? .array([]) else { throw DecodeError("\"nodes\" must be an array") }
    if nodes.count > maxNodes { throw DecodeError("more than \(maxNodes) nodes") }
    for (i, nv) in nodes.enumerated() {
      let at = "node \(i + 1)"
      guard case .object(let n) = nv else { throw DecodeError("\(at): must be an object") }
      try unknownKeys(n, allowed: ["id", "kind", "type", "attrs"], at: at)
      let id = try str(n, "id", at)
      let at2 = "node '\(id)'"
      guard DealGraph.isValidID(id) else { throw DecodeError("\(at): invalid id \"\(id)\"") }
      let kindText = try str(n, "kind", at2)
      guard let kind = NodeKind(rawValue: kindText) else {
        throw DecodeError("\(at2): unknown kind \"\(kindText)\"\(Suggest.clause(for: kindText, in: NodeKind.allCases.map(\.rawValue)))")
      }
      let type = try str(n, "type", at2)
      guard schema.types[kind]?.contains(type) == true else {
        throw DecodeError("\(at2): unknown \(kind.rawValue) type \"\(type)\"\(Suggest.clause(for: type, in: schema.types[kind] ?? []))")
      }
      let specs = schema.attributes(kind: kind, type: type)
      let attrs = try attributes(n["attrs"], specs: specs, at: at2)
      guard graph[id] == nil else { throw DecodeError("\(at2): duplicate id") }
      do { try graph.add(Node(id: id, kind: kind, type: type, attrs: attrs)) } catch {
        throw DecodeError("\(at2): \(error.message)")
      }
    }

    // Edges.
    guard case .array(let edges)? = top["edges"] ?? .array([]) else { throw DecodeError("\"edges\" must be an array") }
    if edges.count > maxNodes * 4 { throw DecodeError("too many edges") }
    for (i, ev) in edges.enumerated() {
      let at = "edge \(i + 1)"
      guard case .object(let e) = ev else { throw DecodeError("\(at): must be an object") }
      try unknownKeys(e, allowed: ["from", "rel", "to", "attrs"], at: at)
      let from = try str(e, "from", at), relText = try str(e, "rel", at), to = try str(e, "to", at)
      guard let rel = Relation(rawValue: relText) else {
        throw DecodeError("\(at): unknown relation \"\(relText)\"\(Suggest.clause(for: relText, in: Relation.allCases.map(\.rawValue)))")
      }
      let at2 = "edge '\(from) \(relText) \(to)'"
      guard graph[from] != nil else { throw DecodeError("\(at2): dangling edge, no node '\(from)'") }
      guard graph[to] != nil else { throw DecodeError("\(at2): dangling edge, no node '\(to)'") }
      let attrs = try attributes(e["attrs"], specs: schema.edgeAttributes[rel] ?? [], at: at2)
      do { try graph.link(Edge(EdgeKey(from: from, rel: rel, to: to), attrs: attrs)) } catch {
        throw DecodeError("\(at2): \(error.message)")
      }
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
    var scenarios: [String: [String: Double]] = [:]
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
      scenarios[name] = out
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

    return SessionFile(
      session: Session(deal: deal, graph: graph, notes: notes, scenarios: scenarios), journal: journal, metadata: meta)
  }

  static func int(_ v: JSONValue, _ what: String, min: Int, max: Int) throws(DecodeError) -> Int {
    guard let x = v.numberValue, x == x.rounded(), x >= Double(min), x <= Double(max) else {
      throw DecodeError("\(what) must be a whole number from \(min) to \(max), not \(v.serialized(pretty: false))")
    }
    return Int(x)
  }

  static func unknownKeys(_ o: [String: JSONValue], allowed: Set<String>, at: String) throws(DecodeError) {
    for k in o.keys.sorted() where !allowed.contains(k) {
      throw DecodeError("\(at): unknown key \"\(k)\"\(Suggest.clause(for: k, in: allowed))")
    }
  }

  static func attributes(_ v: JSONValue?, specs: [AttributeSpec], at: String) throws(DecodeError) -> [String: AttrValue] {
    guard let v else { return [:] }
    guard case .object(let o) = v else { throw DecodeError("\(at): \"attrs\" must be an object") }
    var out: [String: AttrValue] = [:]
    for (k, raw) in o.sorted(by: { $0.key < $1.key }) {
      guard let spec = specs.first(where: { $0.key == k }) else {
        throw DecodeError("\(at): unknown attribute \"\(k)\"\(Suggest.clause(for: k, in: specs.map(\.key)))")
      }
      let value: AttrValue
      switch (spec.type, raw) {
      case (.number, .number(let x)): value = .number(x)
      case (.bool, .bool(let b)): value = .bool(b)
      case (.date, .string(let s)):
        guard let d = CalendarDate(parsing: s) else { throw DecodeError("\(at): \"\(k)\": \"\(s)\" is not a real date") }
        value = .date(d)
      case (.choice, .string(let s)), (.text, .string(let s)):
        guard s.utf8.count <= 1 << 16 else { throw DecodeError("\(at): \"\(k)\" is too long") }
        value = .text(s)
      default:
        throw DecodeError("\(at): \"\(k)\" must be \(spec.type.summary), not \(raw.typeName)")
      }
      if let why = spec.check(value) { throw DecodeError("\(at): \"\(k)\": \(why)") }
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
      default:
        throw SessionCodec.DecodeError("no migration from session format version \(v)")
      }
      v += 1
      d["version"] = .number(Double(v))
    }
    return d
  }
}
