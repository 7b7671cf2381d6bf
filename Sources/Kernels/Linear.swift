/// A dense layer y = x·Wᵀ + b over row-major activations.
///
/// Weights are kept in one of two forms:
/// - `.f32`: [out, in] row-major floats (possibly pointing into a mapped file).
/// - `.quantized`: llama.cpp block formats kept as loaded (see `QuantizedMatrix`);
///   multiplied by on-the-fly dequantising SIMD kernels, never expanded to f32.
public final class Linear: @unchecked Sendable {
    public enum Storage {
        case f32(UnsafePointer<Float>)            // [out, in]
        case quantized(QuantizedMatrix)
    }

    public let inFeatures: Int
    public let outFeatures: Int
    public let storage: Storage
    public let bias: FloatBuffer?                   // [out]
    /// Keeps whatever owns the weight memory (a FloatBuffer or a mapped file) alive.
    private let owner: AnyObject?
    /// f32 weights: products of this many activation rows or more go to sgemm, fewer to the
    /// register tiles. The tiles stream weights from memory best; for a model held in the
    /// cores' caches (`TransformerModel` sets 2) the product is compute-bound and OpenBLAS's
    /// AVX-512 sgemm is faster (Experiments/performance, session 13).
    public var gemmRows = QuantizedMatrix.gemmThreshold

    public init(inFeatures: Int, outFeatures: Int, storage: Storage, bias: FloatBuffer?, owner: AnyObject?) {
        precondition(bias == nil || bias!.count == outFeatures)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.storage = storage
        self.bias = bias
        self.owner = owner
    }

    /// f32 weights copied into an owned, aligned buffer.
    public convenience init(weights: FloatBuffer, inFeatures: Int, outFeatures: Int, bias: FloatBuffer?) {
        precondition(weights.count == inFeatures * outFeatures)
        self.init(inFeatures: inFeatures, outFeatures: outFeatures,
                  storage: .f32(UnsafePointer(weights.pointer)), bias: bias, owner: weights)
    }

    /// The weights a decode-sized product with `activations` streams (the row-tile copy
    /// in q8 mode once made), from where the pool's worker starts reading them
    /// (`WorkerPool.workerStart`: the middle for row-tile products, which split their rows
    /// in two halves, else its first claim from the back), `maxBytes` at most: the worker
    /// prefetches them, forwards, while it waits for that product.
    public func warmRegion(activations: ActivationPrecision, maxBytes: Int = WorkerPool.maxWarmBytes) -> UnsafeRawBufferPointer? {
        guard maxBytes > 0 else { return nil }
        let base: UnsafeRawPointer, bytes: Int
        var merged = false
        switch storage {
        case .f32(let w): (base, bytes) = (UnsafeRawPointer(w), inFeatures * outFeatures * 4)
        case .quantized(let q):
            guard let r = q.streamedBytes(activations: activations) else { return nil }
            (base, bytes) = r
            merged = QuantizedMatrix.mergesRuns(activations: activations)
        }
        let start = Int(Double(bytes) * WorkerPool.shared.workerStart(mergeRuns: merged)) & ~63
        return UnsafeRawBufferPointer(start: base + start, count: min(maxBytes, bytes - start))
    }

    /// Bytes the weights occupy as stored (what one full pass must stream from memory).
    public var weightBytes: Int {
        switch storage {
        case .f32: return inFeatures * outFeatures * 4
        case .quantized(let q): return q.byteCount
        }
    }

