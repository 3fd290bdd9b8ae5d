import DealCore
import Foundation

/// SplitMix64 (Steele, Lea and Flood 2014): one 64-bit state, a stream per
/// (seed, path) pair.
public struct SplitMix64 {
  var state: UInt64

  /// A generator that continues from `state` (a lane of `Ziggurat.normals`).
  init(state: UInt64) { self.state = state }

  public init(seed: UInt64, stream: UInt64) {
    state = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ Self.mix(stream &* 0xD1B5_4A32_D192_ED03 &+ 0x2545_F491_4F6C_DD1D)
  }

  static func mix(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  @inline(__always) public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// Uniform in [0, 1).
  @inline(__always) public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
  /// Uniform in (0, 1].
  @inline(__always) public mutating func unitOpen() -> Double { Double((next() >> 11) + 1) * 0x1.0p-53 }
}

/// Standard normal variates by the ziggurat method (Marsaglia and Tsang
/// 2000, in Doornik's 2005 form with 128 layers): about 99 % of draws cost
/// one random number, a multiplication and a comparison.
enum Ziggurat {
  static let layers = 128
  static let r = 3.442619855899
  static let v = 9.91256303526217e-3
  /// Layer edges x[0...128] and the ratios x[i+1] / x[i], in memory that
  /// is never freed: threads read it with no reference counting.
  nonisolated(unsafe) static let x: UnsafePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: layers + 1)
    var f = exp(-0.5 * r * r)
    p[0] = v / f
    p[1] = r
    for i in 2..<layers {
      p[i] = (-2 * log(v / p[i - 1] + f)).squareRoot()
      f = exp(-0.5 * p[i] * p[i])
    }
    p[layers] = 0
    return UnsafePointer(p)
  }()
  nonisolated(unsafe) static let ratio: UnsafePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: layers)
    for i in 0..<layers { p[i] = x[i + 1] / x[i] }
    return UnsafePointer(p)
  }()
  /// The density e^(−x²/2) at each layer edge, for the wedge test.
  nonisolated(unsafe) static let density: UnsafePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: layers + 1)
    for i in 0...layers { p[i] = exp(-0.5 * x[i] * x[i]) }
    return UnsafePointer(p)
  }()

  /// The rest of a draw whose first number `u` fell outside the rectangle
  /// of its layer `i` (about 1 % of draws): the tail beyond the base
  /// layer, or the wedge test, and fresh draws while rejected. It takes the
  /// generator by value and hands it back: passed by address, the
  /// generator would live in memory on every draw of the caller's loop.
  @inline(never) static func miss(_ u: Double, _ i: Int, _ rng: SplitMix64) -> (Double, SplitMix64) {
    let x = Self.x, ratio = Self.ratio, density = Self.density
    var rng = rng, u = u, i = i
    while true {
      if i == 0 { return tail(rng, negative: u < 0) }
      // The wedge: accept z when a uniform point under the layer's chord
      // falls under the density (one exp, the edges' densities tabulated).
      let z = u * x[i]
      if density[i + 1] + rng.unit() * (density[i] - density[i + 1]) < exp(-0.5 * z * z) { return (z, rng) }
      let bits = rng.next()
      u = Double(bits >> 11) * 0x1.0p-52 - 1
      i = Int(bits & 0x7F)
      if abs(u) < ratio[i] { return (u * x[i], rng) }
    }
  }

  /// Four draws side by side, lane k from the generator whose state is
  /// `state[k]`: one number of the generator, its low 7 bits the layer i,
  /// its top 53 a uniform u in [−1, 1); u·x[i] when |u| < x[i+1]/x[i] (its
  /// layer's rectangle, 99 % of draws), else the lane finishes in `miss`,
  /// alone. Each lane draws what one generator drawing alone would (a test
  /// holds it to that).
  @inline(__always) static func normals(_ state: inout SIMD4<UInt64>) -> SIMD4<Double> {
    let x = Self.x, ratio = Self.ratio
    state &+= SIMD4(repeating: 0x9E37_79B9_7F4A_7C15)
    var z = state
    z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
    let bits = z ^ (z &>> 31)
    let u = SIMD4<Double>(bits &>> 11) * 0x1.0p-52 - 1
    let i = bits & 0x7F
    let i0 = Int(truncatingIfNeeded: i[0]), i1 = Int(truncatingIfNeeded: i[1])
    let i2 = Int(truncatingIfNeeded: i[2]), i3 = Int(truncatingIfNeeded: i[3])
    var out = u * SIMD4(x[i0], x[i1], x[i2], x[i3])
    let size = u.replacing(with: -u, where: u .< 0)  // |u| (−0 stays −0: the same comparisons)
    let inside = size .< SIMD4(ratio[i0], ratio[i1], ratio[i2], ratio[i3])
    if !all(inside) {
      for k in 0..<4 where !inside[k] {
        let (v, rng) = miss(u[k], Int(truncatingIfNeeded: i[k]), SplitMix64(state: state[k]))
        out[k] = v
        state[k] = rng.state
      }
    }
    return out
  }

  static func tail(_ rng: SplitMix64, negative: Bool) -> (Double, SplitMix64) {
    var rng = rng
    var a = 0.0, b = 0.0
    repeat {
      a = log(rng.unitOpen()) / r
      b = log(rng.unitOpen())
    } while -2 * b < a * a
    return (negative ? a - r : r - a, rng)
  }
}
