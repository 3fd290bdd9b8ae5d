/// The four kinds of node in a deal graph (SPEC §3).
public enum NodeKind: String, CaseIterable, Sendable, Comparable {
  case entity, asset, contract, facility

  /// "a" or "an".
  public var article: String { self == .entity || self == .asset ? "an" : "a" }

  public static func < (a: NodeKind, b: NodeKind) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// The relations an edge can express; each joins fixed kinds (and, for some,
/// fixed types) of node. The sentence reads left to right: `FROM rel TO`.
public enum Relation: String, CaseIterable, Sendable, Comparable {
  case owns
  case borrows
  case pledgedTo = "pledged-to"
  case guarantees
  case covers
  case rents
  case hostedAt = "hosted-at"
  case crossDefault = "cross-default"
  case parentOf = "parent-of"

  public static func < (a: Relation, b: Relation) -> Bool { a.rawValue < b.rawValue }

  /// Position of the name in alphabetical order (the order of canonical files).
  public var sortIndex: Int { Relation.alphabetical.firstIndex(of: self)! }
  static let alphabetical = Relation.allCases.sorted()

  /// The node kind (and types, if restricted) a relation may start from.
  public var from: (kind: NodeKind, types: [String]?) {
    switch self {
    case .owns, .borrows, .guarantees, .rents, .parentOf: (.entity, nil)
    case .pledgedTo: (.asset, ["gpu", "crypto", "cash", "site"])
    case .covers: (.contract, nil)
    case .hostedAt: (.asset, ["gpu"])
    case .crossDefault: (.facility, nil)
    }
  }

  /// The node kind (and types, if restricted) a relation may point to.
  public var to: (kind: NodeKind, types: [String]?) {
    switch self {
    case .owns: (.asset, nil)
    case .borrows, .pledgedTo, .guarantees, .crossDefault: (.facility, nil)
    case .covers: (.asset, ["gpu"])
    case .rents: (.contract, nil)
    case .hostedAt: (.asset, ["site"])
    case .parentOf: (.entity, nil)
    }
  }

  public var meaning: String {
    switch self {
    case .owns: "legal owner of the asset"
    case .borrows: "the obligor of the facility"
    case .pledgedTo: "security for the facility (lien=1 first lien)"
    case .guarantees: "pays what the obligor cannot, from its own assets"
    case .covers: "the lease rents out that fleet"
    case .rents: "the tenant paying the lease"
    case .hostedAt: "where the fleet runs (power, cooling)"
    case .crossDefault: "a default of FROM is a default of TO"
    case .parentOf: "ownership between entities"
    }
  }

  /// "entity → asset (gpu)" for help and errors.
  public var signature: String {
    func side(_ s: (kind: NodeKind, types: [String]?)) -> String {
      s.kind.rawValue + (s.types.map { " (" + $0.joined(separator: "/") + ")" } ?? "")
    }
    return side(from) + " → " + side(to)
  }
}

/// Where an attribute takes its value when it is not set.
public enum DefaultValue: Sendable {
  case none
  case value(AttrValue)
  /// The deal's start month.
  case dealStart
  /// The value of another attribute of the same node.
  case sameAs(String)
  /// A value that depends on another attribute, e.g. `vol` by `coin`.
  case byKey(String, [String: AttrValue])
}

/// One attribute a node or an edge may carry.
public struct AttributeSpec: Sendable {
  public var key: String
  public var type: ValueType
  public var defaultValue: DefaultValue
  public var required: Bool
  public var help: String
  /// Further checks beyond the type's bounds; returns why a value is wrong.
  public var validate: (@Sendable (AttrValue) -> String?)?

  public init(
    _ key: String, _ type: ValueType, default defaultValue: DefaultValue = .none, required: Bool = false,
    help: String, validate: (@Sendable (AttrValue) -> String?)? = nil
  ) {
    self.key = key
    self.type = type
    self.defaultValue = defaultValue
    self.required = required
    self.help = help
    self.validate = validate
  }

  /// Reads and checks a value typed by the user.
  public func parse(_ text: String) throws(DealError) -> AttrValue {
    if text.utf8.count > SessionLimits.maxAttributeBytes {
      throw DealError(
        .invalid, "the value for '\(key)' is \(text.utf8.count) bytes long, more than the \(SessionLimits.size(SessionLimits.maxAttributeBytes)) a session file holds",
        subject: .value(key))
    }
    let v = try type.parse(text, key: key)
    if let why = validate?(v) {
      throw DealError(.invalid, "invalid value '\(text)' for '\(key)': \(why)", subject: .value(key))
    }
    return v
  }

