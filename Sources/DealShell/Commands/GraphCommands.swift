import DealCore
import DealPluginAPI

/// The commands that build and inspect the deal graph (SPEC §3).
enum GraphCommands {
  static var all: [CommandSpec] { [deal, add, set, unset, rm, link, unlink, ls, show, graph] }

  // MARK: deal

  static let deal = CommandSpec(
    name: "deal", abstract: "show or change the deal's settings",
    usage: "deal [start=YYYY-MM] [horizon=MONTHS] [title=TEXT] [currency=USD]",
    discussion: "Months are counted from the start month: month 1 is the start month itself.",
    examples: ["deal", "deal start=2025-01 horizon=120 title=\"Neocloud ABL\""],
    options: [
      OptionSpec("start", "YYYY-MM", help: "first month of the deal (month 1)"),
      OptionSpec("horizon", "MONTHS", help: "months to model (default 60)"),
      OptionSpec("title", "TEXT", help: "the deal's title"),
      OptionSpec("currency", "USD", help: "the currency (USD only)", completion: .values(["USD"])),
    ],
    effects: .changes
  ) { inv, ctx in
    try inv.noExtraPositionals(after: 0, usage: "deal [key=value ...]")
    if !inv.options.isEmpty {
      var d = ctx.session.deal
      for (key, value, _) in inv.options {
        switch key {
        case "start":
          guard let date = CalendarDate(parsing: value), date.day == nil else {
            throw DealError(.invalid, "invalid value '\(value)' for 'start': expected a month like 2025-01", subject: .value(key))
          }
          d.start = date.month
        case "horizon":
          let v = try ValueType.number(NumberSpec(.months, min: 1, max: 600, integer: true)).parse(value, key: key)
          d.horizon = Int(v.number!)
        case "title":
          try SessionLimits.checkText(value, "the title")
          d.title = value
        default:
          guard value.uppercased() == "USD" else {
            throw DealError(.invalid, "unsupported currency '\(value)'", hint: "dealsh models USD deals", subject: .value(key))
          }
        }
      }
      ctx.modify { $0.deal = d }
    }
    let d = ctx.session.deal
    let json: JSONValue = [
      "start": .string(d.start.description), "horizon": .number(Double(d.horizon)),
      "currency": .string(d.currency), "title": .string(d.title),
      "end": .string((d.start + (d.horizon - 1)).description),
      "nodes": .number(Double(ctx.session.graph.nodeCount)), "edges": .number(Double(ctx.session.graph.edgeCount)),
    ]
    let text = """
      title    \(d.title.isEmpty ? "(none)" : d.title)
      start    \(d.start)  (month 1)
      horizon  \(d.horizon) months (to \(d.start + (d.horizon - 1)))
      currency \(d.currency)
      graph    \(ctx.session.graph.nodeCount) nodes, \(ctx.session.graph.edgeCount) edges
      """
    return CommandOutput(text: text, json: json)
  }

  // MARK: add

