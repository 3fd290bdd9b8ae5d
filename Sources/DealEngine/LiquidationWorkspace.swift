import DealCore

/// The working memory and the results of a liquidation (SPEC §5
/// `liquidate`; the model is `LiquidationEngine`'s). Every buffer is made
/// once for its plan, so a Monte Carlo path allocates nothing once it has
/// run once.
public final class LiquidationWorkspace {
  // Per facility.
  public let inDefault: UnsafeMutableBufferPointer<Bool>
  /// Its own default month (the waterfall's, or the month a default in
  /// the liquidation reached it), and its claim then.
  public let defaultMonth: UnsafeMutableBufferPointer<Int>
  public let claim: UnsafeMutableBufferPointer<Double>
  public let fromCollateral: UnsafeMutableBufferPointer<Double>
  public let fromGuarantors: UnsafeMutableBufferPointer<Double>
  public let fromUnsecured: UnsafeMutableBufferPointer<Double>
  /// Taken out at a sale without being in default (ranked ahead).
  public let repaidAtSale: UnsafeMutableBufferPointer<Double>
  /// Months until the last sale that paid the facility anything: its
  /// collateral's, and the sales that fed the guarantors and estates it
  /// recovered from.
  public let months: UnsafeMutableBufferPointer<Int>
  // Per asset: the month its sale starts after (0 when not sold), its net
  // proceeds, whether it was sold.
  public let assetMonth: UnsafeMutableBufferPointer<Int>
  public let assetProceeds: UnsafeMutableBufferPointer<Double>
  public let assetSold: UnsafeMutableBufferPointer<Bool>
  /// A fleet sold with its lease (else as bare GPUs).
  public let assetGoingConcern: UnsafeMutableBufferPointer<Bool>
  // Per entity: the month it is in default (0: not), the cash it had then
  // (taken into its estate), what its estate paid, what it paid under its
  // guarantees without being in default.
  public let entityMonth: UnsafeMutableBufferPointer<Int>
  public let entityCash: UnsafeMutableBufferPointer<Double>
  public let estatePaid: UnsafeMutableBufferPointer<Double>
  public let guaranteePaid: UnsafeMutableBufferPointer<Double>
  /// Facilities in the order they defaulted, and why.
  public var chain: [Int] { Array(chainBuffer[0..<chainCount]) }
  public var cause: [DefaultCause] { Array(causeBuffer[0..<chainCount]) }
  public let chainBuffer: UnsafeMutableBufferPointer<Int>
  let causeBuffer: UnsafeMutableBufferPointer<DefaultCause>
  let counts: UnsafeMutableBufferPointer<Int>
  public var chainCount: Int { counts[0] }
  /// Totals: net proceeds (assets sold, cash taken, guarantees paid),
  /// paid to lenders, left to the owners.
  let totals: UnsafeMutableBufferPointer<Double>
  public var netProceeds: Double { totals[0] }
  public var distributed: Double { totals[1] }
  public var leftToOwners: Double { totals[2] }

  let remaining: UnsafeMutableBufferPointer<Double>  // per asset, during distribution
  let owed: UnsafeMutableBufferPointer<Double>  // per facility, during distribution
  let performingMonth: UnsafeMutableBufferPointer<Int>  // per facility: first sale it is repaid from, not in default
  let guaranteeBase: UnsafeMutableBufferPointer<Double>  // per facility: the deficiency its guarantors share
  let pool: UnsafeMutableBufferPointer<Double>  // per entity: free assets and cash
  let estate: UnsafeMutableBufferPointer<Double>  // per entity: surplus of its sold pledged assets, subsidiaries' equity
  public let assetMonths: UnsafeMutableBufferPointer<Int>  // per asset: months its sale takes
  let poolMonths: UnsafeMutableBufferPointer<Int>  // per entity
  let estateMonths: UnsafeMutableBufferPointer<Int>  // per entity
  let failedMonth: UnsafeMutableBufferPointer<Int>  // per entity: guarantors that could not pay, and when
  let demand: UnsafeMutableBufferPointer<Double>  // per asset, at one lien level
  let want: UnsafeMutableBufferPointer<Double>  // per facility × asset, at one lien level
  let sizes: (facilities: Int, assets: Int, entities: Int)

