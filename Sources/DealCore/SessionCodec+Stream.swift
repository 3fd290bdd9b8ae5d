import Dispatch
import HashTreeCollections

/// The quick way through a session file: nodes and edges, nearly all of a
/// large file, are read from the bytes straight into the model, on both
/// cores, and only the small members become a JSON document.
///
/// It accepts exactly what the plain way (`decodePlain`) accepts and gives
/// the same session: the checks of each node and edge are the same functions
/// (`checkedNode`, `addEdge`, `attributes`, `decodeCurrent`). Anything it does
/// not expect — a malformed or unusual file, an older version, any error —
/// makes it give up, and the plain way then reads the file and says what is
/// wrong. A test and the session fuzzer compare the two ways.
extension SessionCodec {
  static func decodeStreaming(_ text: String, schema: Schema) -> SessionFile? {
    var text = text
    let read: (top: [String: JSONValue], graph: GraphParts)? = text.withUTF8 { buf in
      // Two lanes: a thread of its own reads the edges as soon as the scan
      // of the top level has found them, indexes them by node, and reads
      // the small members once the scan is done; this thread finishes the
      // scan, reads the nodes and indexes the edges by key. Each lane
      // writes only its own slots.
      final class Slots: @unchecked Sendable {
        var members: [(key: String, start: Int, end: Int)]?
        var edgesAt: (start: Int, end: Int)?
        var nodes: TreeDictionary<String, Node>?
        var edgeList: [Edge]?
        var byKey: TreeDictionary<EdgeKey, Edge> = [:]
        var incident: TreeDictionary<String, IncidentEdges> = [:]
        var others: [String: JSONValue]?
      }
      let slots = Slots()
      let edgesRead = DispatchSemaphore(value: 0), scanned = DispatchSemaphore(value: 0)
      func laneB() {
        if let at = slots.edgesAt {
          var r = _Reader(bytes: buf, maxDepth: maxDepth, from: at.start, to: at.end)
          slots.edgeList = readEdges(&r, schema: schema)
        } else {
          slots.edgeList = []
        }
        edgesRead.signal()
        if let list = slots.edgeList { slots.incident = DealGraph.EdgeIndex.incident(list) }
        scanned.wait()
        guard let members = slots.members else { return }
        var others: [String: JSONValue] = [:]
        for m in members where m.key != "nodes" && m.key != "edges" {
          var r = _Reader(bytes: buf, maxDepth: maxDepth, from: m.start, to: m.end)
          guard let v = try? r.value(depth: 1), r.i == r.end else { return }
          others[m.key] = v
        }
        slots.others = others
      }
      var b: DispatchSemaphore?
      slots.members = JSONParser.members(buf, maxDepth: maxDepth) { m in
        if m.key == "edges", b == nil, buf.count > 64 << 10 {
          slots.edgesAt = (m.start, m.end)
          b = OwnThread.start(laneB)
        }
      }
      scanned.signal()
      guard let members = slots.members else {
        b?.wait()
        return nil
      }
      if b == nil {
        slots.edgesAt = members.first { $0.key == "edges" }.map { ($0.start, $0.end) }
        laneB()
      }
      if let m = members.first(where: { $0.key == "nodes" }) {
        var r = _Reader(bytes: buf, maxDepth: maxDepth, from: m.start, to: m.end)
        slots.nodes = readNodes(&r, schema: schema)
      } else {
        slots.nodes = [:]
      }
      edgesRead.wait()
      if slots.nodes != nil, let list = slots.edgeList { slots.byKey = DealGraph.EdgeIndex.byKey(list) }
      b?.wait()
      guard let nodes = slots.nodes, let list = slots.edgeList, let others = slots.others else { return nil }
      let edges = DealGraph.EdgeIndex(list: list, byKey: slots.byKey, incident: slots.incident)
      return (others, GraphParts(nodes: nodes, edges: edges))
    }
    guard let read, read.top["format"] == .string(format), read.top["version"] == .number(Double(version)) else { return nil }
    return try? decodeCurrent(read.top, schema: schema, graph: read.graph)
  }

  /// Nodes and edges already read and checked one by one.
  struct GraphParts {
    var nodes: TreeDictionary<String, Node>
    var edges: DealGraph.EdgeIndex
  }

  /// Reads `[{"attrs": {...}, "id": ..., "kind": ..., "type": ...}, ...]`.
  static func readNodes(_ r: inout _Reader, schema: Schema) -> TreeDictionary<String, Node>? {
    var nodes: TreeDictionary<String, Node> = [:]
    var specs: [SpecSlot: [String: AttributeSpec]] = [:]
    let ok = readItems(&r, ("id", "kind", "type")) { id, kind, type, attrs in
      guard DealGraph.isValidID(id), nodes.count < maxNodes,
        let node = try? checkedNode(id: id, kind: kind, type: type, attrs: attrs, schema: schema, specs: &specs)
      else { return false }
      return nodes.updateValue(node, forKey: id) == nil
    }
    return ok ? nodes : nil
  }

