import DealPluginAPI
import DepreciatePlugin
import LiquidatePlugin
import ReportPlugin
import ShockPlugin
import WaterfallPlugin

/// The built-in plugins, sorted by name. This is the only place that names
/// them: the core knows none. A test fails when a folder under `Plugins/`
/// is missing here.
public enum BuiltInPlugins {
  public static var all: [any DealPlugin] {
    [
      DepreciatePlugin(),
      LiquidatePlugin(),
      ReportPlugin(),
      ShockPlugin(),
      WaterfallPlugin(),
    ]
  }
}
