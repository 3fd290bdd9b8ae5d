import DealCore
/// The month-by-month factors of one Monte Carlo path, in buffers that are
/// filled again for every path a worker runs (no allocation per path).
public final class ScenarioPaths {
  public let months: Int
  /// Factor on spot rates (1 = the base path), by month.
  public let spot: UnsafeMutableBufferPointer<Double>
  /// Change of utilization in points, by month.
  public let utilization: UnsafeMutableBufferPointer<Double>
  /// Change of the base rate, by month.
  public let rate: UnsafeMutableBufferPointer<Double>
  /// Factors on coin prices, by month.
  public let btc: UnsafeMutableBufferPointer<Double>
  public let eth: UnsafeMutableBufferPointer<Double>
  /// Per fleet: the first month its lease pays only the spot rate because
  /// the tenant defaulted (`Int.max`: never).
  public let leaseLost: UnsafeMutableBufferPointer<Int>
  /// The correlated standard normal shocks of each month (spot, crypto,
  /// utilization, −rate: all "good" when positive), and whether the month
  /// was in the stress regime — kept for tests of the factor model.
  public let shocks: UnsafeMutableBufferPointer<Double>
  public let stressed: UnsafeMutableBufferPointer<Bool>
  /// Whether `shocks` is filled (tests of the factor model; a run has no
  /// use for them).
  public var recordShocks = false
  /// Log levels of the spot and bitcoin factors, for the stress test.
  let logSpot: UnsafeMutableBufferPointer<Double>
  let logBTC: UnsafeMutableBufferPointer<Double>

  public init(months: Int, fleets: Int) {
    self.months = months
    spot = cacheLineBuffer(months, 1.0)
    utilization = cacheLineBuffer(months, 0.0)
    rate = cacheLineBuffer(months, 0.0)
    btc = cacheLineBuffer(months, 1.0)
    eth = cacheLineBuffer(months, 1.0)
    leaseLost = cacheLineBuffer(fleets, Int.max)
    shocks = cacheLineBuffer(4 * months, 0.0)
    stressed = cacheLineBuffer(months, false)
    logSpot = cacheLineBuffer(months, 0.0)
    logBTC = cacheLineBuffer(months, 0.0)
  }

  deinit {
    for b in [spot, utilization, rate, btc, eth, shocks, logSpot, logBTC] { b.deallocate() }
    leaseLost.deallocate()
    stressed.deallocate()
  }
}

/// The working memory of `MonteCarloModel.fill`: four paths' factors by
/// month, side by side in SIMD lanes (lane k is path `first + k`).
final class ScenarioLanes {
  let months: Int
  let logSpot, logBTC, logETH, utilization, rate: UnsafeMutablePointer<SIMD4<Double>>
  let stressed: UnsafeMutablePointer<SIMD4<Int64>>
  /// `[4 * m + j]`: the month's shock j (kept only for tests).
  let shocks: UnsafeMutablePointer<SIMD4<Double>>

  init(months: Int) {
    self.months = months
    let n = max(1, months)
    func buffer() -> UnsafeMutablePointer<SIMD4<Double>> {
      let p = UnsafeMutablePointer<SIMD4<Double>>.allocate(capacity: n)
      p.initialize(repeating: .zero, count: n)
      return p
    }
    logSpot = buffer(); logBTC = buffer(); logETH = buffer(); utilization = buffer(); rate = buffer()
    stressed = .allocate(capacity: n)
    stressed.initialize(repeating: .zero, count: n)
    shocks = .allocate(capacity: 4 * n)
    shocks.initialize(repeating: .zero, count: 4 * n)
  }

  deinit {
    for b in [logSpot, logBTC, logETH, utilization, rate, shocks] { b.deallocate() }
    stressed.deallocate()
  }
}
