// headroom — an example of a plugin loaded at run time (README "Writing a
// plugin"). It knows dealsh only through dealsh_plugin.h: it reads the deal
// as JSON and runs `waterfall` through the host, like any external plugin.
//
// For each facility with a covenant (min_dscr or max_ltv), how far can spot
// rates, utilization or collateral value fall before that facility first
// breaches a covenant or defaults? Found by bisection on `waterfall KEY=X`.
import CDealPlugin
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The stresses searched, with the most severe value of each.
let searches: [(key: String, worst: Double, unit: String, label: String)] = [
  ("spot", -1, "%", "spot rates"), ("utilization", -1, "pt", "utilization"), ("haircut", 1, "%", "collateral value"),
]

let commandsJSON = """
  [{"name": "headroom",
    "abstract": "how far spot rates, utilization or collateral value can fall before each covenant breaks",
    "usage": "headroom [FACILITY ...] [scenario=NAME]",
    "discussion": "For each facility with a min_dscr or max_ltv covenant, the smallest fall of spot rates, of utilization (points) and of collateral market value (haircut) at which the facility first breaches a covenant or defaults, each found by bisection on the waterfall (to 0.1 %), the other factors unstressed. 0 means it breaches already; none means it does not even at the extreme.",
    "examples": ["headroom", "headroom ddtl --json", "headroom scenario=bear"],
    "options": [{"name": "scenario", "value": "NAME", "help": "search from a named scenario instead of the base case"}],
    "flags": []}]
  """

/// The plugin table and its strings live as long as the library.
let pluginTable: UnsafeMutablePointer<dealsh_plugin> = {
  let t = UnsafeMutablePointer<dealsh_plugin>.allocate(capacity: 1)
  t.initialize(
    to: dealsh_plugin(
      abi_major: UInt32(DEALSH_PLUGIN_ABI_MAJOR), abi_minor: UInt32(DEALSH_PLUGIN_ABI_MINOR),
      struct_size: UInt32(MemoryLayout<dealsh_plugin>.size), name: UnsafePointer(strdup("headroom")),
      version: UnsafePointer(strdup("1.0.0")), commands_json: UnsafePointer(strdup(commandsJSON)),
      run: { host, invocation in
        guard let host, let invocation else { return strdup("{\"error\": \"no invocation\"}") }
        return strdup(Headroom(host: host).answer(String(cString: invocation)))
      },
      free_buffer: { free($0) }, unload: nil))
  return t
}()

@_cdecl("dealsh_plugin_entry_v1")
public func dealshPluginEntryV1(_ host: UnsafePointer<dealsh_host>?) -> UnsafePointer<dealsh_plugin>? {
  guard let host, host.pointee.abi_major == UInt32(DEALSH_PLUGIN_ABI_MAJOR),
    host.pointee.struct_size >= UInt32(MemoryLayout<dealsh_host>.size)
  else { return nil }
  return UnsafePointer(pluginTable)
}

struct Failure: Error { var message: String }

struct Headroom {
  let host: UnsafePointer<dealsh_host>

  func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

  /// The host's answer to a command line, as JSON; throws its error.
  func run(_ line: String) throws -> [String: Any] {
    var status: Int32 = 0
    guard let out = line.withCString({ host.pointee.run_command(host.pointee.context, $0, &status) }) else {
      throw Failure(message: "the host did not answer '\(line)'")
    }
    defer { host.pointee.free_buffer(out) }
    let text = String(cString: out)
    let value = json(text) as? [String: Any] ?? [:]
    if status != 0 { throw Failure(message: value["error"] as? String ?? text) }
    return value
  }

  /// Whether facility `id` breaches a covenant or defaults in this run.
  func breaks(_ id: String, _ w: [String: Any]) -> Bool {
    for b in w["breaches"] as? [[String: Any]] ?? [] where b["facility"] as? String == id {
      let kind = b["kind"] as? String ?? ""
      if kind == "dscr" || kind == "ltv" || kind.hasSuffix("default") { return true }
    }
    return false
  }

