import Foundation
import Synchronization

/// SIGINT/SIGTERM set a flag the search polls (anytime search: it stops at the next
/// decode step and returns its best so far). A second signal exits at once.
enum Interrupt {
    private static let flag = Atomic<Int>(0)
    static var isSet: Bool { flag.load(ordering: .relaxed) > 0 }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Interrupt.flag.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
