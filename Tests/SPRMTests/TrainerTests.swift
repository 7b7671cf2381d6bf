import Foundation
import Kernels
import XCTest
@testable import SPRM

final class TrainerTests: XCTestCase {
    /// Independent double-precision loss of the same objective (for finite differences).
    func referenceLoss(_ p: MLPParameters, x: [Float], labels: [Bool], drop: [Float], objective: Objective, pw: Double) -> Double {
        let s = labels.count, c = p.c, h = p.h
        var z = [Double](repeating: Double(p.b2), count: s)
        for r in 0..<s {
            for j in 0..<h {
                var a = Double(p.b1[j])
                for k in 0..<c { a += Double(p.w1[j * c + k]) * Double(x[r * c + k]) }
                z[r] += max(a, 0) * Double(drop[r * h + j]) * Double(p.w2[j])
            }
        }
        func bce(_ r: Int) -> Double { let y = labels[r] ? 1.0 : 0.0; return log(1 + exp(z[r])) - y * z[r] }
        switch objective {
        case .plain:
            return (0..<s).map(bce).reduce(0, +) / Double(s)
        case .balanced(let filter):
            var lossPos = 0.0, lossNeg = 0.0
            for cls in [true, false] {
                let members = (0..<s).filter { labels[$0] == cls }
                if members.isEmpty { continue }
                var kept = filter ? members.filter { (z[$0] > 0) == cls } : members
                if kept.isEmpty { kept = members }
                let mean = kept.map(bce).reduce(0, +) / Double(kept.count)
                if cls { lossPos = mean } else { lossNeg = mean }
            }
            let hasPos = labels.contains(true), hasNeg = labels.contains(false)
            return ((hasPos ? pw * lossPos : 0) + (hasNeg ? lossNeg : 0)) / ((hasPos ? pw : 0) + (hasNeg ? 1 : 0))
        }
    }

    /// Analytic f32 gradient vs central differences (ε = 1e-3 in double on the reference loss,
    /// truncation error ~ε² ≈ 1e-6): |g − g_fd| ≤ 2e-5 + 1e-3·|g_fd|.
    func checkGradient(objective: Objective, labels: [Bool], seed: UInt64, biasShift: Float = 0) throws {
        let c = 5, h = 7, s = labels.count
        var rng = SplitMix64(seed: seed)
        var p = MLPParameters(SPRTrainer.initialHead(inputWidth: c, hiddenWidth: h, seed: seed))
        p.w2 = p.w2.map { $0 * 4 }
        p.b2 += biasShift
        let x = (0..<(s * c)).map { _ in rng.uniform(-2, 2) }
        let drop = (0..<(s * h)).map { _ in rng.nextFloat() < 0.5 ? Float(2) : 0 }
        let r = SPRMLP.lossAndGradient(p, x: x, labels: labels, dropScale: drop, objective: objective, positiveWeight: 1.5)
        let ref = referenceLoss(p, x: x, labels: labels, drop: drop, objective: objective, pw: 1.5)
        XCTAssertEqual(r.loss, ref, accuracy: 1e-5 * max(1, abs(ref)))
        let eps: Float = 1e-3
        func fd(_ mutate: (inout MLPParameters, Float) -> Void) -> Double {
            var a = p, b = p
            mutate(&a, eps); mutate(&b, -eps)
            // Steps of size ε change Float params by exactly ±ε up to rounding; use the real delta.
            return (referenceLoss(a, x: x, labels: labels, drop: drop, objective: objective, pw: 1.5)
                    - referenceLoss(b, x: x, labels: labels, drop: drop, objective: objective, pw: 1.5)) / (2 * Double(eps))
        }
        func close(_ g: Float, _ f: Double, _ what: String) {
            XCTAssertLessThanOrEqual(abs(Double(g) - f), 2e-5 + 1e-3 * abs(f), "\(objective) \(what): analytic \(g) fd \(f)")
        }
        for i in 0..<(h * c) { close(r.grad.w1[i], fd { $0.w1[i] += $1 }, "w1[\(i)]") }
        for j in 0..<h {
            close(r.grad.b1[j], fd { $0.b1[j] += $1 }, "b1[\(j)]")
            close(r.grad.w2[j], fd { $0.w2[j] += $1 }, "w2[\(j)]")
        }
        close(r.grad.b2, fd { $0.b2 += $1 }, "b2")
        XCTAssertGreaterThan(r.grad.w1.map { abs($0) }.max() ?? 0, 1e-4, "gradient must not be trivially zero")
    }

