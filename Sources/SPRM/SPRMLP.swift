import Foundation
import Kernels

/// Trainable parameters of the SPRM head (and, with the same shapes, their gradients).
/// `w1` [h, c] row-major, `b1` [h], `w2` [h], `b2` scalar.
struct MLPParameters: Equatable {
    var c: Int
    var h: Int
    var w1: [Float]
    var b1: [Float]
    var w2: [Float]
    var b2: Float

    static func zeros(c: Int, h: Int) -> MLPParameters {
        MLPParameters(c: c, h: h, w1: .init(repeating: 0, count: h * c), b1: .init(repeating: 0, count: h),
                      w2: .init(repeating: 0, count: h), b2: 0)
    }

    init(c: Int, h: Int, w1: [Float], b1: [Float], w2: [Float], b2: Float) {
        self.c = c; self.h = h; self.w1 = w1; self.b1 = b1; self.w2 = w2; self.b2 = b2
    }

    init(_ head: SPRMHead) {
        self.init(c: head.inputWidth, h: head.hiddenWidth, w1: head.w1, b1: head.b1, w2: head.w2, b2: head.b2)
    }

    var head: SPRMHead { SPRMHead(w1: w1, b1: b1, w2: w2, b2: b2) }
}

/// What a batch objective weighs. See `SPRTrainer` for why the balanced form exists.
enum Objective: Equatable {
    /// Mean per-step BCE against the trajectory outcome (the paper's BCELoss baseline).
    case plain
    /// Positive and negative steps averaged separately, positives weighted `positiveWeight`;
    /// with `filterAgreeing`, only steps whose prediction (p > 0.5) matches the outcome count
    /// (SPR loss), falling back to all steps of a class when none of them agrees.
    case balanced(filterAgreeing: Bool)
}

struct BatchResult {
    var loss: Double
    var grad: MLPParameters
    /// Steps that carried weight (all for `.plain`).
    var keptSteps: Int
}

