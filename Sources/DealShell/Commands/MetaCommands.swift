import DealCore
import DealPluginAPI

/// Commands about the shell itself: help, plugins, variables, quitting.
enum MetaCommands {
  static func all(_ shell: Shell) -> [CommandSpec] { [help(shell), plugins(shell), plugin(shell), letVariable(shell), timer(shell), quit(shell)] }

  static func help(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "help", abstract: "list the commands, or show one command, kind, type or the relations",
      usage: "help [COMMAND|KIND|TYPE|relations]",
      examples: ["help", "help add", "help gpu", "help facility", "help relations"],
      arguments: [ArgumentSpec("TOPIC", .commands)],
      complete: { [unowned shell] req in
        shell.registry.commandNames + NodeKind.allCases.map(\.rawValue) + req.schema.types.values.flatMap { $0 } + ["relations"]
      }
    ) { [unowned shell] inv, ctx in
      try inv.noExtraPositionals(after: 1, usage: "help [TOPIC]")
      let r = HelpRenderer(registry: shell.registry, style: Style(ctx.terminal.color))
      guard let topic = inv.positionals.first else { return r.overview() }
      if let entry = shell.registry.command(topic) { return r.commandHelp(entry.spec, plugin: entry.plugin) }
      if topic == "relations" { return r.relations() }
      if let out = r.nodeHelp(topic, schema: ctx.schema) { return out }
      let topics = shell.registry.allNames + NodeKind.allCases.map(\.rawValue) + ctx.schema.types.values.flatMap { $0 } + ["relations"]
      throw DealError.unknownName("help topic", topic, valid: [], subject: .word(1))
        .withHint(Suggest.closest(to: topic, in: topics).map { "did you mean '\($0)'?" } ?? "'help' lists the commands")
    }
  }

  static func plugins(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "plugins", abstract: "list the loaded plugins with their versions and commands",
      usage: "plugins", examples: ["plugins", "plugins --json"], tabular: true
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 0, usage: "plugins")
      return pluginList(shell)
    }
  }

  /// The loaded plugins (`plugins` and `plugin ls`).
  static func pluginList(_ shell: Shell) -> CommandOutput {
    var t = TextTable(["PLUGIN", "VERSION", "COMMANDS"])
    for p in shell.registry.plugins { t.add([p.name, p.version, p.commands.joined(separator: " ")]) }
    let rows = t.rows
    return CommandOutput(
      text: t.render(),
      json: ["plugins": .array(shell.registry.plugins.map {
        ["name": .string($0.name), "version": .string($0.version), "commands": .array($0.commands.map { .string($0) })]
      })],
      csv: { (["plugin", "version", "commands"], rows) })
  }

  static func plugin(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "plugin", abstract: "load a plugin from a shared library, or list the loaded ones",
      usage: "plugin load PATH | plugin ls",
      discussion: """
        A plugin is a shared library built against dealsh_plugin.h (README "Writing a plugin"); its commands
        join the shell with help, completion and --json. At start-up dealsh also loads every .so in the
        plugins folder ($DEALSH_PLUGINS, else ~/.local/share/dealsh/plugins). A session file never loads one.
        """,
      examples: ["plugin load ./libDealshHeadroom.so", "plugin ls"],
      subcommands: ["load", "ls"],
      arguments: [ArgumentSpec("SUBCOMMAND", .values(["load", "ls"])), ArgumentSpec("PATH", .files("so"))],
      effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      switch inv.positionals.first ?? "ls" {
      case "ls":
        try inv.noExtraPositionals(after: 1, usage: "plugin ls")
        return pluginList(shell)
      case "load":
        let path = try inv.positional(1, "PATH", usage: "plugin load PATH")
        try inv.noExtraPositionals(after: 2, usage: "plugin load PATH")
        let p = try shell.loadPlugin(path)
        return CommandOutput(
          text: "loaded plugin '\(p.name)' \(p.version): \(p.commands.joined(separator: ", "))",
          json: ["name": .string(p.name), "version": .string(p.version), "commands": .array(p.commands.map { .string($0) })])
      case let other:
        throw DealError.unknownName("plugin subcommand", other, valid: ["load", "ls"], subject: .word(inv.positionalIndices[0]))
      }
    }
  }

  static func timer(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "timer", abstract: "show each command's time (on) or not (off)",
      usage: "timer [on|off]",
      discussion: "With the timer on, a line 'time: 12.3 ms (waterfall)' follows each command, on the error stream.",
      examples: ["timer on", "timer off", "timer"],
      arguments: [ArgumentSpec("STATE", .values(["on", "off"]))], effects: .controlsShell
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 1, usage: "timer [on|off]")
      switch inv.positionals.first {
      case nil: break
      case "on": shell.timerOn = true
      case "off": shell.timerOn = false
      case let other?:
        throw DealError.unknownName("timer state", other, valid: ["on", "off"], subject: .word(inv.positionalIndices[0]))
      }
      return CommandOutput(text: "timer \(shell.timerOn ? "on" : "off")", json: ["timer": .bool(shell.timerOn)])
    }
  }

  static func letVariable(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "let", abstract: "set a script variable ($NAME), or list them",
      usage: "let [NAME=VALUE ...]",
      discussion: "Variables are replaced in later lines wherever $NAME or ${NAME} appears outside single quotes. They belong to the shell, not to the session.",
      examples: ["let rate=2.10", "set lease1 rate=$rate", "let"],
      acceptsAnyKey: true, effects: .controlsShell
    ) { [unowned shell] inv, _ in
      try inv.noExtraPositionals(after: 0, usage: "let [NAME=VALUE ...]")
      for (k, v, _) in inv.options { shell.variables[k] = v }
      let vars = shell.variables.sorted { $0.key < $1.key }
      let text = inv.options.isEmpty
        ? (vars.isEmpty ? "no variables" : vars.map { "\($0.key)=\(Word(text: $0.value, start: 0, end: 0).rendered)" }.joined(separator: "\n"))
        : ""
      return CommandOutput(text: text, json: ["variables": .object(shell.variables.mapValues { .string($0) })])
    }
  }

  static func quit(_ shell: Shell) -> CommandSpec {
    CommandSpec(
      name: "quit", aliases: ["exit"], abstract: "leave dealsh (asks first if changes are unsaved)",
      usage: "quit [--force]", examples: ["quit"],
      flags: [FlagSpec("force", help: "do not ask about unsaved changes")], effects: .controlsShell
    ) { [unowned shell] inv, ctx in
      try SessionCommands.confirmDiscard(shell, ctx, force: inv.has("force"))
      shell.quitRequested = true
      return CommandOutput(text: "", json: ["quit": true])
    }
  }
}

