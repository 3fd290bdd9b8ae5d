import DealCore
/// What the liquidation starts from: when, who defaulted first, what each
/// facility is owed, and what the waterfall already used up.
public struct LiquidationInput: Sendable {
  /// Deal month of the default (sales start the month after).
  public var defaultMonth: Int
  /// Facilities in default, in order (the waterfall's chain or those named).
  public var triggers: [Int]
  /// What each facility is owed at the default month (balance outstanding).
  public var claims: [Double]
  /// Coin price factors (1 + change) at the sale.
  public var btcFactor = 1.0
  public var ethFactor = 1.0
  /// Coins each facility's margin calls already sold (coin units).
  public var coinsSold: [Double]
  /// What each facility's guarantors already paid in the waterfall.
  public var guarantorPaid: [Double]
  /// Each facility's reserve account at the default (the pledged cash as
  /// the waterfall left it); nil takes the cash as stated in the deal.
  public var reserves: [Double]? = nil

  public init(defaultMonth: Int, triggers: [Int], claims: [Double]) {
    self.defaultMonth = defaultMonth
    self.triggers = triggers
    self.claims = claims
    coinsSold = [Double](repeating: 0, count: claims.count)
    guarantorPaid = [Double](repeating: 0, count: claims.count)
  }
}

/// Why a facility is in default.
public enum DefaultCause: Equatable, Sendable {
  case trigger
  case crossDefault(from: Int)
  /// Its obligor guaranteed `facility` and could not honour it.
  case guarantee(facility: Int)
}

/// The fire sale and the distribution of its proceeds (SPEC §5 `liquidate`).
///
/// 1. Assets are sold: every asset pledged to a facility in default, and
///    the free (unpledged) assets of entities in default and of guarantors
///    called on. GPUs over months (`LiquidationPlan.compile`), crypto with
///    slippage in the month after the default, cash at face.
/// 2. Each sold asset's net proceeds go down its liens, most senior first; a
///    facility with the same lien on several assets takes from each in
///    proportion to what is left of it. Facilities ranking ahead on a sold
///    asset that are not in default are repaid their balance.
/// 3. Guarantors pay the deficiencies of the facilities they guarantee from
///    their free assets (pro rata when short). A guarantor that cannot pay in
///    full is in default: the facilities it borrows default with it.
/// 4. What is left of each defaulted obligor — its free assets and the
///    surplus of its sold assets after their liens — pays the remaining
///    claims against it pari passu.
/// A default spreads along `cross-default` edges and through guarantees
/// that are not honoured, until nothing changes.
///
/// The workspace holds every buffer, so a Monte Carlo path allocates
/// nothing once it has run once.
public final class LiquidationWorkspace {
  /// Per facility.
  public let inDefault: UnsafeMutableBufferPointer<Bool>
  public let fromCollateral: UnsafeMutableBufferPointer<Double>
  public let fromGuarantors: UnsafeMutableBufferPointer<Double>
  public let fromUnsecured: UnsafeMutableBufferPointer<Double>
  /// Taken out at a sale without being in default (ranked ahead).
  public let repaidAtSale: UnsafeMutableBufferPointer<Double>
  /// Months until the last sale that paid the facility anything: its
  /// collateral's, and the sales that fed the guarantors and estates it
  /// recovered from.
  public let months: UnsafeMutableBufferPointer<Int>
  /// Per asset: net proceeds (0 when not sold) and whether it was sold.
  public let assetProceeds: UnsafeMutableBufferPointer<Double>
  public let assetSold: UnsafeMutableBufferPointer<Bool>
  /// Per entity: in default (obligors of defaulted facilities, failed guarantors).
  public let entityInDefault: UnsafeMutableBufferPointer<Bool>
  /// Facilities in the order they defaulted, and why.
  public var chain: [Int] { Array(chainBuffer[0..<chainCount]) }
  public var cause: [DefaultCause] { Array(causeBuffer[0..<chainCount]) }
  /// The chain in raw memory (a facility defaults once: nf at most).
  public let chainBuffer: UnsafeMutableBufferPointer<Int>
  let causeBuffer: UnsafeMutableBufferPointer<DefaultCause>
  let counts: UnsafeMutableBufferPointer<Int>
  public var chainCount: Int { counts[0] }
  /// Totals: [net proceeds, distributed].
  let totals: UnsafeMutableBufferPointer<Double>
  public var netProceeds: Double { totals[0] }
  public var distributed: Double { totals[1] }
  let remaining: UnsafeMutableBufferPointer<Double>  // per asset, during distribution
  let owed: UnsafeMutableBufferPointer<Double>  // per facility, during distribution
  let pool: UnsafeMutableBufferPointer<Double>  // per entity: free assets
  let estate: UnsafeMutableBufferPointer<Double>  // per entity: surplus of its sold pledged assets
  let assetMonths: UnsafeMutableBufferPointer<Int>  // per asset: months its sale takes
  let poolMonths: UnsafeMutableBufferPointer<Int>  // per entity: months until its free assets are sold
  let estateMonths: UnsafeMutableBufferPointer<Int>  // per entity: months until its estate is realised
  let failed: UnsafeMutableBufferPointer<Bool>  // guarantors that could not pay
  let demand: UnsafeMutableBufferPointer<Double>  // per asset, at one lien level
  let want: UnsafeMutableBufferPointer<Double>  // per facility × asset, at one lien level
  let sizes: (facilities: Int, assets: Int, entities: Int)

