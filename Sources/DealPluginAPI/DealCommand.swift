// The one interface every command of dealsh registers through: the core
// commands (`add`, `save`, `undo`, ...), the built-in plugins under Plugins/,
// and plugins loaded from shared libraries at run time.
//
// Adding a new built-in command
// -----------------------------
// 1. Create `Plugins/NAME/` with a type conforming to `DealPlugin`, and add
//    `.target(name: "NAMEPlugin", dependencies: ["DealCore", "DealPluginAPI"],
//    path: "Plugins/NAME")` to Package.swift, and the target to the
//    dependencies of `DealBuiltins`.
// 2. Describe each command with a `CommandSpec`: name, abstract, usage,
//    examples, options (`key=value`), flags (`--flag`), completions, and the
//    `run` closure. `--json` is implicit: every command returns both a text
//    and a JSON form in `CommandOutput`.
// 3. A command that changes the deal does so through
//    `context.modify { session in ... }`; the shell keeps the change only if
//    `run` returns without throwing, records it for undo and in the journal.
// 4. Add the plugin to `Sources/DealBuiltins/BuiltInPlugins.swift` (sorted);
//    a test fails while a `Plugins/*` folder is missing from that list.
// 5. Add a transcript under `Tests/Transcripts/` that runs every example and
//    every error path, and a section to README.md.

import DealCore
import DealEngine

/// A command plugin: a named, versioned set of commands, registered with the
/// shell at start-up (built-ins) or when loaded from a shared library.
public protocol DealPlugin {
  var name: String { get }
  var version: String { get }
  var commands: [CommandSpec] { get }
  /// Adds attributes the plugin reads (e.g. `method` on a GPU asset).
  func extend(schema: inout Schema) throws(DealError)
}

extension DealPlugin {
  public func extend(schema: inout Schema) throws(DealError) {}
}

/// What a command may do to the shell, so the shell can prepare for it.
public enum CommandEffects: Sendable {
  /// Reads the session only.
  case reads
  /// May change the session through `context.modify`; the shell takes an
  /// undo snapshot and journals the command when it does.
  case changes
  /// Acts on the shell itself (open, save, undo, source); never journaled.
  case controlsShell
}

/// What Tab should offer for an argument or option value.
public enum CompletionKind: Sendable, Equatable {
  case none
  /// Ids of nodes, optionally of one kind.
  case nodeIDs(NodeKind?)
  case relations
  case kinds
  case values([String])
  /// File paths, optionally with one extension.
  case files(String?)
  case commands
  /// Named scenarios of the session.
  case scenarios
}

/// A `key=value` option of a command (made by an `Option` declaration,
/// which adds the default and the check).
public struct OptionSpec: Sendable {
  public var name: String
  public var valueName: String
  public var help: String
  public var completion: CompletionKind
  /// The default as help shows it ("2,000", "20%"); nil: none shown.
  public var defaultText: String?
  /// Checks a value as typed when the command is parsed (before it runs).
  public var check: (@Sendable (String) throws(DealError) -> Void)?

  public init(_ name: String, _ valueName: String = "VALUE", help: String, completion: CompletionKind = .none) {
    self.name = name
    self.valueName = valueName
    self.help = help
    self.completion = completion
  }

  /// The help with the default: "GPUs a month the market absorbs (default 2,000)".
  public var helpText: String { defaultText.map { "\(help) (default \($0))" } ?? help }
}

/// A `--flag` of a command, optionally taking a value (`--csv FILE`).
public struct FlagSpec: Sendable {
  public var name: String
  public var valueName: String?
  public var help: String
  /// What Tab offers for its value: the words of a `a|b|c` value name, file
  /// names for `FILE`, else what the command declares.
  public var completion: CompletionKind
  /// The value when the flag is given without one (`--chart` alone); nil:
  /// a value is required.
  public var defaultValue: String?