  static let add = CommandSpec(
    name: "add", abstract: "add a node (entity, asset, contract, facility) to the deal",
    usage: "add KIND ID type=TYPE [key=value ...]",
    discussion: """
      KIND is entity, asset, contract or facility; a type name may stand for its kind
      ('add gpu fleet ...'). 'help KIND' or 'help TYPE' lists the attributes and defaults.
      Shorthands create an edge with the node: owner=, site=, pledged_to= (assets),
      tenant=, fleet= (leases), borrower=, guarantor= (facilities), parent= (entities).
      """,
    examples: [
      "add entity neo type=neocloud name=\"Neocloud Inc\"",
      "add asset fleet type=gpu model=H100 units=16384 unit_cost=30000 owner=neo",
      "add contract lease2 type=lease rate=1.90 term=24 start=2028-01 tenant=hyper fleet=fleet",
      "add facility ddtl type=term amount=$400m rate=11% term=48 borrower=neo",
    ],
    arguments: [ArgumentSpec("KIND", .kinds), ArgumentSpec("ID")],
    acceptsAnyKey: true, effects: .changes,
    complete: { req in completeAttributes(req, forAdd: true) }
  ) { inv, ctx in
    let usage = "add KIND ID type=TYPE [key=value ...]"
    let kindWord = try inv.positional(0, "KIND (entity, asset, contract or facility)", usage: usage)
    let id = try inv.positional(1, "ID", usage: usage)
    try inv.noExtraPositionals(after: 2, usage: usage)
    let schema = ctx.schema
    var kind = NodeKind(rawValue: kindWord)
    var type = inv.option("type")
    if kind == nil, let k = schema.types.first(where: { $0.value.contains(kindWord) })?.key {
      kind = k
      if let t = type, t != kindWord {
        throw DealError(.invalid, "'\(kindWord)' is a type, but type=\(t) was given", subject: .key("type"))
      }
      type = kindWord
    }
    guard let kind else {
      let names = NodeKind.allCases.map(\.rawValue) + schema.types.values.flatMap { $0 }
      let error = DealError.unknownName("kind", kindWord, valid: NodeKind.allCases.map(\.rawValue), subject: .word(inv.positionalIndices[0]))
      // A type name that is close ('gpuu') is a better hint than the kinds.
      throw error.message.contains("did you mean") ? error : error.withHint(Suggest.closest(to: kindWord, in: names).map { "did you mean '\($0)'?" })
    }
    let types = schema.types[kind] ?? []
    if type == nil, types.count == 1 { type = types[0] }
    guard let type else {
      throw DealError.usage(
        "missing type=TYPE for \(kind.rawValue) '\(id)'",
        hint: "\(kind.rawValue) types: " + types.joined(separator: ", "), subject: .word(inv.positionalIndices[1]))
    }
    guard types.contains(type) else {
      throw DealError.unknownName("\(kind.rawValue) type", type, valid: types, subject: .value("type"))
    }
    let specs = schema.attributes(kind: kind, type: type)
    let shorthands = schema.shorthands[kind] ?? []
    var attrs: [String: AttrValue] = [:]
    var links: [(Shorthand, String)] = []
    for (key, value, _) in inv.options where key != "type" {
      if let sh = shorthands.first(where: { $0.key == key }) {
        links.append((sh, value))
        continue
      }
      attrs[key] = try parseAttribute(key, value, specs: specs, extra: shorthands.map(\.key), what: "\(kind.rawValue) (\(type))")
    }
    let node = Node(id: id, kind: kind, type: type, attrs: attrs)
    var created: [Edge] = []
    try ctx.modify { s in
      try s.graph.add(node)
      for (sh, other) in links {
        let key = sh.newNodeIsFrom
          ? EdgeKey(from: id, rel: sh.relation, to: other) : EdgeKey(from: other, rel: sh.relation, to: id)
        do { try s.graph.link(Edge(key)) } catch let e as DealError { throw e.about(.key(sh.key)) }
        created.append(Edge(key))
      }
    }
    var text = "added \(kind.rawValue) '\(id)' (\(type))"
    for e in created { text += "\n  linked \(e.key)" }
    return CommandOutput(
      text: text,
      json: ["added": nodeJSON(node), "edges": .array(created.map(edgeJSON))])
  }

  // MARK: set / unset

  static let set = CommandSpec(
    name: "set", abstract: "change attributes of a node",
    usage: "set ID key=value [key=value ...]",
    examples: ["set fleet units=20000 life=48", "set ddtl rate=10.5% min_dscr=1.25x"],
    arguments: [ArgumentSpec("ID", .nodeIDs(nil))], acceptsAnyKey: true, effects: .changes,
    complete: { req in completeAttributes(req, forAdd: false) }
  ) { inv, ctx in
    let usage = "set ID key=value [key=value ...]"
    let id = try inv.positional(0, "ID", usage: usage)
    try inv.noExtraPositionals(after: 1, usage: usage)
    guard let node = ctx.session.graph[id] else { throw DealError.unknownNode(id, in: ctx.session.graph.nodes.keys) }
    guard !inv.options.isEmpty else { throw DealError.usage("nothing to set", hint: "usage: \(usage)", subject: .word(0)) }
    let specs = ctx.schema.attributes(kind: node.kind, type: node.type)
    var attrs = node.attrs
    var changes: [String] = []
    for (key, value, _) in inv.options {
      if key == "type" || key == "kind" {
        throw DealError(.invalid, "the \(key) of '\(id)' cannot change", hint: "'rm \(id)' and add it again", subject: .key(key))
      }
      let v = try parseAttribute(key, value, specs: specs, extra: [], what: "\(node.kind.rawValue) (\(node.type))")
      attrs[key] = v
      let spec = specs.first { $0.key == key }!
      changes.append("\(key)=\(spec.type.display(v))")
    }
    try ctx.modify { try $0.graph.setAttributes(of: id, attrs) }
    let (s, schema) = (ctx.session, ctx.schema)
    return CommandOutput(text: "set \(id): " + changes.joined(separator: ", "), json: showJSON(s.graph[id]!, s, schema))
  }

