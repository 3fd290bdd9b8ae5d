import Dispatch
import HashTreeCollections

/// A node of the deal graph: an entity, an asset, a contract or a facility.
public struct Node: Equatable, Sendable {
  public var id: String
  public var kind: NodeKind
  public var type: String
  /// The attributes set explicitly; defaults are resolved by the schema.
  public var attrs: [String: AttrValue]

  public init(id: String, kind: NodeKind, type: String, attrs: [String: AttrValue] = [:]) {
    self.id = id
    self.kind = kind
    self.type = type
    self.attrs = attrs
  }
}

/// The identity of an edge: `from rel to`.
public struct EdgeKey: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var from: String
  public var rel: Relation
  public var to: String

  public init(from: String, rel: Relation, to: String) {
    self.from = from
    self.rel = rel
    self.to = to
  }

  public static func < (a: EdgeKey, b: EdgeKey) -> Bool {
    if a.from != b.from { return a.from < b.from }
    if a.rel != b.rel { return a.rel.rawValue < b.rel.rawValue }
    return a.to < b.to
  }

  public var description: String { "\(from) \(rel.rawValue) \(to)" }
}

/// An edge of the deal graph, with its attributes (`lien` on a pledge).
public struct Edge: Equatable, Sendable {
  public var key: EdgeKey
  public var attrs: [String: AttrValue]

  public init(_ key: EdgeKey, attrs: [String: AttrValue] = [:]) {
    self.key = key
    self.attrs = attrs
  }

  public var from: String { key.from }
  public var rel: Relation { key.rel }
  public var to: String { key.to }
}

/// The deal graph: nodes and the edges between them.
///
/// `DealGraph` is a value. It stores nodes and edges in persistent hash
/// tries (`TreeDictionary`), so a copy is a pointer copy and an edit of a
/// copy rebuilds only the path to the changed entry. A command works on a
/// copy and the shell keeps the copy only if the command succeeds; the
/// undo stack is simply the list of earlier values.
///
/// Structural rules hold after every operation: ids are unique and well
/// formed, every edge joins existing nodes of the kinds its relation allows,
/// and an edge appears once. Attribute values are checked against the
/// `Schema` by the commands that set them.
public struct DealGraph: Equatable, Sendable {
  public private(set) var nodes: TreeDictionary<String, Node> = [:]
  public private(set) var edges: TreeDictionary<EdgeKey, Edge> = [:]
  /// For each node, the keys of the edges that start or end at it.
  private var incident: TreeDictionary<String, TreeSet<EdgeKey>> = [:]

  public init() {}

  /// Builds a graph in one pass from nodes and edges already checked one by
  /// one (ids valid and unique, edge ends present with the kinds their
  /// relation joins, no duplicate edge, no self-loop); faster than adding
  /// them one at a time. Checks the rule that needs the whole graph: no
  /// cycle of `parent-of`.
  init(checkedNodes: [Node], edges: [Edge]) throws(DealError) {
    // The three tries are independent: build them on both cores.
    final class Parts: @unchecked Sendable {
      var nodes: TreeDictionary<String, Node> = [:]
      var edges: TreeDictionary<EdgeKey, Edge> = [:]
      var incident: TreeDictionary<String, TreeSet<EdgeKey>> = [:]
    }
    let parts = Parts()
    DispatchQueue.concurrentPerform(iterations: 3) { part in
      switch part {
      case 0:
        parts.nodes = TreeDictionary(uniqueKeysWithValues: checkedNodes.lazy.map { ($0.id, $0) })
      case 1:
        parts.edges = TreeDictionary(uniqueKeysWithValues: edges.lazy.map { ($0.key, $0) })
      default:
        var inc: [String: [EdgeKey]] = [:]
        inc.reserveCapacity(checkedNodes.count)
        for e in edges {
          inc[e.from, default: []].append(e.key)
          inc[e.to, default: []].append(e.key)
        }
        parts.incident = TreeDictionary(uniqueKeysWithValues: inc.lazy.map { ($0.key, TreeSet($0.value)) })
      }
    }
    nodes = parts.nodes
    self.edges = parts.edges
    incident = parts.incident
    for e in edges where e.rel == .parentOf {
      if reaches(from: e.to, to: e.from, via: .parentOf) {
        throw DealError(.invalid, "'\(e.key)' makes a cycle of parent-of")
      }
    }
  }

