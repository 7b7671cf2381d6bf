import Foundation

/// One node of a search trace: a chunk of generated text (the root is the prompt, 0 tokens).
public struct TraceNode: Codable, Sendable, Equatable {
    public var id: Int
    /// nil for the root.
    public var parent: Int?
    /// Tokens generated in this node (charged to the budget).
    public var tokens: Int
    public var text: String
    /// SPRM scores of the steps completed in this node, in order.
    public var stepScores: [Double]
    public var visits: Int
    /// MCTS: mean backed-up value; other strategies: the path score.
    public var value: Double
    /// Aggregated SPRM score of the root→node path.
    public var score: Double
    public var terminal: Bool
    public var pruned: Bool
    /// A `StopReason` raw value, or "root".
    public var stop: String

    enum CodingKeys: String, CodingKey {
        case id, parent, tokens, text, visits, value, score, terminal, pruned, stop
        case stepScores = "step_scores"
    }

    public init(id: Int, parent: Int?, tokens: Int, text: String, stepScores: [Double], visits: Int,
                value: Double, score: Double, terminal: Bool, pruned: Bool, stop: String) {
        self.id = id
        self.parent = parent
        self.tokens = tokens
        self.text = text
        self.stepScores = stepScores
        self.visits = visits
        self.value = value
        self.score = score
        self.terminal = terminal
        self.pruned = pruned
        self.stop = stop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        parent = try c.decodeIfPresent(Int.self, forKey: .parent)
        tokens = try c.decode(Int.self, forKey: .tokens)
        text = try c.decode(String.self, forKey: .text)
        stepScores = try c.decode([Double].self, forKey: .stepScores)
        visits = try c.decode(Int.self, forKey: .visits)
        value = try c.decode(Double.self, forKey: .value)
        score = try c.decodeIfPresent(Double.self, forKey: .score) ?? value
        terminal = try c.decode(Bool.self, forKey: .terminal)
        pruned = try c.decode(Bool.self, forKey: .pruned)
        stop = try c.decode(String.self, forKey: .stop)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        if let parent { try c.encode(parent, forKey: .parent) } else { try c.encodeNil(forKey: .parent) }
        try c.encode(tokens, forKey: .tokens)
        try c.encode(text, forKey: .text)
        try c.encode(stepScores, forKey: .stepScores)
        try c.encode(visits, forKey: .visits)
        try c.encode(value, forKey: .value)
        try c.encode(score, forKey: .score)
        try c.encode(terminal, forKey: .terminal)
        try c.encode(pruned, forKey: .pruned)
        try c.encode(stop, forKey: .stop)
    }
}

/// The whole search tree of one run. Invariant: Σ nodes.tokens == tokensUsed.
/// Tokens of the out-of-budget completion are not in any node; they are `completionTokens`
/// and `completionText`.
public struct SearchTrace: Codable, Sendable, Equatable {
    public var nodes: [TraceNode]
    public var tokensUsed: Int
    public var budget: Int
    public var strategy: String
    public var seed: UInt64
    /// Node ids root→leaf of the chosen trajectory.
    public var chosen: [Int]
    public var question: String?
    public var answer: String?
    public var completionTokens: Int
    public var completionText: String

    enum CodingKeys: String, CodingKey {
        case nodes, budget, strategy, seed, chosen, question, answer
        case tokensUsed = "tokens_used", completionTokens = "completion_tokens"
        case completionText = "completion_text"
    }

    public init(nodes: [TraceNode], tokensUsed: Int, budget: Int, strategy: String, seed: UInt64,
                chosen: [Int], question: String?, answer: String?, completionTokens: Int = 0,
                completionText: String = "") {
        self.nodes = nodes
        self.tokensUsed = tokensUsed
        self.budget = budget
        self.strategy = strategy
        self.seed = seed
        self.chosen = chosen
        self.question = question
        self.answer = answer
        self.completionTokens = completionTokens
        self.completionText = completionText
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodes = try c.decode([TraceNode].self, forKey: .nodes)
        tokensUsed = try c.decode(Int.self, forKey: .tokensUsed)
        budget = try c.decode(Int.self, forKey: .budget)
        strategy = try c.decode(String.self, forKey: .strategy)
        seed = try c.decode(UInt64.self, forKey: .seed)
        chosen = try c.decode([Int].self, forKey: .chosen)
        question = try c.decodeIfPresent(String.self, forKey: .question)
        answer = try c.decodeIfPresent(String.self, forKey: .answer)
        completionTokens = try c.decodeIfPresent(Int.self, forKey: .completionTokens) ?? 0
        completionText = try c.decodeIfPresent(String.self, forKey: .completionText) ?? ""
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(tokensUsed, forKey: .tokensUsed)
        try c.encode(budget, forKey: .budget)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(seed, forKey: .seed)
        try c.encode(chosen, forKey: .chosen)
        if let question { try c.encode(question, forKey: .question) } else { try c.encodeNil(forKey: .question) }
        if let answer { try c.encode(answer, forKey: .answer) } else { try c.encodeNil(forKey: .answer) }
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(completionText, forKey: .completionText)
    }

    /// Deterministic JSON (sorted keys): the same run gives byte-identical output.
    public func jsonData(pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