    func testGradientPlainBCE() throws {
        try checkGradient(objective: .plain, labels: [true, false, true, true, false, false, true, false], seed: 3)
    }

    func testGradientSPRFilteredAndBalanced() throws {
        let labels = [true, false, true, true, false, false, true, false]
        try checkGradient(objective: .balanced(filterAgreeing: true), labels: labels, seed: 5)
        try checkGradient(objective: .balanced(filterAgreeing: false), labels: labels, seed: 7)
        // Every score high: no negative agrees, so the negative class falls back to all its steps.
        try checkGradient(objective: .balanced(filterAgreeing: true), labels: labels, seed: 9, biasShift: 30)
    }

    func testSPRFilterKeepsOnlyAgreeingSteps() {
        let c = 3, h = 4
        var p = MLPParameters(SPRTrainer.initialHead(inputWidth: c, hiddenWidth: h, seed: 1))
        p.w1 = [Float](repeating: 0, count: h * c); p.b1 = [Float](repeating: 0, count: h)
        // Logit = b2 for every step: +1 → every step "predicted correct".
        p.b2 = 1
        let labels = [true, true, false, false, false]
        let x = [Float](repeating: 0, count: labels.count * c)
        let r = SPRMLP.lossAndGradient(p, x: x, labels: labels, dropScale: nil, objective: .balanced(filterAgreeing: true), positiveWeight: 1.5)
        XCTAssertEqual(r.keptSteps, 5, "negatives fall back to all steps")
        p.w1[0] = 1; p.b1[0] = 0; p.w2[0] = -10   // step 2 (x = 2) gets a negative logit
        var x2 = x; for k in 0..<c { x2[2 * c + k] = 2 }
        let r2 = SPRMLP.lossAndGradient(p, x: x2, labels: labels, dropScale: nil, objective: .balanced(filterAgreeing: true), positiveWeight: 1.5)
        XCTAssertEqual(r2.keptSteps, 3, "2 positives + the one agreeing negative")
    }

    /// Synthetic frozen features: per-problem offsets (nuisance) plus a planted direction u:
    /// good steps +u, bad steps −u; correct trajectories have 85% good steps, incorrect 30%.
    func syntheticSet(seed: UInt64, c: Int = 16) -> [SPRExample] {
        var rng = SplitMix64(seed: seed)
        let u = (0..<c).map { _ in rng.uniform(-1, 1) }
        var out: [SPRExample] = []
        for problem in 0..<40 {
            let offset = (0..<c).map { _ in rng.uniform(-1, 1) }
            for t in 0..<8 {
                let correct = t % 2 == 0
                let steps = 3 + Int(rng.next() % 6)
                let feats = (0..<steps).map { _ -> [Float] in
                    let good = rng.nextFloat() < (correct ? 0.85 : 0.3)
                    return (0..<c).map { k in offset[k] + (good ? 1.0 : -1.0) * u[k] + rng.uniform(-1.5, 1.5) }
                }
                out.append(SPRExample(features: feats, correct: correct, problemID: problem))
            }
        }
        out.append(SPRExample(features: [], correct: true, problemID: 99))   // skipped
        return out
    }

