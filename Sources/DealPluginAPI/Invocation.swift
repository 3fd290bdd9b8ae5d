import DealCore
import DealEngine

/// A command as parsed against its `CommandSpec`: positionals, `key=value`
/// options (in order) and `--flags`.
public struct Invocation {
  public var name: String
  public var words: [Word]
  /// Indices into `words` of the positional arguments.
  public var positionalIndices: [Int]
  /// `key=value` options in the order given, with the index of their word.
  public var options: [(key: String, value: String, index: Int)]
  public var flags: [String: String]

  public var positionals: [String] { positionalIndices.map { words[$0].text } }
  public var json: Bool { flags["json"] != nil }

  public func has(_ flag: String) -> Bool { flags[flag] != nil }

  public func option(_ key: String) -> String? { options.last(where: { $0.key == key })?.value }

  /// Parses the words of a command against its spec.
  /// - Throws: a usage error for an unknown flag or option, naming the
  ///   closest valid one.
  public init(words: [Word], spec: CommandSpec) throws(DealError) {
    name = spec.name
    self.words = words
    positionalIndices = []
    options = []
    flags = [:]
    var i = 1
    while i < words.count {
      let w = words[i]
      if w.text.hasPrefix("--"), !w.quoted, w.text.count > 2 {
        var flag = String(w.text.dropFirst(2))
        var inlineValue: String? = nil
        if let eq = flag.firstIndex(of: "=") {
          inlineValue = String(flag[flag.index(after: eq)...])
          flag = String(flag[..<eq])
        }
        guard let fs = spec.allFlags.first(where: { $0.name == flag }) else {
          let names = spec.allFlags.map { "--" + $0.name }
          throw DealError.usage(
            "unknown flag '--\(flag)'" + Suggest.clause(for: "--" + flag, in: names),
            hint: "'\(spec.name)' takes " + names.joined(separator: ", "), subject: .word(i))
        }
        if let valueName = fs.valueName {
          if let v = inlineValue {
            flags[flag] = v
          } else if let d = fs.defaultValue,
            i + 1 >= words.count || (!words[i + 1].quoted && (words[i + 1].text.hasPrefix("--") || words[i + 1].equalsIndex != nil))
          {
            // Given alone (or before another flag or key=value): its default.
            flags[flag] = d
          } else {
            guard i + 1 < words.count else {
              throw DealError.usage("'--\(flag)' needs a value (\(valueName))", subject: .word(i))
            }
            // `--csv --json` is a flag without its value, not a file named
            // "--json" (quote a value that starts with "--").
            let next = words[i + 1]
            if !next.quoted, next.text.hasPrefix("--"),
              spec.allFlags.contains(where: { "--" + $0.name == next.text.split(separator: "=").first.map(String.init) })
            {
              throw DealError.usage(
                "'--\(flag)' needs a value (\(valueName)) before '\(next.text)'", hint: "e.g. --\(flag) out.csv \(next.text)",
                subject: .word(i))
            }
            flags[flag] = next.text
            i += 1
          }
        } else {
          if inlineValue != nil { throw DealError.usage("'--\(flag)' takes no value", subject: .word(i)) }
          flags[flag] = ""
        }
      } else if let k = w.key, let v = w.value, !k.isEmpty, Invocation.isKey(k) {
        let key = String(k)
        let value = String(v)
        let declared = spec.options.first { $0.name == key }
        if !spec.acceptsAnyKey, declared == nil {
          let names = spec.options.map(\.name)
          throw DealError.usage(
            "unknown option '\(key)'" + Suggest.clause(for: key, in: names),
            hint: names.isEmpty ? "'\(spec.name)' takes no key=value options" : "options: " + names.map { "\($0)=" }.joined(separator: " "),
            subject: .key(key))
        }
        // Given twice, one of the two would be dropped without a word (and
        // an error about either would point at the first): refused.
        if let first = options.first(where: { $0.key == key }) {
          throw DealError.usage(
            "'\(key)' is given twice ('\(words[first.index].text)' and '\(w.text)')", hint: "give each key once",
            subject: .word(i))
        }
        try declared?.check?(value)
        options.append((key, value, i))
      } else {
        positionalIndices.append(i)
      }
      i += 1
    }
  }

  static func isKey(_ s: Substring) -> Bool {
    guard let f = s.first, f.isLetter, f.isLowercase else { return false }
    return s.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "_" }
  }

  // MARK: Typed access

  /// The positional at `n`, or a usage error naming what is missing.
  public func positional(_ n: Int, _ what: String, usage: String) throws(DealError) -> String {
    guard n < positionalIndices.count else {
      throw DealError.usage("missing \(what)", hint: "usage: \(usage)", subject: .word(words.count - 1))
    }
    return words[positionalIndices[n]].text
  }

  /// Rejects positionals beyond the first `n`.
  public func noExtraPositionals(after n: Int, usage: String) throws(DealError) {
    if positionalIndices.count > n {
      let w = words[positionalIndices[n]]
      throw DealError.usage("unexpected argument '\(w.text)'", hint: "usage: \(usage)", subject: .word(positionalIndices[n]))
    }
  }

  /// Reads a number option, checked against `spec`.
  public func number(_ key: String, _ spec: NumberSpec) throws(DealError) -> Double? {
    guard let text = option(key) else { return nil }
    guard case .number(let x) = try ValueType.number(spec).parse(text, key: key) else { return nil }
    return x
  }

  /// Reads an integer option, checked against `spec`.
  public func integer(_ key: String, _ spec: NumberSpec) throws(DealError) -> Int? {
    var s = spec
    s.integer = true
    return try number(key, s).map { Int($0) }
  }

  /// The stress keys given on the command line (`deflation=40% btc=-60%`).
  public func stress() throws(DealError) -> Scenario {
    var sc = Scenario.base
    for (key, value, _) in options {
      guard let k = Scenario.Key(rawValue: key) else { continue }
      sc[k] = try Scenario.parse(key: k.rawValue, value).1
    }
    return sc
  }

  /// The scenario of `scenario=NAME` (else the one in use), with the stress
  /// keys given on the command line on top; the base case if neither.
  public func scenario(_ analysis: DealAnalysis) throws(DealError) -> Scenario {
    try analysis.scenario(named: option("scenario"), stress: stress())
  }
}
