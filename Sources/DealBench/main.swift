// dealsh-bench: the performance figures of the issues, printed (make bench).
//
// Timings are wall-clock medians of repeated runs on this machine; they are
// figures to read, not pass/fail tests (shared machines make timed unit
// tests flaky). Each line gives the target next to the measurement.
import DealBuiltins
import DealCore
import DealEngine
import DealPluginAPI
import DealShell
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of this thread, in seconds.
func cpuTime() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Minor page faults of the process so far.
func minorFaults() -> Double {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_minflt)
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func report(_ name: String, _ value: String, target: String, ok: Bool) {
  let mark = ok ? "ok  " : "MISS"
  print("\(mark) \(name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(value.padding(toLength: 26, withPad: " ", startingAt: 0)) target \(target)")
}

func quietShell() -> Shell {
  var env = ProcessInfo.processInfo.environment
  env["DEALSH_AUTHOR"] = "bench"
  env["DEALSH_NOW"] = "2026-01-01T00:00:00Z"
  return try! Shell.make(
    plugins: BuiltInPlugins.all, io: ShellIO(out: { _ in }, err: { print($0) }),
    environment: ShellEnvironment(env: env, terminal: TerminalInfo()))
}

/// Runs a program and waits; returns the wall time in seconds.
func timeSpawn(_ path: String, _ args: [String], copies: Int = 1) -> Double {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  defer { posix_spawn_file_actions_destroy(&actions) }
  let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  let t0 = now()
  var pids: [pid_t] = []
  for _ in 0..<copies {
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return .nan }
    pids.append(pid)
  }
  for pid in pids {
    var status: Int32 = 0
    waitpid(pid, &status, 0)
  }
  return now() - t0
}

/// A script that grows the graph to 10,001 nodes and 22,500 edges.
func bigScript() -> [String] {
  let n = 2500
  var lines = ["deal start=2025-01 horizon=120 title=\"Benchmark\"", "add entity root type=sponsor"]
  for i in 0..<n {
    lines.append("add entity e\(i) type=spv name=\"SPV \(i)\" parent=root")
    lines.append("add asset g\(i) type=gpu model=H100 units=1024 unit_cost=$30k owner=e\(i)")
    lines.append("add contract l\(i) type=lease rate=2.10 term=36 take_or_pay=80% tenant=e\(i) fleet=g\(i)")
    lines.append("add facility f\(i) type=term amount=$20m rate=10% term=48 borrower=e\(i)")
    lines.append("link g\(i) pledged-to f\(i) lien=1")
  }
  for i in 0..<n {
    lines.append("link f\(i) cross-default f\((i + 1) % n)")
    lines.append("link e\(i) guarantees f\((i + 1) % n)")
    lines.append("link l\(i) covers g\((i + 1) % n)")
  }
  // Notes too: each is an append to a list every undo step keeps a version of.
  for i in 0..<(2 * n) { lines.append("note \"review item \(i)\"") }
  return lines
}

