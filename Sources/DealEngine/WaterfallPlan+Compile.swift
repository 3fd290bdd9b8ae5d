import DealCore
import Foundation

extension WaterfallPlan {
  /// Compiles the deal for the engine, given each asset's market value by
  /// month (the curves `depreciate` prints, so the waterfall uses the
  /// numbers the user saw).
  ///
  /// - Entities are ordered from the bottom of the `parent-of` tree up
  ///   (deepest first, then id); each one's facilities follow in payment
  ///   order (rank, then id).
  /// - A facility's obligor is the entity that `borrows` it, else the owner
  ///   of its collateral; its collateral is the GPU fleets and coins pledged
  ///   to it; pledged cash funds its reserve account.
  /// - An entity starts with the cash it owns that is pledged to nothing,
  ///   and may sell the coins it owns that are pledged to nothing.
  /// - Throws: a deal the structural model cannot run (a facility without
  ///   an obligor, a fleet without an owner, an entity with two parents, a
  ///   missing attribute), naming the node and the fix.
  public static func compile(
    _ s: Session, schema: Schema, marketValues: [String: [Double]], months: Int? = nil
  ) throws(DealError) -> WaterfallPlan {
    let g = s.graph
    let horizon = months ?? s.deal.horizon
    let structure = DealStructure(s, schema: schema)
    if let e = structure.firstError { throw e }

    // Entities, bottom up.
    let entityIDs = g.sortedNodes.filter { $0.kind == .entity }.map(\.id)
    func depth(_ id: String) -> Int {
      var d = 0, x = id
      while let p = structure.parent[x], d <= entityIDs.count {
        d += 1
        x = p
      }
      return d
    }
    let depths = Dictionary(uniqueKeysWithValues: entityIDs.map { ($0, depth($0)) })
    let order = entityIDs.sorted { (depths[$0]!, $1) > (depths[$1]!, $0) }
    let eIndex = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
    var entities = order.map { EntityPlan(id: $0) }
    for (k, id) in order.enumerated() { entities[k].parent = structure.parent[id].flatMap { eIndex[$0] } ?? -1 }

    // Fleets and their owners.
    var fleets: [FleetEconomics] = []
    var fleetOwner: [Int] = []
    for n in g.sortedNodes where n.kind == .asset && n.type == "gpu" {
      fleets.append(try FleetEconomics.compile(n.id, in: s, schema: schema))
      let owner = eIndex[structure.owner[n.id] ?? ""] ?? 0
      fleetOwner.append(owner)
      entities[owner].fleets.append(fleets.count - 1)
    }
    let fleetIndex = Dictionary(uniqueKeysWithValues: fleets.enumerated().map { ($0.element.id, $0.offset) })

    // Facilities, entity by entity, in payment order.
    func num(_ v: NodeValues, _ key: String) -> Double? { v[key]?.number }
    func req(_ v: NodeValues, _ key: String) throws(DealError) -> Double {
      guard let x = v[key]?.number else {
        throw DealError(.invalid, "'\(v.node.id)' has no '\(key)'", hint: "set it with 'set \(v.node.id) \(key)=...'")
      }
      return x
    }
    var facilities: [FacilityPlan] = []
    for n in g.sortedNodes where n.kind == .facility {
      let v = s.values(of: n.id, schema: schema)!
      let start = (v["start"]?.date?.month ?? s.deal.start).dealMonth(from: s.deal.start)
      var f = FacilityPlan(
        id: n.id, type: n.type, amount: try req(v, "amount"), rate: num(v, "rate") ?? 0,
        floating: v["floating"]?.bool ?? false, spread: num(v, "spread") ?? 0, startMonth: start,
        term: Int(try req(v, "term")),
        amort: FacilityPlan.Amortization(rawValue: v["amort"]?.text ?? "level") ?? .level,
        sweep: num(v, "sweep") ?? 0, rank: Int(num(v, "rank") ?? 1), minDSCR: num(v, "min_dscr"),
        lockupDSCR: num(v, "lockup_dscr"), maxLTV: num(v, "max_ltv"), advanceRate: num(v, "advance_rate"),
        dsraMonths: Int(num(v, "dsra_months") ?? 0), targetDSCR: num(v, "target_dscr"),
        marginLTV: num(v, "margin_ltv"), conversionPrice: num(v, "conversion_price"), sharePrice: num(v, "share_price"))
      f.obligor = eIndex[structure.obligor[n.id] ?? ""] ?? 0
      f.shareBeta = num(v, "share_beta") ?? 1.5
      f.refiTerm = num(v, "refi_term").map { Int($0) }
      f.refiSpread = num(v, "refi_spread") ?? 0
      f.refiMaxLTV = num(v, "refi_max_ltv")
      f.refiMinDSCR = num(v, "refi_min_dscr")
      facilities.append(f)
    }
    facilities.sort { ($0.obligor, $0.rank, $0.id) < ($1.obligor, $1.rank, $1.id) }
    let index = Dictionary(uniqueKeysWithValues: facilities.enumerated().map { ($0.element.id, $0.offset) })
    var first = 0
    for e in entities.indices {
      var last = first
      while last < facilities.count, facilities[last].obligor == e { last += 1 }
      entities[e].facilities = first..<last
      first = last
    }

    func coin(_ id: String) -> Coin? {
      guard let v = s.values(of: id, schema: schema), v.node.type == "crypto" else { return nil }
      return Coin(id: id, btc: v["coin"]?.text == "BTC", amount: v["amount"]?.number ?? 0, price: v["price"]?.number ?? 0)
    }
    func amount(_ id: String) -> Double { s.values(of: id, schema: schema)?["amount"]?.number ?? 0 }

    let nf = facilities.count
    var collateral = [Double](repeating: 0, count: nf * horizon)
    var fleetValue = [Double](repeating: 0, count: fleets.count * horizon)
    for (k, fl) in fleets.enumerated() {
      let values = marketValues[fl.id] ?? []
      for m in 0..<min(horizon, values.count) { fleetValue[k * horizon + m] = values[m] }
    }
    var pledgedCoins = [[Coin]](repeating: [], count: nf)
    var total = [Double](repeating: 0, count: horizon)
    var pledgedAssets: Set<String> = []
    for f in facilities.indices {
      let id = facilities[f].id
      for e in g.edges(to: id, .pledgedTo) {
        guard let a = g[e.from] else { continue }
        pledgedAssets.insert(a.id)
        switch a.type {
        case "gpu":
          guard let k = fleetIndex[a.id] else { continue }
          facilities[f].pledgedFleets.append(k)
          facilities[f].pledgedLiens.append(Int(e.attrs["lien"]?.number ?? 1))
          for m in 0..<horizon { collateral[f * horizon + m] += fleetValue[k * horizon + m] }
        case "crypto":
          if let c = coin(a.id) { pledgedCoins[f].append(c) }
        case "cash":
          facilities[f].reserveCash += amount(a.id)
        default: break
        }
      }
      facilities[f].crossDefaults = g.edges(from: id, .crossDefault).compactMap { index[$0.to] }
      facilities[f].guarantors = g.edges(to: id, .guarantees).map(\.from).sorted().compactMap { eIndex[$0] }
      for gi in facilities[f].guarantors { entities[gi].guaranteed.append(f) }
    }
    for id in pledgedAssets.sorted() {
      guard let k = fleetIndex[id] else { continue }
      for m in 0..<horizon { total[m] += fleetValue[k * horizon + m] }
    }
    // What each entity holds free: the cash and coins it owns, pledged to
    // nothing (an asset with several owners counts for the first by id, as
    // `check` warns).
    var freeCoins = [[Coin]](repeating: [], count: entities.count)
    for a in g.sortedNodes where a.kind == .asset && (a.type == "cash" || a.type == "crypto") && !pledgedAssets.contains(a.id) {
      guard let owner = g.edges(to: a.id, .owns).map(\.from).min(), let e = eIndex[owner] else { continue }
      if a.type == "cash" { entities[e].cash += amount(a.id) }
      if a.type == "crypto", let c = coin(a.id) { freeCoins[e].append(c) }
    }

    var plan = WaterfallPlan(
      months: horizon, fleets: fleets, fleetOwner: fleetOwner, facilities: facilities, entities: entities,
      collateral: collateral, fleetValue: fleetValue, totalCollateral: total, pledgedCoins: pledgedCoins, freeCoins: freeCoins)
    try plan.sculpt()
    plan.flatten()
    return plan
  }
}
