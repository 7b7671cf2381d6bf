import Foundation
import Kernels

/// One sampled trajectory, reduced to what training the head needs.
public struct SPRExample: Sendable {
    /// One feature vector of width c per step token, in order ([steps][c]).
    public var features: [[Float]]
    /// Whether the trajectory's final answer was correct (the only supervision).
    public var correct: Bool
    /// Trajectories of the same question share an id (AUROC is measured within a problem).
    public var problemID: Int

    public init(features: [[Float]], correct: Bool, problemID: Int) {
        self.features = features
        self.correct = correct
        self.problemID = problemID
    }
}

/// Loss used to train the head on frozen features.
public enum SPRLoss: String, Sendable, CaseIterable {
    /// Plain per-step BCE against the trajectory outcome (the paper's Table 3 baseline).
    case bce
    /// The paper's SPR loss (eq. 6), class-balanced as MetaStone's release does; see `SPRTrainer`.
    case spr
}

public struct SPRTrainingConfig: Sendable {
    public var loss: SPRLoss = .spr
    public var epochs = 10
    public var learningRate: Float = 1e-3
    /// Trajectories per optimiser step (all their steps form the batch).
    public var batchTrajectories = 16
    public var dropout: Float = 0.5
    /// Weight of the positive (correct-trajectory) class term in the SPR loss (MetaStone: 1.5).
    public var positiveWeight: Float = 1.5
    /// Leading epochs trained with class-balanced, unfiltered BCE before SPR filtering starts.
    public var warmupEpochs = 1
    /// Hidden width h of a freshly initialised head (nil: 2c as in MetaStone).
    public var hiddenWidth: Int? = nil
    public var seed: UInt64 = 0

    public init() {}
}

/// Metrics after one epoch (epoch 0: before any update). Scores are eval-mode (no dropout).
public struct SPREpochMetrics: Sendable, Equatable {
    public var epoch: Int
    /// Objective used in this epoch: "init", "bce", "balanced-bce" (SPR warm-up) or "spr".
    public var objective: String
    /// Mean training objective over the epoch's batches (nil for epoch 0).
    public var trainLoss: Double?
    /// Mean per-step BCE against the outcome, eval mode, over all steps (comparable across losses).
    public var evalBCE: Double
    /// Mean trajectory score (geometric mean of step scores) of correct / incorrect trajectories.
    public var meanScoreCorrect: Double
    public var meanScoreIncorrect: Double
    /// AUROC of trajectory scores within each problem, averaged over problems with both classes
    /// (nil when no problem has both).
    public var auroc: Double?
    /// Fraction of steps the SPR filter kept during the epoch (nil when not filtering).
    public var keptFraction: Double?
}

public struct SPRTrainingResult: Sendable {
    public var head: SPRMHead
    /// Epochs 0 (initial) through `config.epochs`.
    public var history: [SPREpochMetrics]
    /// Examples dropped because they have no step (they score 0 at inference whatever the head).
    public var skippedExamples: Int
}

/// Trains an SPRM head on frozen step features (`sprig train-sprm`): a hand-written
/// forward/backward of Linear(c, h) → ReLU → Dropout → Linear(h, 1), Adam, seeded dropout.
///
/// Why the SPR loss is balanced and warmed up: the filter keeps a step only where the head
/// already agrees with the outcome (p > 0.5 for correct trajectories, p ≤ 0.5 for incorrect).
/// If every initial score is above 0.5, no negative step is kept, the loss only pushes scores
/// up and the head collapses to "everything is correct". Three guards, all documented:
/// 1. the first `warmupEpochs` epochs use unfiltered, class-balanced BCE, which moves the
///    negatives down wherever the features carry signal;
/// 2. positives and negatives are averaged separately (positives × `positiveWeight`), so a
///    handful of kept negatives weigh as much as thousands of kept positives;
/// 3. within a batch, a class with no agreeing step contributes all its steps (plain BCE for
///    that class) instead of vanishing.
public struct SPRTrainer: Sendable {
    public var config: SPRTrainingConfig

    public init(config: SPRTrainingConfig = SPRTrainingConfig()) {
        self.config = config
    }

    /// A head initialised like PyTorch's `nn.Linear` (weights and biases ~ U(±1/√fan_in)), seeded.
    public static func initialHead(inputWidth c: Int, hiddenWidth h: Int, seed: UInt64) -> SPRMHead {
        precondition(c >= 1 && h >= 1)
        var rng = SplitMix64(seed: seed)
        let a1 = 1 / Float(c).squareRoot(), a2 = 1 / Float(h).squareRoot()
        let w1 = (0..<(h * c)).map { _ in rng.uniform(-a1, a1) }
        let b1 = (0..<h).map { _ in rng.uniform(-a1, a1) }
        let w2 = (0..<h).map { _ in rng.uniform(-a2, a2) }
        return SPRMHead(w1: w1, b1: b1, w2: w2, b2: rng.uniform(-a2, a2))
    }