  /// Checks a value read from a file.
  public func check(_ v: AttrValue) -> String? {
    switch (type, v) {
    case (.number(let spec), .number(let x)):
      guard x.isFinite else { return "not a finite number" }
      if spec.integer, x != x.rounded() { return "expected a whole number" }
      let tooLow = spec.minInclusive ? x < spec.min : x <= spec.min
      if tooLow || x > spec.max { return spec.boundsText + " (got \(Format.plain(x)))" }
    case (.text, .text(let s)) where s.utf8.count > SessionLimits.maxAttributeBytes:
      return "\(s.utf8.count) bytes long, more than the \(SessionLimits.size(SessionLimits.maxAttributeBytes)) a session file holds"
    case (.bool, .bool), (.date, .date), (.text, .text): break
    case (.choice(let options), .text(let s)):
      if !options.contains(s) { return "expected one of \(options.joined(separator: ", "))" }
    default:
      return "expected \(type.summary)"
    }
    return validate?(v)
  }
}

/// A shorthand key accepted by `add` that creates an edge instead of setting
/// an attribute, e.g. `add contract lease1 type=lease tenant=hyper` makes
/// `hyper rents lease1`.
public struct Shorthand: Sendable {
  public var key: String
  public var relation: Relation
  /// Whether the new node is the edge's `from` (else its `to`).
  public var newNodeIsFrom: Bool
}

/// What nodes, types and attributes a deal may contain. The core fills in
/// SPEC §3; plugins may add attributes (e.g. `method` on a GPU asset) when
/// they register.
public struct Schema: Sendable {
  public private(set) var types: [NodeKind: [String]] = [:]
  private var attributes: [String: [AttributeSpec]] = [:]  // "kind" or "kind/type"
  public private(set) var edgeAttributes: [Relation: [AttributeSpec]] = [:]
  public private(set) var shorthands: [NodeKind: [Shorthand]] = [:]
  /// Per "kind/type": the merged attribute list and a lookup by key, kept
  /// up to date by `extend` (lookups are on every hot path).
  private var merged: [String: [AttributeSpec]] = [:]
  private var byKey: [String: [String: AttributeSpec]] = [:]