enum SPRMLP {
    /// Loss and exact gradient for `labels.count` steps.
    /// - x: [S, c] features. labels: [S] trajectory outcome of each step's trajectory.
    /// - dropScale: [S, h] inverted-dropout multipliers (0 or 1/(1-rate)), nil = no dropout.
    /// The SPR agreement mask uses the same (dropout) forward pass the gradient flows through,
    /// as in training mode in PyTorch; it is piecewise constant so it carries no gradient.
    static func lossAndGradient(_ p: MLPParameters, x: [Float], labels: [Bool], dropScale: [Float]?,
                                objective: Objective, positiveWeight: Float) -> BatchResult {
        let s = labels.count, c = p.c, h = p.h
        precondition(x.count == s * c && (dropScale == nil || dropScale!.count == s * h))
        var grad = MLPParameters.zeros(c: c, h: h)
        if s == 0 { return BatchResult(loss: 0, grad: grad, keptSteps: 0) }
        // Forward. pre [S, h] = x · W1ᵀ + b1; act = relu(pre) · dropScale; z = act · w2 + b2.
        var pre = [Float](repeating: 0, count: s * h)
        p.w1.withUnsafeBufferPointer { w in
            let layer = Linear(inFeatures: c, outFeatures: h, storage: .f32(w.baseAddress!), bias: nil, owner: nil)
            x.withUnsafeBufferPointer { xb in pre.withUnsafeMutableBufferPointer { layer.apply(xb.baseAddress!, rows: s, into: $0.baseAddress!) } }
        }
        var act = [Float](repeating: 0, count: s * h)
        var z = [Float](repeating: 0, count: s)
        for r in 0..<s {
            var acc = p.b2
            for j in 0..<h {
                let v = pre[r * h + j] + p.b1[j]
                pre[r * h + j] = v
                let a = v > 0 ? v * (dropScale?[r * h + j] ?? 1) : 0
                act[r * h + j] = a
                acc += a * p.w2[j]
            }
            z[r] = acc
        }
        // Per-step weights α: loss = Σ α_s · BCE(z_s, y_s).
        var alpha = [Double](repeating: 0, count: s)
        var kept = 0
        switch objective {
        case .plain:
            for r in 0..<s { alpha[r] = 1 / Double(s) }
            kept = s
        case .balanced(let filter):
            var keep = [Bool](repeating: true, count: s)
            if filter {
                for r in 0..<s { keep[r] = (z[r] > 0) == labels[r] }
                // A class with no agreeing step keeps all its steps (see SPRTrainer).
                for cls in [true, false] where !(0..<s).contains(where: { labels[$0] == cls && keep[$0] }) {
                    for r in 0..<s where labels[r] == cls { keep[r] = true }
                }
            }
            let nPos = (0..<s).filter { labels[$0] && keep[$0] }.count
            let nNeg = (0..<s).filter { !labels[$0] && keep[$0] }.count
            let pw = Double(positiveWeight)
            let norm = (nPos > 0 ? pw : 0) + (nNeg > 0 ? 1 : 0)
            for r in 0..<s where keep[r] {
                alpha[r] = labels[r] ? pw / (Double(nPos) * norm) : 1 / (Double(nNeg) * norm)
            }
            kept = nPos + nNeg
        }
        // Loss with BCE(z, y) = softplus(z) - y·z; dBCE/dz = σ(z) - y.
        var loss = 0.0
        var dz = [Float](repeating: 0, count: s)
        for r in 0..<s where alpha[r] != 0 {
            let zr = Double(z[r]), y = labels[r] ? 1.0 : 0.0
            let softplus = max(zr, 0) + log1p(exp(-abs(zr)))
            loss += alpha[r] * (softplus - y * zr)
            dz[r] = Float(alpha[r] * (SPRMHead.sigmoid(zr) - y))
        }
        // Backward. gW1[j, :] += gpre[r, j] · x[r, :] only for live units (relu and dropout zero most).
        grad.w1.withUnsafeMutableBufferPointer { gw1 in
            x.withUnsafeBufferPointer { xb in
                for r in 0..<s where dz[r] != 0 {
                    grad.b2 += dz[r]
                    let xr = xb.baseAddress! + r * c
                    for j in 0..<h {
                        let a = act[r * h + j]
                        grad.w2[j] += dz[r] * a
                        guard pre[r * h + j] > 0 else { continue }
                        let g = dz[r] * p.w2[j] * (dropScale?[r * h + j] ?? 1)
                        if g == 0 { continue }
                        grad.b1[j] += g
                        let row = gw1.baseAddress! + j * c
                        for k in 0..<c { row[k] += g * xr[k] }
                    }
                }
            }
        }
        return BatchResult(loss: loss, grad: grad, keptSteps: kept)
    }
}

/// Adam (Kingma & Ba) with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8, no weight decay.
struct Adam {
    var lr: Float
    var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    var t = 0
    var m: MLPParameters
    var v: MLPParameters

    init(shapeOf p: MLPParameters, lr: Float) {
        self.lr = lr
        m = .zeros(c: p.c, h: p.h)
        v = .zeros(c: p.c, h: p.h)
    }

    mutating func step(_ p: inout MLPParameters, _ g: MLPParameters) {
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        let (b1, b2, lr, eps) = (beta1, beta2, self.lr, self.eps)
        func update(_ w: inout [Float], _ m: inout [Float], _ v: inout [Float], _ g: [Float]) {
            for i in 0..<w.count {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                w[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
            }
        }
        update(&p.w1, &m.w1, &v.w1, g.w1)
        update(&p.b1, &m.b1, &v.b1, g.b1)
        update(&p.w2, &m.w2, &v.w2, g.w2)
        var pb = [p.b2], mb = [m.b2], vb = [v.b2]
        update(&pb, &mb, &vb, [g.b2])
        p.b2 = pb[0]; m.b2 = mb[0]; v.b2 = vb[0]
    }
}