  public var nodeCount: Int { nodes.count }
  public var edgeCount: Int { edges.count }

  public subscript(id: String) -> Node? { nodes[id] }

  /// Node ids in sorted order.
  public var sortedIDs: [String] { nodes.keys.sorted() }

  /// Nodes sorted by id.
  public var sortedNodes: [Node] { sortedIDs.map { nodes[$0]! } }

  /// Edges sorted by (from, relation, to). Node ids are ranked once, so
  /// the sort compares integers, not strings.
  public var sortedEdges: [Edge] {
    let ids = sortedIDs
    var rank: [String: Int] = [:]
    rank.reserveCapacity(ids.count)
    for (i, id) in ids.enumerated() { rank[id] = i }
    var items: [(from: Int, rel: Int, to: Int, edge: Edge)] = []
    items.reserveCapacity(edges.count)
    for (k, e) in edges { items.append((rank[k.from]!, k.rel.sortIndex, rank[k.to]!, e)) }
    items.sort { a, b in
      if a.from != b.from { return a.from < b.from }
      if a.rel != b.rel { return a.rel < b.rel }
      return a.to < b.to
    }
    return items.map(\.edge)
  }

  /// Edges that start or end at `id`, sorted.
  public func edges(touching id: String) -> [Edge] {
    (incident[id] ?? []).sorted().map { edges[$0]! }
  }

  /// Edges `id rel *`, sorted by target.
  public func edges(from id: String, _ rel: Relation? = nil) -> [Edge] {
    edges(touching: id).filter { $0.from == id && (rel == nil || $0.rel == rel) }
  }

  /// Edges `* rel id`, sorted by source.
  public func edges(to id: String, _ rel: Relation? = nil) -> [Edge] {
    edges(touching: id).filter { $0.to == id && (rel == nil || $0.rel == rel) }
  }

  // MARK: - Ids

