import DealShell
import Testing
import _DealShellTestSupport

extension TestShell {
  /// Runs a line that must fail, with an error containing `message`.
  func expectRefused(_ line: String, _ message: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    let (status, out) = run(line)
    #expect(status == .failed, "'\(line)' should fail", sourceLocation: sourceLocation)
    #expect(out.contains(message), "\(out)", sourceLocation: sourceLocation)
  }
}
