/// A list that appends in constant time even when earlier versions of it
/// are kept (the undo stack keeps every version of a session): elements
/// live in chunks of 256, so an append copies at most one chunk and the
/// list of chunks, never the whole list. A value type like `Array`.
public struct ChunkedList<Element: Sendable>: RandomAccessCollection, Sendable {
  static var chunkSize: Int { 256 }
  private var chunks: [[Element]] = []
  public private(set) var count = 0

  public init() {}
  public init<S: Sequence>(_ elements: S) where S.Element == Element {
    for e in elements { append(e) }
  }

  public var startIndex: Int { 0 }
  public var endIndex: Int { count }

  public subscript(i: Int) -> Element {
    precondition(i >= 0 && i < count, "index \(i) out of range")
    return chunks[i / Self.chunkSize][i % Self.chunkSize]
  }

  public mutating func append(_ e: Element) {
    if let last = chunks.indices.last, chunks[last].count < Self.chunkSize {
      chunks[last].append(e)
    } else {
      var chunk: [Element] = []
      chunk.reserveCapacity(Self.chunkSize)
      chunk.append(e)
      chunks.append(chunk)
    }
    count += 1
  }
}

extension ChunkedList: Equatable where Element: Equatable {
  public static func == (a: ChunkedList, b: ChunkedList) -> Bool { a.count == b.count && a.elementsEqual(b) }
}

extension ChunkedList: Hashable where Element: Hashable {
  public func hash(into h: inout Hasher) {
    h.combine(count)
    for e in self { h.combine(e) }
  }
}

extension ChunkedList: ExpressibleByArrayLiteral {
  public init(arrayLiteral elements: Element...) { self.init(elements) }
}
