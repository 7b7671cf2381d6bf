import Foundation

/// The strategy names a config's `strategy` field accepts.
public enum StrategyKind: String, Codable, Sendable, CaseIterable {
    /// One trajectory at temperature 0 (the "no search" row of the paper's Table 4).
    case greedy
    /// One sampled trajectory.
    case sample
    case bestOfN = "best-of-n"
    case beam
    /// The paper's step-level MCTS with SPRM values (section 5.6).
    case mcts
}

/// A search preset (Configs/*.json). Missing fields take the documented defaults; JSON keys are
/// snake_case: `{"strategy": "mcts", "budget": 160000, "aggregation": "geometricMean",
/// "completion_tokens": 8192, "seed": 0, "sampling": {...}, "mcts": {...}, "best_of_n": {...},
/// "beam": {...}, "single": {...}}`.
public struct SearchConfig: Codable, Sendable, Equatable {
    public var strategy: StrategyKind
    /// The hard cap on generated tokens (every branch counted).
    public var budget: Int
    public var aggregation: ScoreAggregation = .geometricMean
    public var sampling = SamplingSettings()
    /// Cap on the out-of-budget completion of an unfinished chosen trajectory; 0 = never.
    public var completionTokens = 8192
    /// Default seed of runs of this preset (a CLI flag may override it).
    public var seed: UInt64 = 0
    public var mcts = MCTSConfig()
    public var bestOfN = BestOfNConfig()
    public var beam = BeamConfig()
    public var single = SingleConfig()
    /// Free text for humans.
    public var note: String?

    public init(strategy: StrategyKind, budget: Int) {
        self.strategy = strategy
        self.budget = budget
    }