  /// Reads `[{"attrs": {...}, "from": ..., "rel": ..., "to": ...}, ...]`.
  static func readEdges(_ r: inout _Reader, schema: Schema) -> [Edge]? {
    var edges: [Edge] = []
    var seen = Set<EdgeKey>()
    var specs: [Relation: [String: AttributeSpec]] = [:]
    let ok = readItems(&r, ("from", "rel", "to")) { from, rel, to, attrs in
      guard edges.count < maxNodes * 4 else { return false }
      do {
        try addEdge(index: edges.count, from: from, rel: rel, to: to, attrs: attrs, schema: schema, specs: &specs, seen: &seen, to: &edges)
      } catch { return false }
      return true
    }
    return ok ? edges : nil
  }

  /// Reads an array of objects that each have the three string members
  /// `names` and may have an "attrs" object of scalars, each at most once;
  /// `item` checks and keeps one. False as soon as anything is off.
  static func readItems(
    _ r: inout _Reader, _ names: (String, String, String), item: (String, String, String, [(key: String, value: JSONValue)]?) -> Bool
  ) -> Bool {
    var attrs: [(key: String, value: JSONValue)] = []
    return r.array { r throws(JSONParseError) -> Bool in
      var a: String?, b: String?, c: String?, hasAttrs = false
      attrs.removeAll(keepingCapacity: true)
      let fields = try r.object { r, key throws(JSONParseError) -> Bool in
        switch key {
        case names.0 where a == nil: a = try r.stringValue()
        case names.1 where b == nil: b = try r.stringValue()
        case names.2 where c == nil: c = try r.stringValue()
        case "attrs" where !hasAttrs:
          hasAttrs = true
          return try r.scalars(into: &attrs)
        default: return false
        }
        return true
      }
      guard fields, let a, let b, let c else { return false }
      return item(a, b, c, hasAttrs ? attrs : nil)
    }
  }
}

extension _Reader {
  /// Reads an array, calling `element` at the start of each element; false
  /// (or a parse error) as soon as anything is off. The range must end
  /// with the array.
  mutating func array(_ element: (inout _Reader) throws(JSONParseError) -> Bool) -> Bool {
    do throws(JSONParseError) {
      skipSpace()
      guard i < end, bytes[i] == UInt8(ascii: "[") else { return false }
      i += 1
      skipSpace()
      if i < end, bytes[i] == UInt8(ascii: "]") {
        i += 1
      } else {
        while true {
          skipSpace()
          guard try element(&self) else { return false }
          skipSpace()
          guard i < end else { return false }
          if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
          guard bytes[i] == UInt8(ascii: "]") else { return false }
          i += 1
          break
        }
      }
      skipSpace()
      return i == end
    } catch {
      return false
    }
  }

  /// Reads an object, calling `member` with each key when the reader is at
  /// its value; `member` reads the value and says whether it was fine.
  mutating func object(_ member: (inout _Reader, String) throws(JSONParseError) -> Bool) throws(JSONParseError) -> Bool {
    guard i < end, bytes[i] == UInt8(ascii: "{") else { return false }
    i += 1
    skipSpace()
    if i < end, bytes[i] == UInt8(ascii: "}") { i += 1; return true }
    while true {
      skipSpace()
      guard i < end, bytes[i] == UInt8(ascii: "\"") else { return false }
      let key = try string()
      skipSpace()
      guard i < end, bytes[i] == UInt8(ascii: ":") else { return false }
      i += 1
      skipSpace()
      guard try member(&self, key) else { return false }
      skipSpace()
      guard i < end else { return false }
      if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
      guard bytes[i] == UInt8(ascii: "}") else { return false }
      i += 1
      return true
    }
  }

  /// A string value (nil-free: anything else is a parse error).
  mutating func stringValue() throws(JSONParseError) -> String {
    guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string") }
    return try string()
  }

  /// An object of scalars (strings, numbers, booleans), appended in file
  /// order; false for anything else, a key given twice, or more keys than
  /// any kind of node has attributes (the check for a repeated key is
  /// linear: a hostile file with a huge attrs object goes the plain way).
  mutating func scalars(into out: inout [(key: String, value: JSONValue)]) throws(JSONParseError) -> Bool {
    try object { r, key throws(JSONParseError) -> Bool in
      guard r.i < r.end, out.count < 128, !out.contains(where: { $0.key == key }) else { return false }
      switch r.bytes[r.i] {
      case UInt8(ascii: "\""): out.append((key, .string(try r.string())))
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): out.append((key, .number(try r.number())))
      case UInt8(ascii: "t"), UInt8(ascii: "f"): out.append((key, try r.value(depth: 0)))
      default: return false
      }
      return true
    }
  }
}
