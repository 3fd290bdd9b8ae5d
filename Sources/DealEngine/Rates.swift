import DealCore
/// Market rates the engine assumes.
public enum Rates {
  /// The base rate floating facilities pay their spread over before
  /// stresses (a documented assumption, near 3-month SOFR in 2025).
  public static let base = 0.043
}
