import DealCore

/// One month of the deal, consolidated.
public struct Period: Equatable, Sendable {
  public var month: Int
  public var revenue: Double
  public var opex: Double
  public var cfads: Double
  public var debtService: Double
  /// nil when no debt service is due.
  public var dscr: Double?
  public var ltv: Double?
  public var balance: Double
  /// Market value of the pledged collateral (fleets after haircut, coins).
  public var collateral: Double
  public var interest: Double
  public var principal: Double
  public var reserve: Double
  /// What the top entities kept this month: the group treasury's surplus.
  public var toEquity: Double
  /// Cash held at entities whose lock-up keeps them from distributing.
  public var trapped: Double
}

/// A covenant breach, a cure, a lock-up, a margin call or a default.
public struct Breach: Equatable, Sendable {
  public var month: Int
  public var facility: String
  public var kind: String
  public var detail: String
}

/// One facility's month: what it received and where it stood.
public struct FacilityPeriod: Equatable, Sendable {
  public var month: Int
  public var interest: Double
  public var principal: Double
  public var balance: Double
  /// The obligor's DSCR on cumulative debt service at the facility's rank.
  public var dscr: Double?
  /// Lien-aware: this facility's balance and those of better liens on its
  /// collateral, over that collateral's value.
  public var ltv: Double?
}

/// One entity's cash account in a month (SPEC §5.1): opening cash plus
/// sources equals uses plus closing cash.
public struct EntityPeriod: Equatable, Sendable {
  public var month: Int
  public var opening = 0.0
  // Sources.
  public var cfads = 0.0
  public var distributionsIn = 0.0
  public var guaranteesIn = 0.0
  public var coinSales = 0.0
  /// Drawn from or released by its facilities' reserve accounts.
  public var reserveIn = 0.0
  // Uses.
  /// Paid to lenders: its own facilities, and accelerated facilities its
  /// fleets are pledged to.
  public var paidToLenders = 0.0
  public var reserveOut = 0.0
  public var guaranteesOut = 0.0
  public var distributionsOut = 0.0
  public var closing = 0.0

  public var sources: Double { cfads + distributionsIn + guaranteesIn + coinSales + reserveIn }
  public var uses: Double { paidToLenders + reserveOut + guaranteesOut + distributionsOut }
}

/// A payment between the parties of the deal (detail runs): from an entity
/// (or pledged coins, `collateral`) to a facility's lender or to another
/// entity.
public struct Transfer: Equatable, Sendable {
  public enum Kind: String, Sendable {
    case interest, principal, collection, distribution, guarantee, reserveDraw = "reserve_draw", reserveTopUp = "reserve_top_up"
    case reserveRelease = "reserve_release", marginSale = "margin_sale"
  }
  public var month: Int
  public var from: String
  public var to: String
  public var kind: Kind
  public var amount: Double
}

/// Per-facility results.
public struct FacilityResult: Equatable, Sendable {
  public var id: String
  public var obligor = ""
  public var interestPaid = 0.0
  public var principalPaid = 0.0
  public var balanceEnd = 0.0
  /// What a defaulted facility is still owed at the horizon (its claim at
  /// default less what it collected after), before the sale of collateral.
  public var loss = 0.0
  public var defaultMonth: Int? = nil
  /// Why it defaulted: "payment default", "margin call default", or
  /// "cross-default" when another facility's default spread to it.
  public var defaultKind: String? = nil
  /// Its claim at its own default: the balance and the interest due and
  /// unpaid, after what it was paid that month.
  public var claimAtDefault = 0.0
  /// What it collected after its default (its obligor's cash, the CFADS of
  /// its collateral).
  public var collectedAfterDefault = 0.0
  /// Not drawn: a cross-default reached it before its draw, in this month.
  public var cancelled = false
  public var cancelledMonth: Int? = nil
  public var converted = false
  /// What was due at maturity and not paid from cash (a convertible that
  /// did not convert, a bullet), and whether it was refinanced.
  public var refinancingNeed = 0.0
  public var refinanced = false
  /// Coins its margin calls sold (coin units).
  public var coinsSold = 0.0
  public var guarantorPaid = 0.0
  /// Balance at the end of its own default month.
  public var balanceAtDefault = 0.0
  /// Its reserve account then, and at the end.
  public var reserveAtDefault = 0.0
  public var reserveEnd = 0.0
  /// Balance and reserve at the end of the deal's first default month (what
  /// a liquidation then would meet); 0 if the deal never defaults.
  public var balanceAtDealDefault = 0.0
  public var reserveAtDealDefault = 0.0
  /// Balance-years the lender had at risk while the facility performed
  /// (Σ monthly balances ÷ 12): what a spread is earned on.
  public var exposureYears = 0.0
  /// Lender receipts by month (index 0 = the end of month 1); detail runs only.
  public var flows: [Double] = []
  /// Its months (detail runs only).
  public var periods: [FacilityPeriod] = []
  public var irr: Double? = nil
  public var wal: Double? = nil
}

/// Per-entity results.
public struct EntityResult: Equatable, Sendable {
  public var id: String
  public var cashEnd = 0.0
  public var distributionsReceived = 0.0
  public var distributionsPaid = 0.0
  /// What it paid under its guarantees.
  public var guaranteePaid = 0.0
  /// Proceeds of the free coins it sold (USD).
  public var coinsSold = 0.0
  /// The first month it was in default: a facility it borrows defaulted,
  /// or it could not pay a guarantee call.
  public var inDefaultMonth: Int? = nil
  /// Its cash account month by month (detail runs only).
  public var periods: [EntityPeriod] = []
}

/// The outcome of a run.
public struct WaterfallResult: Sendable {
  public var months: Int
  public var minDSCR: Double?
  public var avgDSCR: Double?
  public var firstBreachMonth: Int?
  public var defaultMonth: Int?
  public var periods: [Period]
  public var facilities: [FacilityResult]
  public var entities: [EntityResult] = []
  public var breaches: [Breach]
  /// Facilities in the order they defaulted, by id and by index in the
  /// plan's facilities.
  public var defaulted: [String]
  public var defaultedIndices: [Int]
  /// Every payment between the parties (detail runs only).
  public var transfers: [Transfer] = []

  /// The result of the facility with this id.
  public func facility(_ id: String) -> FacilityResult? { facilities.first { $0.id == id } }
  /// The result of the entity with this id.
  public func entity(_ id: String) -> EntityResult? { entities.first { $0.id == id } }
}
