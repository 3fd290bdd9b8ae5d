import DealCore
import Foundation

/// How `depreciate` values the collateral; command options override the
/// assets' own attributes.
public struct ValuationOptions: Equatable, Sendable {
  public var method: String?
  public var life: Int?
  public var discount = 0.12
  public var convention: String?
  /// Step-downs for every asset, replacing the calendar and the assets' own.
  public var obsolescence: [StepDown]?

  public init() {}
}

/// One asset's value, month by month over the horizon (index 0 = month 1).
public struct AssetCurve: Sendable {
  public var id: String
  public var type: String
  public var book: [Double]
  public var market: [Double]
  /// How the curve was made, for the header line.
  public var description: String
  public var steps: [StepDown] = []
  public var cost: Double = 0
}

/// Value curves of the deal's assets (SPEC §5 `depreciate`).
public enum Valuation {
  public static let methods = ["straight", "ddb", "syd", "macrs5", "rental"]
  public static let conventions = ["half-year", "mid-quarter"]

  /// The attributes valuation reads beyond SPEC §3, which the plugin that
  /// shows the curves adds to the schema.
  public static let gpuAttributes: [AttributeSpec] = [
    AttributeSpec(
      "method", .choice(methods), default: .value(.text("straight")),
      help: "depreciation method for depreciate (straight, ddb, syd, macrs5, rental)"),
    AttributeSpec("convention", .choice(conventions), default: .value(.text("half-year")), help: "MACRS convention"),
    AttributeSpec(
      "obsolescence", .text, help: "launch step-downs replacing the calendar: \"2026-09:-20%,...\" or none",
      validate: { v in
        guard case .text(let t) = v else { return nil }
        if case .failure(let why) = Obsolescence.parse(t) { return why.reason }
        return nil
      }),
  ]

  /// Curves for the given assets (all GPU, crypto and cash assets if none).
  public static func curves(_ s: Session, schema: Schema, ids: [String], options: ValuationOptions) throws(DealError) -> [AssetCurve] {
    let horizon = s.deal.horizon
    var targets = ids
    if targets.isEmpty {
      targets = s.graph.sortedNodes.filter { $0.kind == .asset && ["gpu", "crypto", "cash"].contains($0.type) }.map(\.id)
    }
    var out: [AssetCurve] = []
    for id in targets {
      guard let node = s.graph[id] else { throw DealError.unknownNode(id, in: s.graph.nodes.keys) }
      switch (node.kind, node.type) {
      case (.asset, "gpu"):
        out.append(try gpuCurve(id, s, schema, options))
      case (.asset, "crypto"):
        guard let a = s.value(id, "amount", schema: schema)?.number, let p = s.value(id, "price", schema: schema)?.number else {
          throw DealError(.invalid, "'\(id)' needs 'amount' and 'price'", subject: .text(id))
        }
        let v = [Double](repeating: a * p, count: horizon)
        let coin = s.value(id, "coin", schema: schema)?.text ?? ""
        out.append(AssetCurve(id: id, type: "crypto", book: v, market: v, description: "\(Format.plain(a)) \(coin) × \(Format.money(p)), flat (price paths come from shock)", cost: a * p))
      case (.asset, "cash"):
        let a = s.value(id, "amount", schema: schema)?.number ?? 0
        let v = [Double](repeating: a, count: horizon)
        out.append(AssetCurve(id: id, type: "cash", book: v, market: v, description: "cash at face", cost: a))
      default:
        throw DealError(
          .invalid, "'\(id)' is \(node.kind.article) \(node.kind.rawValue) (\(node.type)); depreciate values gpu, crypto and cash assets",
          subject: .text(id))
      }
    }
    return out
  }

