import DealCore
import DealPluginAPI
import Foundation
import Testing
import _DealShellTestSupport

@testable import DealShell

/// `--csv FILE` on the commands that print tables: RFC 4180 files whose
/// numbers parse back to what the JSON says.
@Suite("csv")
struct CSVTests {
  /// Parses RFC 4180 text (quoted fields, doubled quotes, CRLF).
  static func parse(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
    var it = Array(text).makeIterator()
    var pending: Character? = nil
    while let c = pending ?? it.next() {
      pending = nil
      if quoted {
        if c == "\"" {
          if let n = it.next() {
            if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
          } else { quoted = false }
        } else { field.append(c) }
      } else if c == "\"" { quoted = true
      } else if c == "," { row.append(field); field = ""
      } else if c == "\r\n" || c == "\n" { row.append(field); rows.append(row); row = []; field = ""
      } else { field.append(c) }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
  }

  func file(_ t: TestShell, _ name: String) throws -> [[String]] {
    Self.parse(try String(contentsOfFile: t.folder + "/" + name, encoding: .utf8))
  }

  @Test("ls, a stress and the Monte Carlo write CSV that parses back to their JSON")
  func parseBack() throws {
    let t = TestShell()
    t.ok("open \(TestShell.repositoryRoot)/Sessions/miner-double-leverage.deal")
    t.ok("ls facility --csv \(t.folder)/ls.csv")
    let ls = try file(t, "ls.csv")
    #expect(ls[0] == ["id", "kind", "type", "details"])
    #expect(ls.dropFirst().map { $0[0] } == t.json("ls facility --json")["nodes"]?.arrayValue?.compactMap { $0["id"]?.stringValue })
    #expect(ls[1][3].contains(","), "a field with commas is quoted and parses back whole")

    t.ok("shock spot=-30% --csv \(t.folder)/shock.csv")
    let shock = try file(t, "shock.csv"), sj = t.json("shock spot=-30% --json")
    #expect(shock[0] == ["metric", "base", "shocked"])
    let minRow = try #require(shock.first { $0[0] == "min_dscr" })
    #expect(abs(Double(minRow[2])! - sj["shocked"]!["min_dscr"]!.numberValue!) < 1e-4)

    t.ok("shock mc paths=400 seed=2 --csv \(t.folder)/mc.csv")
    let mc = try file(t, "mc.csv"), mj = t.json("shock mc paths=400 seed=2 --json")
    #expect(mc[0].first == "facility" && mc.count == 4)
    for r in mc.dropFirst() {
      let f = mj["facilities"]?[r[0]]
      #expect(abs(Double(r[4])! - f!["expected_loss"]!.numberValue!) < 0.01)
      #expect(abs(Double(r[3])! - f!["pd"]!.numberValue!) < 1e-6)
    }
  }

  @Test("a text cell a spreadsheet would run as a formula is written as text; numbers stay numbers")
  func formulaInjection() throws {
    #expect(CSV.field("=cmd|calc!A1") == "'=cmd|calc!A1")
    #expect(CSV.field("+1+1") == "'+1+1")
    #expect(CSV.field("-2+3") == "'-2+3")
    #expect(CSV.field("@SUM(A1)") == "'@SUM(A1)")
    #expect(CSV.field("\tx") == "'\tx")
    #expect(CSV.field("\rx") == "\"'\rx\"")
    #expect(CSV.field("=a,b") == "\"'=a,b\"")
    #expect(CSV.field("a\r\nb") == "\"a\r\nb\"", "a CRLF inside a cell is quoted (one Character, two bytes)")
    #expect(CSV.field("x\"\u{31A}y") == "\"x\"\"\u{31A}y\"", "a quote with a combining mark is still doubled (found by the fuzzer)")
    for n in ["-12", "-0.33", "3.5", "-1.2e-7", "42", "1E+5"] { #expect(CSV.field(n) == n, "\(n)") }
    #expect(CSV.field("-") == "'-")
    #expect(CSV.field("-inf") == "'-inf")
    // Through the writers: a name, a title, an attribute value.
    let t = TestShell()
    t.ok("deal title=\"@SUM(1+1)\"")
    t.ok("add entity a type=spv name=\"=cmd|calc!A1\"")
    t.ok("ls --csv \(t.folder)/ls.csv")
    let ls = try file(t, "ls.csv")
    #expect(ls[1][3].hasPrefix("'=cmd"), "\(ls)")
    t.ok("show a --csv \(t.folder)/show.csv")
    #expect(try file(t, "show.csv").contains { $0.contains("'=cmd|calc!A1") })
    t.ok("save x")
    t.ok("sessions --csv \(t.folder)/sessions.csv")
    #expect(try file(t, "sessions.csv")[1][1] == "'@SUM(1+1)")
    // A negative number in a table stays a number.
    t.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal --force")
    t.ok("shock spot=-30% --csv \(t.folder)/shock.csv")
    let shock = try file(t, "shock.csv")
    #expect(shock.dropFirst().allSatisfy { row in row.dropFirst().allSatisfy { $0.isEmpty || Double($0) != nil } }, "\(shock)")
  }

  @Test("--csv on a command without a table is an unknown flag")
  func notTabular() {
    TestShell().expectRefused("deal --csv x.csv", "unknown flag '--csv'")
  }

  @Test("every plugin's table goes through the shell: one message, no CSV for a form without a table, nothing kept when the file cannot be written")
  func throughTheShell() throws {
    let t = TestShell()
    t.ok("open \(TestShell.repositoryRoot)/Sessions/neocloud-abl.deal")
    for (command, rows) in [("depreciate", 60), ("waterfall", 60), ("liquidate at=30", 1)] {
      let out = t.ok("\(command) --csv \(t.folder)/x.csv")
      #expect(out.hasSuffix("wrote \(rows) row\(rows == 1 ? "" : "s") to '\(t.folder)/x.csv'"), "\(command): \(out)")
      #expect(try file(t, "x.csv").count == rows + 1, "\(command): a header and \(rows) rows")
    }
    // No default, no facility to list: the header alone.
    t.ok("open \(TestShell.repositoryRoot)/Sessions/datacenter-project-finance.deal")
    #expect(t.ok("liquidate --csv \(t.folder)/none.csv").hasSuffix("wrote 0 rows to '\(t.folder)/none.csv'"))
    let header = try file(t, "none.csv")
    #expect(header.count == 1 && header[0].first == "facility" && header[0].last == "sale")
    // A single breakeven is a sentence, not a table.
    t.expectRefused("shock solve default deflation --csv \(t.folder)/y.csv", "prints no table to write as CSV")
    #expect(!FileManager.default.fileExists(atPath: t.folder + "/y.csv"))
    // The stress would be kept as a scenario, but its table cannot be written: nothing is kept.
    t.expectRefused("shock deflation=40% name=bear --csv /nonexistent/dir/z.csv", "z.csv")
    #expect(t.shell.session.scenarios["bear"] == nil)
    #expect(t.run("scenario use bear").status == .failed)
  }
}
