import CKernels

/// f32 ↔ f16 (IEEE half, round to nearest even) for K/V rows cached in half precision (F16C,
/// which every AVX2 CPU has).
public enum Half {
    /// dst[i] = f16(src[i]) for i < count; dst holds count · 2 bytes.
    @inline(__always)
    public static func store(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        ck_f32_to_f16(src, dst.assumingMemoryBound(to: UInt16.self), count)
    }

    /// dst[i] = f32(src[i]) for i < count.
    @inline(__always)
    public static func load(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        ck_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst, count)
    }

    /// `values` rounded to f16 and back: what an f16 cache returns for them.
    public static func rounded(_ values: [Float]) -> [Float] {
        var half = [UInt16](repeating: 0, count: values.count)
        var out = [Float](repeating: 0, count: values.count)
        ck_f32_to_f16(values, &half, values.count)
        ck_f16_to_f32(half, &out, values.count)
        return out
    }
}
