import Foundation
import StepSearch

/// Search-level figures of issue 6: where a search's wall time goes (the model's forward
/// passes vs sampling, step detection, SPRM scoring and tree bookkeeping) and how the paged
/// cache's bytes compare with the distinct tokens it holds, over several seeded searches of
/// one question in one process. The first search of a process pays one-time costs (buffers
/// grown, code and runtime metadata first touched) that later ones do not: both are shown.
public struct SearchBenchmark {
    public let engine: SearchEngine

    public init(engine: SearchEngine) { self.engine = engine }

    /// One strategy's searches, seeds 1…n, summed.
    public struct Figure: Codable, Sendable {
        public var strategy: String
        public var searches: Int
        /// Generated tokens over all searches (every branch counted).
        public var tokens: Int
        public var wallSeconds: Double
        /// Σ outside / Σ wall over all searches: the "< 3 %" figure.
        public var outsideModelShare: Double
        /// The same over the searches after the first (one-time costs excluded).
        public var warmOutsideModelShare: Double
        /// Share of the first search alone (what a one-shot `sprig search` sees).
        public var firstOutsideModelShare: Double
        /// Sampling, step detection and SPRM scoring (inside extends, outside forwards).
        public var samplingShare: Double
        /// The part of `samplingShare` in the SPRM head.
        public var scoringShare: Double
        /// The strategy's own bookkeeping (outside extends).
        public var treeShare: Double
        /// Per generated token, searches after the first.
        public var forwardMicrosecondsPerToken: Double
        public var outsideMicrosecondsPerToken: Double
        /// Largest `SearchKV.overhead` of the searches: KV bytes ÷ (distinct rows × bytes per row).
        public var kvOverhead: Double
        /// Answers the searches gave, with how often.
        public var answers: [String: Int]

        enum CodingKeys: String, CodingKey {
            case strategy, searches, tokens, wallSeconds = "wall_s", outsideModelShare = "outside_model_share"
            case warmOutsideModelShare = "warm_outside_model_share", firstOutsideModelShare = "first_outside_model_share"
            case samplingShare = "sampling_share", scoringShare = "sprm_share", treeShare = "tree_share"
            case forwardMicrosecondsPerToken = "forward_us_per_token", outsideMicrosecondsPerToken = "outside_us_per_token"
            case kvOverhead = "kv_overhead", answers
        }
    }

    /// Runs `searches` searches of `question` with `config`, seeds 1…searches; `onSearch`
    /// hears the number of each search as it starts (outside its timed window).
    public func run(question: String, config: SearchConfig, searches: Int,
                    onSearch: ((Int) -> Void)? = nil) throws -> Figure {
        precondition(searches > 0, "at least one search")
        var timings: [SearchTiming] = [], tokens: [Int] = []
        var kv = 0.0
        var answers: [String: Int] = [:]
        for seed in 1...searches {
            onSearch?(seed)
            let r = try engine.search(question: question, config: config, seed: UInt64(seed))
            guard let t = engine.lastTiming else { continue }
            timings.append(t)
            tokens.append(r.tokensUsed)
            kv = max(kv, engine.lastKV?.overhead ?? 0)
            answers[r.answer ?? "(none)", default: 0] += 1
        }
        func outside(_ t: SearchTiming) -> Double { max(0, t.wallSeconds - t.forwardSeconds - t.prefillSeconds) }
        func share(_ part: [Double], _ whole: [Double]) -> Double {
            let w = whole.reduce(0, +)
            return w > 0 ? part.reduce(0, +) / w : 0
        }
        let walls = timings.map(\.wallSeconds)
        let warm = Array(timings.dropFirst()), warmTokens = tokens.dropFirst().reduce(0, +)
        let perToken = warm.isEmpty ? timings : warm, perTokenCount = warm.isEmpty ? tokens.reduce(0, +) : warmTokens
        let micro = { (x: Double) in perTokenCount > 0 ? x / Double(perTokenCount) * 1e6 : 0 }
        return Figure(
            strategy: config.strategy.rawValue, searches: timings.count, tokens: tokens.reduce(0, +),
            wallSeconds: walls.reduce(0, +),
            outsideModelShare: share(timings.map(outside), walls),
            warmOutsideModelShare: share(warm.map(outside), warm.map(\.wallSeconds)),
            firstOutsideModelShare: timings.first?.outsideModelFraction ?? 0,
            samplingShare: share(timings.map { max(0, $0.extendSeconds - $0.forwardSeconds) }, walls),
            scoringShare: share(timings.map(\.scoringSeconds), walls),
            treeShare: share(timings.map { max(0, $0.wallSeconds - $0.extendSeconds - $0.prefillSeconds) }, walls),
            forwardMicrosecondsPerToken: micro(perToken.map(\.forwardSeconds).reduce(0, +)),
            outsideMicrosecondsPerToken: micro(perToken.map(outside).reduce(0, +)),
            kvOverhead: kv, answers: answers)
    }
}
