// swift-tools-version:6.0
//
// dealsh — a deal-structuring shell for credit on AI infrastructure.
//
// Module map (see README "Code map"):
//   DealCore       values and units, command language, deal graph, sessions (no I/O)
//   DealEngine     the finance: valuation, fleet economics, waterfall, liquidation,
//                  Monte Carlo, and the typed analysis commands share
//   DealPluginAPI  the one protocol every command registers through
//   DealShell      registry, interpreter, core commands, libedit shell, replay
//   DealBuiltins   the sorted list of built-in plugins (the only place that names them)
//   dealsh         the executable
//   Plugins/*      one ordinary target per command plugin (explicit `path:`)
import PackageDescription

let package = Package(
  name: "dealsh",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "dealsh", targets: ["dealsh"]),
    // The example plugin, loaded at run time through dealsh_plugin.h.
    .library(name: "DealshHeadroom", type: .dynamic, targets: ["HeadroomPlugin"]),
  ],
  dependencies: [
    // TreeDictionary: a persistent hash trie, so an undo snapshot of a
    // 10,000-node graph is one pointer copy and an edit copies one path.
    .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibedit", path: "Sources/CLibedit", pkgConfig: "libedit",
      providers: [.apt(["libedit-dev"])]),
    .target(
      name: "DealCore",
      dependencies: [.product(name: "HashTreeCollections", package: "swift-collections")]),
    // Swift 6 language mode: the engine shares buffers across threads, so
    // the compiler checks data races here.
    .target(name: "DealEngine", dependencies: ["DealCore"], swiftSettings: [.swiftLanguageMode(.v6)]),
    .target(name: "DealPluginAPI", dependencies: ["DealCore", "DealEngine"]),
    // The C plugin interface (a header; built by host and plugins alike).
    .target(name: "CDealPlugin", path: "Sources/CDealPlugin"),
    .target(name: "DealShell", dependencies: ["DealCore", "DealEngine", "DealPluginAPI", "CLibedit", "CDealPlugin"]),
    .target(name: "DealBuiltins", dependencies: ["DealPluginAPI", "DepreciatePlugin", "LiquidatePlugin", "ReportPlugin", "ShockPlugin", "WaterfallPlugin"]),
    // Command plugins: ordinary targets under Plugins/ (explicit paths).
    .target(name: "DepreciatePlugin", dependencies: ["DealCore", "DealEngine", "DealPluginAPI"], path: "Plugins/Depreciate"),
    .target(name: "LiquidatePlugin", dependencies: ["DealCore", "DealEngine", "DealPluginAPI"], path: "Plugins/Liquidate"),
    .target(name: "ReportPlugin", dependencies: ["DealCore", "DealEngine", "DealPluginAPI"], path: "Plugins/Report"),
    .target(name: "ShockPlugin", dependencies: ["DealCore", "DealEngine", "DealPluginAPI"], path: "Plugins/Shock"),
    .target(name: "WaterfallPlugin", dependencies: ["DealCore", "DealEngine", "DealPluginAPI"], path: "Plugins/Waterfall"),
    // An external plugin: depends on the C header only, never on DealCore.
    .target(name: "HeadroomPlugin", dependencies: ["CDealPlugin"], path: "Plugins/ExampleHeadroom"),
    .executableTarget(name: "dealsh", dependencies: ["DealShell", "DealBuiltins"]),
    .executableTarget(
      name: "dealsh-bench", dependencies: ["DealShell", "DealBuiltins", "DealCore", "DealEngine", "DealPluginAPI"],
      path: "Sources/DealBench"),
    .target(name: "_DealShellTestSupport", dependencies: ["DealShell", "DealBuiltins"],
            path: "Tests/_DealShellTestSupport"),
    .testTarget(name: "DealCoreTests", dependencies: ["DealCore", "_DealShellTestSupport"]),
    .testTarget(name: "DealEngineTests", dependencies: ["DealCore", "DealEngine", "_DealShellTestSupport"]),
    .testTarget(
      name: "DealShellTests",
      dependencies: ["DealShell", "DealBuiltins", "DealEngine", "DealPluginAPI", "_DealShellTestSupport"]),
  ],
  swiftLanguageModes: [.v5]
)

// The libFuzzer executable exists only for `make fuzz` (DEALSH_FUZZ=1): as an
// ordinary target it would break `swift build` (no main without -sanitize=fuzzer).
if Context.environment["DEALSH_FUZZ"] == "1" {
  package.targets.append(
    .executableTarget(name: "DealFuzz", dependencies: ["DealCore", "DealPluginAPI", "DealShell"], path: "Tests/Fuzz"))
}
