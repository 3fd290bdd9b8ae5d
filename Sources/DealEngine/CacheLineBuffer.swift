import DealCore
/// A buffer of `n` values in whole cache lines of its own: the working
/// memory of threads running side by side never shares a line, so one
/// thread's writes do not stall the other (false sharing).
func cacheLineBuffer<T>(_ n: Int, _ v: T) -> UnsafeMutableBufferPointer<T> {
  let bytes = (max(1, n) * MemoryLayout<T>.stride + 127) & ~127
  let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 128)
  let p = raw.bindMemory(to: T.self, capacity: max(1, n))
  p.initialize(repeating: v, count: max(1, n))
  return UnsafeMutableBufferPointer(start: p, count: n)
}
