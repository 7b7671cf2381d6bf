import CKernels
import Dispatch

/// Cheap interval timing for the decode loop's per-step timers: the time-stamp counter
/// (a few ns a read) for the parts, scaled by a clock-measured span around them. Each
/// `DispatchTime.now()` was ~50 ns through libdispatch, twice per step of a search.
public struct TickSpan {
    private let startNanoseconds: UInt64, startTicks: UInt64
    /// Ticks counted into the part being timed (`add`).
    public private(set) var partTicks: UInt64 = 0

    public init() {
        startNanoseconds = DispatchTime.now().uptimeNanoseconds
        startTicks = ck_ticks()
    }

    /// The counter now, for `add(since:)`.
    @inline(__always) public static func now() -> UInt64 { ck_ticks() }

    /// Counts the ticks since `start` into the part.
    @inline(__always) public mutating func add(since start: UInt64) { partTicks &+= ck_ticks() &- start }

    /// Takes ticks counted by `add` back out of the part (a stretch inside it that belongs elsewhere).
    @inline(__always) public mutating func remove(ticks: UInt64) { partTicks &-= min(ticks, partTicks) }

    /// The span's wall seconds and the part's, the part scaled by the span's seconds per tick.
    public func seconds() -> (wall: Double, part: Double) {
        let wall = Double(DispatchTime.now().uptimeNanoseconds &- startNanoseconds) / 1e9
        let ticks = ck_ticks() &- startTicks
        return (wall, ticks > 0 ? wall * min(1, Double(partTicks) / Double(ticks)) : 0)
    }
}
