import Foundation

/// The random numbers of a randomized test: SplitMix64 from a seed that the
/// test names in every failure, so a failing case can be run again.
///
/// The seed is the test's own fixed one, unless `DEALSH_TEST_SEED` is set
/// (to explore other cases, or to re-run one that failed elsewhere).
public struct SeededRandom: RandomNumberGenerator, CustomStringConvertible {
  public let seed: UInt64
  private var state: UInt64

  public init(seed fallback: UInt64) {
    let env = ProcessInfo.processInfo.environment["DEALSH_TEST_SEED"].flatMap { UInt64($0) }
    seed = env ?? fallback
    state = seed
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1).
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// "seed N (DEALSH_TEST_SEED=N runs this case again)": for failure messages.
  public var description: String { "seed \(seed) (DEALSH_TEST_SEED=\(seed) runs this case again)" }
}
