import DealCore
import Foundation

/// The plan's flat tables in memory of their own, for the monthly loop:
/// reading them through raw buffers costs no reference counting and no
/// uniqueness or exclusivity check, which a run's state, mutated in place
/// month after month, would otherwise pay on every access to the plan's
/// arrays.
///
/// Immutable once made; each Monte Carlo worker has its own plan copy and
/// so its own tables (`WaterfallPlan.privateCopy`).
final class PlanTables: @unchecked Sendable {
  /// Raw buffers into the tables' memory: valid while the tables live (a
  /// run keeps its plan, and so the tables, for as long as it runs).
  struct View {
    let fleetMonths: UnsafeBufferPointer<WaterfallPlan.FleetMonth>
    let core: UnsafeBufferPointer<WaterfallPlan.FacilityCore>
    let entities: UnsafeBufferPointer<WaterfallPlan.EntityCore>
    let sculpted, collateral: UnsafeBufferPointer<Double>
    let guarantors, crossDefaults, entityFleets, entityGuaranteed, fleetOwner: UnsafeBufferPointer<Int>
    let lienStart, lienFacility: UnsafeBufferPointer<Int>
    let fleetCount: Int
    let pledgedStart, freeStart: UnsafeBufferPointer<Int>
    let pledgedBTC, freeBTC: UnsafeBufferPointer<Bool>
    let pledgedPrice, freePrice, pledgedAmount, freeAmount: UnsafeBufferPointer<Double>
    let months: Int
    /// The entities whose monthly step can do anything, bottom of the
    /// `parent-of` tree first: a top entity with no facility, fleet or
    /// guarantee (a tenant, a sponsor that only receives distributions)
    /// has nothing to pay, collect or pass up, and the loop skips it.
    let steps: UnsafeBufferPointer<Int>
    /// Discount factors at the base rate, `[m]` for the end of month m
    /// (m = 0 ... months): what pricing discounts receipts with.
    let discount: UnsafeBufferPointer<Double>
  }

  let view: View
  /// The ids, for events, transfers and results.
  let facilityIDs: [String], entityIDs: [String]
  private let release: [() -> Void]

  init(_ p: WaterfallPlan) {
    var frees: [() -> Void] = []
    func copy<T>(_ xs: [T]) -> UnsafeBufferPointer<T> {
      let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, xs.count))
      _ = b.initialize(from: xs)
      frees.append { b.deallocate() }
      return UnsafeBufferPointer(start: b.baseAddress, count: xs.count)
    }
    view = View(
      fleetMonths: copy(p.fleetMonths), core: copy(p.core), entities: copy(p.entityCore), sculpted: copy(p.sculpted),
      collateral: copy(p.collateral), guarantors: copy(p.guarantorList), crossDefaults: copy(p.crossList),
      entityFleets: copy(p.entityFleets), entityGuaranteed: copy(p.entityGuaranteed), fleetOwner: copy(p.fleetOwner),
      lienStart: copy(p.lienStart), lienFacility: copy(p.lienFacility), fleetCount: p.fleets.count, pledgedStart: copy(p.pledged.start),
      freeStart: copy(p.free.start), pledgedBTC: copy(p.pledged.btc), freeBTC: copy(p.free.btc),
      pledgedPrice: copy(p.pledged.price), freePrice: copy(p.free.price), pledgedAmount: copy(p.pledged.amount),
      freeAmount: copy(p.free.amount), months: p.months,
      steps: copy(
        p.entityCore.indices.filter { e in
          let c = p.entityCore[e]
          return c.parent >= 0 || !c.facilities.isEmpty || !c.guaranteed.isEmpty || !c.fleets.isEmpty
        }),
      discount: copy((0...max(0, p.months)).map { Foundation.pow(1 + Rates.base / 12, -Double($0)) }))
    release = frees
    facilityIDs = p.facilities.map(\.id)
    entityIDs = p.entities.map(\.id)
  }

  deinit { for r in release { r() } }
}
