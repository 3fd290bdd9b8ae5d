import CDealPlugin
import DealCore
import DealPluginAPI
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A plugin loaded from a shared library through the C interface of
/// `dealsh_plugin.h` (README "Writing a plugin"). It registers like a
/// built-in: its commands get help, completion of their options and `--json`.
final class ExternalPlugin: DealPlugin {
  let name: String
  let version: String
  let commands: [CommandSpec]
  let path: String
  private let handle: UnsafeMutableRawPointer
  /// Set once one of its commands faulted: it is not called again.
  let health = Health()

  final class Health {
    var fault: String?
  }
  private let table: UnsafePointer<dealsh_plugin>

  /// The C entry symbol; its name carries the ABI major version.
  static let entrySymbol = "dealsh_plugin_entry_v1"

  /// Opens the library, checks the handshake and reads the command list.
  /// The library is closed again if anything is wrong.
  init(path: String, shell: Shell) throws(DealError) {
    self.path = path
    guard FileManager.default.fileExists(atPath: path) else {
      throw DealError(.file, "no plugin at '\(path)'")
    }
    // A damaged library (truncated in a copy) would crash the loader with
    // SIGBUS when it maps past the end of the file: check it first.
    try ELFCheck.validate(path)
    guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      let why = dlerror().map { String(cString: $0) } ?? "unknown reason"
      throw DealError(.file, "cannot load '\(path)': \(why)")
    }
    var keep = false
    defer { if !keep { dlclose(h) } }
    guard let sym = dlsym(h, Self.entrySymbol) else {
      throw DealError(
        .invalid, "'\(path)' is not a dealsh plugin: it has no \(Self.entrySymbol) symbol",
        hint: "a plugin exports dealsh_plugin_entry_v1 (see dealsh_plugin.h); a library built for another ABI exports another name")
    }
    let entry = unsafeBitCast(sym, to: dealsh_plugin_entry_v1_fn.self)
    var host = HostCall.table(context: nil)
    guard let t = entry(&host) else {
      throw DealError(.invalid, "plugin '\(path)' refused the handshake (host ABI \(DEALSH_PLUGIN_ABI_MAJOR).\(DEALSH_PLUGIN_ABI_MINOR))")
    }
    guard t.pointee.abi_major == UInt32(DEALSH_PLUGIN_ABI_MAJOR) else {
      throw DealError(
        .invalid, "plugin '\(path)' speaks plugin ABI \(t.pointee.abi_major), this dealsh speaks \(DEALSH_PLUGIN_ABI_MAJOR)",
        hint: "rebuild the plugin against this dealsh's dealsh_plugin.h")
    }
    guard t.pointee.struct_size >= UInt32(MemoryLayout<dealsh_plugin>.size), t.pointee.run != nil, t.pointee.free_buffer != nil,
      let namePtr = t.pointee.name, let versionPtr = t.pointee.version, let commandsPtr = t.pointee.commands_json
    else {
      throw DealError(.invalid, "plugin '\(path)' has an incomplete plugin table")
    }
    name = String(cString: namePtr)
    version = String(cString: versionPtr)
    guard DealGraph.isValidID(name) else { throw DealError(.invalid, "plugin '\(path)' has an invalid name '\(name)'") }
    let list: JSONValue
    do { list = try JSONParser().parse(String(cString: commandsPtr)) } catch {
      throw DealError(.invalid, "plugin '\(name)': its command list is not valid JSON (\(error))")
    }
    guard let items = list.arrayValue, !items.isEmpty else {
      throw DealError(.invalid, "plugin '\(name)': its command list is empty or not an array")
    }
    handle = h
    table = t
    var specs: [CommandSpec] = []
    for item in items {
      guard let cmd = item["name"]?.stringValue, DealGraph.isValidID(cmd) else {
        throw DealError(.invalid, "plugin '\(name)': a command without a valid name")
      }
      let options = (item["options"]?.arrayValue ?? []).compactMap { o -> OptionSpec? in
        guard let n = o["name"]?.stringValue else { return nil }
        let values = o["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return OptionSpec(n, o["value"]?.stringValue ?? "VALUE", help: o["help"]?.stringValue ?? "", completion: values.isEmpty ? .none : .values(values))
      }
      let flags = (item["flags"]?.arrayValue ?? []).compactMap { f -> FlagSpec? in
        guard let n = f["name"]?.stringValue else { return nil }
        return FlagSpec(n, help: f["help"]?.stringValue ?? "")
      }
      let t = t
      let pluginName = name
      let health = health
      specs.append(
        CommandSpec(
          name: cmd, abstract: item["abstract"]?.stringValue ?? "", usage: item["usage"]?.stringValue ?? cmd,
          discussion: (item["discussion"]?.stringValue ?? "") + "\n(plugin '\(pluginName)' from \(path))",
          examples: item["examples"]?.arrayValue?.compactMap(\.stringValue) ?? [],
          options: options, flags: flags
        ) { inv, ctx in
          try ExternalPlugin.run(t, plugin: pluginName, health: health, command: cmd, inv, ctx, shell: shell)
        })
    }
    commands = specs
    keep = true
  }

  deinit {
    table.pointee.unload?()
    dlclose(handle)
  }