  static let unset = CommandSpec(
    name: "unset", abstract: "remove attributes of a node (back to their defaults)",
    usage: "unset ID KEY [KEY ...]", examples: ["unset fleet life"],
    arguments: [ArgumentSpec("ID", .nodeIDs(nil)), ArgumentSpec("KEY", repeats: true)], effects: .changes,
    complete: { req in
      guard req.previous.count >= 2, let node = req.session.graph[req.previous[1].text] else { return nil }
      return node.attrs.keys.sorted()
    }
  ) { inv, ctx in
    let usage = "unset ID KEY [KEY ...]"
    let id = try inv.positional(0, "ID", usage: usage)
    _ = try inv.positional(1, "KEY", usage: usage)
    guard let node = ctx.session.graph[id] else { throw DealError.unknownNode(id, in: ctx.session.graph.nodes.keys) }
    let specs = ctx.schema.attributes(kind: node.kind, type: node.type)
    var attrs = node.attrs
    var removed: [String] = []
    for (n, key) in inv.positionals.enumerated().dropFirst() {
      guard specs.contains(where: { $0.key == key }) else {
        let near = Suggest.closest(to: key, in: specs.map(\.key))
        throw DealError(
          .invalid, "unknown key '\(key)' for \(node.kind.rawValue) (\(node.type))" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
          hint: "keys: " + specs.map(\.key).joined(separator: ", "), subject: .word(inv.positionalIndices[n]))
      }
      guard attrs.removeValue(forKey: key) != nil else {
        throw DealError(.invalid, "'\(key)' of '\(id)' is not set", subject: .word(inv.positionalIndices[n]))
      }
      removed.append(key)
    }
    try ctx.modify { try $0.graph.setAttributes(of: id, attrs) }
    let (s, schema) = (ctx.session, ctx.schema)
    return CommandOutput(text: "unset \(id): " + removed.joined(separator: ", "), json: showJSON(s.graph[id]!, s, schema))
  }

  // MARK: rm

  static let rm = CommandSpec(
    name: "rm", abstract: "remove nodes (refused while edges reference them, unless --cascade)",
    usage: "rm ID [ID ...] [--cascade]", examples: ["rm lease1 --cascade", "rm fleet --cascade"],
    arguments: [ArgumentSpec("ID", .nodeIDs(nil), repeats: true)],
    flags: [FlagSpec("cascade", help: "also remove the edges that reference the nodes")], effects: .changes
  ) { inv, ctx in
    _ = try inv.positional(0, "ID", usage: "rm ID [ID ...] [--cascade]")
    var lines: [String] = []
    var removed: [JSONValue] = []
    try ctx.modify { s in
      for (n, id) in inv.positionals.enumerated() {
        guard let node = s.graph[id] else {
          throw DealError.unknownNode(id, in: s.graph.nodes.keys, subject: .word(inv.positionalIndices[n]))
        }
        let edges = try s.graph.remove(id, cascade: inv.has("cascade"))
        lines.append("removed \(node.kind.rawValue) '\(id)' (\(node.type))" + (edges.isEmpty ? "" : " and \(edges.count) edge\(edges.count == 1 ? "" : "s")"))
        removed.append(["id": .string(id), "edges_removed": .array(edges.map(edgeJSON))])
      }
    }
    return CommandOutput(text: lines.joined(separator: "\n"), json: ["removed": .array(removed)])
  }

