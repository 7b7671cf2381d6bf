import Foundation
import Kernels

/// The SPRM head of MetaStone-S1: p = sigmoid(W2 · dropout(relu(W1 · x + b1)) + b2).
///
/// `x` is one step token's feature (the residual stream entering the last decoder
/// layer, `hidden_states[-2]`, read at the position whose logits produced the step
/// token). Dropout is the identity at inference. All math in f32; scores returned
/// as Double so trajectory aggregation (a geometric mean) does not lose precision.
///
/// Shapes (PyTorch `nn.Sequential(Linear(c, 2c), ReLU, Dropout, Linear(2c, 1))`):
/// `w1` [h, c] row-major, `b1` [h], `w2` [1, h], `b2` scalar, with h = 2c in MetaStone's
/// release (any h ≥ 1 is accepted).
public struct SPRMHead: Sendable {
    /// c: width of the feature vector.
    public let inputWidth: Int
    /// h: width of the hidden layer (2c for MetaStone heads).
    public let hiddenWidth: Int
    /// Layer 1's weights input-major, [c, h] (W1ᵀ): one step's score runs 64 hidden units
    /// as FMA chains over the inputs (`Ops.reluDot`), a batch is one sgemm.
    let w1tBuffer: FloatBuffer  // [c, h]
    let b1Buffer: FloatBuffer   // [h]
    let w2Buffer: FloatBuffer   // [h]
    public let b2: Float

    /// Builds a head from raw weights. `w1` [h, c] row-major, `b1` [h], `w2` [1, h].
    /// Preconditions: `b1.count == w2.count == h ≥ 1` and `w1.count` a positive multiple of h
    /// (loaders check user files before calling this).
    public init(w1: [Float], b1: [Float], w2: [Float], b2: Float) {
        let h = b1.count
        precondition(h >= 1 && w2.count == h && w1.count >= h && w1.count % h == 0,
                     "SPRMHead: w1 [h, c], b1 [h], w2 [1, h] must agree")
        inputWidth = w1.count / h
        hiddenWidth = h
        let c = inputWidth
        let t = FloatBuffer(count: c * h, zeroed: false)
        w1.withUnsafeBufferPointer { src in
            // In 64 × 64 tiles: a large head (c = 5120) transposed element by element would
            // miss the cache on every write.
            for j0 in stride(from: 0, to: h, by: 64) {
                for i0 in stride(from: 0, to: c, by: 64) {
                    for j in j0..<min(j0 + 64, h) { for i in i0..<min(i0 + 64, c) { t.pointer[i * h + j] = src[j * c + i] } }
                }
            }
        }
        w1tBuffer = t
        b1Buffer = FloatBuffer(b1)
        w2Buffer = FloatBuffer(w2)
        self.b2 = b2
    }

    /// Layer-1 weights, [h, c] row-major (a copy, transposed back).
    public var w1: [Float] {
        let c = inputWidth, h = hiddenWidth, t = w1tBuffer.pointer
        return (0..<h * c).map { k in t[(k % c) * h + k / c] }
    }
    /// Layer-1 bias, [h] (a copy).
    public var b1: [Float] { b1Buffer.array }
    /// Layer-2 weights, [1, h] (a copy).
    public var w2: [Float] { w2Buffer.array }

    /// The step score sigmoid(logit) in (0, 1) for one feature vector of `inputWidth` floats.
    public func score(_ hidden: UnsafeBufferPointer<Float>) -> Double {
        precondition(hidden.count == inputWidth, "SPRMHead.score: feature has \(hidden.count) floats, head expects \(inputWidth)")
        guard let x = hidden.baseAddress else { return Self.sigmoid(Double(b2)) }
        return Self.sigmoid(Double(logit(x)))
    }

    /// Convenience for arrays; same as `score(_: UnsafeBufferPointer)`.
    public func score(_ hidden: [Float]) -> Double {
        hidden.withUnsafeBufferPointer { score($0) }
    }

    /// Scores `count` feature rows stored back to back ([count, inputWidth] row-major).
    /// One sgemm for the first layer, so a batch of steps costs about one BLAS call.
    public func scores(rows: UnsafePointer<Float>, count: Int) -> [Double] {
        precondition(count >= 0)
        if count == 0 { return [] }
        if count == 1 { return [Self.sigmoid(Double(logit(rows)))] }
        let h = hiddenWidth, c = inputWidth
        let hidden = FloatBuffer(count: count * h, zeroed: false)   // [count, h]
        var out = [Double](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { out in
            // Rows in fixed halves over the pool for a batch worth a hand-off: each row's
            // numbers do not depend on which thread or batch computed it.
            let threads = WorkerPool.shared.threadCount
            let grain = count >= Self.minRowsToSplit ? (count + threads - 1) / threads : count
            WorkerPool.shared.parallelFor(count: count, grain: grain) { lo, hi in
                BLAS.sgemmNN(m: hi - lo, n: h, k: c, a: rows + lo * c, lda: c, b: w1tBuffer.pointer, ldb: h,
                             c: hidden.pointer + lo * h, ldc: h)
                for r in lo..<hi {
                    let row = hidden.pointer + r * h
                    Ops.add(b1Buffer.pointer, into: row, count: h)
                    for j in 0..<h where row[j] < 0 { row[j] = 0 }
                    out[r] = Self.sigmoid(Double(Ops.dot(row, w2Buffer.pointer, count: h) + b2))
                }
            }
        }
        return out
    }

    /// Fewest rows `scores(rows:count:)` splits over the pool (a smaller batch is over
    /// before a hand-off would pay).
    static let minRowsToSplit = 8

    /// The pre-sigmoid output for one feature vector at `x` [inputWidth].
    func logit(_ x: UnsafePointer<Float>) -> Float {
        b2 + Ops.reluDot(x, inputMajor: w1tBuffer.pointer, bias: b1Buffer.pointer, out: w2Buffer.pointer,
                         inputs: inputWidth, units: hiddenWidth)
    }

    @inline(__always)
    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// Trajectory score (MetaStone-S1 eq. 5): geometric mean of the step scores, each
    /// clamped below at 1e-10 as the released code does; a trajectory with no steps scores 0.
    public static func trajectoryScore(_ stepScores: [Double]) -> Double {
        if stepScores.isEmpty { return 0 }
        var logSum = 0.0
        for s in stepScores { logSum += log(Swift.max(s, 1e-10)) }
        return exp(logSum / Double(stepScores.count))
    }
}
