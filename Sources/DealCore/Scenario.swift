/// A stress of the deal (SPEC §5 `shock`): the factor keys a user gave and
/// their values, as typed (`deflation=40%` is 0.40, `utilization=-20pt` is
/// −0.20, `rate=+200bp` is 0.02). The base case has no keys.
///
/// A value type: named scenarios are kept in the session, checked when a
/// session file is read (an unknown key or a value out of range refuses the
/// file), and are what the engine runs under.
public struct Scenario: Hashable, Sendable, CustomStringConvertible {
  /// The keys of a stress, in the order they are documented and described.
  public enum Key: String, CaseIterable, Sendable, Comparable {
    case deflation, spot, btc, eth, utilization, rate, power, haircut

    public static func < (a: Key, b: Key) -> Bool { a.rawValue < b.rawValue }

    public var help: String {
      switch self {
      case .deflation: "spot-rate decline of every lease, a year (replaces each lease's)"
      case .spot: "relative change of spot rates"
      case .btc: "relative change of the BTC price"
      case .eth: "relative change of the ETH price"
      case .utilization: "change of utilization, in points"
      case .rate: "change of the base rate of floating facilities"
      case .power: "relative change of power prices"
      case .haircut: "extra haircut on collateral market value"
      }
    }

    public var example: String {
      switch self {
      case .deflation: "deflation=40%"
      case .spot: "spot=-30%"
      case .btc: "btc=-60%"
      case .eth: "eth=-50%"
      case .utilization: "utilization=-20pt"
      case .rate: "rate=+200bp"
      case .power: "power=+25%"
      case .haircut: "haircut=15%"
      }
    }

    /// The values a key may take.
    public var range: ClosedRange<Double> {
      switch self {
      case .deflation, .haircut: 0...1
      case .spot, .btc, .eth, .power: -1...10
      case .utilization: -1...1
      case .rate: -0.2...0.5
      }
    }

    var rangeText: String {
      switch self {
      case .deflation, .haircut: "between 0% and 100%"
      case .spot, .btc, .eth, .power: "between -100% and +1000%"
      case .utilization: "between -100pt and +100pt"
      case .rate: "between -2000bp and +5000bp"
      }
    }

    /// A value as the user would type it again (`40%`, `-20pt`, `+200bp`).
    public func format(_ v: Double) -> String {
      switch self {
      case .deflation, .haircut: Format.percent(v)
      case .utilization: "\(v >= 0 ? "+" : "")\(Format.plain(v * 100, maxDecimals: 2))pt"
      case .rate: "\(v >= 0 ? "+" : "")\(Format.plain(v * 10_000, maxDecimals: 1))bp"
      default: "\(v >= 0 ? "+" : "")\(Format.percent(v))"
      }
    }
  }

  /// The keys given, with their values.
  public private(set) var values: [Key: Double] = [:]

  /// The base case: no stress.
  public init() {}

  public static let base = Scenario()

  /// A scenario from checked values.
  public init(values: [Key: Double]) { self.values = values }

  /// A scenario from factor keys as stored in a session file.
  /// - Throws: an unknown key (naming the closest one) or a value out of
  ///   its range, naming the key.
  public init(factors: [String: Double]) throws(DealError) {
    for (name, v) in factors.sorted(by: { $0.key < $1.key }) {
      guard let key = Key(rawValue: name) else {
        throw DealError.unknownName("stress key", name, valid: Key.allCases.map(\.rawValue), subject: .key(name))
      }
      guard v.isFinite, key.range.contains(v) else {
        throw DealError(.invalid, "'\(name)' must be \(key.rangeText) (got \(Format.plain(v)))", subject: .value(name))
      }
      values[key] = v
    }
  }

  public subscript(key: Key) -> Double? {
    get { values[key] }
    set { values[key] = newValue }
  }

  public var isBase: Bool { values.isEmpty }

  /// The factors by key name, for JSON and session files.
  public var factors: [String: Double] {
    Dictionary(uniqueKeysWithValues: values.map { ($0.key.rawValue, $0.value) })
  }

  /// This scenario with `other`'s keys on top.
  public func merging(_ other: Scenario) -> Scenario {
    Scenario(values: values.merging(other.values) { _, b in b })
  }

  /// The stress as the user would type it again, keys in documented order.
  public var description: String {
    Key.allCases.compactMap { k in values[k].map { "\(k.rawValue)=\(k.format($0))" } }.joined(separator: " ")
  }

  /// Reads the value of a stress key as typed (`-30%`, `-20pt`, `+200bp`).
  /// - Throws: an unknown key, a value of the wrong unit or out of range.
  public static func parse(key name: String, _ text: String) throws(DealError) -> (Key, Double) {
    guard let key = Key(rawValue: name) else {
      throw DealError.unknownName("stress key", name, valid: Key.allCases.map(\.rawValue), subject: .key(name))
    }
    func bad(_ why: String) -> DealError {
      DealError(.invalid, "invalid value '\(text)' for '\(name)': \(why)", hint: "e.g. \(key.example)", subject: .value(name))
    }
    let q: Quantity
    do { q = try Quantity.parse(text) } catch { throw bad(error.reason) }
    if q.dollar || q.unit == .months || q.unit == .ratio { throw bad("expected a percentage or points") }
    guard key.range.contains(q.value) else { throw bad("must be \(key.rangeText)") }
    return (key, q.value)
  }

  // MARK: The stress as the engine applies it

  /// Replaces every lease's spot-rate deflation.
  public var deflation: Double? { values[.deflation] }
  /// Factor on spot rates (1 + relative change).
  public var spotFactor: Double { 1 + (values[.spot] ?? 0) }
  /// Change of utilization, in points (a fraction).
  public var utilizationChange: Double { values[.utilization] ?? 0 }
  /// Change of the base rate paid by floating facilities.
  public var rateChange: Double { values[.rate] ?? 0 }
  /// Factor on power prices.
  public var powerFactor: Double { 1 + (values[.power] ?? 0) }
  /// Extra haircut on collateral market value (a fraction).
  public var haircut: Double { values[.haircut] ?? 0 }
  /// Factors on coin prices (1 + relative change).
  public var btcFactor: Double { 1 + (values[.btc] ?? 0) }
  public var ethFactor: Double { 1 + (values[.eth] ?? 0) }
}
