import Foundation
import Testing
import _DealShellTestSupport

@testable import DealCore

@Suite("the lexer")
struct LexerTests {
  func words(_ line: String, vars: [String: String] = [:]) throws -> [[String]] {
    try Lexer(variables: vars).split(line).map { $0.words.map(\.text) }
  }

  @Test(
    "splitting",
    arguments: [
      ("add entity neo type=neocloud", [["add", "entity", "neo", "type=neocloud"]]),
      ("  ls   facility  ", [["ls", "facility"]]),
      ("note \"two words\"", [["note", "two words"]]),
      ("note 'single $x \"q\"'", [["note", "single $x \"q\""]]),
      ("set a name=\"Neo Inc\" pd=1%", [["set", "a", "name=Neo Inc", "pd=1%"]]),
      ("ls; deal", [["ls"], ["deal"]]),
      ("ls # a comment; deal", [["ls"]]),
      ("# only a comment", []),
      ("", []),
      (";;", []),
      ("note \"a;b#c\"", [["note", "a;b#c"]]),
      ("note a\\;b", [["note", "a;b"]]),
      ("note \"say \\\"hi\\\"\"", [["note", "say \"hi\""]]),
      ("add facility f amount=$400m", [["add", "facility", "f", "amount=$400m"]]),
      ("note \"\"", [["note", ""]]),
      ("note \"costs $2.3bn ($30k each)\"", [["note", "costs $2.3bn ($30k each)"]]),
    ])
  func splits(line: String, expected: [[String]]) throws {
    #expect(try words(line) == expected)
  }

  @Test("variables are replaced outside single quotes")
  func variables() throws {
    let v = ["rate": "2.10", "id": "fleet"]
    #expect(try words("set $id rate=$rate", vars: v) == [["set", "fleet", "rate=2.10"]])
    #expect(try words("note \"${id}s\"", vars: v) == [["note", "fleets"]])
    #expect(try words("note '$id'", vars: v) == [["note", "$id"]])
    #expect(try words("set x amount=$5m", vars: v) == [["set", "x", "amount=$5m"]])
  }

  @Test("an unknown variable names itself and the closest one")
  func unknownVariable() {
    #expect {
      try Lexer(variables: ["rate": "1"]).split("set x r=$rat")
    } throws: { e in
      guard let e = e as? LexError else { return false }
      return e.message == "unknown variable '$rat'" && e.hint == "did you mean '$rate'?" && e.start == 8 && e.end == 12
    }
  }

  @Test("an unterminated quote points at the quote")
  func unterminated() {
    #expect {
      try Lexer().split("note \"abc")
    } throws: { e in
      (e as? LexError).map { $0.message == "unterminated double quote" && $0.start == 5 } ?? false
    }
  }

  @Test("word positions and the key=value split")
  func positions() throws {
    let cmd = try #require(try Lexer().split("set  fleet units=5 \"a=b\"").first)
    #expect(cmd.words.map(\.start) == [0, 5, 11, 19])
    #expect(cmd.words.map(\.end) == [3, 10, 18, 24])
    #expect(cmd.words[2].equalsIndex == 5)
    #expect(cmd.words[3].equalsIndex == nil, "a quoted '=' does not make a key")
  }

  @Test(
    "continuation lines",
    arguments: [("add x \\", true), ("add x \\  ", true), ("add x", false), ("note \"a \\", false),
                ("ls # \\", false), ("note a\\\\", false)])
  func continues(line: String, expected: Bool) {
    #expect(Lexer.continues(line) == expected)
  }

  @Test("rendering a command gives back the same words")
  func roundTrip() throws {
    let lines = [
      "add entity neo type=neocloud name=\"Neo Inc\"", "note \"a;b # c\"", "set x amount=$5m",
      "note \"price \\$x\"", "set a name=\"\"", "note 'it''s'", "note \"two\nlines\"", "note 'tab\there'",
    ]
    for line in lines {
      let first = try Lexer().split(line)
      let again = try Lexer().split(first.map(\.rendered).joined(separator: "; "))
      #expect(first.map { $0.words.map(\.text) } == again.map { $0.words.map(\.text) }, "\(line)")
    }
  }
}

@Suite("lexer: scalars, not canonical equivalence")
struct LexerScalarTests {
  @Test("U+037E GREEK QUESTION MARK is a letter of a word, not ';' (Swift's Character == treats them as equal)")
  func greekQuestionMark() throws {
    let line = "set a name=x\u{037E}y"
    let commands = try Lexer().split(line)
    #expect(commands.count == 1)
    #expect(commands[0].words.map(\.text) == ["set", "a", "name=x\u{037E}y"])
    let again = try Lexer().split(commands[0].rendered)
    #expect(again.first?.words.map(\.text) == commands[0].words.map(\.text))
    #expect(try Lexer().split("ls; ls").count == 2)
  }

  @Test("continuation is read scalar by scalar: a combining mark after a quote does not hide it")
  func continuation() {
    #expect(Lexer.continues(#"set a x=1 \"#))
    #expect(!Lexer.continues(#"set a name="open \  "#), "inside quotes")
    #expect(!Lexer.continues("set a name='\u{301}x \\"), "the quote before a combining mark still opens")
    #expect(!Lexer.continues("ls \u{037E} # no \\"))
  }
}

@Suite("fuzz regressions")
struct FuzzRegressionTests {
  static let files = DataCases.files(in: ["Tests/Fuzz/Regressions"]).map { TestShell.repositoryRoot + "/" + $0 }

  @Test("inputs that once crashed a fuzz target are handled: lexing, rendering and lexing again give the same words", arguments: files)
  func replay(path: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let text = String(decoding: data, as: UTF8.self)
    _ = try? SessionCodec.decode(text, schema: .standard)
    guard let commands = try? Lexer(variables: ["x": "1", "name": "a b"]).split(text) else { return }
    for c in commands {
      let again = try Lexer().split(c.rendered)
      #expect(again.first?.words.map(\.text) == c.words.map(\.text))
    }
  }
}
