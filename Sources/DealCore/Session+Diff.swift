/// A graph-level difference between two sessions (SPEC §4 `diff`).
public struct SessionDiff: Sendable {
  public struct Change: Sendable, Equatable {
    public var key: String
    public var from: AttrValue?
    public var to: AttrValue?
  }

  public var deal: [(key: String, from: String, to: String)] = []
  public var addedNodes: [Node] = []
  public var removedNodes: [Node] = []
  public var changedNodes: [(id: String, changes: [Change])] = []
  public var addedEdges: [Edge] = []
  public var removedEdges: [Edge] = []
  public var changedEdges: [(key: EdgeKey, changes: [Change])] = []
  public var addedScenarios: [String] = []
  public var removedScenarios: [String] = []
  public var changedScenarios: [String] = []
  public var notesAdded = 0
  public var notesRemoved = 0

  public var isEmpty: Bool {
    deal.isEmpty && addedNodes.isEmpty && removedNodes.isEmpty && changedNodes.isEmpty && addedEdges.isEmpty
      && removedEdges.isEmpty && changedEdges.isEmpty && addedScenarios.isEmpty && removedScenarios.isEmpty
      && changedScenarios.isEmpty && notesAdded == 0 && notesRemoved == 0
  }

  static func attributeChanges(_ a: [String: AttrValue], _ b: [String: AttrValue]) -> [Change] {
    Set(a.keys).union(b.keys).sorted().compactMap { k in a[k] == b[k] ? nil : Change(key: k, from: a[k], to: b[k]) }
  }

  /// What changed from `a` to `b`.
  public init(from a: Session, to b: Session) {
    let da = a.deal, db = b.deal
    if da.title != db.title { deal.append(("title", da.title, db.title)) }
    if da.start != db.start { deal.append(("start", da.start.description, db.start.description)) }
    if da.horizon != db.horizon { deal.append(("horizon", "\(da.horizon)", "\(db.horizon)")) }
    if da.currency != db.currency { deal.append(("currency", da.currency, db.currency)) }
    if a.activeScenario != b.activeScenario {
      deal.append(("active scenario", a.activeScenario ?? "base", b.activeScenario ?? "base"))
    }
    for id in Set(a.graph.nodes.keys).union(b.graph.nodes.keys).sorted() {
      switch (a.graph[id], b.graph[id]) {
      case (nil, let n?): addedNodes.append(n)
      case (let n?, nil): removedNodes.append(n)
      case (let x?, let y?):
        if x.kind != y.kind || x.type != y.type {
          removedNodes.append(x)
          addedNodes.append(y)
        } else if x.attrs != y.attrs {
          changedNodes.append((id, SessionDiff.attributeChanges(x.attrs, y.attrs)))
        }
      default: break
      }
    }
    for k in Set(a.graph.edges.keys).union(b.graph.edges.keys).sorted() {
      switch (a.graph.edges[k], b.graph.edges[k]) {
      case (nil, let e?): addedEdges.append(e)
      case (let e?, nil): removedEdges.append(e)
      case (let x?, let y?) where x.attrs != y.attrs: changedEdges.append((k, SessionDiff.attributeChanges(x.attrs, y.attrs)))
      default: break
      }
    }
    for name in Set(a.scenarios.keys).union(b.scenarios.keys).sorted() {
      switch (a.scenarios[name], b.scenarios[name]) {
      case (nil, _?): addedScenarios.append(name)
      case (_?, nil): removedScenarios.append(name)
      case (let x?, let y?) where x != y: changedScenarios.append(name)
      default: break
      }
    }
    // Notes are appended over time: count what one has beyond the other.
    let common = zip(a.notes, b.notes).prefix { $0 == $1 }.count
    notesRemoved = a.notes.count - common
    notesAdded = b.notes.count - common
  }
}
