import DealCore
import Foundation

/// SplitMix64 (Steele, Lea and Flood 2014): one 64-bit state, a stream per
/// (seed, path) pair.
public struct SplitMix64 {
  var state: UInt64

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

  @inline(__always) static func normal(_ rng: inout SplitMix64) -> Double {
    let x = Self.x, ratio = Self.ratio, density = Self.density
    while true {
      let bits = rng.next()
      let u = Double(bits >> 11) * 0x1.0p-52 - 1  // in [-1, 1)
      let i = Int(bits & 0x7F)
      if abs(u) < ratio[i] { return u * x[i] }
      if i == 0 {
        // The tail takes the generator by value and hands it back: passed
        // by address, it would live in memory on every draw of the loop.
        let (z, next) = tail(rng, negative: u < 0)
        rng = next
        return z
      }
      // The wedge: accept z when a uniform point under the layer's chord
      // falls under the density (one exp, the edges' densities tabulated).
      let z = u * x[i]
      if density[i + 1] + rng.unit() * (density[i] - density[i + 1]) < exp(-0.5 * z * z) { return z }
    }
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
