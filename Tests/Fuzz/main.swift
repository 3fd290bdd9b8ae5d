// libFuzzer targets (make fuzz): the command-language lexer and number
// parser, the session decoder, and the transcript parser. The target is
// chosen by DEALSH_FUZZ_TARGET (lexer, session, transcript). Every input must
// be handled without a crash: errors are fine, traps are not.
import DealCore
import DealShell
import Foundation

let target = ProcessInfo.processInfo.environment["DEALSH_FUZZ_TARGET"] ?? "lexer"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  switch target {
  case "session":
    if let file = try? SessionCodec.decode(text, schema: .standard) {
      // What decodes must encode and decode again to the same session.
      let again = try? SessionCodec.decode(SessionCodec.encode(file), schema: .standard)
      precondition(again == file, "round trip changed the session")
    }
  case "transcript":
    let entries = Transcript.parse(text)
    for e in entries { _ = Transcript.matches(expected: e.expected, actual: e.expected) }
  default:
    if let commands = try? Lexer(variables: ["x": "1", "name": "a b"]).split(text) {
      for c in commands {
        for w in c.words { _ = try? Quantity.parse(w.text) }
        // Rendering gives back the same words.
        let again = try? Lexer().split(c.rendered)
        precondition(again?.first?.words.map(\.text) == c.words.map(\.text) || c.words.isEmpty, "rendering changed the words")
      }
    }
    _ = Lexer.continues(text)
    _ = ScriptReader.lines(text)
    _ = CalendarDate(parsing: text)
  }
  return 0
}
