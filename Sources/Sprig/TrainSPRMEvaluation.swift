import Foundation
import SPRM

/// How well a head separates and selects among the k samples of each problem, next to the
/// selection rules that need no head.
public struct TrainSPRMEvaluation: Sendable, Codable, Equatable {
    public var problems: Int
    public var trajectories: Int
    /// Fraction of trajectories whose final answer is correct.
    public var sampleAccuracy: Double
    /// Within-problem AUROC of the SPRM trajectory score (geometric mean of step scores),
    /// averaged over the `mixedProblems` problems that have both correct and incorrect samples.
    public var auroc: Double?
    /// The same AUROC for the policy's mean token log-probability (the no-head baseline).
    public var confidenceAUROC: Double?
    public var mixedProblems: Int
    /// Accuracy of one answer per problem picked by: the highest SPRM score; a uniformly
    /// random sample (expected value); majority vote over extracted answers; the highest
    /// mean log-probability; and an oracle that is right whenever any sample is (pass@k).
    public var sprmSelect: Double
    public var random: Double
    public var majority: Double
    public var confidenceSelect: Double
    public var oracle: Double
    /// Mean trajectory score of correct / incorrect trajectories (nil when a class is empty).
    public var meanScoreCorrect: Double?
    public var meanScoreIncorrect: Double?

    /// Scores every trajectory with `head` and compares the selection rules; ties go to
    /// the earliest sample. Trajectories without steps score 0, as at inference.
    public static func evaluate(head: SPRMHead, trajectories: [SampledTrajectory]) -> TrainSPRMEvaluation {
        let scores = trajectories.map { t -> Double in
            let x = t.features.flatMap { $0 }
            return x.withUnsafeBufferPointer { buf in
                SPRMHead.trajectoryScore(buf.baseAddress.map { head.scores(rows: $0, count: t.features.count) } ?? [])
            }
        }
        var byProblem: [Int: [Int]] = [:]
        var order: [Int] = []
        for (i, t) in trajectories.enumerated() {
            if byProblem[t.problemID] == nil { order.append(t.problemID) }
            byProblem[t.problemID, default: []].append(i)
        }
        func pickAccuracy(_ key: (Int) -> Double) -> Double {
            var right = 0
            for p in order {
                let idx = byProblem[p] ?? []
                // max(by:) returns the last maximum; scan for the first one instead.
                var best = idx[0]
                for i in idx.dropFirst() where key(i) > key(best) { best = i }
                if trajectories[best].correct { right += 1 }
            }
            return order.isEmpty ? 0 : Double(right) / Double(order.count)
        }
        var random = 0.0, majority = 0, oracle = 0, mixed = 0
        for p in order {
            let idx = byProblem[p] ?? []
            let good = idx.filter { trajectories[$0].correct }.count
            random += Double(good) / Double(idx.count)
            if good > 0 { oracle += 1 }
            if good > 0 && good < idx.count { mixed += 1 }
            var votes: [String: Int] = [:]
            var first: [String: Int] = [:]
            for i in idx {
                guard let a = trajectories[i].answer else { continue }
                let key = AnswerCheck.normalize(a)
                votes[key, default: 0] += 1
                if first[key] == nil { first[key] = i }
            }
            let winner = votes.max { a, b in a.value != b.value ? a.value < b.value : first[a.key, default: 0] > first[b.key, default: 0] }
            if let w = winner, let i = first[w.key], trajectories[i].correct { majority += 1 }
        }
        let n = Double(max(order.count, 1))
        let correct = trajectories.indices.filter { trajectories[$0].correct }.map { scores[$0] }
        let wrong = trajectories.indices.filter { !trajectories[$0].correct }.map { scores[$0] }
        func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
        let labels = trajectories.map(\.correct), problems = trajectories.map(\.problemID)
        return TrainSPRMEvaluation(
            problems: order.count, trajectories: trajectories.count,
            sampleAccuracy: trajectories.isEmpty ? 0 : Double(labels.filter { $0 }.count) / Double(trajectories.count),
            auroc: SPRMetrics.withinProblemAUROC(scores: scores, correct: labels, problems: problems),
            confidenceAUROC: SPRMetrics.withinProblemAUROC(scores: trajectories.map(\.meanLogProb), correct: labels,
                                                           problems: problems),
            mixedProblems: mixed,
            sprmSelect: pickAccuracy { scores[$0] }, random: random / n, majority: Double(majority) / n,
            confidenceSelect: pickAccuracy { trajectories[$0].meanLogProb }, oracle: Double(oracle) / n,
            meanScoreCorrect: mean(correct), meanScoreIncorrect: mean(wrong))
    }

    /// One line for progress output.
    public var summaryLine: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "n/a" }
        return "AUROC \(f(auroc)) (confidence \(f(confidenceAUROC)), \(mixedProblems)/\(problems) mixed problems); "
            + "select: SPRM \(f(sprmSelect)) random \(f(random)) majority \(f(majority)) confidence \(f(confidenceSelect)) oracle \(f(oracle))"
    }
}