    /// Trains from `initialHead` (default: `initialHead(…, seed: config.seed)`), calling
    /// `progress` after each epoch (epoch 0 included).
    public func train(_ examples: [SPRExample], initialHead: SPRMHead? = nil,
                      progress: ((SPREpochMetrics) -> Void)? = nil) throws(SPRMError) -> SPRTrainingResult {
        let cfg = config
        guard cfg.epochs >= 0, cfg.batchTrajectories >= 1, cfg.dropout >= 0, cfg.dropout < 1,
              cfg.learningRate > 0, cfg.positiveWeight > 0 else {
            throw .invalidInput(what: "bad config (epochs ≥ 0, batch ≥ 1, 0 ≤ dropout < 1, lr > 0, positiveWeight > 0)")
        }
        let used = examples.filter { !$0.features.isEmpty }
        guard let width = used.first?.features.first?.count, width >= 1 else {
            throw .invalidInput(what: "no example has a step feature")
        }
        let c = initialHead?.inputWidth ?? width
        for (i, e) in used.enumerated() {
            for f in e.features {
                guard f.count == c else { throw .invalidInput(what: "example \(i) has a feature of width \(f.count), expected \(c)") }
                guard f.allSatisfy(\.isFinite) else { throw .invalidInput(what: "example \(i) has a non-finite feature value") }
            }
        }
        let h = initialHead?.hiddenWidth ?? cfg.hiddenWidth ?? 2 * c
        var params = MLPParameters(initialHead ?? Self.initialHead(inputWidth: c, hiddenWidth: h, seed: cfg.seed))
        var adam = Adam(shapeOf: params, lr: cfg.learningRate)
        var rng = SplitMix64(seed: cfg.seed ^ 0x5350_524D)   // "SPRM"
        var history = [Self.evaluate(params.head, used, epoch: 0, objective: "init")]
        progress?(history[0])
        var order = Array(used.indices)
        let keepProb = 1 - cfg.dropout
        for epoch in stride(from: 1, through: cfg.epochs, by: 1) {
            let objective: Objective
            let name: String
            switch cfg.loss {
            case .bce: objective = .plain; name = "bce"
            case .spr where epoch <= cfg.warmupEpochs: objective = .balanced(filterAgreeing: false); name = "balanced-bce"
            case .spr: objective = .balanced(filterAgreeing: true); name = "spr"
            }
            rng.shuffle(&order)
            var lossSum = 0.0, batches = 0, kept = 0, total = 0
            for start in stride(from: 0, to: order.count, by: cfg.batchTrajectories) {
                var x: [Float] = [], labels: [Bool] = []
                for i in order[start..<min(start + cfg.batchTrajectories, order.count)] {
                    for f in used[i].features { x += f; labels.append(used[i].correct) }
                }
                var drop: [Float]? = nil
                if cfg.dropout > 0 {
                    drop = (0..<(labels.count * h)).map { _ in rng.nextFloat() < keepProb ? 1 / keepProb : 0 }
                }
                let r = SPRMLP.lossAndGradient(params, x: x, labels: labels, dropScale: drop,
                                               objective: objective, positiveWeight: cfg.positiveWeight)
                adam.step(&params, r.grad)
                lossSum += r.loss; batches += 1; kept += r.keptSteps; total += labels.count
            }
            var m = Self.evaluate(params.head, used, epoch: epoch, objective: name)
            m.trainLoss = lossSum / Double(max(batches, 1))
            if objective == .balanced(filterAgreeing: true) { m.keptFraction = Double(kept) / Double(max(total, 1)) }
            history.append(m)
            progress?(m)
        }
        return SPRTrainingResult(head: params.head, history: history, skippedExamples: examples.count - used.count)
    }

    /// Eval-mode metrics of `head` on `examples` (all have ≥ 1 step).
    static func evaluate(_ head: SPRMHead, _ examples: [SPRExample], epoch: Int, objective: String) -> SPREpochMetrics {
        var bce = 0.0, steps = 0
        var scores: [Double] = []
        for e in examples {
            let x = e.features.flatMap { $0 }
            let s = x.withUnsafeBufferPointer { head.scores(rows: $0.baseAddress!, count: e.features.count) }
            for p in s {
                let q = min(max(p, 1e-12), 1 - 1e-12)
                bce -= e.correct ? log(q) : log(1 - q)
            }
            steps += s.count
            scores.append(SPRMHead.trajectoryScore(s))
        }
        let correct = examples.indices.filter { examples[$0].correct }.map { scores[$0] }
        let wrong = examples.indices.filter { !examples[$0].correct }.map { scores[$0] }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        return SPREpochMetrics(epoch: epoch, objective: objective, trainLoss: nil, evalBCE: bce / Double(max(steps, 1)),
                               meanScoreCorrect: mean(correct), meanScoreIncorrect: mean(wrong),
                               auroc: SPRMetrics.withinProblemAUROC(scores: scores, correct: examples.map(\.correct),
                                                                    problems: examples.map(\.problemID)),
                               keptFraction: nil)
    }
}
