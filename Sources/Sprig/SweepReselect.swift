import Foundation
import StepSearch

/// One Best-of-N trajectory as a trace holds it (a child of the root).
public struct SweepTrajectory: Sendable, Equatable {
    /// Its trace node id.
    public var node: Int
    /// What the selection rules read; `logProb` is nil when not recorded (the trace does not
    /// keep log-probs).
    public var candidate: BestOfNSelector.Candidate

    public init(node: Int, candidate: BestOfNSelector.Candidate) {
        self.node = node
        self.candidate = candidate
    }
}

/// Best-of-N selection re-applied to the samples of one run, so every rule is compared on the
/// same N trajectories: the trajectories are recovered from the trace and handed to
/// `BestOfNSelector.pick`, the function `BestOfN` itself picks with.
public enum BestOfNReselect {
    /// The root's children of a Best-of-N trace, in sampling order; `logProbs[node]` where known.
    public static func trajectories(trace: SearchTrace, logProbs: [Int: Double] = [:]) -> [SweepTrajectory] {
        trace.nodes.filter { $0.parent == 0 }.map {
            SweepTrajectory(node: $0.id, candidate: .init(text: $0.text, score: $0.score, logProb: logProbs[$0.id],
                                                          tokens: $0.tokens, terminal: $0.terminal))
        }
    }

    /// The index in `all` of the trajectory `rule` picks (see `BestOfNSelector.pick`).
    public static func pick(_ all: [SweepTrajectory], rule: BestOfNSelection, seed: UInt64,
                            extractor: AnswerExtractor) -> Int? {
        BestOfNSelector.pick(all.map(\.candidate), rule: rule, seed: seed, extractor: extractor)
    }
}

/// The pass@N ceiling of a run: did any finished trajectory of the trace reach `expected`?
public enum SweepOracle {
    /// True when the chosen answer is correct or any terminal node's root→node text yields
    /// the expected answer (unfinished branches do not count: their last number is a guess).
    public static func anyCorrect(trace: SearchTrace, chosenAnswer: String?, expected: String,
                                  extractor: AnswerExtractor) -> Bool {
        if AnswerCheck.isCorrect(chosenAnswer, expected: expected) { return true }
        var byID: [Int: TraceNode] = [:]
        for n in trace.nodes { byID[n.id] = n }
        for n in trace.nodes where n.terminal {
            var parts: [String] = []
            var cursor: TraceNode? = n
            var hops = 0
            while let c = cursor, hops <= trace.nodes.count {
                parts.append(c.text)
                cursor = c.parent.flatMap { byID[$0] }
                hops += 1
            }
            if AnswerCheck.isCorrect(extractor.answer(in: parts.reversed().joined()), expected: expected) { return true }
        }
        return false
    }
}

/// A pass-through policy that keeps every chunk it returns, in order, so the sweep can give
/// each Best-of-N trajectory its log-prob (the trace does not hold log-probs).
public final class RecordingPolicy: SearchPolicy {
    public let base: SearchPolicy
    public private(set) var chunks: [Chunk] = []

    public init(base: SearchPolicy) { self.base = base }

    public func root() throws -> BranchID { try base.root() }
    public func fork(_ parent: BranchID) throws -> BranchID { try base.fork(parent) }
    public func release(_ branch: BranchID) { base.release(branch) }
    public func canGrow(branches: Int, tokens: Int) -> Bool { base.canGrow(branches: branches, tokens: tokens) }
    public func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget,
                       seed: UInt64) throws -> [Chunk] {
        let out = try base.extend(branches, request, budget: budget, seed: seed)
        chunks.append(contentsOf: out)
        return out
    }

    /// Log-probs of a Best-of-N trace's trajectories: BestOfN adds one child per chunk, in
    /// extend order, so the k-th recorded chunk is the k-th child (the completion comes last).
    /// Empty when the chunks do not line up with the trace (then log-prob rules re-run).
    public func bestOfNLogProbs(trace: SearchTrace) -> [Int: Double] {
        let children = trace.nodes.filter { $0.parent == 0 }
        guard chunks.count >= children.count else { return [:] }
        var out: [Int: Double] = [:]
        for (k, node) in children.enumerated() {
            let c = chunks[k]
            guard c.text == node.text, c.tokens.count == node.tokens else { return [:] }
            out[node.id] = c.logProb
        }
        return out
    }
}
