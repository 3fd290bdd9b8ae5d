/// "Did you mean …?": the closest valid name to a misspelt one.
public enum Suggest {
  /// The candidate nearest to `word` by edit distance, if it is close enough
  /// to be a plausible typo (at most a third of the word's length, minimum 1,
  /// or a prefix of it).
  public static func closest<S: Sequence>(to word: String, in candidates: S) -> String?
  where S.Element == String {
    let w = Array(word.lowercased())
    var best: (String, Int)? = nil
    for c in candidates {
      let d = distance(w, Array(c.lowercased()))
      if best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
    }
    guard let (name, d) = best else { return nil }
    let limit = max(1, min(3, w.count / 3))
    if d <= limit { return name }
    if w.count >= 3, name.lowercased().hasPrefix(String(w)) { return name }
    return nil
  }

  /// Damerau–Levenshtein (optimal string alignment) distance.
  public static func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev2 = [Int](repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      cur[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          v = min(v, prev2[j - 2] + 1)
        }
        cur[j] = v
      }
      (prev2, prev, cur) = (prev, cur, prev2)
    }
    return prev[b.count]
  }

  /// " (did you mean 'x'?)" or "".
  public static func clause<S: Sequence>(for word: String, in candidates: S) -> String
  where S.Element == String {
    closest(to: word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
  }
}
