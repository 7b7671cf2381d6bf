import Foundation
import Synchronization

/// SIGINT/SIGTERM set a flag the search polls (anytime search: it stops at the next
/// decode step and returns its best so far). A second signal exits at once, but only
/// one that comes at least `forceAfterNanoseconds` after the first: `timeout`, a shell's
/// job control and process supervisors often deliver the same request twice within
/// microseconds (`timeout` signals the child, then its whole process group), and that
/// burst must not cost the user the result the first signal asked for.
enum Interrupt {
    private static let count = Atomic<Int>(0)
    /// CLOCK_MONOTONIC nanoseconds of the first signal (0: none yet).
    private static let firstAt = Atomic<Int>(0)
    static let forceAfterNanoseconds = 500_000_000

    static var isSet: Bool { count.load(ordering: .relaxed) > 0 }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            // Only async-signal-safe calls here: clock_gettime, atomics, _exit.
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let now = max(1, ts.tv_sec * 1_000_000_000 + ts.tv_nsec)
            if Interrupt.count.add(1, ordering: .relaxed).newValue == 1 {
                Interrupt.firstAt.store(now, ordering: .relaxed)
                return
            }
            let first = Interrupt.firstAt.load(ordering: .relaxed)
            if first > 0 && now - first >= Interrupt.forceAfterNanoseconds { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
