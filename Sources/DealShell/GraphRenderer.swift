import DealCore

/// Draws the deal graph as a tree for the terminal or as Graphviz dot.
enum GraphRenderer {
  /// A tree from the top entities down their outgoing edges; a node reached
  /// a second time is named, not expanded again.
  static func tree(_ s: Session, _ schema: Schema) -> String {
    let g = s.graph
    var out: [String] = []
    let title = s.deal.title.isEmpty ? "untitled deal" : "\"\(s.deal.title)\""
    out.append("\(title) · start \(s.deal.start) · horizon \(s.deal.horizon) months · \(g.nodeCount) nodes, \(g.edgeCount) edges")
    guard g.nodeCount > 0 else { return out.joined(separator: "\n") + "\n(empty graph)" }
    var expanded: Set<String> = []

    func label(_ id: String) -> String {
      guard let n = g[id] else { return id }
      let sum = GraphCommands.summary(n, s, schema)
      return "\(id) [\(n.kind.rawValue) \(n.type)]" + (sum.isEmpty ? "" : " \(sum)")
    }
    func children(_ id: String) -> [Edge] {
      g.edges(from: id).sorted { ($0.rel.order, $0.to) < ($1.rel.order, $1.to) }
    }
    func walk(_ id: String, _ prefix: String) {
      let kids = children(id)
      for (i, e) in kids.enumerated() {
        let last = i == kids.count - 1
        let lien = e.attrs["lien"].map { " (lien \(Int($0.number ?? 1)))" } ?? ""
        let seen = expanded.contains(e.to)
        out.append(prefix + (last ? "└─ " : "├─ ") + e.rel.rawValue + lien + " " + (seen ? "\(e.to) (see above)" : label(e.to)))
        if !seen {
          expanded.insert(e.to)
          walk(e.to, prefix + (last ? "   " : "│  "))
        }
      }
    }
    // Borrowers and owners first, tenants and lenders last.
    let rank = ["sponsor": 0, "miner": 1, "neocloud": 1, "spv": 2, "guarantor": 3, "lender": 4, "tenant": 5]
    let roots = g.sortedNodes.filter { $0.kind == .entity && g.edges(to: $0.id, .parentOf).isEmpty }
      .sorted { (rank[$0.type] ?? 9, $0.id) < (rank[$1.type] ?? 9, $1.id) }.map(\.id)
    for r in roots where !expanded.contains(r) {
      expanded.insert(r)
      out.append(label(r))
      walk(r, "")
    }
    // Anything not reachable from an entity.
    for n in g.sortedNodes where !expanded.contains(n.id) && g.edges(to: n.id).allSatisfy({ !expanded.contains($0.from) }) {
      expanded.insert(n.id)
      out.append(label(n.id))
      walk(n.id, "")
    }
    for n in g.sortedNodes where !expanded.contains(n.id) {
      expanded.insert(n.id)
      out.append(label(n.id))
      walk(n.id, "")
    }
    return out.joined(separator: "\n")
  }

  static func dot(_ s: Session, _ schema: Schema) -> String {
    func q(_ x: String) -> String {
      "\"" + x.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
    var out = ["digraph deal {", "  rankdir=LR;", "  node [fontname=\"Helvetica\", fontsize=10];"]
    if !s.deal.title.isEmpty { out.append("  label=\(q(s.deal.title));") }
    for n in s.graph.sortedNodes {
      let shape: String
      switch n.kind {
      case .entity: shape = "box, style=rounded"
      case .asset: shape = "cylinder"
      case .contract: shape = "note"
      case .facility: shape = "box, style=filled, fillcolor=\"#eeeeee\""
      }
      out.append("  \(q(n.id)) [shape=\(shape), label=\(q(n.id + "\n" + n.type))];")
    }
    for e in s.graph.sortedEdges {
      let lien = e.attrs["lien"].map { " \(Int($0.number ?? 1))" } ?? ""
      let style = e.rel == .crossDefault ? ", style=dashed, color=red" : ""
      out.append("  \(q(e.from)) -> \(q(e.to)) [label=\(q(e.rel.rawValue + lien))\(style)];")
    }
    out.append("}")
    return out.joined(separator: "\n")
  }
}

extension Relation {
  /// Order of children in the tree: structure first, then money.
  var order: Int {
    switch self {
    case .parentOf: 0
    case .owns: 1
    case .hostedAt: 2
    case .rents: 3
    case .covers: 4
    case .borrows: 5
    case .guarantees: 6
    case .pledgedTo: 7
    case .crossDefault: 8
    }
  }
}
