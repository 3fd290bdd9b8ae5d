/// An error a user reads: what is wrong, first, with the subject in single
/// quotes, no full stop (git's CodingGuidelines), optionally a hint, and the
/// word of the command it is about so the shell can put a caret under it.
public struct DealError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What kind of failure, for exit codes and for how it is shown.
  public enum Kind: Equatable, Sendable {
    /// The command was written wrongly (unknown option, missing argument).
    case usage
    /// The command is well formed but the deal does not allow it.
    case invalid
    /// A file could not be read or written.
    case file
    /// The user cancelled (Ctrl-C).
    case cancelled
    /// The user answered no to a question: nothing was done, and that is
    /// not an error (the shell says so and the line succeeds).
    case declined
  }

  /// Which part of the command the error is about.
  public enum Subject: Equatable, Sendable {
    /// The n-th word of the command (0 is the command name).
    case word(Int)
    /// The first word whose text is this.
    case text(String)
    /// The `key=value` word with this key (the caret goes under the key).
    case key(String)
    /// The value of the `key=value` word with this key.
    case value(String)
  }

  public var kind: Kind
  public var message: String
  public var hint: String?
  public var subject: Subject?

  public init(_ kind: Kind = .invalid, _ message: String, hint: String? = nil, subject: Subject? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
    self.subject = subject
  }

  public var description: String { message }

  /// The same error with this hint (none given: unchanged).
  public func withHint(_ h: String?) -> DealError {
    var e = self
    if let h { e.hint = h }
    return e
  }

  /// The same error about another word.
  public func about(_ subject: Subject) -> DealError {
    var e = self
    if e.subject == nil { e.subject = subject }
    return e
  }
}

extension DealError {
  public static func usage(_ message: String, hint: String? = nil, subject: Subject? = nil) -> DealError {
    DealError(.usage, message, hint: hint, subject: subject)
  }

  public static func unknownNode(_ id: String, in ids: some Sequence<String>, subject: Subject? = nil) -> DealError {
    let near = Suggest.closest(to: id, in: ids)
    return DealError(
      .invalid, "unknown id '\(id)'" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
      hint: near == nil ? "'ls' lists the nodes of the deal" : nil, subject: subject ?? .text(id))
  }

  public static func unknownName(
    _ what: String, _ name: String, valid: [String], subject: Subject? = nil
  ) -> DealError {
    let near = Suggest.closest(to: name, in: valid)
    let list = valid.count <= 12 ? valid.joined(separator: ", ") : nil
    return DealError(
      .invalid, "unknown \(what) '\(name)'" + (near.map { " (did you mean '\($0)'?)" } ?? ""),
      hint: list.map { "expected one of: \($0)" }, subject: subject ?? .text(name))
  }
}