  // MARK: link / unlink

  static let relationNames = Relation.allCases.map(\.rawValue)

  static let link = CommandSpec(
    name: "link", abstract: "add an edge: FROM RELATION TO",
    usage: "link FROM RELATION TO [lien=N]",
    discussion: "Relations: " + Relation.allCases.map { "\($0.rawValue) (\($0.signature))" }.joined(separator: ", ") + ".",
    examples: ["link treasury pledged-to btcloan lien=1", "link dev guarantees senior", "link gpuloan cross-default btcloan"],
    arguments: [ArgumentSpec("FROM", .nodeIDs(nil)), ArgumentSpec("RELATION", .relations), ArgumentSpec("TO", .nodeIDs(nil))],
    options: [OptionSpec("lien", "N", help: "lien order of a pledge (1 = first)")], effects: .changes
  ) { inv, ctx in
    let key = try edgeKey(inv, ctx.session.graph, usage: "link FROM RELATION TO [lien=N]")
    var attrs: [String: AttrValue] = [:]
    let specs = ctx.schema.edgeAttributes[key.rel] ?? []
    for (k, v, _) in inv.options {
      guard let spec = specs.first(where: { $0.key == k }) else {
        throw DealError(.usage, "'\(k)' does not apply to '\(key.rel.rawValue)'", hint: specs.isEmpty ? "'\(key.rel.rawValue)' takes no attributes" : nil, subject: .key(k))
      }
      attrs[k] = try spec.parse(v)
    }
    let edge = Edge(key, attrs: attrs)
    try ctx.modify { try $0.graph.link(edge) }
    let lien = attrs["lien"].map { " (lien \(Int($0.number!)))" } ?? ""
    return CommandOutput(text: "linked \(key)\(lien)", json: ["linked": edgeJSON(edge)])
  }

  static let unlink = CommandSpec(
    name: "unlink", abstract: "remove an edge: FROM RELATION TO",
    usage: "unlink FROM RELATION TO", examples: ["unlink fleet pledged-to ddtl"],
    arguments: [ArgumentSpec("FROM", .nodeIDs(nil)), ArgumentSpec("RELATION", .relations), ArgumentSpec("TO", .nodeIDs(nil))],
    effects: .changes
  ) { inv, ctx in
    let key = try edgeKey(inv, ctx.session.graph, usage: "unlink FROM RELATION TO")
    try ctx.modify { try $0.graph.unlink(key) }
    return CommandOutput(text: "unlinked \(key)", json: ["unlinked": edgeJSON(Edge(key))])
  }

  static func edgeKey(_ inv: Invocation, _ g: DealGraph, usage: String) throws(DealError) -> EdgeKey {
    let from = try inv.positional(0, "FROM", usage: usage)
    let relText = try inv.positional(1, "RELATION", usage: usage)
    let to = try inv.positional(2, "TO", usage: usage)
    try inv.noExtraPositionals(after: 3, usage: usage)
    guard let rel = Relation(rawValue: relText) else {
      throw DealError.unknownName("relation", relText, valid: relationNames, subject: .word(inv.positionalIndices[1]))
    }
    for (n, id) in [(0, from), (2, to)] where g[id] == nil {
      throw DealError.unknownNode(id, in: g.nodes.keys, subject: .word(inv.positionalIndices[n]))
    }
    return EdgeKey(from: from, rel: rel, to: to)
  }

  // MARK: ls / show

