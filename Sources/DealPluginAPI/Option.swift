import DealCore

/// A `key=value` option declared once, typed: its name and help, what it
/// takes, its default, and how a value is read and checked. The help text
/// (with the default), the completion of its values and the check made when
/// a command is parsed all come from the declaration; the command reads
/// the value with `invocation.value(option)`.
///
///     static let depth = Option.number(
///       "depth", "N", NumberSpec(.count, min: 1), default: LiquidationParameters().depth,
///       help: "GPUs a month the secondary market absorbs")
///     ...
///     params.depth = try inv.value(Self.depth)
public struct Option<Value: Sendable>: Sendable {
  public let spec: OptionSpec
  let read: @Sendable (String) throws(DealError) -> Value
  /// The value when the option is not given (nil: none).
  public let defaultValue: Value?

  public init(
    _ name: String, _ valueName: String, help: String, default defaultValue: Value? = nil, shown: String? = nil,
    completion: CompletionKind = .none, read: @escaping @Sendable (String) throws(DealError) -> Value
  ) {
    var spec = OptionSpec(name, valueName, help: help, completion: completion)
    spec.defaultText = shown
    spec.check = { text throws(DealError) in _ = try read(text) }
    self.spec = spec
    self.read = read
    self.defaultValue = defaultValue
  }

  /// Reads a value as typed.
  public func parse(_ text: String) throws(DealError) -> Value { try read(text) }
}

extension Option where Value == Double {
  /// A number in the units of `spec`, checked against its bounds; the
  /// default is shown in the units too ("2,000", "20%").
  public static func number(
    _ name: String, _ valueName: String, _ spec: NumberSpec, default value: Double? = nil, shown: String? = nil, help: String
  ) -> Option<Double> {
    Option(name, valueName, help: help, default: value, shown: shown ?? value.map { spec.unit.format($0) }) { text throws(DealError) in
      guard case .number(let x) = try ValueType.number(spec).parse(text, key: name) else {
        throw DealError(.invalid, "invalid value '\(text)' for '\(name)'", subject: .value(name))
      }
      return x
    }
  }
}

extension Option where Value == Int {
  /// A whole number in the units of `spec`.
  public static func integer(
    _ name: String, _ valueName: String, _ spec: NumberSpec, default value: Int? = nil, shown: String? = nil, help: String
  ) -> Option<Int> {
    var s = spec
    s.integer = true
    let number = Option<Double>.number(name, valueName, s, help: help)
    return Option(name, valueName, help: help, default: value, shown: shown ?? value.map { s.unit.format(Double($0)) }) {
      text throws(DealError) in Int(try number.parse(text))
    }
  }
}

extension Option where Value == String {
  /// One of a fixed list of words; Tab completes them.
  public static func choice(_ name: String, _ valueName: String, _ values: [String], default value: String? = nil, help: String) -> Option<String> {
    Option(name, valueName, help: help, default: value, shown: value, completion: .values(values)) { text throws(DealError) in
      guard values.contains(text) else { throw DealError.unknownName(name, text, valid: values, subject: .value(name)) }
      return text
    }
  }

  /// Any text (what it means is the command's to check).
  public static func text(
    _ name: String, _ valueName: String, default value: String? = nil, completion: CompletionKind = .none, help: String
  ) -> Option<String> {
    Option(name, valueName, help: help, default: value, shown: value, completion: completion) { text throws(DealError) in text }
  }
}

extension Option where Value == Scenario {
  /// The stress keys of `shock`, as options of a command that runs under a
  /// stress (`waterfall deflation=40%`).
  public static func stress(_ key: Scenario.Key, help prefix: String = "stress: ") -> Option<Scenario> {
    Option(key.rawValue, "CHANGE", help: prefix + key.help + " (\(key.example))") { text throws(DealError) in
      Scenario(values: [key: try Scenario.parse(key: key.rawValue, text).1])
    }
  }

  /// One option per stress key. `checked: false` leaves the values to the
  /// command (`shock grid` reads ranges, `deflation=0%..60%:7`).
  public static func stresses(help prefix: String = "stress: ", checked: Bool = true) -> [OptionSpec] {
    Scenario.Key.allCases.map { key in
      var spec = stress(key, help: prefix).spec
      if !checked { spec.check = nil }
      return spec
    }
  }
}

extension Invocation {
  /// The option's value as given (read and checked), else its default;
  /// nil when neither.
  public func value<T>(_ o: Option<T>) throws(DealError) -> T? {
    guard let text = option(o.spec.name) else { return o.defaultValue }
    return try o.parse(text)
  }

  /// The option's value as given, else `fallback`.
  public func value<T>(_ o: Option<T>, else fallback: T) throws(DealError) -> T {
    try value(o) ?? fallback
  }
}

extension CommandSpec {
  /// A usage line from declarations, so it cannot drift from them:
  /// `head [key=VALUE] ... [KEY=CHANGE ...] [--flag VALUE] ...` (the stress
  /// keys, all taking a CHANGE, as one item).
  public static func usage(_ head: String, options: [OptionSpec], flags: [FlagSpec] = []) -> String {
    var items = [head]
    for o in options {
      if o.valueName == "CHANGE" {
        if !items.contains("[KEY=CHANGE ...]") { items.append("[KEY=CHANGE ...]") }
      } else {
        items.append("[\(o.name)=\(o.valueName)]")
      }
    }
    items += flags.map { f in "[--\(f.name)" + (f.valueName.map { " \($0)" } ?? "") + "]" }
    return items.joined(separator: " ")
  }
}
