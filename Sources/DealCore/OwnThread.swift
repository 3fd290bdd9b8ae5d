import Dispatch
import Foundation

/// Work on a thread of its own rather than in the shared dispatch pool: a
/// long computation there can starve other queued work, and `wait`ing in
/// the pool for work that has no thread yet can deadlock.
enum OwnThread {
  /// Starts `body` on a new thread; the semaphore is signalled when it is
  /// done. The caller makes sure `body` touches only what it may share.
  static func start(_ body: @escaping () -> Void) -> DispatchSemaphore {
    final class Box: @unchecked Sendable {
      let body: () -> Void
      init(_ body: @escaping () -> Void) { self.body = body }
    }
    let box = Box(body), done = DispatchSemaphore(value: 0)
    let thread = Thread {
      box.body()
      done.signal()
    }
    thread.stackSize = 1 << 20
    thread.start()
    return done
  }
}