  private mutating func reindex() {
    merged = [:]
    byKey = [:]
    for (kind, ts) in types {
      for t in ts {
        let list = (attributes[Schema.slot(kind, nil)] ?? []) + (attributes[Schema.slot(kind, t)] ?? [])
        merged[Schema.slot(kind, t)] = list
        byKey[Schema.slot(kind, t)] = Dictionary(list.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
      }
    }
  }

  private static func slot(_ kind: NodeKind, _ type: String?) -> String {
    type.map { "\(kind.rawValue)/\($0)" } ?? kind.rawValue
  }

  /// The attributes a node of this kind and type may carry, in the order
  /// they are documented.
  public func attributes(kind: NodeKind, type: String) -> [AttributeSpec] {
    merged[Schema.slot(kind, type)] ?? []
  }

  public func attribute(kind: NodeKind, type: String, key: String) -> AttributeSpec? {
    byKey[Schema.slot(kind, type)]?[key]
  }

  /// Adds attributes for nodes of `kind` (and `type`, if given).
  /// - Throws: if a key is already defined for that kind and type.
  public mutating func extend(kind: NodeKind, type: String?, with specs: [AttributeSpec]) throws(DealError) {
    let slot = Schema.slot(kind, type)
    for spec in specs {
      let existing = type.map { attributes(kind: kind, type: $0) } ?? (attributes[slot] ?? [])
      if existing.contains(where: { $0.key == spec.key }) {
        throw DealError(.invalid, "attribute '\(spec.key)' of \(slot) is defined twice")
      }
      attributes[slot, default: []].append(spec)
    }
    reindex()
  }

  /// The default value of `key` for a node, resolved against the node's
  /// own attributes and the deal.
  public func defaultValue(
    of spec: AttributeSpec, attrs: [String: AttrValue], deal: Deal
  ) -> AttrValue? {
    switch spec.defaultValue {
    case .none: return nil
    case .value(let v): return v
    case .dealStart: return .date(CalendarDate(month: deal.start))
    case .sameAs(let other): return attrs[other]
    case .byKey(let other, let table):
      guard let k = attrs[other]?.text else { return nil }
      return table[k]
    }
  }

  /// The standard schema of SPEC §3.
  public static let standard: Schema = {
    var s = Schema()
    s.types = [
      .entity: ["sponsor", "spv", "miner", "neocloud", "tenant", "lender", "guarantor"],
      .asset: ["gpu", "crypto", "site", "cash"],
      .contract: ["lease"],
      .facility: ["term", "abl", "bond", "convertible", "mezz"],
    ]
    let fraction = ValueType.number(NumberSpec(.fraction, max: 1))
    let annual = ValueType.number(NumberSpec(.annualRate, min: -0.05, max: 1))
    let money = ValueType.number(NumberSpec(.usd))
    let months1 = ValueType.number(NumberSpec(.months, min: 1, max: 1200, integer: true))
    let ratio = ValueType.number(NumberSpec(.ratio, min: 0, max: 100, minInclusive: false))
    let cooling = ValueType.choice(["air", "liquid"])
    func n(_ v: Double) -> DefaultValue { .value(.number(v)) }

    s.attributes["entity"] = [
      AttributeSpec("name", .text, help: "legal or display name"),
      AttributeSpec("pd", fraction, default: n(0), help: "annual probability of default"),
    ]
    s.attributes["asset/gpu"] = [
      AttributeSpec("model", .choice(GPUModels.all), required: true, help: "accelerator model"),
      AttributeSpec(
        "units", .number(NumberSpec(.count, min: 0, max: 10_000_000, minInclusive: false, integer: true)),
        required: true, help: "number of GPUs"),
      AttributeSpec("unit_cost", money, required: true, help: "all-in cost per GPU (USD)"),
      AttributeSpec("acquired", .date, default: .dealStart, help: "acquisition date"),
      AttributeSpec("life", months1, default: n(60), help: "useful life in months"),
      AttributeSpec("salvage", fraction, default: n(0.05), help: "salvage value as a fraction of cost"),
      AttributeSpec(
        "kw", .number(NumberSpec(.kw, min: 0, max: 100, minInclusive: false)), default: n(1.2),
        help: "all-in kW per GPU"),
      AttributeSpec("cooling", cooling, default: .value(.text("liquid")), help: "air or liquid cooling"),
      AttributeSpec(
        "rack_kw", .number(NumberSpec(.kw, min: 0, max: 1000, minInclusive: false)), default: n(40),
        help: "rack power density the fleet needs (kW)"),
      AttributeSpec(
        "opex", .number(NumberSpec(.usdPerGPUMonth)), default: n(0),
        help: "operating cost per GPU-month besides power (USD)"),
    ]
    s.attributes["asset/crypto"] = [
      AttributeSpec("coin", .choice(["BTC", "ETH"]), required: true, help: "the coin"),
      AttributeSpec("amount", .number(NumberSpec(.coins)), required: true, help: "number of coins"),
      AttributeSpec("price", .number(NumberSpec(.usdPerUnit)), required: true, help: "price per coin (USD)"),
      AttributeSpec(
        "vol", .number(NumberSpec(.fraction, max: 5)),
        default: .byKey("coin", ["BTC": .number(0.55), "ETH": .number(0.70)]),
        help: "annual volatility"),
    ]
    s.attributes["asset/site"] = [
      AttributeSpec(
        "mw", .number(NumberSpec(.mw, min: 0, max: 100_000, minInclusive: false)), help: "critical IT power (MW)"),
      AttributeSpec(
        "power_price", .number(NumberSpec(.usdPerKWh, max: 10)), default: n(0.07), help: "power price (USD per kWh)"),
      AttributeSpec(
        "pue", .number(NumberSpec(.plain, min: 1, max: 5)), default: n(1.3), help: "power usage effectiveness"),
      AttributeSpec(
        "rack_kw_max", .number(NumberSpec(.kw, min: 0, max: 1000, minInclusive: false)),
        help: "densest rack the site can host (kW)"),
      AttributeSpec("cooling", cooling, help: "air or liquid cooling"),
    ]
    s.attributes["asset/cash"] = [
      AttributeSpec("amount", money, required: true, help: "cash (USD)")
    ]
    s.attributes["contract/lease"] = [
      AttributeSpec("rate", .number(NumberSpec(.usdPerGPUHour, max: 1000)), required: true, help: "contract rate (USD per GPU-hour)"),
      AttributeSpec("utilization", fraction, default: n(0.85), help: "share of hours billed"),
      AttributeSpec("start", .date, default: .dealStart, help: "first month of the lease"),
      AttributeSpec("term", months1, required: true, help: "lease term in months"),
      AttributeSpec(
        "take_or_pay", fraction, default: n(0),
        help: "fraction of contracted revenue owed regardless of use"),
      AttributeSpec(
        "spot_rate", .number(NumberSpec(.usdPerGPUHour, max: 1000)), default: .sameAs("rate"),
        help: "spot rate after the term at the deal start (USD per GPU-hour)"),
      AttributeSpec("deflation", fraction, default: n(0.30), help: "annual decline of the spot rate"),
    ]
    s.attributes["facility"] = [
      AttributeSpec("amount", money, required: true, help: "commitment (USD)"),
      AttributeSpec("rate", annual, default: n(0), help: "annual coupon (the spread is added if floating)"),
      AttributeSpec("floating", .bool, default: .value(.bool(false)), help: "pays base rate + spread"),
      AttributeSpec("spread", annual, default: n(0), help: "spread over the base rate (floating)"),
      AttributeSpec("start", .date, default: .dealStart, help: "month the facility is drawn"),
      AttributeSpec("term", months1, required: true, help: "tenor in months"),
      AttributeSpec(
        "amort", .choice(["level", "straight", "bullet", "sculpted", "sweep"]), default: .value(.text("level")),
        help: "principal schedule"),
      AttributeSpec("sweep", fraction, default: n(0), help: "fraction of excess cash swept to principal"),
      AttributeSpec(
        "rank", .number(NumberSpec(.plain, min: 1, max: 99, integer: true)), default: n(1),
        help: "payment priority, 1 = most senior"),
      AttributeSpec("min_dscr", ratio, help: "DSCR covenant (trailing 12 months)"),
      AttributeSpec("lockup_dscr", ratio, help: "DSCR below which distributions are locked up"),
      AttributeSpec("max_ltv", fraction, help: "LTV covenant"),
      AttributeSpec("advance_rate", fraction, help: "ABL borrowing base as a fraction of collateral"),
      AttributeSpec(
        "dsra_months", .number(NumberSpec(.months, max: 60, integer: true)), default: n(0),
        help: "debt service reserve in months of debt service"),
      AttributeSpec("target_dscr", ratio, help: "DSCR the sculpted schedule aims at"),
      AttributeSpec("margin_ltv", fraction, help: "LTV above which pledged coins are sold (margin call)"),
      AttributeSpec(
        "conversion_price", .number(NumberSpec(.usdPerUnit, min: 0, minInclusive: false)),
        help: "convertible: share price at which it converts"),
      AttributeSpec(
        "share_price", .number(NumberSpec(.usdPerUnit)), help: "convertible: the issuer's share price"),
      AttributeSpec(
        "share_beta", .number(NumberSpec(.plain, min: 0, max: 10)), default: n(1.5),
        help: "convertible: the share's log-return per unit of bitcoin's (the miner as a levered bet on bitcoin)"),
      AttributeSpec(
        "refi_term", .number(NumberSpec(.months, min: 1, max: 600, integer: true)),
        help: "months a balance unpaid at maturity is refinanced for (no refinancing without it)"),
      AttributeSpec("refi_spread", annual, default: n(0), help: "spread over the base rate of the refinancing"),
      AttributeSpec("refi_max_ltv", fraction, help: "refinancing only if the balance is at most this share of the collateral"),
      AttributeSpec("refi_min_dscr", ratio, help: "refinancing only if trailing CFADS covers its debt service this many times"),
    ]
    s.edgeAttributes[.pledgedTo] = [
      AttributeSpec(
        "lien", .number(NumberSpec(.plain, min: 1, max: 9, integer: true)), default: n(1),
        help: "lien order, 1 = first lien")
    ]
    s.shorthands = [
      .entity: [Shorthand(key: "parent", relation: .parentOf, newNodeIsFrom: false)],
      .asset: [
        Shorthand(key: "owner", relation: .owns, newNodeIsFrom: false),
        Shorthand(key: "site", relation: .hostedAt, newNodeIsFrom: true),
        Shorthand(key: "pledged_to", relation: .pledgedTo, newNodeIsFrom: true),
      ],
      .contract: [
        Shorthand(key: "tenant", relation: .rents, newNodeIsFrom: false),
        Shorthand(key: "fleet", relation: .covers, newNodeIsFrom: true),
      ],
      .facility: [
        Shorthand(key: "borrower", relation: .borrows, newNodeIsFrom: false),
        Shorthand(key: "guarantor", relation: .guarantees, newNodeIsFrom: false),
      ],
    ]
    s.reindex()
    return s
  }()
}

/// Accelerator models the shell knows. Plugins that price them (the
/// launch calendar of `depreciate`) key on these names.
public enum GPUModels {
  public static let all = [
    "A100", "H100", "H200", "GH200", "B100", "B200", "B300", "GB200", "GB300", "R100", "VR200",
    "MI300X", "MI325X", "MI355X", "L40S",
  ]
}
