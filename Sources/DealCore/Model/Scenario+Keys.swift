/// The stress keys of `shock` (SPEC §5), as typed and as stored in a
/// session's named scenarios.
extension Scenario {
  public struct Key: Sendable {
    public var name: String
    public var help: String
    public var example: String
  }

  public static let keys: [Key] = [
    Key(name: "deflation", help: "spot-rate decline of every lease, a year (replaces each lease's)", example: "deflation=40%"),
    Key(name: "spot", help: "relative change of spot rates", example: "spot=-30%"),
    Key(name: "btc", help: "relative change of the BTC price", example: "btc=-60%"),
    Key(name: "eth", help: "relative change of the ETH price", example: "eth=-50%"),
    Key(name: "utilization", help: "change of utilization, in points", example: "utilization=-20pt"),
    Key(name: "rate", help: "change of the base rate of floating facilities", example: "rate=+200bp"),
    Key(name: "power", help: "relative change of power prices", example: "power=+25%"),
    Key(name: "haircut", help: "extra haircut on collateral market value", example: "haircut=15%"),
  ]

  /// Reads the value of a stress key as typed (`-30%`, `-20pt`, `+200bp`)
  /// into the number stored for it.
  public static func value(of key: String, _ text: String) throws(DealError) -> Double {
    func bad(_ why: String) -> DealError {
      let example = keys.first { $0.name == key }?.example ?? ""
      return DealError(.invalid, "invalid value '\(text)' for '\(key)': \(why)", hint: "e.g. \(example)", subject: .value(key))
    }
    let q: Quantity
    do { q = try Quantity.parse(text) } catch { throw bad(error.reason) }
    if q.dollar || q.unit == .months || q.unit == .ratio { throw bad("expected a percentage or points") }
    let v = q.value
    switch key {
    case "deflation":
      guard (0...1).contains(v) else { throw bad("must be between 0% and 100%") }
    case "spot", "btc", "eth", "power":
      guard v >= -1, v <= 10 else { throw bad("must be between -100% and +1000%") }
    case "utilization":
      guard (-1...1).contains(v) else { throw bad("must be between -100pt and +100pt") }
    case "rate":
      guard (-0.2...0.5).contains(v) else { throw bad("must be between -2000bp and +5000bp") }
    case "haircut":
      guard (0...1).contains(v) else { throw bad("must be between 0% and 100%") }
    default:
      throw DealError.unknownName("stress key", key, valid: keys.map(\.name), subject: .key(key))
    }
    return v
  }

  /// A scenario's factors as the user would type them again.
  public static func describe(_ factors: [String: Double]) -> String {
    keys.compactMap { k in
      guard let v = factors[k.name] else { return nil }
      switch k.name {
      case "deflation", "haircut": return "\(k.name)=\(Format.percent(v))"
      case "utilization": return "\(k.name)=\(v >= 0 ? "+" : "")\(Format.plain(v * 100, maxDecimals: 2))pt"
      case "rate": return "\(k.name)=\(v >= 0 ? "+" : "")\(Format.plain(v * 10_000, maxDecimals: 1))bp"
      default: return "\(k.name)=\(v >= 0 ? "+" : "")\(Format.percent(v))"
      }
    }.joined(separator: " ")
  }
}
