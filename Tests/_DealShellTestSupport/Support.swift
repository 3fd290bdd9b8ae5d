import DealBuiltins
import DealCore
import DealPluginAPI
import DealShell
import Foundation
import Testing

/// A shell for tests: built-in plugins, output collected in memory, a
/// pinned clock and author, a private sessions folder.
public final class TestShell {
  public let shell: Shell
  public private(set) var transcript: [String] = []
  public let folder: String

  public init(env extra: [String: String] = [:], interactive: Bool = false, color: Bool = false) {
    folder = NSTemporaryDirectory() + "dealsh-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var env = [
      "DEALSH_NOW": "2026-01-15T10:00:00Z", "DEALSH_AUTHOR": "tester", "HOME": folder,
      "DEALSH_SESSIONS": folder + "/sessions", "XDG_STATE_HOME": folder + "/state",
    ]
    env.merge(extra) { $1 }
    let box = Box()
    let io = ShellIO(out: { box.lines.append($0) }, err: { box.lines.append($0) })
    let environment = ShellEnvironment(env: env, terminal: TerminalInfo(width: 100, color: color, interactive: interactive))
    do {
      shell = try Shell.make(plugins: BuiltInPlugins.all, io: io, environment: environment)
    } catch {
      // Recorded, not a trap: the other tests of the run go on.
      Issue.record("the built-in plugins did not register: \(error.message)")
      shell = Shell(registry: Registry(), io: io, environment: environment)
    }
    self.box = box
  }

  private let box: Box
  private final class Box { var lines: [String] = [] }

  deinit { try? FileManager.default.removeItem(atPath: folder) }

  /// Runs a line; returns its status and what it printed.
  @discardableResult
  public func run(_ line: String) -> (status: LineStatus, output: String) {
    box.lines.removeAll()
    let status = shell.execute(line)
    let out = box.lines.joined(separator: "\n")
    transcript.append(out)
    return (status, out)
  }

  /// Runs a line that must succeed; returns its output. A failure is
  /// recorded as an issue of the calling test (which goes on), not a trap
  /// that would end the whole run.
  @discardableResult
  public func ok(_ line: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
    let (status, out) = run(line)
    if status != .ok { Issue.record("expected success: \(line)\n\(out)", sourceLocation: sourceLocation) }
    return out
  }

  /// Runs a line with --json and parses the document (`null`, and an issue
  /// recorded, when the command fails or prints no JSON).
  public func json(_ line: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> JSONValue {
    let (status, out) = run(line + " --json")
    if status != .ok {
      Issue.record("expected success: \(line)\n\(out)", sourceLocation: sourceLocation)
      return .null
    }
    do { return try JSONParser().parse(out) } catch {
      Issue.record("not one JSON document: \(line)\n\(out)", sourceLocation: sourceLocation)
      return .null
    }
  }

  /// Builds the small deal used by many tests.
  public func buildSampleDeal() {
    for line in TestShell.sampleDeal { ok(line) }
  }

  public static let sampleDeal = [
    "deal start=2025-01 horizon=60 title=\"Sample\"",
    "add entity neo type=neocloud name=\"Neo Inc\"",
    "add entity hyper type=tenant pd=0.5%",
    "add asset dc1 type=site mw=25 power_price=0.08 pue=1.25",
    "add asset fleet type=gpu model=H100 units=1024 unit_cost=$30k owner=neo site=dc1",
    "add contract lease1 type=lease rate=2.20 term=36 take_or_pay=90% tenant=hyper fleet=fleet",
    "add facility loan type=term amount=$25m rate=11% term=48 borrower=neo",
    "link fleet pledged-to loan lien=1",
  ]

  /// The repository root (for Sessions/ and Tests/Transcripts/).
  public static var repositoryRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    return FileManager.default.currentDirectoryPath
  }
}
