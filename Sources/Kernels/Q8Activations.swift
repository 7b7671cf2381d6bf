import CKernels
import Foundation

/// Precision of the activations in quantized-weight products.
/// - `f32` (the library's default, and `sprig generate`'s and `logits`'): activations stay
///   f32; the weight blocks are dequantised in registers. Reference parity.
/// - `q8`: each activation row is quantized to Q8 blocks of 32 (per-block f32 scale, as
///   llama.cpp does) once per product, and the dot products run on integer instructions
///   (AVX-512 VNNI `vpdpbusd`, or AVX2 `vpmaddubsw`). 1.5–2× faster decode at 4–16
///   sequences, at the cost of the activations' 8-bit rounding (SmolLM2-135M logits move
///   by up to ~1.3, RMS 1–7 %; see `Tests/TransformerTests/Q8ActivationTests.swift`). f32
///   weights and the sgemm prefill path are unaffected. `sprig search` and `bench` use it
///   by default on quantized checkpoints (throughput is what a budgeted search spends).
public enum ActivationPrecision: String, Sendable, CaseIterable, Codable {
    case f32
    case q8

    /// `SPRIG_ACTIVATIONS` (`f32` or `q8`), read once; unset or empty means `f32`.
    /// An unknown value also means `f32` (see `environmentProblem`).
    public static var environment: ActivationPrecision { environmentChoice ?? .f32 }

    /// `SPRIG_ACTIVATIONS` when it is set to f32 or q8, else nil (a command's own default applies).
    public static let environmentChoice: ActivationPrecision? = {
        guard let v = environmentValue, !v.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return parse(v)
    }()

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

    /// Whether VNNI q8 products use a copy of the weights re-laid-out once as row tiles
    /// (`ck_pack_tiles`: one zmm lane per output row, so no per-row reduction and no
    /// 16-block tail; 1.05–2.9× the transposing kernel, Experiments/performance session 8) instead of
    /// transposing every 16-block group in each product. Equal up to float rounding; costs a
    /// second copy of each matrix used this way. `SPRIG_Q8_PACKED=0` turns it off for A/B runs.
    nonisolated(unsafe) public static var usePackedWeights = ProcessInfo.processInfo.environment["SPRIG_Q8_PACKED"] != "0"

    /// The row-tile copy of this matrix, made once (under the lock: a model may be shared).
    private func rowTiles() -> UnsafeRawPointer {
        rowTileCopy.withLock { packed in
            if let p = packed { return UnsafeRawPointer(p.pointer) }
            let bytes = ck_tiles_bytes(formatCode, Int32(columns / 32), Int32(rows))
            let copy = HugePageAllocation(byteCount: bytes)
            ck_pack_tiles(formatCode, data.assumingMemoryBound(to: UInt8.self), rowBytes, Int32(columns / 32),
                          Int32(rows), copy.pointer.assumingMemoryBound(to: UInt8.self))
            packed = copy
            return UnsafeRawPointer(copy.pointer)
        }
    }

    /// Whether q8 products read the row-tile copy (VNNI in use and packing on).
    static var usesRowTiles: Bool { useVNNI && vnniAvailable && usePackedWeights }

    /// Whether a decode-sized product with `activations` runs on the row tiles, which the
    /// pool hands out as merged runs (`WorkerPool.parallelFor(mergeRuns:)`).
    static func mergesRuns(activations: ActivationPrecision) -> Bool { activations == .q8 && usesRowTiles }

    /// The bytes a decode-sized product with `activations` reads: the row-tile copy in
    /// q8 mode on VNNI (nil until the first product made it), else the matrix as loaded.
    func streamedBytes(activations: ActivationPrecision) -> (UnsafeRawPointer, Int)? {
        if Self.mergesRuns(activations: activations) {
            return rowTileCopy.withLock { $0.map { (UnsafeRawPointer($0.pointer), $0.byteCount) } }
        }
        return (data, byteCount)
    }

    /// Layouts of a quantized activation row (`ck_q8_quantize`; CKernels/q8_layout.h).
    enum Q8Layout: Int32 {
        case plain = 0     // AVX2 Q8_0
        case grouped = 1   // 16-block groups: the transposing VNNI kernel, AVX2 Q4
        case lanes = 2     // block order plus per-block sums: the row-tile kernel
    }

    /// Bytes of one quantized activation row (any layout) for `columns` inputs.
    static func q8RowBytes(columns: Int) -> Int { ck_q8_row_bytes(Int32(columns / 32)) }

    /// Quantizes x [n, columns] into `act` [n, q8RowBytes] (Q8 blocks of 32) in `layout`.
    /// `wide`: the lanes layout by AVX-512 (the same bytes; VNNI machines, which use it).
    static func quantizeActivations(_ x: UnsafePointer<Float>, rows n: Int, columns: Int,
                                    into act: UnsafeMutableRawPointer, layout: Q8Layout, wide: Bool = vnniAvailable) {
        ck_q8_quantize(layout.rawValue, x, columns, Int32(n), Int32(columns / 32),
                       act.assumingMemoryBound(to: UInt8.self), q8RowBytes(columns: columns), wide ? 1 : 0)
    }

    /// y[n, rows] = x[n, columns] · Wᵀ with int8 activations: x is quantized once (all
    /// weight rows reuse it), then output rows are split over the worker pool; inside a
    /// chunk, activation rows go in groups of ≤ 8 so the chunk's weights stay in cache.
    func multiplyQ8(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                    thenWarm: UnsafeRawBufferPointer? = nil) {
        let blocks = columns / 32, rows = self.rows, rowBytes = self.rowBytes
        let stride = Self.q8RowBytes(columns: columns)
        let code = formatCode, vnni: Int32 = Self.useVNNI && Self.vnniAvailable ? 1 : 0
        // On VNNI: the row-tile copy (chunks of whole tiles of 16 rows).
        let tiles = Self.mergesRuns(activations: .q8) ? rowTiles() : nil
        let data = (tiles ?? self.data).assumingMemoryBound(to: UInt8.self)
        // Row tiles: claims in whole tiles, handed over as runs, so the tail is one tile
        // fine (the threads finish together) without a kernel call per tile. Alternating
        // steps on Zen 4 vs 64-row chunks: 0.98–0.99 at N = 4, 0.93–0.97 at N = 16.
        let grain = tiles != nil ? 16 : Self.grain(rows: rows, blocks: blocks, n: n)
        let layout: Q8Layout = tiles != nil ? .lanes : ck_q8_grouped(vnni, code) != 0 ? .grouped : .plain
        withUnsafeTemporaryAllocation(byteCount: n * stride, alignment: 64) { buffer in
            let act = buffer.baseAddress!   // [n, stride] bytes, one quantized row each
            Self.quantizeActivations(x, rows: n, columns: columns, into: act, layout: layout)
            let actC = UnsafePointer(act.assumingMemoryBound(to: UInt8.self))
            WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm, mergeRuns: tiles != nil) { lo, hi in
                var r = 0
                while r < n {
                    let g = min(8, n - r)
                    if tiles != nil {
                        ck_q8_tiles(code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi),
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
