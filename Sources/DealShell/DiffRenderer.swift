import DealCore

/// How `diff` reads: one line per change, `+` added, `-` removed, `~` changed.
enum DiffRenderer {
  static func show(_ v: AttrValue?, _ node: Node?, _ key: String, _ schema: Schema, deal: Deal? = nil) -> String {
    guard let v else {
      // An unset attribute reads as its default, when it has one.
      if let node, let deal, let spec = schema.attribute(kind: node.kind, type: node.type, key: key),
        let d = schema.defaultValue(of: spec, attrs: node.attrs, deal: deal)
      {
        return "(default \(spec.type.display(d)))"
      }
      return "(unset)"
    }
    if let node, let spec = schema.attribute(kind: node.kind, type: node.type, key: key) { return spec.type.display(v) }
    switch v {
    case .number(let x): return Format.plain(x)
    case .bool(let b): return b ? "true" : "false"
    case .date(let d): return d.description
    case .text(let t): return t
    }
  }

  static func attrs(_ n: Node, _ schema: Schema) -> String {
    n.attrs.keys.sorted().map { "\($0)=\(show(n.attrs[$0], n, $0, schema))" }.joined(separator: " ")
  }

  static func text(_ d: SessionDiff, before: Session, after: Session, names: (String, String), schema: Schema) -> String {
    guard !d.isEmpty else { return "no differences between \(names.0) and \(names.1)" }
    var out = ["--- \(names.0)", "+++ \(names.1)"]
    for c in d.deal { out.append("~ deal \(c.key): \(c.from) → \(c.to)") }
    func line(_ sign: String, _ n: Node) -> String {
      let a = attrs(n, schema)
      return "\(sign) node \(n.id) (\(n.kind.rawValue) \(n.type))" + (a.isEmpty ? "" : " " + a)
    }
    for n in d.removedNodes { out.append(line("-", n)) }
    for n in d.addedNodes { out.append(line("+", n)) }
    for (id, changes) in d.changedNodes {
      let old = before.graph[id], new = after.graph[id]
      let parts = changes.map {
        "\($0.key) \(show($0.from, old, $0.key, schema, deal: before.deal)) → \(show($0.to, new, $0.key, schema, deal: after.deal))"
      }
      out.append("~ node \(id): " + parts.joined(separator: ", "))
    }
    func lien(_ e: Edge) -> String { e.attrs["lien"].map { " (lien \(Format.plain($0.number ?? 1)))" } ?? "" }
    for e in d.removedEdges { out.append("- edge \(e.key)\(lien(e))") }
    for e in d.addedEdges { out.append("+ edge \(e.key)\(lien(e))") }
    for (k, changes) in d.changedEdges {
      out.append("~ edge \(k): " + changes.map { "\($0.key) \(show($0.from, nil, $0.key, schema)) → \(show($0.to, nil, $0.key, schema))" }.joined(separator: ", "))
    }
    for s in d.removedScenarios { out.append("- scenario \(s) (\((before.scenarios[s] ?? .base).description))") }
    for s in d.addedScenarios { out.append("+ scenario \(s) (\((after.scenarios[s] ?? .base).description))") }
    for s in d.changedScenarios {
      out.append("~ scenario \(s): \((before.scenarios[s] ?? .base).description) → \((after.scenarios[s] ?? .base).description)")
    }
    if d.notesRemoved > 0 { out.append("- \(d.notesRemoved) note\(d.notesRemoved == 1 ? "" : "s")") }
    if d.notesAdded > 0 { out.append("+ \(d.notesAdded) note\(d.notesAdded == 1 ? "" : "s")") }
    return out.joined(separator: "\n")
  }

  static func json(_ d: SessionDiff) -> JSONValue {
    func change(_ c: SessionDiff.Change) -> JSONValue { ["from": c.from?.json ?? .null, "to": c.to?.json ?? .null] }
    func node(_ n: Node) -> JSONValue {
      ["id": .string(n.id), "kind": .string(n.kind.rawValue), "type": .string(n.type), "attrs": .object(n.attrs.mapValues(\.json))]
    }
    func edge(_ e: Edge) -> JSONValue {
      var o: [String: JSONValue] = ["from": .string(e.from), "rel": .string(e.rel.rawValue), "to": .string(e.to)]
      if !e.attrs.isEmpty { o["attrs"] = .object(e.attrs.mapValues(\.json)) }
      return .object(o)
    }
    return [
      "identical": .bool(d.isEmpty),
      "deal": .object(Dictionary(d.deal.map { ($0.key, JSONValue.object(["from": .string($0.from), "to": .string($0.to)])) }, uniquingKeysWith: { a, _ in a })),
      "nodes": [
        "added": .array(d.addedNodes.map(node)), "removed": .array(d.removedNodes.map(node)),
        "changed": .array(d.changedNodes.map { ["id": .string($0.id), "attrs": .object(Dictionary($0.changes.map { ($0.key, change($0)) }, uniquingKeysWith: { a, _ in a }))] }),
      ],
      "edges": [
        "added": .array(d.addedEdges.map(edge)), "removed": .array(d.removedEdges.map(edge)),
        "changed": .array(d.changedEdges.map { ["from": .string($0.key.from), "rel": .string($0.key.rel.rawValue), "to": .string($0.key.to), "attrs": .object(Dictionary($0.changes.map { ($0.key, change($0)) }, uniquingKeysWith: { a, _ in a }))] }),
      ],
      "scenarios": ["added": .array(d.addedScenarios.map { .string($0) }), "removed": .array(d.removedScenarios.map { .string($0) }), "changed": .array(d.changedScenarios.map { .string($0) })],
      "notes": ["added": .number(Double(d.notesAdded)), "removed": .number(Double(d.notesRemoved))],
    ]
  }
}

extension Shell {
  /// `dealsh diff --git`: the graph diff of two versions of a `.deal` file,
  /// for git (`/dev/null` stands for a missing side).
  func gitDiff(path: String, old: String, new: String) -> Int32 {
    func load(_ p: String) -> Session? {
      if p == "/dev/null" { return Session(deal: Deal(start: environment.currentMonth)) }
      return try? readSession(p).0.session
    }
    guard let a = load(old), let b = load(new) else {
      io.err("dealsh: \(path): not a readable dealsh session on one side")
      return 1
    }
    let d = SessionDiff(from: a, to: b)
    io.out("diff --git a/\(path) b/\(path)")
    io.out(DiffRenderer.text(d, before: a, after: b, names: ("a/" + path, "b/" + path), schema: schema))
    return 0
  }
}
