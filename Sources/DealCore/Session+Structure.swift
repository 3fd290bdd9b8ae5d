/// Who holds what in a deal: the obligor of each facility, the owner of
/// each fleet, the parent of each entity — the facts the structural cash
/// model moves money along (SPEC §5.1), read from the graph once, with what
/// is missing or ambiguous as problems that name the node and the fix.
public struct DealStructure: Sendable {
  /// The obligor of each facility, by id: the entity that `borrows` it,
  /// else the one owner of all its collateral.
  public var obligor: [String: String] = [:]
  /// Whether the obligor was read from a `borrows` edge (else inferred
  /// from the collateral's owner).
  public var explicitObligor: Set<String> = []
  /// The owner of each GPU fleet.
  public var owner: [String: String] = [:]
  /// The parent of each entity (`parent-of`).
  public var parent: [String: String] = [:]
  /// What the structural model cannot run with: a facility without an
  /// obligor, a fleet without an owner, an entity with two parents.
  public var errors: [Problem] = []
  /// What it runs with but a structurer should look at.
  public var warnings: [Problem] = []

  public init(_ s: Session, schema: Schema) {
    let g = s.graph
    for n in g.sortedNodes where n.kind == .entity {
      let parents = g.edges(to: n.id, .parentOf).map(\.from).sorted()
      if parents.count == 1 {
        parent[n.id] = parents[0]
      } else if parents.count > 1 {
        errors.append(
          Problem(
            .error, n.id,
            "has \(parents.count) parents (\(parents.joined(separator: ", "))): its distributions need one; 'unlink \(parents[1]) parent-of \(n.id)'"))
      }
    }
    for n in g.sortedNodes where n.kind == .asset && n.type == "gpu" {
      let owners = g.edges(to: n.id, .owns).map(\.from).sorted()
      if owners.count == 1 {
        owner[n.id] = owners[0]
      } else if owners.isEmpty {
        errors.append(Problem(.error, n.id, "has no owner, so its cash belongs to nobody; 'link ENTITY owns \(n.id)'"))
      } else {
        errors.append(
          Problem(.error, n.id, "is owned by \(owners.count) entities (\(owners.joined(separator: ", "))): its cash needs one owner; 'unlink \(owners[1]) owns \(n.id)'"))
      }
    }
    for n in g.sortedNodes where n.kind == .facility {
      let borrowers = g.edges(to: n.id, .borrows).map(\.from).sorted()
      if borrowers.count == 1 {
        obligor[n.id] = borrowers[0]
        explicitObligor.insert(n.id)
        continue
      }
      if borrowers.count > 1 {
        errors.append(
          Problem(
            .error, n.id,
            "has \(borrowers.count) obligors (\(borrowers.joined(separator: ", "))): the cash model needs one; 'unlink \(borrowers[1]) borrows \(n.id)'"))
        continue
      }
      // No borrows edge: the owner of the collateral, if there is one.
      let owners = Set(g.edges(to: n.id, .pledgedTo).flatMap { e in g.edges(to: e.from, .owns).map(\.from) })
      if owners.count == 1, let o = owners.first {
        obligor[n.id] = o
      } else if owners.isEmpty {
        errors.append(Problem(.error, n.id, "has no obligor and no owned collateral to infer one from; 'link BORROWER borrows \(n.id)'"))
      } else {
        errors.append(
          Problem(
            .error, n.id,
            "has no obligor, and its collateral has several owners (\(owners.sorted().joined(separator: ", "))); 'link BORROWER borrows \(n.id)'"))
      }
    }
    // A rank means something within one obligor only: a parent's facility
    // ranked ahead of a subsidiary's is paid from the parent's own cash and
    // distributions, after the subsidiary's debt.
    let ranks = Dictionary(
      uniqueKeysWithValues: obligor.keys.map { ($0, Int(s.value($0, "rank", schema: schema)?.number ?? 1)) })
    for (f, e) in obligor.sorted(by: { $0.key < $1.key }) {
      var up = parent[e], seen: Set<String> = [e]
      while let p = up, !seen.contains(p) {
        seen.insert(p)
        for (h, o) in obligor.sorted(by: { $0.key < $1.key }) where o == p && (ranks[h] ?? 1) < (ranks[f] ?? 1) {
          warnings.append(
            Problem(
              .warning, h,
              "ranked \(ranks[h] ?? 1) at '\(p)', ahead of '\(f)' (rank \(ranks[f] ?? 1)) at its subsidiary '\(e)': a rank orders payments within one obligor only; '\(f)' is paid first, from the cash of '\(e)'"))
        }
        up = parent[p]
      }
    }
  }

  /// The first error, as one to throw: it names the node and the fix.
  public var firstError: DealError? {
    errors.first.map { DealError(.invalid, "'\($0.node)' \($0.message)", subject: .text($0.node)) }
  }
}
