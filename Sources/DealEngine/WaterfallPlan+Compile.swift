import DealCore
import Foundation

extension WaterfallPlan {
  /// Compiles the deal for the engine, given each asset's market value by
  /// month (from `depreciate`, so the waterfall uses the numbers the user
  /// saw). Facilities are ordered by rank, then id.
  ///
  /// - Collateral of a facility: the market value of the GPU fleets pledged
  ///   to it, plus the coins pledged to it at the (stressed) coin price.
  ///   Pledged cash funds the facility's reserve account.
  /// - Guarantors pay from the cash and coins they own that are pledged to
  ///   no facility.
  public static func compile(
    _ s: Session, schema: Schema, marketValues: [String: [Double]], months: Int? = nil
  ) throws(DealError) -> WaterfallPlan {
    let g = s.graph
    let horizon = months ?? s.deal.horizon
    var fleets: [FleetEconomics] = []
    for n in g.sortedNodes where n.kind == .asset && n.type == "gpu" {
      fleets.append(try FleetEconomics.compile(n.id, in: s, schema: schema))
    }
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
      facilities.append(
        FacilityPlan(
          id: n.id, type: n.type, amount: try req(v, "amount"), rate: num(v, "rate") ?? 0,
          floating: v["floating"]?.bool ?? false, spread: num(v, "spread") ?? 0, startMonth: start,
          term: Int(try req(v, "term")),
          amort: FacilityPlan.Amortization(rawValue: v["amort"]?.text ?? "level") ?? .level,
          sweep: num(v, "sweep") ?? 0, rank: Int(num(v, "rank") ?? 1), minDSCR: num(v, "min_dscr"),
          lockupDSCR: num(v, "lockup_dscr"), maxLTV: num(v, "max_ltv"), advanceRate: num(v, "advance_rate"),
          dsraMonths: Int(num(v, "dsra_months") ?? 0), targetDSCR: num(v, "target_dscr"),
          marginLTV: num(v, "margin_ltv"), conversionPrice: num(v, "conversion_price"), sharePrice: num(v, "share_price")))
    }
    facilities.sort { ($0.rank, $0.id) < ($1.rank, $1.id) }
    let index = Dictionary(uniqueKeysWithValues: facilities.enumerated().map { ($0.element.id, $0.offset) })

    func coin(_ id: String) -> (btc: Bool, amount: Double, price: Double)? {
      guard let v = s.values(of: id, schema: schema), v.node.type == "crypto" else { return nil }
      return (v["coin"]?.text == "BTC", v["amount"]?.number ?? 0, v["price"]?.number ?? 0)
    }

    let nf = facilities.count
    var collateral = [Double](repeating: 0, count: nf * horizon)
    var pledgedCoins = [[(btc: Bool, amount: Double, price: Double)]](repeating: [], count: nf)
    var reserve = [Double](repeating: 0, count: nf)
    var guarantorsOf = [[Int]](repeating: [], count: nf)
    var guarantors: [(id: String, cash: Double, coins: [(btc: Bool, amount: Double, price: Double)])] = []
    var crossDefaults = [[Int]](repeating: [], count: nf)
    var total = [Double](repeating: 0, count: horizon)
    var pledgedAssets: Set<String> = []
    for (f, fac) in facilities.enumerated() {
      for e in g.edges(to: fac.id, .pledgedTo) {
        guard let a = g[e.from] else { continue }
        pledgedAssets.insert(a.id)
        switch a.type {
        case "gpu":
          let values = marketValues[a.id] ?? []
          for m in 0..<min(horizon, values.count) { collateral[f * horizon + m] += values[m] }
        case "crypto":
          if let c = coin(a.id) { pledgedCoins[f].append(c) }
        case "cash":
          reserve[f] += s.values(of: a.id, schema: schema)?["amount"]?.number ?? 0
        default: break
        }
      }
      for e in g.edges(from: fac.id, .crossDefault) {
        if let t = index[e.to] { crossDefaults[f].append(t) }
      }
    }
    for id in pledgedAssets.sorted() {
      guard let a = g[id] else { continue }
      if a.type == "gpu", let values = marketValues[id] {
        for m in 0..<min(horizon, values.count) { total[m] += values[m] }
      }
    }
    // Guarantors and their free resources.
    var guarantorIndex: [String: Int] = [:]
    for (f, fac) in facilities.enumerated() {
      for e in g.edges(to: fac.id, .guarantees) {
        let gid = e.from
        if guarantorIndex[gid] == nil {
          var cash = 0.0
          var coins: [(btc: Bool, amount: Double, price: Double)] = []
          for o in g.edges(from: gid, .owns) where !pledgedAssets.contains(o.to) {
            guard let a = g[o.to] else { continue }
            if a.type == "cash" { cash += s.values(of: a.id, schema: schema)?["amount"]?.number ?? 0 }
            if a.type == "crypto", let c = coin(a.id) { coins.append(c) }
          }
          guarantorIndex[gid] = guarantors.count
          guarantors.append((gid, cash, coins))
        }
        guarantorsOf[f].append(guarantorIndex[gid]!)
      }
    }

    // Sculpted schedules, fixed at close from the base case: debt service
    // = CFADS / target DSCR; without a target, the one that repays exactly.
    for f in 0..<nf where facilities[f].amort == .sculpted {
      let fac = facilities[f]
      let r = (fac.floating ? Rates.base + fac.spread : fac.rate) / 12
      let cfads = (0..<fac.term).map { k -> Double in
        let m = fac.startMonth + k
        return fleets.reduce(0) { $0 + $1.revenue(month: m) - $1.operatingCost(month: m) }
      }
      var target = fac.targetDSCR
      if target == nil {
        var pv = 0.0, d = 1.0
        for c in cfads {
          d /= 1 + r
          pv += c * d
        }
        guard pv > 0 else { throw DealError(.invalid, "'\(fac.id)' cannot be sculpted: its CFADS is not positive over its term") }
        target = pv / fac.amount
      }
      var bal = fac.amount
      var principal: [Double] = []
      for c in cfads {
        let interest = bal * r
        let p = min(bal, max(0, c / target! - interest))
        principal.append(p)
        bal -= p
      }
      facilities[f].sculptedPrincipal = principal
      facilities[f].targetDSCR = target
    }

    return WaterfallPlan(
      months: horizon, fleets: fleets, facilities: facilities, collateral: collateral, pledgedCoins: pledgedCoins,
      reserveCash: reserve, guarantorsOf: guarantorsOf, guarantors: guarantors, crossDefaults: crossDefaults,
      totalCollateral: total)
  }
}
