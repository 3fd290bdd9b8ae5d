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
  public let from: String
  public let rel: Relation
  public let to: String
  /// The key's hash, computed once: a key is hashed by the edge trie, by
  /// both ends' incident sets and while a file is read.
  private let hash: Int

  public init(from: String, rel: Relation, to: String) {
    self.from = from
    self.rel = rel
    self.to = to
    var h = Hasher()
    h.combine(from)
    h.combine(rel)
    h.combine(to)
    hash = h.finalize()
  }

  public static func == (a: EdgeKey, b: EdgeKey) -> Bool {
    a.hash == b.hash && a.rel == b.rel && a.from == b.from && a.to == b.to
  }

  public func hash(into h: inout Hasher) { h.combine(hash) }

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
  private var incident: TreeDictionary<String, IncidentEdges> = [:]

  public init() {}

  /// Graphs are equal when their nodes and edges are (the index follows).
  public static func == (a: DealGraph, b: DealGraph) -> Bool { a.nodes == b.nodes && a.edges == b.edges }

  /// Builds a graph in one pass from nodes and edges already checked one by
  /// one (ids valid and unique, edge ends present with the kinds their
  /// relation joins, no duplicate edge, no self-loop); faster than adding
  /// them one at a time. Checks the rule that needs the whole graph: no
  /// cycle of `parent-of`.
  init(checkedNodes: [Node], edges: [Edge]) throws(DealError) {
    // The tries are independent: build them on both cores.
    final class Parts: @unchecked Sendable {
      var nodes: TreeDictionary<String, Node> = [:]
      var edges = EdgeIndex()
    }
    let parts = Parts()
    DispatchQueue.concurrentPerform(iterations: 2) { part in
      if part == 0 {
        parts.nodes = TreeDictionary(uniqueKeysWithValues: checkedNodes.lazy.map { ($0.id, $0) })
      } else {
        parts.edges = EdgeIndex(edges)
      }
    }
    try self.init(nodes: parts.nodes, edges: parts.edges)
  }

  /// The edges of a graph with their index by node, built from a list of
  /// distinct edges (while the nodes are still being read, say).
  struct EdgeIndex {
    var list: [Edge] = []
    var byKey: TreeDictionary<EdgeKey, Edge> = [:]
    var incident: TreeDictionary<String, IncidentEdges> = [:]

    init() {}

    init(_ edges: [Edge]) {
      self.init(list: edges, byKey: Self.byKey(edges), incident: Self.incident(edges))
    }

    /// The parts, built apart (on two threads, say).
    init(list: [Edge], byKey: TreeDictionary<EdgeKey, Edge>, incident: TreeDictionary<String, IncidentEdges>) {
      self.list = list
      self.byKey = byKey
      self.incident = incident
    }

    static func byKey(_ edges: [Edge]) -> TreeDictionary<EdgeKey, Edge> {
      TreeDictionary(uniqueKeysWithValues: edges.lazy.map { ($0.key, $0) })
    }

    static func incident(_ edges: [Edge]) -> TreeDictionary<String, IncidentEdges> {
      var inc: [String: [EdgeKey]] = [:]
      for e in edges {
        inc[e.from, default: []].append(e.key)
        inc[e.to, default: []].append(e.key)
      }
      return TreeDictionary(uniqueKeysWithValues: inc.lazy.map { ($0.key, IncidentEdges($0.value)) })
    }
  }

  /// A graph of nodes and edges checked one by one, whose ends are known to
  /// exist with the kinds their relation joins. Checks the rule that needs
  /// the whole graph: no cycle of `parent-of`.
  init(nodes: TreeDictionary<String, Node>, edges index: EdgeIndex) throws(DealError) {
    self.nodes = nodes
    edges = index.byKey
    incident = index.incident
    // One depth-first pass finds whether parent-of has a cycle; only then
    // is the edge that closes it looked for, edge by edge, to name it.
    guard DealGraph.hasCycle(index.list.lazy.filter { $0.rel == .parentOf }.map(\.key)) else { return }
    for e in index.list where e.rel == .parentOf {
      if reaches(from: e.to, to: e.from, via: .parentOf) {
        throw DealError(.invalid, "'\(e.key)' makes a cycle of parent-of")
      }
    }
  }

  /// Whether the directed edges `from → to` contain a cycle (iterative
  /// depth-first search with three colours; linear in nodes and edges).
  static func hasCycle(_ keys: some Sequence<EdgeKey>) -> Bool {
    var next: [String: [String]] = [:]
    for k in keys { next[k.from, default: []].append(k.to) }
    var state: [String: Bool] = [:]  // false: on the current path; true: done
    for root in next.keys where state[root] == nil {
      var stack: [(node: String, child: Int)] = [(root, 0)]
      state[root] = false
      while let top = stack.last {
        let children = next[top.node] ?? []
        if top.child == children.count {
          state[top.node] = true
          stack.removeLast()
          continue
        }
        stack[stack.count - 1].child += 1
        let c = children[top.child]
        switch state[c] {
        case nil:
          state[c] = false
          stack.append((c, 0))
        case false?: return true
        case true?: break
        }
      }
    }
    return false
  }

  public var nodeCount: Int { nodes.count }
  public var edgeCount: Int { edges.count }

  public subscript(id: String) -> Node? { nodes[id] }

  /// Node ids in sorted order.
  public var sortedIDs: [String] { sortedNodes.map(\.id) }

  /// Nodes sorted by id.
  public var sortedNodes: [Node] {
    var list: [Node] = []
    list.reserveCapacity(nodes.count)
    var order: [SortKey] = []
    order.reserveCapacity(nodes.count)
    for (id, n) in nodes {
      order.append(SortKey(id, index: list.count))
      list.append(n)
    }
    order.sort { a, b in
      if a.key != b.key { return a.key < b.key }
      return !(a.exact && b.exact) && list[a.index].id < list[b.index].id
    }
    return order.map { list[$0.index] }
  }

  /// Edges sorted by (from, relation, to).
  public var sortedEdges: [Edge] {
    var list: [Edge] = []
    list.reserveCapacity(edges.count)
    var order: [(from: SortKey, rel: Int, to: SortKey)] = []
    order.reserveCapacity(edges.count)
    for (k, e) in edges {
      order.append((SortKey(k.from, index: list.count), k.rel.sortIndex, SortKey(k.to, index: list.count)))
      list.append(e)
    }
    order.sort { a, b in
      if a.from.key != b.from.key { return a.from.key < b.from.key }
      if !(a.from.exact && b.from.exact) {
        let x = list[a.from.index].from, y = list[b.from.index].from
        if x != y { return x < y }
      }
      if a.rel != b.rel { return a.rel < b.rel }
      if a.to.key != b.to.key { return a.to.key < b.to.key }
      return !(a.to.exact && b.to.exact) && list[a.to.index].to < list[b.to.index].to
    }
    return order.map { list[$0.from.index] }
  }

  /// An id's first 8 bytes as a big-endian integer, zero-padded, with the
  /// item's place in a list. Ids are ASCII, so they sort as their bytes:
  /// two keys decide between their ids unless they are equal and an id is
  /// longer than 8 bytes (not `exact`). Sorting these moves no strings.
  struct SortKey {
    var key: UInt64 = 0
    var exact = true
    var index: Int

    init(_ id: String, index: Int) {
      self.index = index
      var n = 0
      for b in id.utf8 {
        if n == 8 { exact = false; return }
        key = key << 8 | UInt64(b)
        n += 1
      }
      key <<= UInt64(8 * (8 - n))
    }
  }

  /// Edges that start or end at `id`, sorted.
  public func edges(touching id: String) -> [Edge] {
    (incident[id]?.keys ?? []).sorted().map { edges[$0]! }
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
    if nodes.count >= SessionLimits.maxNodes {
      throw DealError(.invalid, "the graph has \(nodes.count) nodes, the most a session file holds", subject: .text(node.id))
    }
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
    if edgeCount >= SessionLimits.maxEdges {
      throw DealError(.invalid, "the graph has \(edgeCount) edges, the most a session file holds")
    }
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
    if k.rel == .pledgedTo { try checkLien(k.from, Int(edge.attrs["lien"]?.number ?? 1), for: k) }
    edges[k] = edge
    incident[k.from, default: IncidentEdges()].insert(k)
    incident[k.to, default: IncidentEdges()].insert(k)
  }

  /// An asset gives each lien to one facility: `lien` must be free on
  /// `asset` (other than through `key` itself).
  func checkLien(_ asset: String, _ lien: Int, for key: EdgeKey) throws(DealError) {
    let holders = edges(from: asset, .pledgedTo).filter { $0.key != key && Int($0.attrs["lien"]?.number ?? 1) == lien }
    guard let holder = holders.first else { return }
    let taken = Set(edges(from: asset, .pledgedTo).filter { $0.key != key }.map { Int($0.attrs["lien"]?.number ?? 1) })
    let free = (1...9).first { !taken.contains($0) } ?? 9
    throw DealError(
      .invalid, "'\(asset)' already gives lien \(lien) to '\(holder.to)'",
      hint: "'link \(asset) pledged-to \(key.to) lien=\(free)' ranks it behind; 'unlink \(asset) pledged-to \(holder.to)' frees lien \(lien)",
      subject: .text(key.to))
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
    if key.rel == .pledgedTo { try checkLien(key.from, Int(attrs["lien"]?.number ?? 1), for: key) }
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

/// The keys of the edges at one node: a small array for the usual handful,
/// a persistent set for a hub (a sponsor with thousands of subsidiaries),
/// so that an edit copies little either way and a graph read from a file
/// need not hash every key twice more to index it.
struct IncidentEdges: Sendable {
  private var small: [EdgeKey] = []
  private var large: TreeSet<EdgeKey>?
  /// Above this many keys the array becomes a set.
  static let smallLimit = 32

  init() {}

  /// Keys known to be distinct.
  init(_ keys: [EdgeKey]) {
    if keys.count > Self.smallLimit { large = TreeSet(keys) } else { small = keys }
  }

  var isEmpty: Bool { large?.isEmpty ?? small.isEmpty }
  var count: Int { large?.count ?? small.count }

  /// In no particular order.
  var keys: [EdgeKey] { large.map(Array.init) ?? small }

  /// Adds a key not yet present.
  mutating func insert(_ k: EdgeKey) {
    if large != nil {
      large!.insert(k)
    } else {
      small.append(k)
      if small.count > Self.smallLimit {
        large = TreeSet(small)
        small = []
      }
    }
  }

  mutating func remove(_ k: EdgeKey) {
    if large != nil {
      large!.remove(k)
    } else if let i = small.firstIndex(of: k) {
      small.remove(at: i)
    }
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
