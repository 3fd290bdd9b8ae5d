import Foundation

/// The cases of data-driven tests that are files of the repository. Never
/// empty: a parameterized test with no cases passes without testing
/// anything, so a folder that yields none gives one case that names it and
/// that no test can read — the test fails instead of passing silently.
public enum DataCases {
  /// Paths (relative to the repository root) of the files under `folders`
  /// whose names end with `suffix`, sorted.
  public static func files(in folders: [String], suffix: String = "") -> [String] {
    let root = TestShell.repositoryRoot
    var out: [String] = []
    for dir in folders {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + dir)) ?? []
      out += names.filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }.sorted().map { dir + "/" + $0 }
    }
    return out.isEmpty ? ["no \(suffix.isEmpty ? "" : suffix + " ")files in \(folders.joined(separator: ", "))"] : out
  }
}
