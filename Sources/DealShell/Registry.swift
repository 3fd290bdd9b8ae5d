import DealCore
import DealPluginAPI

/// Every command the shell knows, from every plugin (the core's own
/// commands included), and the schema they extend.
///
/// The registry holds plugin values learnt while running, so a plugin
/// loaded from a shared library joins the same table as the built-ins.
/// Registration is checked: a command name or alias that is taken, or an
/// attribute defined twice, is refused with an error naming the plugin.
public final class Registry {
  public struct Entry {
    public var spec: CommandSpec
    public var plugin: String
  }

  public private(set) var plugins: [(name: String, version: String, commands: [String])] = []
  private var table: [String: Entry] = [:]
  private var primaryNames: [String] = []
  public private(set) var schema: Schema

  public init(schema: Schema = .standard) { self.schema = schema }

  /// Registers a plugin's commands and schema extensions, all or nothing.
  public func register(_ plugin: any DealPlugin) throws(DealError) {
    var newSchema = schema
    do { try plugin.extend(schema: &newSchema) } catch {
      throw DealError(.invalid, "plugin '\(plugin.name)': \(error.message)")
    }
    var added: [String: Entry] = [:]
    for spec in plugin.commands {
      for name in [spec.name] + spec.aliases {
        if let other = table[name] ?? added[name] {
          throw DealError(
            .invalid, "plugin '\(plugin.name)': command '\(name)' is already registered by '\(other.plugin)'")
        }
        added[name] = Entry(spec: spec, plugin: plugin.name)
      }
    }
    schema = newSchema
    table.merge(added) { a, _ in a }
    primaryNames += plugin.commands.map(\.name)
    plugins.append((plugin.name, plugin.version, plugin.commands.map(\.name)))
  }

  public func command(_ name: String) -> Entry? { table[name] }

  /// Primary command names, sorted.
  public var commandNames: [String] { primaryNames.sorted() }

  /// Names and aliases, for completion and "did you mean".
  public var allNames: [String] { table.keys.sorted() }
}
