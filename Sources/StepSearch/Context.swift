import Foundation

/// Sampling settings; defaults are those of MetaStone-S1's released Best-of-N evaluation.
public struct SamplingSettings: Codable, Sendable, Equatable {
    public var temperature: Double = 0.6
    public var topP: Double = 0.95
    public var topK: Int = 0
    public var repetitionPenalty: Double = 1.05

    public init(temperature: Double = 0.6, topP: Double = 0.95, topK: Int = 0,
                repetitionPenalty: Double = 1.05) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
    }

    public static let greedy = SamplingSettings(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1)

    enum CodingKeys: String, CodingKey {
        case temperature, topP = "top_p", topK = "top_k", repetitionPenalty = "repetition_penalty"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? 0.6
        topP = try c.decodeIfPresent(Double.self, forKey: .topP) ?? 0.95
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 0
        repetitionPenalty = try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty) ?? 1.05
    }
}

/// A snapshot reported after every expansion (and once at the end).
public struct SearchProgress: Sendable {
    public var tokensUsed: Int
    public var budget: Int
    public var nodes: Int
    /// Best path score seen so far (0 before any step was scored).
    public var bestScore: Double
    /// Generated tokens per wall-clock second since the search started.
    public var tokensPerSecond: Double

    /// For strategies outside this module that report their own progress.
    public init(tokensUsed: Int, budget: Int, nodes: Int, bestScore: Double, tokensPerSecond: Double) {
        self.tokensUsed = tokensUsed
        self.budget = budget
        self.nodes = nodes
        self.bestScore = bestScore
        self.tokensPerSecond = tokensPerSecond
    }
}

/// Everything a strategy needs besides the policy.
public struct SearchContext {
    /// The one hard cap on generated tokens; `budget.used` is the run's `tokensUsed`.
    public var budget: TokenBudget
    public var seed: UInt64
    public var aggregation: ScoreAggregation
    public var extractor: AnswerExtractor
    public var sampling: SamplingSettings
    /// Most tokens generated, outside the budget, to finish a chosen trajectory that the
    /// search left unfinished (reported as `SearchResult.answerTokens`); 0 = never finish.
    public var completionTokens: Int
    /// The question, copied into the trace (for the viewer); not used by the search.
    public var question: String?
    /// Checked between expansions and polled by the policy inside extends (anytime search:
    /// when it turns true the best result so far is returned with `interrupted = true`).
    public var isCancelled: @Sendable () -> Bool
    public var onProgress: ((SearchProgress) -> Void)?

    public init(budget: TokenBudget, seed: UInt64 = 0, aggregation: ScoreAggregation = .geometricMean,
                extractor: AnswerExtractor = BoxedAnswerExtractor(), sampling: SamplingSettings = .init(),
                completionTokens: Int = 8192, question: String? = nil,
                isCancelled: @escaping @Sendable () -> Bool = { false },
                onProgress: ((SearchProgress) -> Void)? = nil) {
        self.budget = budget
        self.seed = seed
        self.aggregation = aggregation
        self.extractor = extractor
        self.sampling = sampling
        self.completionTokens = completionTokens
        self.question = question
        self.isCancelled = isCancelled
        self.onProgress = onProgress
    }
}

/// The outcome of one search. Encodes (for the CLI) as
/// `{"answer","text","tokens_used","budget","nodes","score","answer_tokens","pruned","interrupted","strategy"}`;
/// the trace is written separately (`SearchTrace.jsonData()`).
public struct SearchResult: Encodable, Sendable {
    /// The extracted final answer of the chosen trajectory; nil when it has none.
    public var answer: String?
    /// The whole chosen trajectory (root→leaf chunks, plus the completion if one was needed).
    public var text: String
    /// Aggregated SPRM path score of the chosen searched path (the completion is not scored).
    public var score: Double
    /// Tokens charged to the budget (every branch, chosen or not) == budget.used == trace sum.
    public var tokensUsed: Int
    /// Tokens generated outside the budget to finish an unfinished chosen trajectory.
    public var answerTokens: Int
    public var budget: Int
    /// Nodes in the trace, root included.
    public var nodes: Int
    /// Nodes dropped (memory pressure in MCTS, unkept candidates in beam search).
    public var prunedNodes: Int
    /// True when `isCancelled` stopped the search.
    public var interrupted: Bool
    public var strategy: String
    public var trace: SearchTrace

    /// For strategies outside this module (`SearchStrategy` is open to callers). Keep
    /// `tokensUsed` equal to the budget's `used` and the trace's token sum, as the built-in
    /// strategies do.
    public init(answer: String?, text: String, score: Double, tokensUsed: Int, answerTokens: Int, budget: Int,
                nodes: Int, prunedNodes: Int, interrupted: Bool, strategy: String, trace: SearchTrace) {
        self.answer = answer
        self.text = text
        self.score = score
        self.tokensUsed = tokensUsed
        self.answerTokens = answerTokens
        self.budget = budget
        self.nodes = nodes
        self.prunedNodes = prunedNodes
        self.interrupted = interrupted
        self.strategy = strategy
        self.trace = trace
    }

    enum CodingKeys: String, CodingKey {
        case answer, text, score, budget, nodes, interrupted, strategy
        case tokensUsed = "tokens_used", answerTokens = "answer_tokens", prunedNodes = "pruned"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let answer { try c.encode(answer, forKey: .answer) } else { try c.encodeNil(forKey: .answer) }
        try c.encode(text, forKey: .text)
        try c.encode(score, forKey: .score)
        try c.encode(tokensUsed, forKey: .tokensUsed)
        try c.encode(answerTokens, forKey: .answerTokens)
        try c.encode(budget, forKey: .budget)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(prunedNodes, forKey: .prunedNodes)
        try c.encode(interrupted, forKey: .interrupted)
        try c.encode(strategy, forKey: .strategy)
    }
}

/// A test-time search method over a `SearchPolicy`.
public protocol SearchStrategy {
    var name: String { get }
    /// Runs to budget exhaustion, completion or cancellation. Releases every branch it created
    /// (the root included) before returning, also when it throws.
    func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult
}
