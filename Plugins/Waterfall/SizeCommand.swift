import DealCore
import DealEngine
import DealPluginAPI

/// `size FACILITY`: how much the deal can lend on it (SPEC §5.2).
enum SizeCommand {
  static let targetDSCR = Option.number(
    "target_dscr", "X", NumberSpec(.ratio, min: 0, max: 100, minInclusive: false),
    help: "the facility's DSCR (the obligor's, on cumulative debt service at its rank) in every month; a sculpted facility is sculpted to it")
  static let maxLTV = Option.number("max_ltv", "X", NumberSpec(.fraction, min: 0, max: 10, minInclusive: false), help: "its lien-aware LTV in every month")
  static let advanceRate = Option.number(
    "advance_rate", "X", NumberSpec(.fraction, min: 0, max: 10, minInclusive: false), help: "its balance as a share of its collateral in every month")
  static let scenario = Option.text("scenario", "NAME", completion: .scenarios, help: "size under a named scenario, or base")
  static let options = [targetDSCR.spec, maxLTV.spec, advanceRate.spec, scenario.spec] + Option.stresses()
  static let flags = [FlagSpec("apply", help: "set the amount found (one undoable change)")]
  static let usage = CommandSpec.usage("size FACILITY", options: options, flags: flags)

  static var spec: CommandSpec {
    CommandSpec(
      name: "size", abstract: "debt capacity: the largest amount of a facility that meets its constraints with no default",
      usage: usage,
      discussion: """
        The other facilities as they are, under the base case or a scenario: the largest amount for which
        FACILITY is repaid (by its maturity, if within the horizon) without default, and every constraint
        given holds in every month — target_dscr on the obligor's DSCR at the facility's rank, max_ltv on its
        lien-aware LTV, advance_rate on its balance against its collateral. A sculpted facility is sculpted
        to target_dscr, so sizing a senior and then a junior gives each tier its target on cumulative debt
        service. Prints the amount and the binding constraint: what a little more breaks, and when.
        """,
      examples: ["size ddtl", "size ddtl target_dscr=1.4x", "size senior target_dscr=1.35x max_ltv=70%", "size gpuloan scenario=winter --json", "size ddtl target_dscr=1.3x --apply"],
      arguments: [ArgumentSpec("FACILITY", .nodeIDs(.facility))],
      options: options, flags: flags, effects: .changes
    ) { inv, ctx in
      try run(inv, &ctx)
    }
  }

  static func run(_ inv: Invocation, _ ctx: inout CommandContext) throws(DealError) -> CommandOutput {
    let s = ctx.session
    let facilities = s.graph.sortedNodes.filter { $0.kind == .facility }.map(\.id)
    let id = try inv.positional(0, "FACILITY", usage: usage)
    try inv.noExtraPositionals(after: 1, usage: usage)
    guard let node = s.graph[id] else { throw DealError.unknownNode(id, in: facilities, subject: .word(inv.positionalIndices[0])) }
    guard node.kind == .facility else {
      throw DealError(
        .invalid, "'\(id)' is \(node.kind.article) \(node.kind.rawValue), not a facility", hint: "facilities: " + facilities.joined(separator: ", "),
        subject: .word(inv.positionalIndices[0]))
    }
    let sizing = Sizing(
      facility: id, targetDSCR: try inv.value(targetDSCR), maxLTV: try inv.value(maxLTV), advanceRate: try inv.value(advanceRate))
    let sc = try inv.scenario(ctx.analysis)
    let r = try ctx.analysis.size(sizing, scenario: sc)
    let current = s.values(of: id, schema: ctx.schema)?["amount"]?.number ?? 0
    let apply = inv.has("apply")
    if apply {
      let sized = try sizing.session(s, amount: r.amount)
      ctx.modify { $0 = sized }
    }
    var given: [String] = []
    if let t = sizing.targetDSCR { given.append("DSCR ≥ \(Format.plain(t, maxDecimals: 2))x") }
    if let l = sizing.maxLTV { given.append("LTV ≤ \(Format.percent(l))") }
    if let a = sizing.advanceRate { given.append("balance ≤ \(Format.percent(a)) of collateral") }
    given.append("no default")
    let named = try inv.value(scenario) ?? s.activeScenario
    let under = named.flatMap { $0 == "base" ? nil : "scenario '\($0)'" } ?? (sc.isBase ? "base case" : "stressed: " + sc.description)
    let binding = r.binding + (r.bindingMonth.map { " in month \($0) (\(s.deal.start + ($0 - 1)))" } ?? "")
    var lines = [
      "size \(id) (\(under)): \(Format.money(r.amount))",
      "constraints: " + given.joined(separator: ", "),
      "binding: \(binding); a little more breaks it",
    ]
    lines.append(
      apply
        ? "set \(id) amount=\(Format.money(r.amount)) (was \(Format.money(current))); 'undo' takes it back"
        : "now \(Format.money(current)); 'size \(id) ... --apply' sets it")
    return CommandOutput(
      text: lines.joined(separator: "\n"),
      json: [
        "facility": .string(id), "amount": .number(r.amount), "binding": .string(r.binding),
        "binding_month": r.bindingMonth.map { .number(Double($0)) } ?? .null, "current_amount": .number(current),
        "applied": .bool(apply), "runs": .number(Double(r.runs)),
      ])
  }
}
