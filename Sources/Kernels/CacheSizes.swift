import CKernels
import Foundation

/// This machine's per-core cache sizes, as the OS reports them.
public enum CacheSizes {
    /// Bytes of one core's L2 (sysconf, else sysfs; 1 MiB when neither says).
    public static let l2Bytes: Int = {
        let n = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        if n > 0 { return n }
        if let text = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cache/index2/size", encoding: .utf8) {
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.hasSuffix("K"), let k = Int(t.dropLast()) { return k << 10 }
            if t.hasSuffix("M"), let m = Int(t.dropLast()) { return m << 20 }
            if let b = Int(t) { return b }
        }
        return 1 << 20
    }()
}

/// How the product kernels prefetch weights on this machine (chosen per CPU at load, or by
/// `SPRIG_PREFETCH`), in `SPRIG_PREFETCH`'s own syntax so a figure can be reproduced:
/// "<few>,<many>,<from>" with bytes ahead for calls below / from `from` activation rows,
/// "l2" appended where the lines go to L2 (e.g. "0,6144l2,3"; "2048,2048,3" on Intel).
public enum WeightPrefetch {
    public static var setting: String {
        var few = ck_prefetch(), many = ck_prefetch(), from: Int32 = 0
        ck_weight_prefetch_setting(&few, &many, &from)
        func text(_ p: ck_prefetch) -> String { "\(p.bytes)" + (p.l2 != 0 ? "l2" : "") }
        return "\(text(few)),\(text(many)),\(from)"
    }
}
