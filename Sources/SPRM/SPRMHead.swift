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
    /// Layer 1 as a BLAS-backed Linear: [h, c] weights + [h] bias.
    let layer1: Linear
    let w1Buffer: FloatBuffer   // [h, c], owned by layer1 too
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
        w1Buffer = FloatBuffer(w1)
        b1Buffer = FloatBuffer(b1)
        w2Buffer = FloatBuffer(w2)
        self.b2 = b2
        layer1 = Linear(weights: w1Buffer, inFeatures: inputWidth, outFeatures: h, bias: b1Buffer)
    }

    /// Layer-1 weights, [h, c] row-major (a copy).
    public var w1: [Float] { w1Buffer.array }
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
        let h = hiddenWidth
        let hidden = FloatBuffer(count: count * h, zeroed: false)   // [count, h]
        layer1.apply(rows, rows: count, into: hidden.pointer)
        var out = [Double](repeating: 0, count: count)
        for r in 0..<count {
            let row = hidden.pointer + r * h
            for j in 0..<h where row[j] < 0 { row[j] = 0 }
            out[r] = Self.sigmoid(Double(Ops.dot(row, w2Buffer.pointer, count: h) + b2))
        }
        return out
    }

    /// The pre-sigmoid output for one feature vector at `x` [inputWidth].
    func logit(_ x: UnsafePointer<Float>) -> Float {
        let c = inputWidth, w1 = w1Buffer.pointer
        var z = b2
        // Four hidden units at a time: each unit's dot is the same single FMA chain as
        // `Ops.dot` (the same bits), but four chains in flight hide the FMA latency that one
        // chain waits on (a small head's dots are latency-bound).
        var j = 0
        while j + 4 <= hiddenWidth {
            let a = Ops.dot4(w1 + j * c, w1 + (j + 1) * c, w1 + (j + 2) * c, w1 + (j + 3) * c, x, count: c)
            for k in 0..<4 {
                let h = a[k] + b1Buffer[j + k]
                if h > 0 { z += h * w2Buffer[j + k] }
            }
            j += 4
        }
        while j < hiddenWidth {
            let a = Ops.dot(w1 + j * c, x, count: c) + b1Buffer[j]
            if a > 0 { z += a * w2Buffer[j] }
            j += 1
        }
        return z
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
