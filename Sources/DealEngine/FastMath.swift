/// Elementary functions for the Monte Carlo inner loop, written out so the
/// compiler inlines (and may vectorise) them instead of calling libm.
enum FastMath {
  /// e^x within about one unit in the last place for |x| ≤ 700 (beyond,
  /// x is clamped: a factor path never gets there). Range reduction
  /// x = k·ln 2 + r with |r| ≤ ½ ln 2 (ln 2 in two parts, the first with
  /// trailing zero bits so k·ln2hi is exact), e^r by its Taylor series to
  /// r¹³ (truncation below 10⁻¹⁷), then 2^k put into the exponent bits.
  /// No branches: a loop of them vectorises.
  @inline(__always) static func exp(_ x: Double) -> Double {
    let x = Swift.min(Swift.max(x, -700), 700)
    let shifter = 6_755_399_441_055_744.0  // 1.5 × 2⁵²: adding it rounds to an integer
    let kf = x * 1.442_695_040_888_963_4 + shifter
    let k = kf - shifter
    let ki = Int64(bitPattern: kf.bitPattern) &- Int64(bitPattern: shifter.bitPattern)
    let r = (x - k * 6.931_471_803_691_238_164_90e-01) - k * 1.908_214_929_270_587_700_02e-10
    var p = 1.0 / 6_227_020_800  // 1/13!
    p = p * r + 1.0 / 479_001_600
    p = p * r + 1.0 / 39_916_800
    p = p * r + 1.0 / 3_628_800
    p = p * r + 1.0 / 362_880
    p = p * r + 1.0 / 40320
    p = p * r + 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    return p * Double(bitPattern: UInt64(bitPattern: (ki &+ 1023) << 52))
  }
}
