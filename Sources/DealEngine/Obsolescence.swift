import DealCore
import Foundation

/// Why an obsolescence list could not be read.
public struct StepDownError: Error {
  public var reason: String
  init(_ reason: String) { self.reason = reason }
}

/// A step in market value at an architecture launch: from `month` on, the
/// value is multiplied by (1 + change), e.g. −20 %.
public struct StepDown: Equatable, Sendable {
  public var month: Month
  public var change: Double
  public var name: String
}

/// The launch calendar: when a new accelerator generation ships in volume,
/// older generations step down in resale value. Dates are volume-shipment
/// months from vendors' public roadmaps (NVIDIA GTC and Computex keynotes,
/// 2024–2025); step sizes are round figures in line with the fall of H100
/// resale and rental prices after Blackwell's launch. A deal may override
/// them per command (`obsolescence=`) or per asset (`set fleet
/// obsolescence=...`).
public enum Obsolescence {
  enum Generation: String, CaseIterable {
    case ampere, hopper, blackwell, rubin, feynman
  }

  static func generation(of model: String) -> Generation {
    switch model {
    case "A100": .ampere
    case "H100", "H200", "GH200", "L40S", "MI300X", "MI325X": .hopper
    case "B100", "B200", "B300", "GB200", "GB300", "MI355X": .blackwell
    case "R100", "VR200": .rubin
    default: .hopper
    }
  }

  struct Launch {
    var name: String
    var month: Month
    var steps: [Generation: Double]
  }

  static let calendar: [Launch] = [
    Launch(name: "Blackwell", month: Month(year: 2025, month: 1)!, steps: [.ampere: -0.20, .hopper: -0.20]),
    Launch(name: "Blackwell Ultra", month: Month(year: 2025, month: 9)!, steps: [.ampere: -0.10, .hopper: -0.10]),
    Launch(name: "Rubin", month: Month(year: 2026, month: 9)!, steps: [.ampere: -0.25, .hopper: -0.25, .blackwell: -0.20]),
    Launch(name: "Rubin Ultra", month: Month(year: 2027, month: 9)!, steps: [.hopper: -0.15, .blackwell: -0.15]),
    Launch(name: "Feynman", month: Month(year: 2028, month: 9)!, steps: [.hopper: -0.15, .blackwell: -0.15, .rubin: -0.20]),
  ]

  /// The calendar's step-downs for a model acquired in `acquired`: launches
  /// after the acquisition month (earlier ones are in the price paid).
  static func defaultSteps(model: String, acquired: Month) -> [StepDown] {
    let g = generation(of: model)
    return calendar.compactMap { l in
      guard l.month > acquired, let c = l.steps[g] else { return nil }
      return StepDown(month: l.month, change: c, name: l.name)
    }
  }

  /// Parses `"2026-09:-20%,2027-09:-15%"` or `"none"`.
  public static func parse(_ text: String) -> Result<[StepDown], StepDownError> {
    let t = text.trimmingCharacters(in: .whitespaces)
    if t.lowercased() == "none" || t.isEmpty { return .success([]) }
    var out: [StepDown] = []
    for part in t.split(separator: ",") {
      let bits = part.trimmingCharacters(in: .whitespaces).split(separator: ":")
      guard bits.count == 2 else { return .failure(StepDownError("'\(part)' is not DATE:CHANGE (e.g. 2026-09:-20%)")) }
      guard let d = CalendarDate(parsing: bits[0]), d.day == nil else { return .failure(StepDownError("'\(bits[0])' is not a month like 2026-09")) }
      guard let q = try? Quantity.parse(bits[1]), q.unit == .percent || q.unit == .plain else {
        return .failure(StepDownError("'\(bits[1])' is not a percentage like -20%"))
      }
      guard q.value > -1, q.value <= 1 else { return .failure(StepDownError("'\(bits[1])' must be between -100% and +100%")) }
      out.append(StepDown(month: d.month, change: q.value, name: "\(d.month)"))
    }
    return .success(out.sorted { $0.month < $1.month })
  }
}