/// Formats help pages.
struct HelpRenderer {
  let registry: Registry
  let style: Style

  func overview() -> CommandOutput {
    var lines = [style.bold("dealsh \(DealshVersion.current)") + " — a deal-structuring shell for credit on AI infrastructure", ""]
    var json: [JSONValue] = []
    for p in registry.plugins {
      lines.append(p.name == "core" ? "core commands:" : "\(p.name) plugin (\(p.version)):")
      let specs = p.commands.compactMap { registry.command($0)?.spec }.sorted { $0.name < $1.name }
      let w = specs.map(\.name.count).max() ?? 0
      for s in specs {
        lines.append("  " + Format.pad(s.name, w) + "  " + s.abstract)
        json.append(["name": .string(s.name), "plugin": .string(p.name), "abstract": .string(s.abstract)])
      }
      lines.append("")
    }
    lines.append("'help COMMAND' shows usage and examples; 'help KIND' or 'help TYPE' the attributes of a node;")
    lines.append("'help relations' the edges. Every command takes --json. Numbers take k, m, bn, %, bp, $; durations mo, y.")
    return CommandOutput(text: lines.joined(separator: "\n"), json: ["commands": .array(json)])
  }

  func commandHelp(_ s: CommandSpec, plugin: String) -> CommandOutput {
    var lines = [style.bold(s.name) + " — " + s.abstract, "", "usage: " + s.usage]
    if !s.aliases.isEmpty { lines.append("aliases: " + s.aliases.joined(separator: ", ")) }
    if !s.discussion.isEmpty { lines += ["", s.discussion] }
    if !s.options.isEmpty {
      lines += ["", "options:"]
      let w = s.options.map { $0.name.count + $0.valueName.count + 1 }.max() ?? 0
      for o in s.options { lines.append("  " + Format.pad("\(o.name)=\(o.valueName)", w) + "  " + o.helpText) }
    }
    let flags = s.allFlags
    lines += ["", "flags:"]
    let fw = flags.map { $0.name.count + 2 + ($0.valueName.map { $0.count + 1 } ?? 0) }.max() ?? 0
    for f in flags { lines.append("  " + Format.pad("--" + f.name + (f.valueName.map { " " + $0 } ?? ""), fw) + "  " + f.help) }
    if !s.examples.isEmpty {
      lines += ["", "examples:"]
      lines += s.examples.map { "  " + $0 }
    }
    return CommandOutput(
      text: lines.joined(separator: "\n"),
      json: [
        "name": .string(s.name), "plugin": .string(plugin), "abstract": .string(s.abstract), "usage": .string(s.usage),
        "options": .array(s.options.map { ["name": .string($0.name), "help": .string($0.help), "default": .optional($0.defaultText)] }),
        "flags": .array(flags.map { ["name": .string($0.name), "help": .string($0.help)] }),
        "examples": .array(s.examples.map { .string($0) }),
      ])
  }