  func answer(_ invocationText: String) -> String {
    do {
      let inv = json(invocationText) as? [String: Any] ?? [:]
      let options = inv["options"] as? [String: String] ?? [:]
      let named = inv["positionals"] as? [String] ?? []
      let scenario = options["scenario"].map { " scenario=\($0)" } ?? ""
      // The deal, to find the facilities with a covenant.
      guard let graphPtr = host.pointee.graph_json(host.pointee.context) else { throw Failure(message: "no deal from the host") }
      let graph = json(String(cString: graphPtr)) as? [String: Any] ?? [:]
      host.pointee.free_buffer(graphPtr)
      var covenanted: [(id: String, covenants: [String])] = []
      for n in graph["nodes"] as? [[String: Any]] ?? [] where n["kind"] as? String == "facility" {
        let id = n["id"] as? String ?? "", attrs = n["attrs"] as? [String: Any] ?? [:]
        let covenants = ["min_dscr", "max_ltv"].filter { attrs[$0] != nil }
        if !covenants.isEmpty && (named.isEmpty || named.contains(id)) { covenanted.append((id, covenants)) }
      }
      for id in named where !covenanted.contains(where: { $0.id == id }) {
        throw Failure(message: "'\(id)' is not a facility with a covenant (min_dscr or max_ltv)")
      }
      guard !covenanted.isEmpty else {
        return encode(["text": "no facility has a covenant (min_dscr or max_ltv)", "json": ["facilities": [String: Any]()]])
      }
      let base = try run("waterfall\(scenario) --json")
      var rows: [[String: Any]] = []
      var lines = ["headroom before the first covenant breach or default" + (scenario.isEmpty ? "" : " (from\(scenario))"), ""]
      lines.append(pad("FACILITY", 10) + pad("COVENANTS", 20) + searches.map { pad($0.label.uppercased().replacingOccurrences(of: " ", with: "_"), 18, right: true) }.joined())
      for (id, covenants) in covenanted {
        var row: [String: Any] = ["facility": id, "covenants": covenants, "breached_in_base": breaks(id, base)]
        var cells: [String] = []
        for s in searches {
          if host.pointee.cancelled(host.pointee.context) != 0 { throw Failure(message: "cancelled") }
          let value = try search(id, key: s.key, worst: s.worst, scenario: scenario, base: base)
          row[s.key] = value ?? NSNull()
          cells.append(pad(value.map { format($0, unit: s.unit) } ?? "none", 18, right: true))
        }
        rows.append(row)
        lines.append(pad(id, 10) + pad(covenants.joined(separator: ","), 20) + cells.joined())
      }
      lines.append("")
      lines.append("each figure: the smallest fall (alone, to 0.1%) at which the facility first breaches; checked by running waterfall")
      var byID: [String: Any] = [:]
      for r in rows { byID[r["facility"] as! String] = r }
      return encode(["text": lines.joined(separator: "\n"), "json": ["facilities": byID]])
    } catch let f as Failure {
      return encode(["error": f.message])
    } catch {
      return encode(["error": "\(error)"])
    }
  }

  /// The smallest stress of `key` (towards `worst`) at which the facility
  /// breaks: 0 if it breaks already, nil if not even at `worst`.
  func search(_ id: String, key: String, worst: Double, scenario: String, base: [String: Any]) throws -> Double? {
    if breaks(id, base) { return 0 }
    func stressed(_ x: Double) throws -> Bool {
      try breaks(id, run("waterfall\(scenario) \(key)=\(String(format: "%.6f", x)) --json"))
    }
    guard try stressed(worst) else { return nil }
    var lo = 0.0, hi = worst  // lo holds, hi breaks
    while abs(hi - lo) > 0.0005 {
      let mid = (lo + hi) / 2
      if try stressed(mid) { hi = mid } else { lo = mid }
    }
    return (hi * 10_000).rounded() / 10_000
  }

  /// A fall, shown negative (a haircut of 10 % is a fall of value of 10 %).
  func format(_ x: Double, unit: String) -> String {
    x == 0 ? "0" + unit : String(format: "-%.1f", abs(x) * 100) + unit
  }

  func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, w - s.count))
    return right ? fill + s : s + fill
  }

  func encode(_ v: [String: Any]) -> String {
    guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) else { return "{\"error\": \"cannot encode\"}" }
    return String(decoding: d, as: UTF8.self)
  }
}
