import DealCore
import Foundation

/// Hours in a month, as the specification counts them (8,760 / 12).
public let hoursPerMonth = 730.0

/// A lease as numbers, months counted from the deal start (month 1 = start).
public struct LeaseTerms: Equatable, Sendable {
  public var id: String
  public var rate: Double
  public var utilization: Double
  /// First deal month of the lease (may be before 1 if it started earlier).
  public var startMonth: Int
  public var term: Int
  public var takeOrPay: Double
  public var spotRate: Double
  public var deflation: Double

  public var lastMonth: Int { startMonth + term - 1 }

  /// The spot rate in deal month `m`: `spot_rate × (1 − deflation)^(m/12)`.
  public func spot(month m: Int) -> Double {
    spotRate * Foundation.pow(1 - deflation, Double(m) / 12)
  }
}

/// A GPU fleet as numbers: what it earns and costs month by month (SPEC §5).
///
/// Revenue in month m: units × utilization × 730 h × rate, at the contract
/// rate while a lease covering the fleet is in its term (with `take_or_pay`
/// as a floor on the billed share), then at the spot rate of the lease that
/// ended last, deflating from the deal start; nothing before the fleet is
/// acquired, before its first lease starts, or after its life ends.
/// Operating cost: power (units × kW × PUE × 730 h × power price, from the
/// site the fleet is hosted at, else the site defaults) plus opex.
public struct FleetEconomics: Equatable, Sendable {
  public var id: String
  public var units: Double
  public var unitCost: Double
  public var kw: Double
  public var pue: Double
  public var powerPrice: Double
  public var opexPerGPU: Double
  /// Deal month of acquisition (1 = the start month; may be ≤ 0).
  public var acquiredMonth: Int
  public var life: Int
  public var salvage: Double
  /// Leases covering the fleet, by start month.
  public var leases: [LeaseTerms]

  /// Last deal month of the fleet's life.
  public var lastLifeMonth: Int { acquiredMonth + life - 1 }

  public var cost: Double { units * unitCost }

  /// The lease whose rate applies in month m and whether it is in its term.
  public func activeLease(month m: Int) -> (lease: LeaseTerms, inTerm: Bool)? {
    var ended: LeaseTerms? = nil
    for l in leases {
      if m >= l.startMonth && m <= l.lastMonth { return (l, true) }
      if m > l.lastMonth, ended == nil || l.lastMonth >= ended!.lastMonth { ended = l }
    }
    return ended.map { ($0, false) }
  }

  /// Revenue in deal month m (USD), with optional stresses: a change of
  /// utilization in points, a factor on spot rates, a replacement deflation.
  public func revenue(
    month m: Int, utilizationChange: Double = 0, spotFactor: Double = 1, deflation: Double? = nil
  ) -> Double {
    guard m >= acquiredMonth, m <= lastLifeMonth, let (l, inTerm) = activeLease(month: m) else { return 0 }
    let u = min(1, max(0, l.utilization + utilizationChange))
    if inTerm {
      return units * hoursPerMonth * l.rate * max(u, l.takeOrPay)
    }
    var lease = l
    if let deflation { lease.deflation = deflation }
    return units * hoursPerMonth * u * lease.spot(month: m) * spotFactor
  }

  /// Power and opex in deal month m (USD); nothing outside the fleet's life.
  public func operatingCost(month m: Int, powerFactor: Double = 1) -> Double {
    guard m >= acquiredMonth, m <= lastLifeMonth else { return 0 }
    return units * kw * pue * hoursPerMonth * powerPrice * powerFactor + units * opexPerGPU
  }

  /// Reads a GPU asset, its site and the leases covering it from the deal.
  /// - Throws: if a required attribute is missing, naming the node and key.
  public static func compile(_ id: String, in s: Session, schema: Schema) throws(DealError) -> FleetEconomics {
    guard let node = s.graph[id], node.kind == .asset, node.type == "gpu" else {
      throw DealError(.invalid, "'\(id)' is not a GPU asset")
    }
    func num(_ v: NodeValues, _ key: String) throws(DealError) -> Double {
      guard let x = v[key]?.number else {
        let nid = v.node.id
        throw DealError(.invalid, "'\(nid)' has no '\(key)'", hint: "set it with 'set \(nid) \(key)=...'")
      }
      return x
    }
    func month(_ v: NodeValues, _ key: String) -> Int {
      (v[key]?.date?.month ?? s.deal.start).dealMonth(from: s.deal.start)
    }
    let f = s.values(of: id, schema: schema)!
    let site = s.graph.edges(from: id, .hostedAt).first.flatMap { s.values(of: $0.to, schema: schema) }
    let siteDefaults = Schema.standard
    func siteValue(_ key: String) -> Double {
      if let site, let v = site[key]?.number { return v }
      let spec = siteDefaults.attribute(kind: .asset, type: "site", key: key)!
      if case .value(.number(let x)) = spec.defaultValue { return x }
      return 0
    }
    var leases: [LeaseTerms] = []
    for e in s.graph.edges(to: id, .covers) {
      guard let l = s.values(of: e.from, schema: schema) else { continue }
      leases.append(
        LeaseTerms(
          id: e.from, rate: try num(l, "rate"), utilization: try num(l, "utilization"), startMonth: month(l, "start"),
          term: Int(try num(l, "term")), takeOrPay: try num(l, "take_or_pay"), spotRate: try num(l, "spot_rate"),
          deflation: try num(l, "deflation")))
    }
    leases.sort { ($0.startMonth, $0.id) < ($1.startMonth, $1.id) }
    return FleetEconomics(
      id: id, units: try num(f, "units"), unitCost: try num(f, "unit_cost"), kw: try num(f, "kw"),
      pue: siteValue("pue"), powerPrice: siteValue("power_price"), opexPerGPU: try num(f, "opex"),
      acquiredMonth: month(f, "acquired"), life: Int(try num(f, "life")), salvage: try num(f, "salvage"),
      leases: leases)
  }
}

/// Monthly discounting from an annual rate.
public enum Discount {
  /// The monthly rate equivalent to an annual effective rate.
  public static func monthly(_ annual: Double) -> Double { Foundation.pow(1 + annual, 1.0 / 12) - 1 }
}
