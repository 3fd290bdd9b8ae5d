import DealCore
import DealPluginAPI
import Foundation

/// Tab completion (SPEC §1): command names, sub-commands, node ids,
/// relation names, attribute keys, option names and flag names, from the
/// same command specs the registry holds. Pure: the libedit glue calls it.
public struct Completer {
  let shell: Shell

  public init(shell: Shell) { self.shell = shell }

  /// Candidates for the word that starts at `wordStart` in `line` (the text
  /// before the cursor), already filtered by what has been typed.
  public func complete(line: String, wordStart: Int) -> [String] {
    let chars = Array(line)
    let start = min(max(0, wordStart), chars.count)
    let before = String(chars[..<start])
    let partial = String(chars[start...])
    // The words of the current command (after the last ';').
    guard let commands = try? Lexer(variables: shell.variables).split(before + "x") else { return [] }
    var previous = commands.last?.words ?? []
    if !previous.isEmpty { previous.removeLast() }  // the "x" stands for the partial word
    if before.trimmingCharacters(in: .whitespaces).hasSuffix(";") { previous = [] }
    let candidates = candidatesFor(previous: previous, partial: partial)
    let unique = Array(Set(candidates.filter { $0.hasPrefix(partial) })).sorted()
    return unique
  }

  func candidatesFor(previous: [Word], partial: String) -> [String] {
    let registry = shell.registry
    guard let first = previous.first else { return registry.allNames }
    guard let spec = registry.command(first.text)?.spec else { return [] }
    if partial.hasPrefix("-") { return spec.allFlags.map { "--" + $0.name } }
    let req = CompletionRequest(previous: previous, partial: partial, session: shell.session, schema: shell.schema)
    if let custom = spec.complete?(req) { return custom }
    if let eq = partial.firstIndex(of: "=") {
      let key = String(partial[..<eq])
      guard let opt = spec.options.first(where: { $0.name == key }) else { return [] }
      return values(opt.completion).map { key + "=" + $0 }
    }
    // The value of a flag that takes one (--csv FILE, --chart dscr|ltv).
    if let last = previous.last, last.text.hasPrefix("--"),
      let flag = spec.allFlags.first(where: { "--" + $0.name == last.text }), flag.valueName != nil
    {
      return flag.completion.isFiles ? files(partial, ext: flag.completion.fileExtension) : values(flag.completion)
    }
    var positionals = 0
    var i = 1
    while i < previous.count {
      let w = previous[i]
      if w.text.hasPrefix("--") {
        if let f = spec.allFlags.first(where: { "--" + $0.name == w.text }), f.valueName != nil { i += 1 }
      } else if w.equalsIndex == nil {
        positionals += 1
      }
      i += 1
    }
    var out: [String] = []
    if positionals == 0 { out += spec.subcommands }
    if !spec.arguments.isEmpty {
      let idx = min(positionals, spec.arguments.count - 1)
      let arg = spec.arguments[idx]
      if positionals < spec.arguments.count || arg.repeats {
        out += arg.completion.isFiles ? files(partial, ext: arg.completion.fileExtension) : values(arg.completion)
      }
    }
    let given = Set(previous.compactMap { w in w.key.map(String.init) })
    out += spec.options.filter { !given.contains($0.name) }.map { $0.name + "=" }
    return out
  }

  func values(_ kind: CompletionKind) -> [String] {
    let s = shell.session
    switch kind {
    case .none, .files: return []
    case .nodeIDs(let k): return s.graph.sortedNodes.filter { k == nil || $0.kind == k }.map(\.id)
    case .relations: return Relation.allCases.map(\.rawValue)
    case .kinds: return NodeKind.allCases.map(\.rawValue) + shell.schema.types.values.flatMap { $0 }
    case .values(let v): return v
    case .commands: return shell.registry.allNames
    case .scenarios: return s.scenarios.keys.sorted()
    }
  }

  /// File names that start with `partial`; folders end in '/'.
  func files(_ partial: String, ext: String?) -> [String] {
    let dirPart: String
    if let slash = partial.lastIndex(of: "/") { dirPart = String(partial[...slash]) } else { dirPart = "" }
    let dir = dirPart.isEmpty ? "." : dirPart
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
    var out: [String] = []
    for n in names where !n.hasPrefix(".") {
      var isDir: ObjCBool = false
      _ = FileManager.default.fileExists(atPath: dirPart + n, isDirectory: &isDir)
      if isDir.boolValue {
        out.append(dirPart + n + "/")
      } else if ext == nil || n.hasSuffix("." + ext!) || n.hasSuffix(".transcript") && ext == "dsh" {
        out.append(dirPart + n)
      }
    }
    if ext == "deal", !partial.contains("/") {
      // Bare names resolve in the sessions folder.
      let sd = shell.environment.sessionsDirectory
      for n in (try? FileManager.default.contentsOfDirectory(atPath: sd)) ?? [] where n.hasSuffix(".deal") {
        out.append(String(n.dropLast(5)))
      }
    }
    return out
  }
}

extension CompletionKind {
  var isFiles: Bool {
    if case .files = self { return true }
    return false
  }
  var fileExtension: String? {
    if case .files(let e) = self { return e }
    return nil
  }
}
