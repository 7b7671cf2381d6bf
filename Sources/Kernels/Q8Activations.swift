import CKernels
import Foundation

/// Precision of the activations in quantized-weight products.
/// - `f32` (default): activations stay f32; the weight blocks are dequantised in registers.
/// - `q8`: each activation row is quantized to Q8 blocks of 32 (per-block f32 scale, as
///   llama.cpp does) once per product, and the dot products run on integer instructions
///   (AVX-512 VNNI `vpdpbusd`, or AVX2 `vpmaddubsw`). 1.5–2× faster decode at 4–16
///   sequences, at the cost of the activations' 8-bit rounding (SmolLM2-135M logits move
///   by up to ~1.3, RMS 1–7 %; see `Tests/TransformerTests/Q8ActivationTests.swift`). f32
///   weights and the sgemm prefill path are unaffected.
public enum ActivationPrecision: String, Sendable, CaseIterable, Codable {
    case f32
    case q8

    /// `SPRIG_ACTIVATIONS` (`f32` or `q8`), read once; unset or empty means `f32`.
    /// An unknown value also means `f32` (see `environmentProblem`).
    public static let environment: ActivationPrecision = parse(environmentValue) ?? .f32

    /// A message when `SPRIG_ACTIVATIONS` is set to something other than f32 / q8.
    public static var environmentProblem: String? {
        guard let v = environmentValue, parse(v) == nil else { return nil }
        return "SPRIG_ACTIVATIONS='\(v)' is not f32 or q8; using f32"
    }

    private static let environmentValue: String? = ProcessInfo.processInfo.environment["SPRIG_ACTIVATIONS"]

    /// `f32` / `q8` (case-insensitive, surrounding spaces ignored); nil for anything else.
    /// Unset or empty maps to f32.
    public static func parse(_ text: String?) -> ActivationPrecision? {
        guard let t = text?.trimmingCharacters(in: .whitespaces).lowercased(), !t.isEmpty else { return .f32 }
        return ActivationPrecision(rawValue: t)
    }
}

extension QuantizedMatrix {
    /// True when this CPU runs AVX-512 VNNI (and SPRIG_NO_AVX512 is unset).
    public static let vnniAvailable = ck_vnni_available() != 0

    /// Whether q8-activation products use the VNNI kernels. Starts as `vnniAvailable`;
    /// tests turn it off to check the AVX2 kernels on this machine.
    nonisolated(unsafe) public static var useVNNI = vnniAvailable

    /// Whether VNNI q8 products use a copy of the weights packed at first use
    /// (`ck_pack_vnni`: the same bytes per row, transposed per 16 blocks) instead of
    /// transposing every 16-block group in each product. Same results bit for bit; costs a
    /// second copy of each matrix used this way. `SPRIG_Q8_PACKED=0` turns it off for A/B runs.
    nonisolated(unsafe) public static var usePackedWeights = ProcessInfo.processInfo.environment["SPRIG_Q8_PACKED"] != "0"

    /// The packed copy of this matrix, made once (under the lock: a model may be shared).
    private func packedForVNNI() -> UnsafeRawPointer {
        vnniPacked.withLock { packed in
            if let p = packed { return UnsafeRawPointer(p.pointer) }
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
            ck_pack_vnni(formatCode, data.assumingMemoryBound(to: UInt8.self), rowBytes, Int32(columns / 32),
                            Int32(rows), raw.assumingMemoryBound(to: UInt8.self))
            packed = RawAllocation(raw)
            return UnsafeRawPointer(raw)
        }
    }

    /// Bytes of one quantized activation row (`ck_q8_quantize` layout) for `columns` inputs.
    static func q8RowBytes(columns: Int) -> Int { ck_q8_row_bytes(Int32(columns / 32)) }

    /// Quantizes x [n, columns] into `act` [n, q8RowBytes] (Q8 blocks of 32): `grouped`
    /// (`ck_q8_grouped`: VNNI, and AVX2 Q4) or plain (layouts in CKernels/q8_layout.h).
    static func quantizeActivations(_ x: UnsafePointer<Float>, rows n: Int, columns: Int,
                                    into act: UnsafeMutableRawPointer, grouped: Bool) {
        ck_q8_quantize(grouped ? 1 : 0, x, columns, Int32(n), Int32(columns / 32),
                       act.assumingMemoryBound(to: UInt8.self), q8RowBytes(columns: columns))
    }

    /// y[n, rows] = x[n, columns] · Wᵀ with int8 activations: x is quantized once (all
    /// weight rows reuse it), then output rows are split over the worker pool; inside a
    /// chunk, activation rows go in groups of ≤ 8 so the chunk's weights stay in cache.
    func multiplyQ8(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32, rows = self.rows, rowBytes = self.rowBytes
        let stride = Self.q8RowBytes(columns: columns)
        let code = formatCode, vnni: Int32 = Self.useVNNI && Self.vnniAvailable ? 1 : 0
        // On VNNI: the packed copy (no per-product transpose); its kernel gives the same bits.
        let packed = vnni != 0 && Self.usePackedWeights ? packedForVNNI() : nil
        let data = (packed ?? self.data).assumingMemoryBound(to: UInt8.self)
        let grain = Self.grain(rows: rows, blocks: blocks, n: n)
        withUnsafeTemporaryAllocation(byteCount: n * stride, alignment: 64) { buffer in
            let act = buffer.baseAddress!   // [n, stride] bytes, one quantized row each
            Self.quantizeActivations(x, rows: n, columns: columns, into: act, grouped: ck_q8_grouped(vnni, code) != 0)
            let actC = UnsafePointer(act.assumingMemoryBound(to: UInt8.self))
            WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                var r = 0
                while r < n {
                    let g = min(8, n - r)
                    if packed != nil {
                        ck_q8_rows_packed(code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi),
                                          actC + r * stride, stride, Int32(g), y + r * rows, rows)
                    } else {
                        ck_q8_rows(vnni, code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi),
                                   actC + r * stride, stride, Int32(g), y + r * rows, rows)
                    }
                    r += g
                }
            }
        }
    }
}
