/// A note attached to a session.
public struct Note: Equatable, Sendable {
  public var text: String
  public var author: String
  public var time: String

  public init(text: String, author: String, time: String) {
    self.text = text
    self.author = author
    self.time = time
  }
}

/// What a command may change: the deal, its graph, notes and named
/// scenarios. A value; the shell's undo stack is a list of them.
public struct Session: Equatable, Sendable {
  public var deal: Deal
  public var graph: DealGraph
  /// Notes in the order written (appends stay cheap however many versions
  /// the undo stack holds).
  public var notes: ChunkedList<Note>
  /// Named scenarios (`shock ... name=NAME`, `scenario save`).
  public var scenarios: [String: Scenario]
  /// The scenario commands run under when none is named (`scenario use`).
  public var activeScenario: String? = nil

  public init(deal: Deal, graph: DealGraph = DealGraph(), notes: [Note] = [], scenarios: [String: Scenario] = [:]) {
    self.init(deal: deal, graph: graph, noteList: ChunkedList(notes), scenarios: scenarios)
  }

  public init(deal: Deal, graph: DealGraph, noteList: ChunkedList<Note>, scenarios: [String: Scenario]) {
    self.deal = deal
    self.graph = graph
    self.notes = noteList
    self.scenarios = scenarios
  }

  /// The value of `key` on node `id`: explicit, else its default.
  public func value(_ id: String, _ key: String, schema: Schema) -> AttrValue? {
    guard let node = graph[id] else { return nil }
    if let v = node.attrs[key] { return v }
    guard let spec = schema.attribute(kind: node.kind, type: node.type, key: key) else { return nil }
    return schema.defaultValue(of: spec, attrs: node.attrs, deal: deal)
  }

  /// A reader of one node's values (explicit, else default) that looks the
  /// node up once: for code that reads many attributes of many nodes.
  public func values(of id: String, schema: Schema) -> NodeValues? {
    guard let node = graph[id] else { return nil }
    return NodeValues(node: node, schema: schema, deal: deal)
  }

  /// All attributes of a node with defaults filled in, in schema order.
  public func effectiveAttributes(of node: Node, schema: Schema) -> [(spec: AttributeSpec, value: AttrValue?, isDefault: Bool)] {
    schema.attributes(kind: node.kind, type: node.type).map { spec in
      if let v = node.attrs[spec.key] { return (spec, v, false) }
      return (spec, schema.defaultValue(of: spec, attrs: node.attrs, deal: deal), true)
    }
  }
}

/// One node's attribute values, explicit or default.
public struct NodeValues {
  public let node: Node
  let schema: Schema
  let deal: Deal

  public subscript(key: String) -> AttrValue? {
    if let v = node.attrs[key] { return v }
    guard let spec = schema.attribute(kind: node.kind, type: node.type, key: key) else { return nil }
    return schema.defaultValue(of: spec, attrs: node.attrs, deal: deal)
  }
}

/// Who wrote a session and when: kept in the file, not part of the content.
public struct SessionMetadata: Equatable, Sendable {
  public var author: String
  public var created: String
  public var modified: String
  public var dealshVersion: String
  public var revision: Int
  /// The `content_hash` the file carried when it was read (nil for a file
  /// written before format version 2). Derived from the content, so it takes
  /// no part in equality.
  public var contentHash: String? = nil

  public static func == (a: SessionMetadata, b: SessionMetadata) -> Bool {
    (a.author, a.created, a.modified, a.dealshVersion, a.revision) == (b.author, b.created, b.modified, b.dealshVersion, b.revision)
  }

  public init(author: String, created: String, modified: String, dealshVersion: String, revision: Int) {
    self.author = author
    self.created = created
    self.modified = modified
    self.dealshVersion = dealshVersion
    self.revision = revision
  }
}

/// Everything a `.deal` file holds.
public struct SessionFile: Equatable, Sendable {
  public var session: Session
  public var journal: [String]
  public var metadata: SessionMetadata

  public init(session: Session, journal: [String], metadata: SessionMetadata) {
    self.session = session
    self.journal = journal
    self.metadata = metadata
  }
}