let dealsh = CommandLine.arguments.dropFirst().first ?? ".build/release/dealsh"
/// DEALSH_BENCH=session,mc,...: only these sections (startup, mc, session,
/// depreciate, waterfall, liquidate, size, transcript); all by default.
let only = ProcessInfo.processInfo.environment["DEALSH_BENCH"].map { Set($0.split(separator: ",").map(String.init)) }
func section(_ name: String) -> Bool { only?.contains(name) ?? true }
print("dealsh benchmarks (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
print(String(repeating: "─", count: 100))

// 1. Start-up to the first command done.
if !section("startup") {
} else if FileManager.default.isExecutableFile(atPath: dealsh) {
  _ = timeSpawn(dealsh, ["-c", "deal"])
  let runs = (0..<101).map { _ in timeSpawn(dealsh, ["-c", "deal"]) * 1000 }
  let m = median(runs)
  report("start-up to first command (dealsh -c deal)", String(format: "%.1f ms median", m), target: "≤ 5 ms", ok: m <= 5)
  // The same measure of a small C program that starts a database, for scale.
  if let sqlite = ["/usr/bin/sqlite3", "/bin/sqlite3", "/usr/local/bin/sqlite3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
    _ = timeSpawn(sqlite, [":memory:", "select 1"])
    let s = median((0..<101).map { _ in timeSpawn(sqlite, [":memory:", "select 1"]) * 1000 })
    let name = "  beside it: sqlite3 :memory: 'select 1'"
    print("     \(name.padding(toLength: 46, withPad: " ", startingAt: 0)) " + String(format: "%.1f ms median (dealsh: %.1f×)", s, m / s))
  } else {
    print("  (sqlite3 is not installed: no comparison)")
  }
} else {
  print("skip start-up: no executable at \(dealsh)")
}

// 2. shock mc on the miner example (early: later sections leave a large heap): 100,000 paths × 120 months, on one and
//    on two threads (the same numbers either way), and the peak memory of a
//    1,000,000-path run (it grows with paths, not paths × months).
if section("mc") {
  let s = quietShell()
  guard s.execute("open Sessions/miner-double-leverage.deal") == .ok else {
    fatalError("mc bench: cannot open Sessions/miner-double-leverage.deal (run from the repository root)")
  }
  _ = try? s.runCommand("shock mc paths=2000 months=120")  // warm the caches of depreciate
  // One and two threads in turn, seven times each, so that a change in the
  // speed the machine gives us (a shared VM's neighbours) hits both alike;
  // the best of each is compared.
  var times: [Int: [Double]] = [1: [], 2: []]
  var outs: [Int: JSONValue] = [:]
  for _ in 0..<7 {
    for threads in [1, 2] {
      let t0 = now()
      outs[threads] = try? s.runCommand("shock mc paths=100000 months=120 threads=\(threads)")
      times[threads]!.append(now() - t0)
    }
  }
  let t1 = times[1]!.min()!, t2 = times[2]!.min()!, j1 = outs[1], j2 = outs[2]
  let ratios = zip(times[1]!, times[2]!).map { $0 / $1 }
  let pathMonths = 100_000.0 * 120
  report(
    "shock mc 100k paths × 120 months, 2 threads", String(format: "%.2f s, %.1f M/s", t2, pathMonths / t2 / 1e6),
    target: "≥ 20 M path-months/s", ok: pathMonths / t2 >= 20e6)
  report(
    "shock mc speed-up, 2 threads over 1", String(format: "%.2f× (1 thread %.2f s)", t1 / t2, t1), target: "≥ 1.8×",
    ok: t1 / t2 >= 1.8)
  print("     (run by run: " + ratios.map { String(format: "%.2f×", $0) }.joined(separator: " ") + ")")
  // The machine's own ceiling for this work: the same one-thread run in
  // one process, and in two processes at once (no sharing at all).
  if FileManager.default.isExecutableFile(atPath: dealsh) {
    let args = ["-c", "open Sessions/miner-double-leverage.deal; shock mc paths=100000 months=120 threads=1"]
    var best = 0.0
    for _ in 0..<3 { best = max(best, 2 * timeSpawn(dealsh, args) / timeSpawn(dealsh, args, copies: 2)) }
    print(String(format: "     (the machine's ceiling: two one-thread runs in two processes at once do %.2f× the work of one)", best))
  }
  report("shock mc, same numbers on 1 and 2 threads", j1 == j2 && j1 != nil ? "identical" : "DIFFERENT", target: "identical", ok: j1 == j2 && j1 != nil)
  // Peak memory of a 1,000,000-path run: the process's peak resident size
  // (VmHWM, reset first through /proc/self/clear_refs) above what it held.
  func status(_ key: String) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
      return Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "")
    }
    return nil
  }
  if let before = status("VmRSS"), (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil {
    _ = try? s.runCommand("shock mc paths=1000000 months=36")
    if let peak = status("VmHWM") {
      let mb = (peak - before) / 1024
      report("shock mc 1,000,000 paths, peak memory", String(format: "%.0f MB above the %.0f MB held", mb, before / 1024), target: "< 200 MB", ok: mb < 200)
    }
  } else {
    print("skip the memory figure: /proc/self/clear_refs is not writable here")
  }
}

