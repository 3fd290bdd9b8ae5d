import DealCore
public enum MonteCarloQuantile {
  /// The values without NaNs, in ascending order: a least-significant-digit
  /// radix sort on the bit patterns (byte by byte, skipping bytes all keys
  /// share), several times faster than a comparison sort on the 10^5–10^6
  /// values of a run, which the report would otherwise wait for on one core.
  public static func sorted(_ values: [Double]) -> [Double] {
    // Order-preserving keys: flip all bits of negatives, the sign of the rest.
    var keys = [UInt64](), other = [UInt64]()
    keys.reserveCapacity(values.count)
    for x in values where !x.isNaN {
      let b = x.bitPattern
      keys.append(b >> 63 == 1 ? ~b : b | (1 << 63))
    }
    let n = keys.count
    guard n > 1 else { return keys.map(decode) }
    other = [UInt64](repeating: 0, count: n)
    keys.withUnsafeMutableBufferPointer { a in
      other.withUnsafeMutableBufferPointer { b in
        var src = a, dst = b
        var counts = [Int](repeating: 0, count: 256)
        for shift in stride(from: 0, to: 64, by: 8) {
          for i in 0..<256 { counts[i] = 0 }
          for k in src { counts[Int((k >> UInt64(shift)) & 0xFF)] += 1 }
          if counts[Int((src[0] >> UInt64(shift)) & 0xFF)] == n { continue }  // every key has this byte
          var sum = 0
          for i in 0..<256 {
            let c = counts[i]
            counts[i] = sum
            sum += c
          }
          for k in src {
            let d = Int((k >> UInt64(shift)) & 0xFF)
            dst[counts[d]] = k
            counts[d] += 1
          }
          swap(&src, &dst)
        }
        if src.baseAddress != a.baseAddress { _ = a.update(fromContentsOf: src) }
      }
    }
    return keys.map(decode)
  }

  @inline(__always) static func decode(_ k: UInt64) -> Double {
    Double(bitPattern: k >> 63 == 1 ? k & ~(1 << 63) : ~k)
  }

  /// The q-quantile of sorted values, interpolated linearly between order
  /// statistics (numpy's default, the spreadsheets' PERCENTILE.INC).
  /// `zeros` counts zeros that come before `sorted` (non-negative values
  /// with most of them zero, such as losses, need not all be sorted).
  public static func of(_ sorted: [Double], _ q: Double, zeros: Int = 0) -> Double? {
    let count = zeros + sorted.count
    guard count > 0 else { return nil }
    func at(_ i: Int) -> Double { i < zeros ? 0 : sorted[i - zeros] }
    let h = Double(count - 1) * q
    let lo = Int(h.rounded(.down)), hi = min(count - 1, lo + 1)
    return at(lo) + (h - Double(lo)) * (at(hi) - at(lo))
  }
}