  /// Buffers sized for `plan` (immutable references to mutable memory, so
  /// the engine's loops pay no exclusivity checks).
  public init(_ plan: LiquidationPlan) {
    let nf = plan.facilities.count, na = plan.assets.count, ne = plan.entities.count
    sizes = (nf, na, ne)
    inDefault = cacheLineBuffer(nf, false)
    defaultMonth = cacheLineBuffer(nf, 0)
    claim = cacheLineBuffer(nf, 0)
    fromCollateral = cacheLineBuffer(nf, 0)
    fromGuarantors = cacheLineBuffer(nf, 0)
    fromUnsecured = cacheLineBuffer(nf, 0)
    repaidAtSale = cacheLineBuffer(nf, 0)
    months = cacheLineBuffer(nf, 0)
    owed = cacheLineBuffer(nf, 0)
    performingMonth = cacheLineBuffer(nf, 0)
    guaranteeBase = cacheLineBuffer(nf, 0)
    assetMonth = cacheLineBuffer(na, 0)
    assetProceeds = cacheLineBuffer(na, 0)
    assetSold = cacheLineBuffer(na, false)
    assetGoingConcern = cacheLineBuffer(na, false)
    remaining = cacheLineBuffer(na, 0)
    demand = cacheLineBuffer(na, 0)
    assetMonths = cacheLineBuffer(na, 0)
    want = cacheLineBuffer(nf * na, 0)
    entityMonth = cacheLineBuffer(ne, 0)
    entityCash = cacheLineBuffer(ne, 0)
    estatePaid = cacheLineBuffer(ne, 0)
    guaranteePaid = cacheLineBuffer(ne, 0)
    pool = cacheLineBuffer(ne, 0)
    estate = cacheLineBuffer(ne, 0)
    poolMonths = cacheLineBuffer(ne, 0)
    estateMonths = cacheLineBuffer(ne, 0)
    failedMonth = cacheLineBuffer(ne, 0)
    totals = cacheLineBuffer(3, 0)
    chainBuffer = cacheLineBuffer(nf, 0)
    causeBuffer = cacheLineBuffer(nf, DefaultCause.trigger)
    counts = cacheLineBuffer(1, 0)
  }

  deinit {
    for b in [
      claim, fromCollateral, fromGuarantors, fromUnsecured, repaidAtSale, owed, guaranteeBase, assetProceeds, remaining, demand, want,
      entityCash, estatePaid, guaranteePaid, pool, estate, totals,
    ] { b.deallocate() }
    for b in [inDefault, assetSold, assetGoingConcern] { b.deallocate() }
    for b in [defaultMonth, months, performingMonth, assetMonth, assetMonths, entityMonth, poolMonths, estateMonths, failedMonth] {
      b.deallocate()
    }
    chainBuffer.deallocate()
    causeBuffer.deallocate()
    counts.deallocate()
  }

  func append(_ f: Int, _ why: DefaultCause) {
    chainBuffer[counts[0]] = f
    causeBuffer[counts[0]] = why
    counts[0] += 1
  }

  public func recovered(_ f: Int) -> Double { fromCollateral[f] + fromGuarantors[f] + fromUnsecured[f] }

  /// Clears the buffers of one pass (one by one: a list of them would be
  /// an allocation per Monte Carlo path); `failedMonth` survives passes.
  func reset() {
    inDefault.update(repeating: false)
    defaultMonth.update(repeating: 0)
    claim.update(repeating: 0)
    fromCollateral.update(repeating: 0)
    fromGuarantors.update(repeating: 0)
    fromUnsecured.update(repeating: 0)
    repaidAtSale.update(repeating: 0)
    months.update(repeating: 0)
    owed.update(repeating: 0)
    performingMonth.update(repeating: 0)
    guaranteeBase.update(repeating: -1)
    assetMonth.update(repeating: 0)
    assetProceeds.update(repeating: 0)
    assetSold.update(repeating: false)
    assetGoingConcern.update(repeating: false)
    remaining.update(repeating: 0)
    demand.update(repeating: 0)
    assetMonths.update(repeating: 0)
    want.update(repeating: 0)
    entityMonth.update(repeating: 0)
    entityCash.update(repeating: 0)
    estatePaid.update(repeating: 0)
    guaranteePaid.update(repeating: 0)
    pool.update(repeating: 0)
    estate.update(repeating: 0)
    poolMonths.update(repeating: 0)
    estateMonths.update(repeating: 0)
    totals.update(repeating: 0)
    counts[0] = 0
  }
}
