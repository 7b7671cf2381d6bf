import Foundation

/// The Best-of-N selection rules over a list of candidate trajectories, shared by `BestOfN`
/// (over its tree) and the sweep (over trajectories recovered from a trace), so both pick the
/// same trajectory for the same samples. Only finished candidates compete (all of them when
/// none finished); ties go to the earlier candidate.
public enum BestOfNSelector {
    /// One trajectory as the rules see it.
    public struct Candidate: Sendable, Equatable {
        /// Its full text (what the answer is extracted from).
        public var text: String
        /// Aggregated SPRM score.
        public var score: Double
        /// Sum of token log-probs; nil when not recorded.
        public var logProb: Double?
        /// Generated tokens (the log-prob weight's length normaliser).
        public var tokens: Int
        /// Finished (EOS / context limit), so its answer counts.
        public var terminal: Bool

        public init(text: String, score: Double, logProb: Double?, tokens: Int, terminal: Bool) {
            self.text = text
            self.score = score
            self.logProb = logProb
            self.tokens = tokens
            self.terminal = terminal
        }
    }

    /// Whether `rule` reads `Candidate.logProb`.
    public static func needsLogProbs(_ rule: BestOfNSelection) -> Bool {
        rule == .logProb || rule == .logProbWeighted
    }

    /// The index in `candidates` that `rule` picks; nil when `candidates` is empty or the rule
    /// needs a log-prob that is missing. `seed` is the run's seed; the random rule draws
    /// from it mixed with a hash of the candidates' texts, so that one sweep seed does not
    /// pick the same position in every problem and at every N.
    public static func pick(_ candidates: [Candidate], rule: BestOfNSelection, seed: UInt64,
                            extractor: AnswerExtractor) -> Int? {
        guard !candidates.isEmpty else { return nil }
        if needsLogProbs(rule), candidates.contains(where: { $0.logProb == nil }) { return nil }
        let finished = candidates.indices.filter { candidates[$0].terminal }
        let pool = finished.isEmpty ? Array(candidates.indices) : finished
        // Deterministic order: higher first, ties to the earlier candidate.
        func best(_ ids: [Int], by key: (Int) -> Double) -> Int {
            ids.reduce(ids[0]) { key($1) > key($0) ? $1 : $0 }
        }
        let byScore: (Int) -> Double = { candidates[$0].score }
        let byLogProb: (Int) -> Double = { candidates[$0].logProb ?? -.infinity }

        switch rule {
        case .sprm:
            return best(pool, by: byScore)
        case .logProb:
            return best(pool, by: byLogProb)
        case .random:
            return pool[Int(Seeds.derive(seed ^ textHash(pool.map { candidates[$0].text }), -1) % UInt64(pool.count))]
        case .majority, .sprmWeighted, .logProbWeighted:
            var groups: [String: [Int]] = [:]
            var order: [String] = []
            for i in finished {
                guard let a = extractor.answer(in: candidates[i].text) else { continue }
                if groups[a] == nil { order.append(a) }
                groups[a, default: []].append(i)
            }
            guard !order.isEmpty else { return best(pool, by: byScore) }
            let weight: ([Int]) -> Double
            let representative: ([Int]) -> Int
            switch rule {
            case .majority:
                // Count first; the group's best SPRM score (in [0, 1], so < one vote) breaks ties.
                weight = { ids in Double(ids.count) + 0.5 * min(1, max(0, ids.map(byScore).max() ?? 0)) }
                representative = { best($0, by: byScore) }
            case .sprmWeighted:
                weight = { $0.reduce(0) { $0 + byScore($1) } }
                representative = { best($0, by: byScore) }
            default:
                // exp(mean per-token log-prob) per trajectory.
                weight = { ids in
                    ids.reduce(0) { $0 + Foundation.exp(byLogProb($1) / Double(max(1, candidates[$1].tokens))) }
                }
                representative = { best($0, by: byLogProb) }
            }
            let winner = order.reduce(order[0]) { weight(groups[$1] ?? []) > weight(groups[$0] ?? []) ? $1 : $0 }
            return representative(groups[winner] ?? pool)
        }
    }

    /// FNV-1a over the texts (stable across runs, unlike `Hasher`).
    static func textHash(_ texts: [String]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in texts {
            for b in t.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        return h
    }
}