  /// Calls the plugin's `run` with the invocation as JSON, and turns its
  /// answer into a command's output (or error).
  static func run(
    _ t: UnsafePointer<dealsh_plugin>, plugin: String, health: Health, command: String, _ inv: Invocation, _ ctx: CommandContext,
    shell: Shell
  ) throws(DealError) -> CommandOutput {
    if let fault = health.fault {
      throw DealError(
        .invalid, "plugin '\(plugin)' is disabled: it crashed earlier in this session (\(fault))",
        hint: "restart dealsh to load it again; report the crash to the plugin's author")
    }
    var options: [String: JSONValue] = [:]
    for (k, v, _) in inv.options { options[k] = .string(v) }
    let invocation: JSONValue = [
      "command": .string(command), "positionals": .array(inv.positionals.map { .string($0) }),
      "options": .object(options), "flags": .object(inv.flags.mapValues { .string($0) }), "json": .bool(inv.json),
      "terminal": [
        "width": .number(Double(ctx.terminal.width)), "color": .bool(ctx.terminal.color), "interactive": .bool(ctx.terminal.interactive),
      ],
    ]
    let call = HostCall(shell: shell, host: ctx.host)
    let unmanaged = Unmanaged.passRetained(call)
    defer { unmanaged.release() }
    var host = HostCall.table(context: unmanaged.toOpaque())
    let text = invocation.serialized(pretty: false)
    var signal: Int32 = 0
    let reply = text.withCString { dealsh_guarded_run(t, &host, $0, &signal) }
    if signal != 0 {
      let what = "\(signalName(signal)) in '\(command)'"
      health.fault = what
      throw DealError(
        .invalid, "plugin '\(plugin)' crashed (\(what)); the command's changes are undone and the plugin is disabled for this session",
        hint: "the session is as it was before the command; save it, and report the crash to the plugin's author")
    }
    guard let answerPtr = reply else {
      throw DealError(.invalid, "plugin command '\(command)' returned nothing")
    }
    defer { t.pointee.free_buffer?(answerPtr) }
    let answer: JSONValue
    do { answer = try JSONParser().parse(String(cString: answerPtr)) } catch {
      throw DealError(.invalid, "plugin command '\(command)' answered with invalid JSON")
    }
    if let message = answer["error"]?.stringValue {
      throw DealError(.invalid, message, hint: answer["hint"]?.stringValue)
    }
    return CommandOutput(text: answer["text"]?.stringValue ?? "", json: answer["json"] ?? .object([:]))
  }
}

/// "SIGSEGV, a bad memory access".
func signalName(_ sig: Int32) -> String {
  switch sig {
  case SIGSEGV: return "SIGSEGV, a bad memory access"
  case SIGBUS: return "SIGBUS, a bad memory access"
  case SIGFPE: return "SIGFPE, an arithmetic fault"
  case SIGILL: return "SIGILL, an illegal instruction"
  case SIGABRT: return "SIGABRT, the plugin aborted"
  default: return "signal \(sig)"
  }
}

/// What the host functions of one plugin call reach: the shell and the
/// command's host. C function pointers cannot capture, so they find it
/// through the table's `context` pointer.
final class HostCall {
  let shell: Shell
  let host: CommandHost

  init(shell: Shell, host: CommandHost) {
    self.shell = shell
    self.host = host
  }

  static func from(_ context: UnsafeMutableRawPointer?) -> HostCall? {
    context.map { Unmanaged<HostCall>.fromOpaque($0).takeUnretainedValue() }
  }

  /// A NUL-terminated copy the plugin frees with `free_buffer`.
  static func buffer(_ s: String) -> UnsafeMutablePointer<CChar>? { strdup(s) }

  static func table(context: UnsafeMutableRawPointer?) -> dealsh_host {
    dealsh_host(
      abi_major: UInt32(DEALSH_PLUGIN_ABI_MAJOR), abi_minor: UInt32(DEALSH_PLUGIN_ABI_MINOR),
      struct_size: UInt32(MemoryLayout<dealsh_host>.size), context: context,
      graph_json: { ctx in
        guard let call = HostCall.from(ctx) else { return HostCall.buffer("{}") }
        let s = call.shell
        let meta = s.metadata ?? SessionMetadata(author: "", created: "", modified: "", dealshVersion: DealshVersion.current, revision: 0)
        return HostCall.buffer(SessionCodec.encode(SessionFile(session: s.session, journal: [], metadata: meta)))
      },
      run_command: { ctx, line, status in
        guard let call = HostCall.from(ctx), let line else {
          status?.pointee = 1
          return HostCall.buffer("{\"error\": \"no command\"}")
        }
        do throws(DealError) {
          let result = try call.host.runCommand(String(cString: line))
          status?.pointee = 0
          return HostCall.buffer(result.serialized(pretty: false))
        } catch {
          status?.pointee = 1
          return HostCall.buffer(JSONValue.object(["error": .string(error.message)]).serialized(pretty: false))
        }
      },
      print: { ctx, line in
        guard let call = HostCall.from(ctx), let line else { return }
        call.host.print(String(cString: line))
      },
      cancelled: { ctx in HostCall.from(ctx)?.host.isCancelled == true ? 1 : 0 },
      free_buffer: { buffer in free(buffer) })
  }
}

extension Shell {
  /// Loads a plugin library and registers its commands.
  @discardableResult
  public func loadPlugin(_ path: String) throws(DealError) -> (name: String, version: String, commands: [String]) {
    let plugin = try ExternalPlugin(path: path, shell: self)
    try registry.register(plugin)
    externalPlugins.append(plugin)
    return (plugin.name, plugin.version, plugin.commands.map(\.name))
  }

  /// Loads every `*.so` in the plugins folder (`$DEALSH_PLUGINS`, else the
  /// XDG data directory's `dealsh/plugins`), in name order. Returns one line
  /// per library that could not be loaded; the shell goes on without it.
  public func loadPluginsFolder() -> [String] {
    let dir = environment.pluginsDirectory
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
    var problems: [String] = []
    for n in names.sorted() where n.hasSuffix(".so") {
      do { try loadPlugin(dir + "/" + n) } catch { problems.append("warning: plugin not loaded: \(error.message)") }
    }
    return problems
  }
}