  static func gpuCurve(_ id: String, _ s: Session, _ schema: Schema, _ o: ValuationOptions) throws(DealError) -> AssetCurve {
    let fleet = try FleetEconomics.compile(id, in: s, schema: schema)
    let v = s.values(of: id, schema: schema)!
    let horizon = s.deal.horizon
    let method = o.method ?? v["method"]?.text ?? "straight"
    let life = o.life ?? fleet.life
    let cost = fleet.cost
    let salvage = fleet.salvage * cost
    let acquired = v["acquired"]?.date?.month ?? s.deal.start
    let a = fleet.acquiredMonth
    if a > horizon {
      // Bought after the last month valued: worth nothing to the deal yet.
      let zero = [Double](repeating: 0, count: horizon)
      return AssetCurve(
        id: id, type: "gpu", book: zero, market: zero,
        description: "acquired in \(acquired), after the last month valued (\(s.deal.start + (horizon - 1))): no value before then",
        cost: cost)
    }

    // The method's book value at the end of each month of ownership.
    var ownCurve: [Double]
    var after: Double
    var description: String
    switch method {
    case "straight":
      ownCurve = Depreciation.straightCurve(cost: cost, salvage: salvage, life: life)
      after = salvage
      description = "straight line over \(life) months to \(Format.percent(fleet.salvage)) salvage"
    case "syd":
      ownCurve = Depreciation.sydCurve(cost: cost, salvage: salvage, life: life)
      after = salvage
      description = "sum of the months' digits over \(life) months to \(Format.percent(fleet.salvage)) salvage"
    case "ddb":
      ownCurve = Depreciation.doubleDecliningCurve(cost: cost, salvage: salvage, life: life)
      after = salvage
      description = "double-declining balance over \(life) months to \(Format.percent(fleet.salvage)) salvage, switching to straight line"
    case "macrs5":
      let conventionName = o.convention ?? v["convention"]?.text ?? "half-year"
      let quarter = (acquired.month - 1) / 3 + 1
      let convention: Depreciation.Convention = conventionName == "mid-quarter" ? .midQuarter(quarter) : .halfYear
      let rates = Depreciation.macrsRates(recovery: 5, convention: convention)
      // Tax years: 12 months from acquisition (half-year); calendar years
      // from the acquisition month (mid-quarter, whose quarter is a
      // calendar quarter). Each year's amount is spread over its months.
      var months: [Int] = []
      if case .midQuarter = convention {
        months = [12 - acquired.month + 1] + [Int](repeating: 12, count: rates.count - 1)
      } else {
        months = [Int](repeating: 12, count: rates.count)
      }
      ownCurve = []
      var book = cost
      for (y, r) in rates.enumerated() {
        let perMonth = r * cost / Double(months[y])
        for _ in 0..<months[y] {
          book = max(0, book - perMonth)
          ownCurve.append(book)
        }
      }
      after = 0
      description = "MACRS 5-year GDS, \(conventionName) convention (tax basis; life and salvage do not apply)"
    case "rental":
      let r = Discount.monthly(o.discount)
      // Value at the end of deal month m: what is left to earn after it,
      // discounted; months of negative net income count as zero (the owner
      // can switch the fleet off).
      let last = max(fleet.lastLifeMonth, a)
      let first = min(a, 1)
      var values = [Double](repeating: 0, count: last - first + 2)
      var v = 0.0
      if last >= first {
        for m in stride(from: last, through: first, by: -1) {
          let net = max(0, fleet.revenue(month: m + 1) - fleet.operatingCost(month: m + 1))
          v = (v + (m + 1 <= last ? net : 0)) / (1 + r)
          values[m - first] = v
        }
      }
      // Own-life curve from the deal-month values.
      ownCurve = (1...max(1, fleet.life)).map { k in
        let m = a + k - 1
        return m - first >= 0 && m - first < values.count ? values[m - first] : 0
      }
      after = 0
      description = "rental value: income of the leases less power and opex, discounted at \(Format.percent(o.discount))/yr"
    default:
      throw DealError.unknownName("method", method, valid: methods, subject: .value("method"))
    }

    // Deal months.
    var book = [Double](repeating: 0, count: horizon)
    for m in 1...horizon {
      let k = m - a + 1
      if k < 1 { continue }  // not yet acquired
      book[m - 1] = k <= ownCurve.count ? ownCurve[k - 1] : after
    }

    // Step-downs: command, else the asset's own list, else the calendar.
    var steps: [StepDown]
    if let override = o.obsolescence {
      steps = override
    } else if let own = v["obsolescence"]?.text {
      switch Obsolescence.parse(own) {
      case .success(let st): steps = st
      case .failure(let why): throw DealError(.invalid, "'\(id)' has a bad obsolescence list: \(why.reason)")
      }
    } else {
      steps = Obsolescence.defaultSteps(model: v["model"]?.text ?? "H100", acquired: acquired)
    }
    let lastMonth = s.deal.start + (horizon - 1)
    steps = steps.filter { $0.month <= lastMonth }
    var market = book
    var factor = 1.0
    var next = 0
    let sorted = steps.sorted { $0.month < $1.month }
    for m in 1...horizon {
      let month = s.deal.start + (m - 1)
      while next < sorted.count, sorted[next].month <= month {
        factor *= 1 + sorted[next].change
        next += 1
      }
      market[m - 1] = book[m - 1] * factor
    }
    return AssetCurve(id: id, type: "gpu", book: book, market: market, description: description, steps: steps, cost: cost)
  }
}
