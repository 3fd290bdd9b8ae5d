/// The limits of the session reader (SPEC §4), in one place: the reader
/// refuses a file beyond them, so the commands that set a value refuse it
/// there, and `save` checks before writing — a session that saves always
/// opens again.
public enum SessionLimits {
  /// A session file's size.
  public static let maxFileBytes = 64 << 20
  public static let maxNodes = 1_000_000
  public static let maxEdges = 4_000_000
  public static let maxJournal = 1_000_000
  /// The deal's title, a note, the author's name.
  public static let maxTextBytes = 1 << 20
  /// A text attribute's value.
  public static let maxAttributeBytes = 1 << 16

  /// "64 KiB", "1 MiB".
  public static func size(_ bytes: Int) -> String {
    bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
  }

  /// Refuses a text longer than a session file holds.
  public static func checkText(_ s: String, _ what: String, limit: Int = maxTextBytes) throws(DealError) {
    let n = s.utf8.count
    guard n > limit else { return }
    throw DealError(
      .invalid, "\(what) is \(n) bytes long, more than the \(size(limit)) a session file holds",
      hint: "nothing was changed; shorten it (a long text belongs in a file the note names)")
  }

  /// Checks a whole session before it is written (the per-command checks
  /// keep it within the limits; this catches what came from elsewhere).
  public static func check(_ s: Session, journalCount: Int, author: String) throws(DealError) {
    if s.graph.nodeCount > maxNodes {
      throw DealError(.invalid, "the session has \(s.graph.nodeCount) nodes, more than the \(maxNodes) a session file holds; nothing was written")
    }
    if s.graph.edgeCount > maxEdges {
      throw DealError(.invalid, "the session has \(s.graph.edgeCount) edges, more than the \(maxEdges) a session file holds; nothing was written")
    }
    if journalCount > maxJournal {
      throw DealError(.invalid, "the journal has \(journalCount) entries, more than the \(maxJournal) a session file holds; nothing was written")
    }
    try checkText(s.deal.title, "the deal's title")
    try checkText(author, "the author's name")
    for (i, n) in s.notes.enumerated() { try checkText(n.text, "note \(i + 1)") }
  }
}
