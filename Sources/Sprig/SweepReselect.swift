import Foundation
import StepSearch

/// One Best-of-N trajectory as a trace holds it (a child of the root).
public struct SweepTrajectory: Sendable, Equatable {
    /// Its trace node id.
    public var node: Int
    public var text: String
    /// Aggregated SPRM score (the trace node's `score`).
    public var score: Double
    public var terminal: Bool
    public var tokens: Int
    /// Sum of token log-probs; nil when not recorded (the trace does not keep them).
    public var logProb: Double?

    public init(node: Int, text: String, score: Double, terminal: Bool, tokens: Int, logProb: Double?) {
        self.node = node
        self.text = text
        self.score = score
        self.terminal = terminal
        self.tokens = tokens
        self.logProb = logProb
    }
}

/// Best-of-N selection re-applied to the samples of one run, so every rule is compared on the
/// same N trajectories. Mirrors `BestOfN.pick` rule for rule (tested against it): only finished
/// trajectories compete (all of them when none finished); ties go to the earlier trajectory.
public enum BestOfNReselect {
    /// The root's children of a Best-of-N trace, in sampling order; `logProbs[node]` where known.
    public static func trajectories(trace: SearchTrace, logProbs: [Int: Double] = [:]) -> [SweepTrajectory] {
        trace.nodes.filter { $0.parent == 0 }.map {
            SweepTrajectory(node: $0.id, text: $0.text, score: $0.score, terminal: $0.terminal, tokens: $0.tokens,
                            logProb: logProbs[$0.id])
        }
    }

    /// Whether `rule` can be applied without log-probs.
    public static func needsLogProbs(_ rule: BestOfNSelection) -> Bool {
        rule == .logProb || rule == .logProbWeighted
    }

    /// The index in `all` of the trajectory `rule` picks; nil when `all` is empty or the rule
    /// needs a log-prob that is missing. `seed` is the run's seed (the random rule's draw).
    public static func pick(_ all: [SweepTrajectory], rule: BestOfNSelection, seed: UInt64,
                            extractor: AnswerExtractor) -> Int? {
        guard !all.isEmpty else { return nil }
        if needsLogProbs(rule), all.contains(where: { $0.logProb == nil }) { return nil }
        let finished = all.indices.filter { all[$0].terminal }
        let pool = finished.isEmpty ? Array(all.indices) : finished
        func best(_ ids: [Int], by key: (Int) -> Double) -> Int {
            ids.reduce(ids[0]) { key($1) > key($0) ? $1 : $0 }
        }
        let byScore: (Int) -> Double = { all[$0].score }
        let byLogProb: (Int) -> Double = { all[$0].logProb ?? -.infinity }

        switch rule {
        case .sprm: return best(pool, by: byScore)
        case .logProb: return best(pool, by: byLogProb)
        case .random: return pool[Int(randomDraw(seed: seed) % UInt64(pool.count))]
        case .majority, .sprmWeighted, .logProbWeighted:
            var groups: [String: [Int]] = [:]
            var order: [String] = []
            for i in finished {
                guard let a = extractor.answer(in: all[i].text) else { continue }
                if groups[a] == nil { order.append(a) }
                groups[a, default: []].append(i)
            }
            guard !order.isEmpty else { return best(pool, by: byScore) }
            let weight: ([Int]) -> Double
            let representative: ([Int]) -> Int
            switch rule {
            case .majority:
                weight = { ids in Double(ids.count) + 0.5 * min(1, max(0, ids.map(byScore).max() ?? 0)) }
                representative = { best($0, by: byScore) }
            case .sprmWeighted:
                weight = { $0.reduce(0) { $0 + byScore($1) } }
                representative = { best($0, by: byScore) }
            default:
                weight = { ids in ids.reduce(0) { $0 + Foundation.exp(byLogProb($1) / Double(max(1, all[$1].tokens))) } }
                representative = { best($0, by: byLogProb) }
            }
            let winner = order.reduce(order[0]) { weight(groups[$1] ?? []) > weight(groups[$0] ?? []) ? $1 : $0 }
            return representative(groups[winner] ?? pool)
        }
    }

    /// BestOfN's random draw: the splitmix derivation of StepSearch's `Seeds.derive(seed, -1)`.
    static func randomDraw(seed: UInt64) -> UInt64 {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return mix(seed ^ mix(UInt64(truncatingIfNeeded: -1) &+ 0x5EED))
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