  static let ls = CommandSpec(
    name: "ls", abstract: "list the nodes of the deal, optionally of one kind or type",
    usage: "ls [KIND|TYPE]", examples: ["ls", "ls facility", "ls gpu", "ls facility --csv facilities.csv"],
    arguments: [ArgumentSpec("KIND", .kinds)], tabular: true
  ) { inv, ctx in
    try inv.noExtraPositionals(after: 1, usage: "ls [KIND|TYPE]")
    var nodes = ctx.session.graph.sortedNodes
    if let filter = inv.positionals.first {
      let types = ctx.schema.types.values.flatMap { $0 }
      if let k = NodeKind(rawValue: filter) {
        nodes = nodes.filter { $0.kind == k }
      } else if types.contains(filter) {
        nodes = nodes.filter { $0.type == filter }
      } else {
        throw DealError.unknownName("kind or type", filter, valid: NodeKind.allCases.map(\.rawValue) + types, subject: .word(1))
      }
    }
    nodes.sort { ($0.kind, $0.id) < ($1.kind, $1.id) }
    var table = TextTable(["ID", "KIND", "TYPE", "DETAILS"])
    for n in nodes { table.add([n.id, n.kind.rawValue, n.type, summary(n, ctx.session, ctx.schema)]) }
    let text = nodes.isEmpty ? "no nodes" + (inv.positionals.first.map { " of \($0)" } ?? "") + " (add one with 'add')" : table.render()
    let rows = table.rows
    return CommandOutput(
      text: text,
      json: ["nodes": .array(nodes.map { ["id": .string($0.id), "kind": .string($0.kind.rawValue), "type": .string($0.type)] })],
      csv: { (["id", "kind", "type", "details"], rows) })
  }

  static let show = CommandSpec(
    name: "show", abstract: "show a node: its attributes (with defaults) and edges",
    usage: "show ID", examples: ["show fleet", "show fleet --csv fleet.csv"],
    arguments: [ArgumentSpec("ID", .nodeIDs(nil))], tabular: true
  ) { inv, ctx in
    let id = try inv.positional(0, "ID", usage: "show ID")
    try inv.noExtraPositionals(after: 1, usage: "show ID")
    guard let node = ctx.session.graph[id] else { throw DealError.unknownNode(id, in: ctx.session.graph.nodes.keys, subject: .word(1)) }
    var lines = ["\(id) — \(node.kind.rawValue) (\(node.type))"]
    var table = TextTable(["ATTRIBUTE", "VALUE", "SOURCE"])
    var plain: [[String]] = []  // for --csv: plain numbers
    for (spec, value, isDefault) in ctx.session.effectiveAttributes(of: node, schema: ctx.schema) {
      let shown = value.map { spec.type.display($0) } ?? (spec.required ? "(missing)" : "—")
      let source = value == nil ? "" : (isDefault ? "default" : "set")
      table.add([spec.key, shown, source])
      let raw: String
      switch value {
      case .number(let x)?: raw = JSONValue.format(number: x)
      case .text(let t)?: raw = t
      case .bool(let b)?: raw = b ? "true" : "false"
      case .date(let d)?: raw = d.description
      case nil: raw = ""
      }
      plain.append([spec.key, raw, source])
    }
    lines.append(table.render(indent: "  "))
    let edges = ctx.session.graph.edges(touching: id)
    lines.append("edges:")
    if edges.isEmpty { lines.append("  (none)") }
    for e in edges {
      let lien = e.attrs["lien"].map { " (lien \(Int($0.number!)))" } ?? ""
      lines.append("  \(e.key)\(lien)")
    }
    let (s, schema) = (ctx.session, ctx.schema)
    return CommandOutput(text: lines.joined(separator: "\n"), json: showJSON(node, s, schema), csv: { (["attribute", "value", "source"], plain) })
  }

  // MARK: graph / check

  static let graph = CommandSpec(
    name: "graph", abstract: "print the deal as a tree, or as Graphviz with --dot",
    usage: "graph [--dot]", examples: ["graph", "graph --dot"],
    flags: [FlagSpec("dot", help: "print Graphviz dot")]
  ) { inv, ctx in
    try inv.noExtraPositionals(after: 0, usage: "graph [--dot]")
    let s = ctx.session
    let json: JSONValue = [
      "nodes": .array(s.graph.sortedNodes.map { ["id": .string($0.id), "kind": .string($0.kind.rawValue), "type": .string($0.type)] }),
      "edges": .array(s.graph.sortedEdges.map(edgeJSON)),
    ]
    let text = inv.has("dot") ? GraphRenderer.dot(s, ctx.schema) : GraphRenderer.tree(s, ctx.schema)
    return CommandOutput(text: text, json: json)
  }