  public init(
    _ name: String, value valueName: String? = nil, help: String, completion: CompletionKind? = nil, default defaultValue: String? = nil
  ) {
    self.name = name
    self.valueName = valueName
    self.help = help
    self.defaultValue = defaultValue
    if let completion {
      self.completion = completion
    } else if let v = valueName, v.contains("|") {
      self.completion = .values(v.split(separator: "|").map(String.init))
    } else if valueName == "FILE" {
      self.completion = .files(nil)
    } else {
      self.completion = .none
    }
  }
}

/// A positional argument, for help and completion.
public struct ArgumentSpec: Sendable {
  public var name: String
  public var completion: CompletionKind
  /// Whether it may be repeated (completion keeps offering it).
  public var repeats: Bool

  public init(_ name: String, _ completion: CompletionKind = .none, repeats: Bool = false) {
    self.name = name
    self.completion = completion
    self.repeats = repeats
  }
}

/// A request for Tab completion of the word being typed.
public struct CompletionRequest {
  /// The words before the one being completed (the command name first).
  public var previous: [Word]
  /// The partial word.
  public var partial: String
  public var session: Session
  public var schema: Schema

  public init(previous: [Word], partial: String, session: Session, schema: Schema) {
    self.previous = previous
    self.partial = partial
    self.session = session
    self.schema = schema
  }
}

/// The description of one command, with the closure that runs it.
public struct CommandSpec {
  public typealias Run = (Invocation, inout CommandContext) throws -> CommandOutput

  public var name: String
  public var aliases: [String]
  public var abstract: String
  public var usage: String
  public var discussion: String
  public var examples: [String]
  public var subcommands: [String]
  public var arguments: [ArgumentSpec]
  public var options: [OptionSpec]
  public var flags: [FlagSpec]
  /// Whether any `key=value` is passed through (node attributes for `add`
  /// and `set`); else only the declared options are accepted.
  public var acceptsAnyKey: Bool
  public var effects: CommandEffects
  /// Custom completion; returns nil to fall back to the declared kinds.
  public var complete: ((CompletionRequest) -> [String]?)?
  public var run: Run

  public init(
    name: String, aliases: [String] = [], abstract: String, usage: String, discussion: String = "",
    examples: [String] = [], subcommands: [String] = [], arguments: [ArgumentSpec] = [],
    options: [OptionSpec] = [], flags: [FlagSpec] = [], acceptsAnyKey: Bool = false,
    effects: CommandEffects = .reads, tabular: Bool = false, table: String? = nil,
    complete: ((CompletionRequest) -> [String]?)? = nil, run: @escaping Run
  ) {
    self.tabular = tabular || table != nil
    self.table = table
    self.name = name
    self.aliases = aliases
    self.abstract = abstract
    self.usage = usage
    self.discussion = discussion
    self.examples = examples
    self.subcommands = subcommands
    self.arguments = arguments
    self.options = options
    self.flags = flags
    self.acceptsAnyKey = acceptsAnyKey
    self.effects = effects
    self.complete = complete
    self.run = run
  }

  /// Flags every command accepts.
  public static let commonFlags = [
    FlagSpec("json", help: "print one JSON document instead of text"),
    FlagSpec("help", help: "show this command's help"),
  ]

  /// `--csv FILE`, which the shell handles for tabular commands that do not
  /// write their own CSV.
  public static let csvFlag = FlagSpec("csv", value: "FILE", help: "write the table as CSV (RFC 4180, a header row, plain numbers)")

  public var allFlags: [FlagSpec] {
    let own = flags.contains { $0.name == "csv" }
    guard tabular && !own else { return flags + CommandSpec.commonFlags }
    let csv = table.map { FlagSpec("csv", value: "FILE", help: "write \($0) as CSV (RFC 4180, a header row, plain numbers)") }
    return flags + CommandSpec.commonFlags + [csv ?? CommandSpec.csvFlag]
  }

  /// What `--csv` writes, for the help ("the monthly cash waterfall");
  /// giving it makes the command tabular.
  public var table: String?