    /// y[n, out] = x[n, in] · Wᵀ (+ bias). `rows` may be any count ≥ 1.
    /// One sgemv for a single row (sgemm with M = 1 is 2–4× slower in OpenBLAS 0.3.21).
    /// `activations` applies to quantized weights only (see `ActivationPrecision`).
    /// `thenWarm`: the next product's `warmRegion` (see `WorkerPool.parallelFor`).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                      activations: ActivationPrecision = .f32, thenWarm: UnsafeRawBufferPointer? = nil) {
        precondition(rows >= 1)
        switch storage {
        case .f32(let w):
            let inF = inFeatures, outF = outFeatures
            if inF % 32 == 0 && (rows < gemmRows || !BLAS.hasFastGemm) {
                // Decode-sized batches (or a generic-core OpenBLAS): the register tiles.
                QuantizedMatrix.multiplyF32(w, rows: outF, columns: inF, x, n: rows, into: y, thenWarm: thenWarm)
                break
            }
            // Output features split over the pool; OpenBLAS runs single-threaded per chunk.
            let grain = max(16, (outF / (WorkerPool.shared.threadCount * 4) + 15) & ~15)
            WorkerPool.shared.parallelFor(count: outF, grain: grain) { lo, hi in
                if rows == 1 {
                    BLAS.sgemv(m: hi - lo, k: inF, a: w + lo * inF, lda: inF, x: x, y: y + lo)
                } else {
                    BLAS.sgemmNT(m: rows, n: hi - lo, k: inF, a: x, lda: inF, b: w + lo * inF, ldb: inF,
                                 c: y + lo, ldc: outF)
                }
            }
        case .quantized(let q):
            q.multiply(x, rows: rows, into: y, activations: activations, thenWarm: thenWarm)
        }
        if let b = bias {
            for r in 0..<rows { Ops.add(b.pointer, into: y + r * outFeatures, count: outFeatures) }
        }
    }
}

extension Linear {
    /// Writes row `r` of W (one embedding vector) as floats into `out` [inFeatures].
    public func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < outFeatures)
        switch storage {
        case .f32(let w): out.update(from: w + r * inFeatures, count: inFeatures)
        case .quantized(let q): q.dequantizeRow(r, into: out)
        }
    }

    /// Stacks layers with the same input width into one [Σout, in] layer, so one
    /// pass over the activations feeds q, k and v (or gate and up) at once.
    /// All parts must share a storage kind (and block format).
    public static func stacking(_ parts: [Linear]) -> Linear {
        precondition(!parts.isEmpty)
        let inF = parts[0].inFeatures
        precondition(parts.allSatisfy { $0.inFeatures == inF })
        let outF = parts.reduce(0) { $0 + $1.outFeatures }
        var bias: FloatBuffer? = nil
        if parts.contains(where: { $0.bias != nil }) {
            let b = FloatBuffer(count: outF)
            var at = 0
            for p in parts {
                if let pb = p.bias { (b.pointer + at).update(from: pb.pointer, count: p.outFeatures) }
                at += p.outFeatures
            }
            bias = b
        }
        switch parts[0].storage {
        case .f32:
            let w = FloatBuffer(count: outF * inF, zeroed: false)
            var at = 0
            for p in parts {
                guard case .f32(let src) = p.storage else { preconditionFailure("mixed storage kinds") }
                (w.pointer + at * inF).update(from: src, count: p.outFeatures * inF)
                at += p.outFeatures
            }
            return Linear(weights: w, inFeatures: inF, outFeatures: outF, bias: bias)
        case .quantized(let first):
            let rowBytes = first.rowBytes
            let raw = UnsafeMutableRawPointer.allocate(byteCount: outF * rowBytes, alignment: 64)
            var at = 0
            for p in parts {
                guard case .quantized(let q) = p.storage, q.format == first.format else {
                    preconditionFailure("mixed storage kinds")
                }
                raw.advanced(by: at * rowBytes).copyMemory(from: q.data, byteCount: q.byteCount)
                at += p.outFeatures
            }
            let m = QuantizedMatrix(format: first.format, rows: outF, columns: inF,
                                    data: UnsafeRawPointer(raw), owner: RawAllocation(raw))
            return Linear(inFeatures: inF, outFeatures: outF, storage: .quantized(m), bias: bias, owner: m)
        }
    }
}
