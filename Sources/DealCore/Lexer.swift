/// One word of a command line, with where it stood (for the caret under a
/// bad word).
public struct Word: Equatable, Sendable {
  /// The text after quotes, escapes and `$NAME` variables are resolved.
  public var text: String
  /// Character offset of the word's first character in the source line.
  public var start: Int
  /// Character offset just past the word.
  public var end: Int
  /// UTF-8 offset into `text` of the first `=` that was not quoted, if
  /// any: the word is then `key=value`.
  public var equalsIndex: Int?
  /// Whether any part of the word was quoted.
  public var quoted: Bool

  public init(text: String, start: Int, end: Int, equalsIndex: Int? = nil, quoted: Bool = false) {
    self.text = text
    self.start = start
    self.end = end
    self.equalsIndex = equalsIndex
    self.quoted = quoted
  }

  /// The part before the unquoted `=`, if any.
  public var key: Substring? {
    equalsIndex.map { text[..<index($0)] }
  }

  /// The part after the unquoted `=`, if any.
  public var value: Substring? {
    equalsIndex.map { text[index($0 + 1)...] }  // '=' is one byte
  }

  private func index(_ utf8Offset: Int) -> String.Index {
    text.utf8.index(text.utf8.startIndex, offsetBy: utf8Offset)
  }

  /// The word as it could be typed again (quoted where needed); used for the
  /// journal, so that replaying it gives the same words.
  public var rendered: String {
    // Scalar by scalar, as the lexer reads: a combining mark must not hide
    // a quote or a backslash inside a grapheme cluster.
    func scalars(_ s: Substring) -> [Unicode.Scalar] { Array(s.unicodeScalars) }
    /// A `$` that the lexer would read as a variable.
    func isVariable(_ u: [Unicode.Scalar], _ i: Int) -> Bool {
      guard u[i] == "$", i + 1 < u.count else { return false }
      let n = u[i + 1]
      return Character(n).isLetter || n == "_" || n == "{"
    }
    func needsQuotes(_ s: Substring) -> Bool {
      let u = scalars(s)
      return u.isEmpty
        || u.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || "\"'#;\\=".unicodeScalars.contains($0) })
        || u.indices.contains { isVariable(u, $0) }
    }
    func quote(_ s: Substring) -> String {
      let u = scalars(s)
      var out = String.UnicodeScalarView()
      out.append("\"")
      for i in u.indices {
        if u[i] == "\"" || u[i] == "\\" || isVariable(u, i) { out.append("\\") }
        out.append(u[i])
      }
      out.append("\"")
      return String(out)
    }
    if let key, let value {
      let k = needsQuotes(key) ? quote(key) : String(key)
      let v = needsQuotes(value) ? quote(value) : String(value)
      return k + "=" + v
    }
    return needsQuotes(text[...]) ? quote(text[...]) : text
  }
}

/// The words of one command and the part of the line it came from.
public struct CommandWords: Equatable, Sendable {
  public var words: [Word]
  public var line: String

  public init(words: [Word], line: String) {
    self.words = words
    self.line = line
  }

  /// The command as it would be typed again.
  public var rendered: String { words.map(\.rendered).joined(separator: " ") }
}

/// Why a line could not be split into words.
public struct LexError: Error, Equatable, Sendable {
  public var message: String
  public var hint: String?
  public var start: Int
  public var end: Int
}

/// Splits command lines into commands and words (SPEC §2): white space
/// splits, `"double"` or `'single'` quotes group, `#` starts a comment
/// outside quotes, `;` separates commands, `\` escapes the next character,
/// and `$NAME` is replaced by a script variable (outside single quotes; a `$`
/// before a digit is a dollar amount).
public struct Lexer {
  public var variables: [String: String]

  public init(variables: [String: String] = [:]) { self.variables = variables }

  /// Whether a physical line ends in a `\` that continues the command on the
  /// next line (outside quotes and comments).
  public static func continues(_ line: String) -> Bool {
    // Scalar by scalar, as `split` reads (not by grapheme clusters, and not
    // with canonical equivalence: U+037E is not ';').
    var u = Array(line.unicodeScalars)
    while let last = u.last, last.properties.isWhitespace { u.removeLast() }
    guard u.last == "\\" else { return false }
    var quote: Unicode.Scalar? = nil
    var i = 0
    while i < u.count {
      let c = u[i]
      if let q = quote {
        if c == q {
          quote = nil
        } else if c == "\\", q == "\"" {
          if i + 1 == u.count { return false }
          i += 2
          continue
        }
      } else {
        switch c {
        case "\"", "'": quote = c
        case "#": return false
        case "\\":
          if i + 1 == u.count { return true }
          i += 2  // an escaped character
          continue
        default: break
        }
      }
      i += 1
    }
    return false
  }