    func testPlantedSignalSeparates() throws {
        for loss in SPRLoss.allCases {
            var cfg = SPRTrainingConfig()
            cfg.loss = loss; cfg.epochs = 8; cfg.learningRate = 3e-3; cfg.batchTrajectories = 8; cfg.seed = 11
            let result = try SPRTrainer(config: cfg).train(syntheticSet(seed: 1))
            let last = try XCTUnwrap(result.history.last)
            print("\(loss): AUROC \(last.auroc ?? .nan) correct \(last.meanScoreCorrect) incorrect \(last.meanScoreIncorrect)")
            XCTAssertEqual(result.history.count, 9)
            XCTAssertEqual(result.skippedExamples, 1)
            XCTAssertGreaterThan(try XCTUnwrap(last.auroc), 0.9, "\(loss)")
            XCTAssertGreaterThan(last.meanScoreCorrect - last.meanScoreIncorrect, 0.2, "\(loss)")
            XCTAssertLessThan(try XCTUnwrap(result.history.first?.auroc), 0.8, "untrained head should not already separate")
        }
    }

    /// Every initial step score > 0.5 (output bias 6): SPR must not collapse to "all correct".
    func testSPRDoesNotCollapseFromHighInitialScores() throws {
        let data = syntheticSet(seed: 2)
        let start = SPRTrainer.initialHead(inputWidth: 16, hiddenWidth: 32, seed: 4)
        let high = SPRMHead(w1: start.w1, b1: start.b1, w2: start.w2, b2: 6)
        let minScore = data.flatMap(\.features).map { high.score($0) }.min() ?? 0
        XCTAssertGreaterThan(minScore, 0.5, "precondition of the test: every initial score above 0.5")
        var cfg = SPRTrainingConfig()
        cfg.loss = .spr; cfg.epochs = 10; cfg.learningRate = 3e-3; cfg.batchTrajectories = 8; cfg.seed = 5
        let result = try SPRTrainer(config: cfg).train(data, initialHead: high)
        let last = try XCTUnwrap(result.history.last)
        print("collapse test: kept \(last.keptFraction ?? .nan) correct \(last.meanScoreCorrect) incorrect \(last.meanScoreIncorrect)")
        XCTAssertEqual(result.history[1].objective, "balanced-bce")
        XCTAssertEqual(last.objective, "spr")
        XCTAssertGreaterThan(last.meanScoreCorrect - last.meanScoreIncorrect, 0.3)
        XCTAssertLessThan(last.meanScoreIncorrect, 0.5)
        XCTAssertGreaterThan(try XCTUnwrap(last.auroc), 0.9)
    }

    func testOutputsAndBadInput() throws {
        var cfg = SPRTrainingConfig()
        cfg.epochs = 3; cfg.seed = 1
        let result = try SPRTrainer(config: cfg).train(syntheticSet(seed: 3))
        let lines = result.csv.split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 4)
        XCTAssertTrue(lines[0].hasPrefix("epoch,objective,train_loss"))
        XCTAssertTrue(lines[1].hasPrefix("0,init,,"))
        XCTAssertEqual(result.svg.components(separatedBy: "<polyline").count - 1, 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprm-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try result.write(headPath: dir + "/sprm.safetensors", csvPath: dir + "/m.csv", svgPath: dir + "/m.svg")
        let back = try SPRMHead.load(path: dir)
        let x = [Float](repeating: 0.1, count: 16)
        XCTAssertEqual(back.score(x), result.head.score(x))
        XCTAssertEqual(try String(contentsOfFile: dir + "/m.csv", encoding: .utf8), result.csv)

        XCTAssertThrowsError(try SPRTrainer().train([SPRExample(features: [], correct: true, problemID: 0)]))
        let mixed = [SPRExample(features: [[1, 2]], correct: true, problemID: 0), SPRExample(features: [[1, 2, 3]], correct: false, problemID: 0)]
        XCTAssertThrowsError(try SPRTrainer().train(mixed)) { XCTAssertTrue("\($0)".contains("example 1"), "\($0)") }
    }

    func testWithinProblemAUROC() {
        let auc = SPRMetrics.withinProblemAUROC(scores: [0.9, 0.1, 0.5, 0.5, 0.7, 0.2], correct: [true, false, true, false, true, true],
                                                problems: [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(auc ?? -1, (1.0 + 0.5) / 2, accuracy: 1e-12)   // problem 2 has one class only
        XCTAssertNil(SPRMetrics.withinProblemAUROC(scores: [0.3], correct: [true], problems: [0]))
    }
}