// 3. Script replay while the graph grows to 10,000 nodes and 20,000 edges;
// 4. open + save of that session.
if section("session") {
let script = bigScript()
var rates: [Double] = []
var shell = quietShell()
for _ in 0..<3 {
  shell = quietShell()
  let t0 = now()
  for line in script {
    if shell.execute(line) != .ok { fatalError("bench script failed at: \(line)") }
  }
  rates.append(Double(script.count) / (now() - t0))
}
let g = shell.session.graph
let rate = median(rates)
report(
  "script replay (\(script.count) commands)", String(format: "%.0f commands/s", rate), target: "≥ 10,000/s",
  ok: rate >= 10_000)
print("     graph at the end: \(g.nodeCount) nodes, \(g.edgeCount) edges, \(shell.journal.count) journal entries")

// 4. open + save of that session.
let dir = NSTemporaryDirectory() + "dealsh-bench-\(getpid())"
try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
let path = dir + "/big.deal"
_ = shell.execute("save \(path) --force")
let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
var openSave: [Double] = []
var openSaveCPU: [Double] = []
var faults: [Double] = []
for _ in 0..<9 {
  let s = quietShell()
  let t0 = now(), c0 = cpuTime(), f0 = minorFaults()
  guard s.execute("open \(path)") == .ok, s.execute("save") == .ok else { fatalError("open/save failed") }
  openSave.append((now() - t0) * 1000)
  openSaveCPU.append((cpuTime() - c0) * 1000)
  faults.append(minorFaults() - f0)
}
let os = median(openSave)
report(
  "open + save of that session (\(size / 1024) KiB)", String(format: "%.0f ms median", os), target: "≤ 150 ms",
  ok: os <= 150)
print(String(format: "     (CPU time of the calling thread: %.0f ms median; best wall %.0f ms; %.0f page faults median)", median(openSaveCPU), openSave.min() ?? 0, median(faults)))
try? FileManager.default.removeItem(atPath: dir)
}


// 5. depreciate of 1,000 GPU assets over 120 months.
if section("depreciate") {
  let s = quietShell()
  _ = s.execute("deal start=2025-01 horizon=120")
  let models = ["A100", "H100", "H200", "B200", "GB200"]
  let methods = ["straight", "ddb", "syd", "macrs5", "straight"]
  for i in 0..<1000 {
    _ = s.execute(
      "add asset g\(i) type=gpu model=\(models[i % 5]) units=\(512 + i) unit_cost=$30k life=\(36 + i % 48) method=\(methods[i % 5]) acquired=2025-\(String(format: "%02d", 1 + i % 12))")
  }
  guard s.session.graph.nodeCount == 1000 else { fatalError("depreciate bench: setup failed") }
  var times: [Double] = []
  for _ in 0..<9 {
    s.clearDerivedData()
    let t0 = now()
    _ = try? s.runCommand("depreciate --json")
    times.append((now() - t0) * 1000)
  }
  let m = median(times)
  report("depreciate, 1,000 GPU assets × 120 months", String(format: "%.1f ms median", m), target: "≤ 20 ms", ok: m <= 20)
}

