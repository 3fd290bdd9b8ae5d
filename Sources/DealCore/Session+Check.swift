/// A problem `check` finds in a deal.
public struct Problem: Equatable, Sendable {
  public enum Severity: String, Sendable { case error, warning }
  public var severity: Severity
  public var node: String
  public var message: String

  public init(_ severity: Severity, _ node: String, _ message: String) {
    self.severity = severity
    self.node = node
    self.message = message
  }
}

extension Session {
  /// Validates the whole deal (SPEC §3 `check`): missing required
  /// attributes, unpledged or over-pledged assets, facilities without an
  /// obligor, leases covering no fleet, cycles in `parent-of`/`guarantees`.
  public func check(schema: Schema) -> [Problem] {
    var out: [Problem] = []
    let g = graph
    for node in g.sortedNodes {
      let id = node.id
      for spec in schema.attributes(kind: node.kind, type: node.type) where spec.required {
        if node.attrs[spec.key] == nil {
          out.append(Problem(.error, id, "missing '\(spec.key)' (\(spec.help)); set it with 'set \(id) \(spec.key)=...'"))
        }
      }
      if node.kind == .asset, node.type != "gpu", g.edges(to: id, .owns).count > 1 {
        out.append(Problem(.warning, id, "owned by \(g.edges(to: id, .owns).count) entities: " + g.edges(to: id, .owns).map(\.from).joined(separator: ", ")))
      }
      switch (node.kind, node.type) {
      case (.asset, "gpu"), (.asset, "crypto"):
        let pledges = g.edges(from: id, .pledgedTo)
        if pledges.isEmpty {
          out.append(Problem(.warning, id, "not pledged to any facility"))
        }
        var liens: [Int: [String]] = [:]
        for e in pledges {
          let lien = Int(e.attrs["lien"]?.number ?? 1)
          liens[lien, default: []].append(e.to)
        }
        for (lien, fs) in liens.sorted(by: { $0.key < $1.key }) where fs.count > 1 {
          out.append(Problem(.error, id, "over-pledged: lien \(lien) is given to \(fs.joined(separator: " and "))"))
        }
        if node.type == "gpu" {
          if g.edges(to: id, .covers).isEmpty {
            out.append(Problem(.warning, id, "no lease covers this fleet (it earns no revenue)"))
          }
          if g.edges(from: id, .hostedAt).isEmpty {
            out.append(Problem(.warning, id, "not hosted at a site (site defaults apply: $0.07/kWh, PUE 1.3)"))
          }
          if g.edges(from: id, .hostedAt).count > 1 {
            out.append(Problem(.error, id, "hosted at more than one site"))
          }
        }
      case (.contract, _):
        if g.edges(from: id, .covers).isEmpty {
          out.append(Problem(.error, id, "lease covers no fleet; 'link \(id) covers FLEET'"))
        }
        if g.edges(to: id, .rents).isEmpty {
          out.append(Problem(.warning, id, "lease has no tenant; 'link TENANT rents \(id)'"))
        }
      case (.facility, _):
        let start: Month? = value(id, "start", schema: schema)?.date?.month
        let term: Double? = value(id, "term", schema: schema)?.number
        if let start, let term, (start - deal.start) + Int(term) > deal.horizon {
          out.append(Problem(.warning, id, "matures after the horizon (\(deal.horizon) months); the balance left is reported at the end"))
        }
      default: break
      }
    }
    // Sites: the power and the rack density their fleets need.
    for site in g.sortedNodes where site.kind == .asset && site.type == "site" {
      let fleets = g.edges(to: site.id, .hostedAt).compactMap { g[$0.from] }.filter { $0.type == "gpu" }
      guard !fleets.isEmpty else { continue }
      func num(_ id: String, _ key: String) -> Double? { value(id, key, schema: schema)?.number }
      let itMW = fleets.reduce(0.0) { $0 + (num($1.id, "units") ?? 0) * (num($1.id, "kw") ?? 0) / 1000 }
      let pue = num(site.id, "pue") ?? 1
      if let mw = num(site.id, "mw"), itMW > mw * (1 + 1e-9) {
        let names = fleets.map(\.id).joined(separator: ", ")
        out.append(Problem(
          .error, site.id,
          "its fleets (\(names)) draw \(Format.plain(itMW, maxDecimals: 1)) MW of IT power (\(Format.plain(itMW * pue, maxDecimals: 1)) MW at PUE \(Format.plain(pue, maxDecimals: 2))), more than its \(Format.plain(mw, maxDecimals: 1)) MW"))
      }
      let rackMax = num(site.id, "rack_kw_max")
      let siteCooling = value(site.id, "cooling", schema: schema)?.text
      for f in fleets {
        if let rackMax, let rack = num(f.id, "rack_kw"), rack > rackMax + 1e-9 {
          out.append(Problem(
            .error, f.id,
            "racks of \(Format.plain(rack, maxDecimals: 1)) kW exceed what site '\(site.id)' can host (\(Format.plain(rackMax, maxDecimals: 1)) kW a rack)"))
        }
        if siteCooling == "air", value(f.id, "cooling", schema: schema)?.text == "liquid" {
          out.append(Problem(.error, f.id, "needs liquid cooling; site '\(site.id)' is air-cooled"))
        }
      }
    }
    // Who borrows, owns and is whose parent: what the cash model needs.
    let structure = DealStructure(self, schema: schema)
    out += structure.errors + structure.warnings
    // Cycles: parent-of among entities, and guarantees through borrowers
    // (A guarantees a facility B borrows, and B guarantees one A borrows).
    if let cycle = findCycle(next: { n in g.edges(from: n, .parentOf).map(\.to) }, nodes: g.sortedIDs) {
      out.append(Problem(.error, cycle[0], "cycle of parent-of: " + cycle.joined(separator: " → ")))
    }
    let guaranteeNext: (String) -> [String] = { n in
      g.edges(from: n, .guarantees).flatMap { e in g.edges(to: e.to, .borrows).map(\.from) }
    }
    if let cycle = findCycle(next: guaranteeNext, nodes: g.sortedIDs) {
      out.append(Problem(.error, cycle[0], "cycle of guarantees: " + cycle.joined(separator: " → ")))
    }
    return out
  }

  private func findCycle(next: (String) -> [String], nodes: [String]) -> [String]? {
    var state: [String: Int] = [:]  // 1 visiting, 2 done
    var path: [String] = []
    func visit(_ n: String) -> [String]? {
      state[n] = 1
      path.append(n)
      for m in next(n) {
        if state[m] == 1, let i = path.firstIndex(of: m) { return Array(path[i...]) + [m] }
        if state[m] == nil, let c = visit(m) { return c }
      }
      path.removeLast()
      state[n] = 2
      return nil
    }
    for n in nodes where state[n] == nil {
      if let c = visit(n) { return c }
    }
    return nil
  }
}