  func relations() -> CommandOutput {
    var t = TextTable(["RELATION", "FROM → TO", "MEANING"])
    for r in Relation.allCases { t.add([r.rawValue, r.signature, r.meaning]) }
    return CommandOutput(
      text: "link FROM RELATION TO — the sentence reads left to right.\n\n" + t.render(),
      json: ["relations": .array(Relation.allCases.map { ["name": .string($0.rawValue), "from": .string($0.from.kind.rawValue), "to": .string($0.to.kind.rawValue), "meaning": .string($0.meaning)] })])
  }

  /// Attributes of a kind or a type, with their defaults.
  func nodeHelp(_ topic: String, schema: Schema) -> CommandOutput? {
    var pairs: [(NodeKind, String)] = []
    if let k = NodeKind(rawValue: topic) {
      pairs = (schema.types[k] ?? []).map { (k, $0) }
    } else if let k = schema.types.first(where: { $0.value.contains(topic) })?.key {
      pairs = [(k, topic)]
    } else {
      return nil
    }
    var lines: [String] = []
    var json: [JSONValue] = []
    // Types with the same attributes share one table.
    var groups: [(NodeKind, [String])] = []
    for (k, t) in pairs {
      let keys = schema.attributes(kind: k, type: t).map(\.key)
      if let i = groups.firstIndex(where: { $0.0 == k && schema.attributes(kind: k, type: $0.1[0]).map(\.key) == keys }) {
        groups[i].1.append(t)
      } else {
        groups.append((k, [t]))
      }
    }
    for (k, ts) in groups {
      let t = ts[0]
      lines.append("\(k.rawValue) type=\(ts.joined(separator: "|"))")
      var table = TextTable(["KEY", "VALUE", "DEFAULT", "MEANING"])
      for spec in schema.attributes(kind: k, type: t) {
        let def: String
        switch spec.defaultValue {
        case .none: def = spec.required ? "required" : "—"
        case .value(let v): def = spec.type.display(v)
        case .dealStart: def = "deal start"
        case .sameAs(let o): def = "= \(o)"
        case .byKey(let o, let table): def = table.sorted { $0.key < $1.key }.map { "\($0.key) \(spec.type.display($0.value))" }.joined(separator: ", ") + " (by \(o))"
        }
        table.add([spec.key, spec.type.summary, def, spec.help])
        json.append(["kind": .string(k.rawValue), "types": .array(ts.map { .string($0) }), "key": .string(spec.key), "value": .string(spec.type.summary), "default": .string(def), "help": .string(spec.help)])
      }
      lines.append(table.render(indent: "  "))
      let shorts = schema.shorthands[k] ?? []
      if !shorts.isEmpty {
        lines.append("  shorthands in 'add': " + shorts.map { "\($0.key)=ID (\($0.relation.rawValue))" }.joined(separator: ", "))
      }
      lines.append("")
    }
    if lines.last == "" { lines.removeLast() }
    return CommandOutput(text: lines.joined(separator: "\n"), json: ["attributes": .array(json)])
  }
}

/// The core's own commands, registered like any plugin. Their `run`
/// closures capture the shell `[unowned shell]`: they live in the shell's
/// registry, and a strong capture would keep every shell alive (a test
/// checks that a shell is freed).
struct CorePlugin: DealPlugin {
  unowned let shell: Shell
  var name: String { "core" }
  var version: String { DealshVersion.current }
  var commands: [CommandSpec] {
    GraphCommands.all + [GraphCommands.check(shell)] + SessionCommands.all(shell) + MetaCommands.all(shell)
  }
}