  /// Whether `id` is a well-formed id: `[a-z][a-z0-9_-]*` (SPEC §2).
  public static func isValidID(_ id: String) -> Bool {
    guard let first = id.utf8.first, first >= 0x61, first <= 0x7A, id.utf8.count <= 64 else { return false }
    return id.utf8.allSatisfy { c in
      (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }
  }

  static func checkID(_ id: String) throws(DealError) {
    guard isValidID(id) else {
      throw DealError(
        .invalid, "invalid id '\(id)'",
        hint: "ids start with a lower-case letter, then letters, digits, '_' or '-' (at most 64)",
        subject: .text(id))
    }
  }

  // MARK: - Nodes

  /// Adds a node.
  /// - Throws: if the id is malformed or taken.
  public mutating func add(_ node: Node) throws(DealError) {
    try DealGraph.checkID(node.id)
    if let existing = nodes[node.id] {
      throw DealError(
        .invalid, "id '\(node.id)' is already used by \(existing.kind.article) \(existing.kind.rawValue) (\(existing.type))",
        hint: "ids are unique across the graph; 'set \(node.id) key=value' changes it", subject: .text(node.id))
    }
    nodes[node.id] = node
  }

  /// Replaces the attributes of node `id`.
  public mutating func setAttributes(of id: String, _ attrs: [String: AttrValue]) throws(DealError) {
    guard nodes[id] != nil else { throw DealError.unknownNode(id, in: nodes.keys) }
    nodes[id]!.attrs = attrs
  }

  /// Removes node `id`; with `cascade` also the edges that touch it.
  /// - Throws: if the node is unknown, or edges reference it and `cascade`
  ///   is false.
  @discardableResult
  public mutating func remove(_ id: String, cascade: Bool) throws(DealError) -> [Edge] {
    guard nodes[id] != nil else { throw DealError.unknownNode(id, in: nodes.keys) }
    let touching = edges(touching: id)
    if !touching.isEmpty && !cascade {
      let list = touching.prefix(3).map { "'\($0.key)'" }.joined(separator: ", ")
      let more = touching.count > 3 ? " and \(touching.count - 3) more" : ""
      throw DealError(
        .invalid, "'\(id)' is referenced by \(touching.count) edge\(touching.count == 1 ? "" : "s"): \(list)\(more)",
        hint: "'rm \(id) --cascade' removes the edges too", subject: .text(id))
    }
    for e in touching { unlinkUnchecked(e.key) }
    nodes[id] = nil
    incident[id] = nil
    return touching
  }

  // MARK: - Edges

  /// Adds an edge after checking that its ends exist and have the kinds and
  /// types its relation joins.
  public mutating func link(_ edge: Edge) throws(DealError) {
    let k = edge.key
    guard let a = nodes[k.from] else { throw DealError.unknownNode(k.from, in: nodes.keys) }
    guard let b = nodes[k.to] else { throw DealError.unknownNode(k.to, in: nodes.keys) }
    try DealGraph.checkEnds(k.rel, a, b)
    if k.from == k.to {
      throw DealError(.invalid, "'\(k.rel.rawValue)' cannot join '\(k.from)' to itself", subject: .text(k.to))
    }
    if edges[k] != nil {
      throw DealError(.invalid, "edge '\(k)' already exists", subject: .text(k.rel.rawValue))
    }
    if k.rel == .parentOf, reaches(from: k.to, to: k.from, via: .parentOf) {
      throw DealError(
        .invalid, "'\(k)' would make a cycle of parent-of", hint: "'\(k.to)' already owns '\(k.from)'",
        subject: .text(k.to))
    }
    edges[k] = edge
    incident[k.from, default: []].insert(k)
    incident[k.to, default: []].insert(k)
  }

  /// Checks that `rel` may join `a` to `b`.
  public static func checkEnds(_ rel: Relation, _ a: Node, _ b: Node) throws(DealError) {
    func describe(_ s: (kind: NodeKind, types: [String]?)) -> String {
      s.kind.rawValue + (s.types.map { " (" + $0.joined(separator: "/") + ")" } ?? "")
    }
    func fits(_ n: Node, _ side: (kind: NodeKind, types: [String]?)) -> Bool {
      n.kind == side.kind && (side.types == nil || side.types!.contains(n.type))
    }
    if !fits(a, rel.from) {
      throw DealError(
        .invalid,
        "'\(rel.rawValue)' goes from \(describe(rel.from)), but '\(a.id)' is a \(a.kind.rawValue) (\(a.type))",
        hint: "'\(rel.rawValue)' joins \(rel.signature)", subject: .text(a.id))
    }
    if !fits(b, rel.to) {
      throw DealError(
        .invalid,
        "'\(rel.rawValue)' goes to \(describe(rel.to)), but '\(b.id)' is a \(b.kind.rawValue) (\(b.type))",
        hint: "'\(rel.rawValue)' joins \(rel.signature)", subject: .text(b.id))
    }
  }

  /// Replaces the attributes of an existing edge.
  public mutating func setEdgeAttributes(_ key: EdgeKey, _ attrs: [String: AttrValue]) throws(DealError) {
    guard edges[key] != nil else { throw DealError(.invalid, "no edge '\(key)'", subject: .text(key.rel.rawValue)) }
    edges[key]!.attrs = attrs
  }

  /// Removes edge `key`.
  public mutating func unlink(_ key: EdgeKey) throws(DealError) {
    guard edges[key] != nil else {
      let near = edges(from: key.from).map { $0.key.description }
      throw DealError(
        .invalid, "no edge '\(key)'" + Suggest.clause(for: key.description, in: near),
        hint: near.isEmpty ? nil : "edges from '\(key.from)': " + near.joined(separator: ", "),
        subject: .text(key.rel.rawValue))
    }
    unlinkUnchecked(key)
  }

  private mutating func unlinkUnchecked(_ key: EdgeKey) {
    edges[key] = nil
    incident[key.from]?.remove(key)
    incident[key.to]?.remove(key)
    if incident[key.from]?.isEmpty == true { incident[key.from] = nil }
    if incident[key.to]?.isEmpty == true { incident[key.to] = nil }
  }

  /// Whether following `rel` edges from `start` reaches `target`.
  public func reaches(from start: String, to target: String, via rel: Relation) -> Bool {
    var seen: Set<String> = [start]
    var stack = [start]
    while let n = stack.popLast() {
      if n == target { return true }
      for e in edges(from: n, rel) where seen.insert(e.to).inserted { stack.append(e.to) }
    }
    return false
  }
}

/// The settings of a deal (SPEC §3): start month, horizon, currency, title.
public struct Deal: Equatable, Sendable {
  public var start: Month
  public var horizon: Int
  public var currency: String
  public var title: String

  public init(start: Month, horizon: Int = 60, currency: String = "USD", title: String = "") {
    self.start = start
    self.horizon = horizon
    self.currency = currency
    self.title = title
  }
}
