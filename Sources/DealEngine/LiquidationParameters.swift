import DealCore
import Foundation

/// The settable assumptions of a fire sale (SPEC §5 `liquidate`). The
/// README explains each default and where it comes from.
public struct LiquidationParameters: Equatable, Sendable {
  /// GPUs a month the secondary market absorbs.
  public var depth = 2_000.0
  /// Price discount when a full month's depth is sold (linear in the pace).
  public var impact = 0.20
  /// Largest haircut for a fleet that no buyer can host (cooling, density).
  public var coolingHaircut = 0.30
  /// Share of the fleet's power and opex still paid while it waits to be
  /// sold (idle servers, cooling, hosting, staff).
  public var carry = 0.50
  /// Receiver, legal and brokerage costs, as a share of gross proceeds.
  public var workout = 0.05
  /// Annual rate discounting proceeds back to the default month.
  public var discount = 0.12
  /// Crypto slippage per √(sale value / $10m), capped at 50 %.
  public var slippage = 0.005

  public init() {}

  /// Share of buyer capacity that can host racks of a given density (kW per
  /// rack), interpolated linearly; denser racks find fewer buyers.
  public static let rackCapacity: [(kw: Double, share: Double)] = [
    (10, 1.0), (20, 0.60), (30, 0.35), (50, 0.15), (80, 0.07), (130, 0.03),
  ]
  /// Share of buyers with liquid cooling, for a fleet that needs it.
  public static let liquidShare = 0.30

  /// Share of buyers who can host a fleet: rack density, then cooling.
  public static func hostableShare(rackKW: Double, liquid: Bool) -> Double {
    let t = rackCapacity
    var share = t.last!.share
    if rackKW <= t[0].kw {
      share = t[0].share
    } else {
      for i in 1..<t.count where rackKW <= t[i].kw {
        let w = (rackKW - t[i - 1].kw) / (t[i].kw - t[i - 1].kw)
        share = t[i - 1].share + w * (t[i].share - t[i - 1].share)
        break
      }
    }
    return share * (liquid ? liquidShare : 1)
  }

  /// The haircut on a fleet's price for its cooling and rack density.
  public func coolingHaircut(rackKW: Double, liquid: Bool) -> Double {
    coolingHaircut * (1 - Self.hostableShare(rackKW: rackKW, liquid: liquid))
  }

  /// Slippage on a crypto sale of `value` USD.
  public func cryptoSlippage(value: Double) -> Double {
    min(0.5, slippage * (max(0, value) / 10_000_000).squareRoot())
  }
}