  static func check(_ shell: Shell) -> CommandSpec {
    CommandSpec(
    name: "check", abstract: "validate the whole deal and list problems (fails on errors)",
    usage: "check", examples: ["check"]
  ) { [unowned shell] inv, ctx in
    try inv.noExtraPositionals(after: 0, usage: "check")
    var problems = ctx.session.check(schema: ctx.schema)
    if let t = shell.tampered {
      problems.insert(Problem(.warning, t, "the file was changed outside dealsh: its content no longer matches its content hash ('save' writes a fresh one)"), at: 0)
    }
    let errors = problems.filter { $0.severity == .error }.count
    let warnings = problems.count - errors
    var lines: [String] = []
    let style = Style(ctx.terminal.color)
    for p in problems {
      let tag = p.severity == .error ? style.red("error  ") : style.yellow("warning")
      lines.append("\(tag) \(p.node): \(p.message)")
    }
    lines.append(
      problems.isEmpty ? "ok: \(ctx.session.graph.nodeCount) nodes, \(ctx.session.graph.edgeCount) edges, no problems"
        : "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
    return CommandOutput(
      text: lines.joined(separator: "\n"),
      json: [
        "ok": .bool(errors == 0),
        "problems": .array(problems.map { ["severity": .string($0.severity.rawValue), "node": .string($0.node), "message": .string($0.message)] }),
      ],
      failed: errors > 0)
  }
  }

  // MARK: helpers

  static func parseAttribute(
    _ key: String, _ value: String, specs: [AttributeSpec], extra: [String], what: String
  ) throws(DealError) -> AttrValue {
    guard let spec = specs.first(where: { $0.key == key }) else {
      let names = specs.map(\.key) + extra
      let near = Suggest.closest(to: key, in: names)
      throw DealError(
        .invalid, "unknown key '\(key)' for \(what)" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
        hint: "keys: " + names.joined(separator: ", "), subject: .key(key))
    }
    return try spec.parse(value)
  }

  static func nodeJSON(_ n: Node) -> JSONValue {
    ["id": .string(n.id), "kind": .string(n.kind.rawValue), "type": .string(n.type), "attrs": .object(n.attrs.mapValues(\.json))]
  }

  static func edgeJSON(_ e: Edge) -> JSONValue {
    var o: [String: JSONValue] = ["from": .string(e.from), "rel": .string(e.rel.rawValue), "to": .string(e.to)]
    if !e.attrs.isEmpty { o["attrs"] = .object(e.attrs.mapValues(\.json)) }
    return .object(o)
  }

  /// `show --json`: attributes with defaults filled in; `set` lists the
  /// keys given explicitly.
  static func showJSON(_ node: Node, _ s: Session, _ schema: Schema) -> JSONValue {
    var attrs: [String: JSONValue] = [:]
    var defaults: [JSONValue] = []
    for (spec, value, isDefault) in s.effectiveAttributes(of: node, schema: schema) {
      guard let value else { continue }
      attrs[spec.key] = value.json
      if isDefault { defaults.append(.string(spec.key)) }
    }
    return [
      "id": .string(node.id), "kind": .string(node.kind.rawValue), "type": .string(node.type),
      "attrs": .object(attrs), "defaults": .array(defaults),
      "set": .array(node.attrs.keys.sorted().map { .string($0) }),
      "edges": .array(s.graph.edges(touching: node.id).map(edgeJSON)),
    ]
  }

  /// One line describing a node for `ls`.
  static func summary(_ n: Node, _ s: Session, _ schema: Schema) -> String {
    func v(_ k: String) -> AttrValue? { s.value(n.id, k, schema: schema) }
    func show(_ k: String) -> String? {
      guard let spec = schema.attribute(kind: n.kind, type: n.type, key: k), let x = v(k) else { return nil }
      return spec.type.display(x)
    }
    var parts: [String] = []
    switch (n.kind, n.type) {
    case (.entity, _):
      if let name = v("name")?.text { parts.append(name) }
      if let pd = v("pd")?.number, pd > 0 { parts.append("PD " + Format.percent(pd)) }
    case (.asset, "gpu"):
      var words = [v("model")?.text, v("units")?.number.map { "× " + Format.grouped($0, decimals: 0) }].compactMap { $0 }
      if let c = show("unit_cost") { words.append("@ \(c)") }
      if let u = v("units")?.number, let c = v("unit_cost")?.number { words.append("= " + Format.money(u * c)) }
      parts.append(words.joined(separator: " "))
    case (.asset, "crypto"):
      var words: [String] = []
      if let a = v("amount")?.number, let coin = v("coin")?.text { words.append(Format.plain(a) + " " + coin) }
      if let p = show("price") { words.append("@ \(p)") }
      parts.append(words.joined(separator: " "))
    case (.asset, "site"):
      parts += [show("mw"), show("power_price"), v("pue").map { "PUE " + Format.plain($0.number ?? 0) }].compactMap { $0 }
    case (.asset, "cash"):
      parts += [show("amount")].compactMap { $0 }
    case (.contract, _):
      parts += [show("rate"), v("term")?.number.map { Format.plain($0) + " months" }].compactMap { $0 }
      if let t = v("take_or_pay")?.number, t > 0 { parts.append("take-or-pay " + Format.percent(t)) }
    case (.facility, _):
      parts += [show("amount")].compactMap { $0 }
      if v("floating")?.bool == true { parts.append("base + " + (show("spread") ?? "0%")) } else if let r = show("rate") { parts.append(r) }
      parts += [v("term")?.number.map { Format.plain($0) + " months" }, v("amort")?.text, v("rank")?.number.map { "rank \(Int($0))" }].compactMap { $0 }
    default: break
    }
    return parts.filter { !$0.isEmpty }.joined(separator: ", ")
  }

  /// Completion for `add`/`set`: attribute keys (with `=`) and the values
  /// of choice attributes.
  static func completeAttributes(_ req: CompletionRequest, forAdd: Bool) -> [String]? {
    let schema = req.schema
    var kind: NodeKind?
    var type: String?
    if forAdd {
      guard req.previous.count >= 3 else { return nil }
      let k = req.previous[1].text
      kind = NodeKind(rawValue: k) ?? schema.types.first(where: { $0.value.contains(k) })?.key
      if kind != nil, NodeKind(rawValue: k) == nil { type = k }
      for w in req.previous where w.text.hasPrefix("type=") { type = String(w.text.dropFirst(5)) }
      if type == nil, let kind, let ts = schema.types[kind], ts.count == 1 { type = ts[0] }
    } else {
      guard req.previous.count >= 2, let node = req.session.graph[req.previous[1].text] else { return nil }
      kind = node.kind
      type = node.type
    }
    guard let kind else { return nil }
    if let eq = req.partial.firstIndex(of: "=") {
      let key = String(req.partial[..<eq])
      let prefix = String(req.partial[...eq])
      if key == "type" { return (schema.types[kind] ?? []).map { prefix + $0 } }
      if let sh = schema.shorthands[kind]?.first(where: { $0.key == key }) {
        let want = sh.newNodeIsFrom ? sh.relation.to : sh.relation.from
        return req.session.graph.sortedNodes.filter { $0.kind == want.kind && (want.types?.contains($0.type) ?? true) }.map { prefix + $0.id }
      }
      guard let type, let spec = schema.attribute(kind: kind, type: type, key: key) else { return [] }
      switch spec.type {
      case .choice(let c): return c.map { prefix + $0 }
      case .bool: return [prefix + "true", prefix + "false"]
      default: return []
      }
    }
    var keys: [String] = []
    if forAdd && type == nil { keys.append("type") }
    if let type {
      keys += schema.attributes(kind: kind, type: type).map(\.key)
      if forAdd { keys += (schema.shorthands[kind] ?? []).map(\.key) }
    }
    let given = Set(req.previous.compactMap { w in w.key.map(String.init) })
    return keys.filter { !given.contains($0) }.map { $0 + "=" }
  }
}

