/// Decoders for the GGUF block formats Sprig reads but does not compute in: Q5_0 / Q5_1
/// (32 weights per block) and the k-quants Q2_K … Q6_K (256 per super-block), as in
/// ggml's `dequantize_row_*`. A GGUF "Q4_K_M" file mixes Q4_K and Q6_K (sometimes Q5_0,
/// Q8_0); these tensors are expanded to f32 once at load.
///
/// Layouts (bytes): Q5_0 = d f16, qh u32, qs[16] (22); Q5_1 = d, m f16, qh u32, qs[16] (24);
/// Q2_K = scales[16], qs[64], d, dmin f16 (84); Q3_K = hmask[32], qs[64], scales[12], d (110);
/// Q4_K = d, dmin, scales[12], qs[128] (144); Q5_K = d, dmin, scales[12], qh[32], qs[128] (176);
/// Q6_K = ql[128], qh[64], scales i8[16], d (210).
enum KQuants {
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Q5_0 (offset −16) and Q5_1 (+m): low nibbles in qs, the fifth bit of weight j in bit j of qh.
    static func q5(_ blk: UnsafeRawPointer, hasMin: Bool, _ y: UnsafeMutablePointer<Float>) {
        let d = half(blk, 0), m = hasMin ? half(blk, 2) : 0
        let at = hasMin ? 4 : 2
        let qh = blk.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        for j in 0..<16 {
            let q = byte(blk, at + 4 + j)
            let x0 = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let x1 = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            if hasMin {
                y[j] = Float(x0) * d + m
                y[j + 16] = Float(x1) * d + m
            } else {
                y[j] = Float(x0 - 16) * d
                y[j + 16] = Float(x1 - 16) * d
            }
        }
    }

    static func q2K(_ blk: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(blk, 80), dmin = half(blk, 82)
        var out = 0, scale = 0
        for half128 in 0..<2 {
            let q = 16 + 32 * half128   // qs offset of this 128-weight half
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let sc = byte(blk, scale)
                    scale += 1
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 {
                        y[out] = dl * Float((byte(blk, q + 16 * part + l) >> UInt8(shift)) & 3) - ml
                        out += 1
                    }
                }
            }
        }
    }

    /// Q3_K's scale k (0..<16), six bits packed in the 12 bytes at 96 as ggml unpacks them:
    /// low four bits from the nibbles of bytes 0–7, high two from bytes 8–11; then −32.
    @inline(__always) static func q3KScale(_ blk: UnsafeRawPointer, _ k: Int) -> Int {
        let low = k < 8 ? byte(blk, 96 + k) & 0x0F : byte(blk, 96 + k - 8) >> 4
        let high = (byte(blk, 104 + k % 4) >> UInt8(2 * (k / 4))) & 3
        return Int(low | high << 4) - 32
    }

    static func q3K(_ blk: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(blk, 108)
        var out = 0, scale = 0, mask: UInt8 = 1
        for half128 in 0..<2 {
            let q = 32 + 32 * half128
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let dl = d * Float(q3KScale(blk, scale))
                    scale += 1
                    for l in 0..<16 {
                        let low = Int((byte(blk, q + 16 * part + l) >> UInt8(shift)) & 3)
                        let high = byte(blk, 16 * part + l) & mask != 0 ? 0 : 4
                        y[out] = dl * Float(low - high)
                        out += 1
                    }
                }
                mask <<= 1
            }
        }
    }

    /// Scale and min j (0..<8) of Q4_K / Q5_K: six bits each, packed in 12 bytes at `at`.
    @inline(__always) static func scaleMin(_ blk: UnsafeRawPointer, _ at: Int, _ j: Int) -> (Float, Float) {
        if j < 4 { return (Float(byte(blk, at + j) & 63), Float(byte(blk, at + j + 4) & 63)) }
        let sc = (byte(blk, at + j + 4) & 0x0F) | ((byte(blk, at + j - 4) >> 6) << 4)
        let m = (byte(blk, at + j + 4) >> 4) | ((byte(blk, at + j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// Q4_K (`fifthBit` false) and Q5_K: 4 × 64 weights, each 64 as low then high nibbles
    /// of 32 bytes with their own scale and min; Q5_K adds bit (2i, 2i+1) of qh[l].
    static func q45K(_ blk: UnsafeRawPointer, fifthBit: Bool, _ y: UnsafeMutablePointer<Float>) {
        let d = half(blk, 0), dmin = half(blk, 2)
        let qs = fifthBit ? 48 : 16, qh = 16
        for i in 0..<4 {
            let (s1, m1) = scaleMin(blk, 4, 2 * i), (s2, m2) = scaleMin(blk, 4, 2 * i + 1)
            let d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2
            let o = y + 64 * i
            for l in 0..<32 {
                let q = byte(blk, qs + 32 * i + l)
                var lo = Int(q & 0x0F), hi = Int(q >> 4)
                if fifthBit {
                    let h = byte(blk, qh + l)
                    lo += Int((h >> UInt8(2 * i)) & 1) << 4
                    hi += Int((h >> UInt8(2 * i + 1)) & 1) << 4
                }
                o[l] = d1 * Float(lo) - dm1
                o[l + 32] = d2 * Float(hi) - dm2
            }
        }
    }

    static func q6K(_ blk: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(blk, 208)
        for n in 0..<2 {
            let ql = 64 * n, qh = 128 + 32 * n, sc = 192 + 8 * n
            let o = y + 128 * n
            func scale(_ k: Int) -> Float { d * Float(Int8(bitPattern: byte(blk, sc + k))) }
            for l in 0..<32 {
                let s = l / 16, h = byte(blk, qh + l)
                let a = byte(blk, ql + l), b = byte(blk, ql + l + 32)
                o[l] = scale(s) * Float(Int(a & 0x0F | (h & 3) << 4) - 32)
                o[l + 32] = scale(s + 2) * Float(Int(b & 0x0F | ((h >> 2) & 3) << 4) - 32)
                o[l + 64] = scale(s + 4) * Float(Int(a >> 4 | ((h >> 4) & 3) << 4) - 32)
                o[l + 96] = scale(s + 6) * Float(Int(b >> 4 | ((h >> 6) & 3) << 4) - 32)
            }
        }
    }
}