    enum CodingKeys: String, CodingKey {
        case strategy, budget, aggregation, sampling, seed, mcts, beam, single, note
        case completionTokens = "completion_tokens", bestOfN = "best_of_n"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .strategy)
        guard let kind = StrategyKind(rawValue: name) else {
            throw StepSearchError.unknownStrategy(file: "", name: name)
        }
        strategy = kind
        budget = try c.decode(Int.self, forKey: .budget)
        aggregation = try c.decodeIfPresent(ScoreAggregation.self, forKey: .aggregation) ?? .geometricMean
        sampling = try c.decodeIfPresent(SamplingSettings.self, forKey: .sampling) ?? SamplingSettings()
        completionTokens = try c.decodeIfPresent(Int.self, forKey: .completionTokens) ?? 8192
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        mcts = try c.decodeIfPresent(MCTSConfig.self, forKey: .mcts) ?? MCTSConfig()
        bestOfN = try c.decodeIfPresent(BestOfNConfig.self, forKey: .bestOfN) ?? BestOfNConfig()
        beam = try c.decodeIfPresent(BeamConfig.self, forKey: .beam) ?? BeamConfig()
        single = try c.decodeIfPresent(SingleConfig.self, forKey: .single) ?? SingleConfig()
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }

    /// Parses and validates a preset; `file` only names it in error messages.
    public static func decode(_ data: Data, file: String = "<config>") throws -> SearchConfig {
        let config: SearchConfig
        do {
            config = try JSONDecoder().decode(SearchConfig.self, from: data)
        } catch StepSearchError.unknownStrategy(_, let name) {
            throw StepSearchError.unknownStrategy(file: file, name: name)
        } catch let error as DecodingError {
            throw StepSearchError.unreadableConfig(file: file, reason: Self.describe(error))
        }
        try config.validate(file: file)
        return config
    }

    public static func load(contentsOf url: URL) throws -> SearchConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw StepSearchError.unreadableConfig(file: url.path, reason: "no such readable file")
        }
        return try decode(data, file: url.lastPathComponent)
    }

    /// Throws `StepSearchError.invalidConfig` naming the first bad field.
    public func validate(file: String = "<config>") throws {
        func bad(_ message: String) -> StepSearchError { .invalidConfig(file: file, message: message) }
        guard budget > 0 else { throw bad("budget must be > 0 (got \(budget))") }
        guard completionTokens >= 0 else { throw bad("completion_tokens must be >= 0 (got \(completionTokens))") }
        guard sampling.temperature >= 0, sampling.temperature.isFinite else {
            throw bad("sampling.temperature must be >= 0 (got \(sampling.temperature))")
        }
        guard sampling.topP > 0, sampling.topP <= 1 else { throw bad("sampling.top_p must be in (0, 1] (got \(sampling.topP))") }
        guard sampling.topK >= 0 else { throw bad("sampling.top_k must be >= 0 (got \(sampling.topK))") }
        guard sampling.repetitionPenalty > 0, sampling.repetitionPenalty.isFinite else {
            throw bad("sampling.repetition_penalty must be > 0 (got \(sampling.repetitionPenalty))")
        }
        switch strategy {
        case .greedy, .sample:
            guard single.trajectoryTokens > 0 else { throw bad("single.trajectory_tokens must be > 0 (got \(single.trajectoryTokens))") }
        case .bestOfN:
            if let n = bestOfN.n, n <= 0 { throw bad("best_of_n.n must be > 0 (got \(n))") }
            if let p = bestOfN.parallel, p <= 0 { throw bad("best_of_n.parallel must be > 0 (got \(p))") }
            guard bestOfN.trajectoryTokens > 0 else {
                throw bad("best_of_n.trajectory_tokens must be > 0 (got \(bestOfN.trajectoryTokens))")
            }
        case .beam:
            guard beam.width > 0 else { throw bad("beam.width must be > 0 (got \(beam.width))") }
            guard beam.expansions > 0 else { throw bad("beam.expansions must be > 0 (got \(beam.expansions))") }
            guard beam.stepTokens > 0 else { throw bad("beam.step_tokens must be > 0 (got \(beam.stepTokens))") }
            if let d = beam.maxDepth, d <= 0 { throw bad("beam.max_depth must be > 0 (got \(d))") }
        case .mcts:
            guard mcts.children > 0 else { throw bad("mcts.children must be > 0 (got \(mcts.children))") }
            guard mcts.childTokens > 0 else { throw bad("mcts.child_tokens must be > 0 (got \(mcts.childTokens))") }
            if let s = mcts.stopAfterSteps, s <= 0 { throw bad("mcts.stop_after_steps must be > 0 or null (got \(s))") }
            guard mcts.exploration >= 0, mcts.exploration.isFinite else {
                throw bad("mcts.exploration must be >= 0 (got \(mcts.exploration))")
            }
        }
        if let problem = limitProblem { throw bad(problem) }
    }

    /// Most branches one expansion may fork: keeps `branches × tokens` far from overflow,
    /// and no KV pool holds more anyway.
    public static let maxBranches = 4096
    /// Most tokens one branch may be asked for in one extend (far past any context window).
    public static let maxBranchTokens = 1 << 24

    /// Sizes no search can use and whose products would overflow (or whose per-branch
    /// bookkeeping alone would exhaust memory), whatever the strategy.
    public var limitProblem: String? {
        let branches = [("mcts.children", mcts.children), ("best_of_n.n", bestOfN.n ?? 0),
                        ("best_of_n.parallel", bestOfN.parallel ?? 0), ("beam.width", beam.width),
                        ("beam.expansions", beam.expansions)]
        for (name, v) in branches where v > Self.maxBranches { return "\(name) \(v) is more than \(Self.maxBranches)" }
        if beam.width * beam.expansions > Self.maxBranches {
            return "beam.width × beam.expansions is more than \(Self.maxBranches)"
        }
        let tokens = [("mcts.child_tokens", mcts.childTokens), ("best_of_n.trajectory_tokens", bestOfN.trajectoryTokens),
                      ("beam.step_tokens", beam.stepTokens), ("single.trajectory_tokens", single.trajectoryTokens),
                      ("completion_tokens", completionTokens)]
        for (name, v) in tokens where v > Self.maxBranchTokens { return "\(name) \(v) is more than \(Self.maxBranchTokens)" }
        return nil
    }

    /// The configured strategy.
    public func makeStrategy() -> SearchStrategy {
        switch strategy {
        case .greedy: return SingleTrajectory(greedy: true, config: single)
        case .sample: return SingleTrajectory(greedy: false, config: single)
        case .bestOfN: return BestOfN(config: bestOfN)
        case .beam: return BeamSearch(config: beam)
        case .mcts: return MCTS(config: mcts)
        }
    }

    /// A context for one run of this preset with a fresh budget (`budgetOverride` replaces
    /// `budget`, `seedOverride` replaces `seed`).
    public func makeContext(extractor: AnswerExtractor = BoxedAnswerExtractor(), question: String? = nil,
                            budgetOverride: Int? = nil, seedOverride: UInt64? = nil,
                            isCancelled: @escaping @Sendable () -> Bool = { false },
                            onProgress: ((SearchProgress) -> Void)? = nil) -> SearchContext {
        SearchContext(budget: TokenBudget(limit: budgetOverride ?? budget), seed: seedOverride ?? seed,
                      aggregation: aggregation, extractor: extractor,
                      sampling: strategy == .greedy ? .greedy : sampling, completionTokens: completionTokens,
                      question: question, isCancelled: isCancelled, onProgress: onProgress)
    }

    /// The values an enum-valued field accepts, by its path in the file.
    private static let choices: [String: [String]] = [
        "strategy": StrategyKind.allCases.map(\.rawValue),
        "aggregation": ScoreAggregation.allCases.map(\.rawValue),
        "mcts.selection": SelectionRule.allCases.map(\.rawValue),
        "mcts.prior": PriorKind.allCases.map(\.rawValue),
        "best_of_n.selection": BestOfNSelection.allCases.map(\.rawValue),
    ]

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            // Foundation reports a number its field cannot hold (−1 for a seed, 2.5 for a
            // count) as "not valid JSON" with no path; the text itself parsed.
            if path.isEmpty { return "\(ctx.debugDescription) (or a number does not fit its field: counts are whole, seed ≥ 0)" }
            if let allowed = choices[path] { return "field '\(path)': must be one of \(allowed.joined(separator: ", "))" }
            return "field '\(path)': \(ctx.debugDescription)"
        @unknown default: return "malformed JSON"
        }
    }
}

/// Any key of a JSON object, to list what an object holds.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A preset object's keys that no field reads (a typo such as "childs") are errors rather
/// than silently left at their defaults.
func rejectUnknownKeys<Key: CodingKey>(_ decoder: Decoder, _: Key.Type) throws {
    let all = try decoder.container(keyedBy: AnyKey.self)
    let unknown = all.allKeys.map(\.stringValue).filter { Key(stringValue: $0) == nil }.sorted()
    guard let first = unknown.first else { return }
    throw DecodingError.dataCorrupted(DecodingError.Context(
        codingPath: decoder.codingPath + [AnyKey(stringValue: first)],
        debugDescription: "unknown field (a typo? it would be ignored)"))
}
