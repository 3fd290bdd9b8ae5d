import DealCore
import Dispatch
import Foundation

/// Work on a thread of its own rather than in the shared dispatch pool: a
/// long computation there can starve other queued work, and `wait`ing in
/// the pool for work that has no thread yet can deadlock.
enum OwnThread {
  /// Starts `body` on a new thread; the semaphore is signalled when it is
  /// done. `body` is `@Sendable`: the compiler checks what it shares.
  static func start(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
      body()
      done.signal()
    }
    thread.stackSize = 1 << 20
    thread.start()
    return done
  }
}
