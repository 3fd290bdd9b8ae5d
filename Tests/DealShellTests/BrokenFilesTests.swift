import DealCore
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// Every file in Tests/Fixtures/broken/ is refused by `open` with the message
/// in the `.expected` file beside it; the session in memory and the file on
/// disk stay as they were.
@Suite("broken and hostile session files")
struct BrokenFilesTests {
  static let cases = DataCases.files(in: ["Tests/Fixtures/broken"], suffix: ".deal").map { $0.split(separator: "/").last.map(String.init) ?? $0 }

  @Test("open refuses the file with its expected message and changes nothing", arguments: cases)
  func refused(name: String) throws {
    let dir = TestShell.repositoryRoot + "/Tests/Fixtures/broken/"
    let path = dir + name
    let expected = try String(contentsOfFile: dir + name.dropLast(5) + ".expected", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
    let t = TestShell()
    t.buildSampleDeal()
    let session = t.shell.session
    let (status, out) = t.run("open \(path)")
    #expect(status == .failed)
    // Refused as a session ("cannot open"), or as a file before that ("cannot read").
    #expect(out.hasPrefix("error: open: cannot open '\(path)': ") || out.hasPrefix("error: open: cannot read '\(path)': "), "\(out)")
    #expect(out.contains(expected), "\(name): \(out)")
    #expect(t.shell.session == session, "the session in memory is unchanged")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the file is unchanged")
    #expect(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date == mtime)
  }

  @Test("the corpus has one file per kind of rejection")
  func coverage() {
    #expect(Self.cases.count >= 19)
  }
}
