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