  /// Splits `line` into commands. Empty commands (blank, comment only) are
  /// dropped.
  public func split(_ line: String) throws(LexError) -> [CommandWords] {
    // One Character per Unicode scalar: a combining mark after a quote must
    // not hide the quote inside a grapheme cluster.
    // Syntax is matched on the scalars themselves: Character comparison
    // treats canonically equivalent scalars as equal (U+037E GREEK QUESTION
    // MARK would end a command like ';').
    let scalars = Array(line.unicodeScalars)
    let chars = scalars.map(Character.init)
    var commands: [CommandWords] = []
    var words: [Word] = []
    var cur = ""
    var curStart = -1
    var curEq: Int? = nil
    var curQuoted = false
    var inWord = false
    var i = 0

    func endWord(_ at: Int) {
      if inWord {
        words.append(Word(text: cur, start: curStart, end: at, equalsIndex: curEq, quoted: curQuoted))
      }
      cur = ""
      curStart = -1
      curEq = nil
      curQuoted = false
      inWord = false
    }
    func begin(_ at: Int) {
      if !inWord { inWord = true; curStart = at }
    }
    func endCommand(_ at: Int) {
      endWord(at)
      if !words.isEmpty { commands.append(CommandWords(words: words, line: line)) }
      words = []
    }

    while i < chars.count {
      let c = chars[i], u = scalars[i]
      switch u {
      case " ", "\t", "\n", "\r":
        endWord(i)
        i += 1
      case ";":
        endCommand(i)
        i += 1
      case "#":
        endCommand(i)
        return commands
      case "\\":
        if i + 1 < chars.count {
          if scalars[i + 1] == "\n" { endWord(i); i += 2; continue }
          begin(i)
          cur.append(chars[i + 1])
          i += 2
        } else {
          endWord(i)
          i += 1  // a trailing continuation backslash
        }
      case "'", "\"":
        begin(i)
        curQuoted = true
        let open = i
        i += 1
        var closed = false
        while i < chars.count {
          let q = chars[i]
          if scalars[i] == u { closed = true; i += 1; break }
          if u == "\"", scalars[i] == "\\", i + 1 < chars.count {
            cur.append(chars[i + 1])
            i += 2
            continue
          }
          if u == "\"", scalars[i] == "$", i + 1 < chars.count,
            chars[i + 1].isLetter || chars[i + 1] == "_" || chars[i + 1] == "{"
          {
            let (value, next) = try variable(chars, at: i)
            cur += value
            i = next
            continue
          }
          cur.append(q)
          i += 1
        }
        if !closed {
          throw LexError(
            message: "unterminated \(c == "\"" ? "double" : "single") quote", hint: "close it with \(c)",
            start: open, end: chars.count)
        }
      case "$" where i + 1 < chars.count && (chars[i + 1].isLetter || chars[i + 1] == "_" || chars[i + 1] == "{"):
        begin(i)
        let (value, next) = try variable(chars, at: i)
        cur += value
        i = next
      case "=":
        begin(i)
        if curEq == nil { curEq = cur.utf8.count }
        cur.append(c)
        i += 1
      default:
        begin(i)
        cur.append(c)
        i += 1
      }
    }
    endCommand(chars.count)
    return commands
  }

  /// Resolves `$NAME` or `${NAME}` at `i`; returns the value and the index
  /// after the reference.
  private func variable(_ chars: [Character], at i: Int) throws(LexError) -> (String, Int) {
    var j = i + 1
    let braced = j < chars.count && chars[j] == "{"
    if braced { j += 1 }
    let nameStart = j
    while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
    let name = String(chars[nameStart..<j])
    if braced {
      guard j < chars.count, chars[j] == "}" else {
        throw LexError(message: "unterminated ${...}", hint: nil, start: i, end: j)
      }
      j += 1
    }
    if name.isEmpty {
      return ("$", i + 1)
    }
    guard let value = variables[name] else {
      let hint: String
      if let near = Suggest.closest(to: name, in: variables.keys) {
        hint = "did you mean '$\(near)'?"
      } else {
        hint = "set it with 'let \(name)=VALUE' or 'dealsh run --var \(name)=VALUE'"
      }
      throw LexError(message: "unknown variable '$\(name)'", hint: hint, start: i, end: j)
    }
    return (value, j)
  }
}