// 6. The waterfall engine: one 120-month run of the example deal.
if section("waterfall") {
  let s = quietShell()
  guard s.execute("open Sessions/neocloud-abl.deal") == .ok, s.execute("deal horizon=120") == .ok else {
    fatalError("waterfall bench: cannot open Sessions/neocloud-abl.deal (run from the repository root)")
  }
  let plan: WaterfallPlan
  do { plan = try DealAnalysis(session: s.session, schema: s.schema).plan() } catch {
    fatalError("waterfall bench: \(error.message)")
  }
  var sink = 0.0
  for _ in 0..<1000 { sink += WaterfallEngine.run(plan, detail: false).minDSCR ?? 0 }
  let n = 20_000
  var samples: [Double] = []
  for _ in 0..<5 {
    let t0 = now()
    for _ in 0..<n { sink += WaterfallEngine.run(plan, detail: false).minDSCR ?? 0 }
    samples.append((now() - t0) / Double(n) * 1e6)
  }
  let us = median(samples)
  report("waterfall engine, one 120-month run", String(format: "%.2f µs median", us), target: "≤ 5 µs", ok: us <= 5)
  if sink.isNaN { print(sink) }
}

/// The median time of a command on each example deal, from a fresh
/// analysis each time (the waterfall run and value curves included).
func timeExamples(_ label: String, _ commands: [(deal: String, command: String)], runs: Int, limit ms: Double, decimals: Int) {
  var worst = 0.0
  var each: [String] = []
  for (name, command) in commands {
    let s = quietShell()
    guard s.execute("open Sessions/\(name).deal") == .ok else { fatalError("\(label) bench: cannot open Sessions/\(name).deal") }
    var times: [Double] = []
    for _ in 0..<runs {
      s.clearDerivedData()
      let t0 = now()
      _ = try? s.runCommand(command + " --json")
      times.append((now() - t0) * 1000)
    }
    let m = median(times)
    worst = max(worst, m)
    each.append("\(name) \(String(format: "%.\(decimals)f", m))")
  }
  report(
    "\(label) on each example (fresh analysis)", String(format: "%.\(decimals)f ms worst median", worst), target: "≤ \(Int(ms)) ms",
    ok: worst <= ms)
  print("     (" + each.joined(separator: " ms, ") + " ms)")
}

// 7. liquidate on each example deal.
if section("liquidate") {
  timeExamples(
    "liquidate",
    [("neocloud-abl", "liquidate"), ("miner-double-leverage", "liquidate"), ("datacenter-project-finance", "liquidate at=30")],
    runs: 15, limit: 5, decimals: 2)
}

// 8. size on each example deal (a waterfall run per step of the search).
if section("size") {
  timeExamples(
    "size",
    [
      ("neocloud-abl", "size ddtl target_dscr=1.25x"), ("miner-double-leverage", "size gpuloan target_dscr=1.2x"),
      ("datacenter-project-finance", "size senior target_dscr=1.35x"),
    ],
    runs: 9, limit: 50, decimals: 1)
}

// 9. The transcript matcher on a 300,000-line output after a '...' line,
// and on a transcript of 20,000 commands each with a '...'.
if section("transcript") {
  let output = (0..<300_000).map { "row \($0) of a long listing" }
  let t0 = now()
  let ok = Transcript.matches(expected: ["row 0 of a long listing", "...", "row 299999 of a long listing"], actual: output)
  let wrong = !Transcript.matches(expected: ["row 0 of a long listing", "...", "row 300000 of a long listing"], actual: output)
  let s1 = now() - t0
  report("transcript: 300k-line output after '...'", String(format: "%.3f s%@", s1, ok && wrong ? "" : " WRONG"), target: "≤ 2 s, right verdicts", ok: s1 <= 2 && ok && wrong)
  var text = ""
  for k in 0..<20_000 { text += "dealsh> note \"n\(k)\"\nnoted ...\n...\n" }
  let t1 = now()
  let entries = Transcript.parse(text)
  var all = true
  for e in entries { all = all && Transcript.matches(expected: e.expected, actual: ["noted \(e.command)", "x", "y"]) }
  let s2 = now() - t1
  report("transcript: 20,000 commands each with '...'", String(format: "%.3f s%@", s2, all ? "" : " WRONG"), target: "≤ 2 s", ok: s2 <= 2 && all)
}