  /// Whether the command prints a table the shell can write with `--csv`.
  public var tabular = false
}

/// What a command prints: a text for people and a JSON document for
/// scripts. The shell prints one of them, so each is made only when asked
/// for (a table of a thousand assets is not drawn for `--json`).
public struct CommandOutput {
  private let makeText: () -> String
  private let makeJSON: () -> JSONValue
  public var text: String { makeText() }
  public var json: JSONValue { makeJSON() }
  /// The command ran but its answer is "no" (e.g. `check` found errors):
  /// exit status 1, nothing was changed.
  public var failed: Bool
  /// Files the command wrote besides its output (e.g. `--csv`).
  public var files: [String]
  /// The main table as CSV (header and rows), for `--csv FILE` on commands
  /// declared `tabular`; made only when asked for.
  public var csv: (() -> (header: [String], rows: [[String]]))?

  public init(
    text: @autoclosure @escaping () -> String, json: @autoclosure @escaping () -> JSONValue, failed: Bool = false,
    files: [String] = [], csv: (() -> (header: [String], rows: [[String]]))? = nil
  ) {
    makeText = text
    makeJSON = json
    self.failed = failed
    self.files = files
    self.csv = csv
  }
}

/// Services of the shell a command may use.
public protocol CommandHost: AnyObject {
  /// Runs a command line as if typed, and returns its `--json` result.
  /// Changes it makes are journaled and undoable like typed commands.
  func runCommand(_ line: String) throws(DealError) -> JSONValue
  /// Asks the user a yes/no question; false when there is no terminal.
  func confirm(_ question: String) -> Bool
  /// Whether Ctrl-C was pressed since the current command started.
  var isCancelled: Bool { get }
  /// The author name for notes and saved files.
  var author: String { get }
  /// Now, as an ISO 8601 UTC timestamp.
  func now() -> String
  /// Prints a line while a command runs (progress, warnings).
  func print(_ line: String)
  /// Shows how far a long computation is (0...1) on an interactive
  /// terminal, on one line that is redrawn; nil clears it. Elsewhere nothing.
  func progress(_ fraction: Double?, _ label: String)
}

/// How output will be seen.
public struct TerminalInfo: Sendable {
  public var width: Int
  public var color: Bool
  public var interactive: Bool

  public init(width: Int = 100, color: Bool = false, interactive: Bool = false) {
    self.width = width
    self.color = color
    self.interactive = interactive
  }
}

/// What a running command sees: a copy of the session to read and change,
/// the schema, the analysis of the session, the shell's services and the
/// terminal.
public struct CommandContext {
  public private(set) var session: Session
  public let schema: Schema
  public let host: CommandHost
  public var terminal: TerminalInfo
  /// Whether `modify` was called.
  public private(set) var changed = false
  /// The numbers of `session` (value curves, waterfall runs, liquidations),
  /// computed when first asked for and shared by every command that runs
  /// while the session is unchanged.
  public private(set) var analysis: DealAnalysis

  /// - Parameter analysis: the shell's analysis of this session, if it has
  ///   one (else a new one).
  public init(session: Session, schema: Schema, host: CommandHost, terminal: TerminalInfo, analysis: DealAnalysis? = nil) {
    self.session = session
    self.schema = schema
    self.host = host
    self.terminal = terminal
    self.analysis = analysis ?? DealAnalysis(session: session, schema: schema)
  }

  /// Changes the session. The change is kept only if the command succeeds;
  /// the analysis then describes the changed session.
  public mutating func modify<T>(_ body: (inout Session) throws -> T) rethrows -> T {
    changed = true
    defer { analysis = DealAnalysis(session: session, schema: schema) }
    return try body(&session)
  }

  /// Throws if the user pressed Ctrl-C; long computations call it often.
  public func checkCancelled() throws(DealError) {
    if host.isCancelled { throw DealError(.cancelled, "cancelled") }
  }
}