  /// Buffers sized for `plan` (immutable references to mutable memory, so
  /// the engine's loops pay no exclusivity checks).
  public init(_ plan: LiquidationPlan) {
    let nf = plan.facilities.count, na = plan.assets.count, ne = plan.entities.count
    sizes = (nf, na, ne)
    inDefault = cacheLineBuffer(nf, false)
    fromCollateral = cacheLineBuffer(nf, 0)
    fromGuarantors = cacheLineBuffer(nf, 0)
    fromUnsecured = cacheLineBuffer(nf, 0)
    repaidAtSale = cacheLineBuffer(nf, 0)
    months = cacheLineBuffer(nf, 0)
    owed = cacheLineBuffer(nf, 0)
    assetProceeds = cacheLineBuffer(na, 0)
    assetSold = cacheLineBuffer(na, false)
    remaining = cacheLineBuffer(na, 0)
    demand = cacheLineBuffer(na, 0)
    want = cacheLineBuffer(nf * na, 0)
    entityInDefault = cacheLineBuffer(ne, false)
    pool = cacheLineBuffer(ne, 0)
    estate = cacheLineBuffer(ne, 0)
    assetMonths = cacheLineBuffer(na, 0)
    poolMonths = cacheLineBuffer(ne, 0)
    estateMonths = cacheLineBuffer(ne, 0)
    failed = cacheLineBuffer(ne, false)
    totals = cacheLineBuffer(2, 0)
    chainBuffer = cacheLineBuffer(nf, 0)
    causeBuffer = cacheLineBuffer(nf, DefaultCause.trigger)
    counts = cacheLineBuffer(1, 0)
  }

  deinit {
    for b in [fromCollateral, fromGuarantors, fromUnsecured, repaidAtSale, owed, assetProceeds, remaining, demand, want, pool, estate, totals] {
      b.deallocate()
    }
    for b in [inDefault, assetSold, entityInDefault, failed] { b.deallocate() }
    for b in [months, assetMonths, poolMonths, estateMonths] { b.deallocate() }
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

  /// Clears the buffers (one by one: a list of them would be an allocation
  /// per Monte Carlo path).
  func reset() {
    fromCollateral.update(repeating: 0)
    fromGuarantors.update(repeating: 0)
    fromUnsecured.update(repeating: 0)
    repaidAtSale.update(repeating: 0)
    owed.update(repeating: 0)
    assetProceeds.update(repeating: 0)
    remaining.update(repeating: 0)
    demand.update(repeating: 0)
    want.update(repeating: 0)
    pool.update(repeating: 0)
    estate.update(repeating: 0)
    totals.update(repeating: 0)
    inDefault.update(repeating: false)
    assetSold.update(repeating: false)
    entityInDefault.update(repeating: false)
    months.update(repeating: 0)
    assetMonths.update(repeating: 0)
    poolMonths.update(repeating: 0)
    estateMonths.update(repeating: 0)
    counts[0] = 0
  }
}
