import Foundation

/// MCTS selection rule.
public enum SelectionRule: String, Codable, Sendable, CaseIterable {
    /// Q + c · P · √N_parent / (1 + N_child)  (AlphaZero / OpenR form).
    case puct
    /// Q + c · √(ln N_parent / N_child)  (UCB1).
    case uct
}

/// Where PUCT's prior P comes from.
public enum PriorKind: String, Codable, Sendable, CaseIterable {
    /// 1 / (number of siblings).
    case uniform
    /// Softmax over siblings of their mean per-token log-probability.
    case logProb = "log_prob"
}

/// The paper's MCTS (section 5.6): expand `children` chunks of up to `childTokens` tokens per
/// selected node; a node's value is its SPRM path score (no rollouts).
///
/// Default selection is PUCT with c = 1.25 and a uniform prior. Why not UCT c = √2: SPRM values
/// of siblings differ by ~0.1–0.3, and with √2 the UCB1 bonus (≈ 2 at N = 8, n = 1) swamps
/// them, so the search goes near breadth-first; the paper's budget (160k / (4 × 1024) ≈ 39
/// expansions) cannot reach the end of a several-thousand-token solution that way. PUCT's
/// bonus c · ¼ · √N / (1 + n) ≈ 0.3 early keeps the SPRM signal in charge and lets the search
/// go deep, while backup of the children's mean still pulls it out of a branch whose steps
/// turn bad (OpenR uses the same constant; pb_c_base 19652 makes its log term ≈ 0 here).
public struct MCTSConfig: Codable, Sendable, Equatable {
    public var children = 4
    public var childTokens = 1024
    /// Stop each child after this many step boundaries (step-level chunks); nil = the paper's
    /// fixed-length chunks.
    public var stopAfterSteps: Int?
    public var selection: SelectionRule = .puct
    public var exploration = 1.25
    public var prior: PriorKind = .uniform
    /// Internal nodes may take further batches of `children` (see `MCTS`); false = each node
    /// is expanded once, leaves only.
    public var widening = true

    public init(children: Int = 4, childTokens: Int = 1024, stopAfterSteps: Int? = nil,
                selection: SelectionRule = .puct, exploration: Double = 1.25, prior: PriorKind = .uniform,
                widening: Bool = true) {
        self.widening = widening
        self.children = children
        self.childTokens = childTokens
        self.stopAfterSteps = stopAfterSteps
        self.selection = selection
        self.exploration = exploration
        self.prior = prior
    }

    enum CodingKeys: String, CodingKey {
        case children, selection, exploration, prior, widening
        case childTokens = "child_tokens", stopAfterSteps = "stop_after_steps"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MCTSConfig()
        children = try c.decodeIfPresent(Int.self, forKey: .children) ?? d.children
        childTokens = try c.decodeIfPresent(Int.self, forKey: .childTokens) ?? d.childTokens
        stopAfterSteps = try c.decodeIfPresent(Int.self, forKey: .stopAfterSteps)
        selection = try c.decodeIfPresent(SelectionRule.self, forKey: .selection) ?? d.selection
        exploration = try c.decodeIfPresent(Double.self, forKey: .exploration) ?? d.exploration
        prior = try c.decodeIfPresent(PriorKind.self, forKey: .prior) ?? d.prior
        widening = try c.decodeIfPresent(Bool.self, forKey: .widening) ?? d.widening
    }
}

/// How Best-of-N picks among its trajectories.
public enum BestOfNSelection: String, Codable, Sendable, CaseIterable {
    /// Highest SPRM trajectory score (the paper's and the release's rule).
    case sprm
    /// Most frequent extracted answer; ties go to the answer with the best SPRM trajectory.
    case majority
    /// Answer with the largest sum of SPRM scores.
    case sprmWeighted = "sprm_weighted"
    /// Highest sequence log-probability (sum over tokens).
    case logProb = "log_prob"
    /// Answer with the largest sum of exp(mean per-token log-prob) (length-normalised weights).
    case logProbWeighted = "log_prob_weighted"
    /// A seeded uniform pick among finished trajectories.
    case random
}

public struct BestOfNConfig: Codable, Sendable, Equatable {
    /// Number of trajectories; nil = keep sampling rounds of `parallel` while budget lasts.
    public var n: Int? = 8
    public var selection: BestOfNSelection = .sprm
    /// Most tokens per trajectory (the release samples up to 32k).
    public var trajectoryTokens = 32768
    /// Most branches per batched extend; nil = all N at once (required when `n` is nil: 8).
    public var parallel: Int?

    public init(n: Int? = 8, selection: BestOfNSelection = .sprm, trajectoryTokens: Int = 32768, parallel: Int? = nil) {
        self.n = n
        self.selection = selection
        self.trajectoryTokens = trajectoryTokens
        self.parallel = parallel
    }

    enum CodingKeys: String, CodingKey {
        case n, selection, parallel
        case trajectoryTokens = "trajectory_tokens"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BestOfNConfig()
        // An explicit null asks for "as many as the budget allows".
        n = c.contains(.n) ? try c.decodeIfPresent(Int.self, forKey: .n) : d.n
        selection = try c.decodeIfPresent(BestOfNSelection.self, forKey: .selection) ?? d.selection
        trajectoryTokens = try c.decodeIfPresent(Int.self, forKey: .trajectoryTokens) ?? d.trajectoryTokens
        parallel = try c.decodeIfPresent(Int.self, forKey: .parallel)
    }
}

/// Step-level beam search: keep the `width` best partial trajectories by aggregated SPRM score
/// at each step boundary, expand each with `expansions` samples of one step.
public struct BeamConfig: Codable, Sendable, Equatable {
    public var width = 4
    public var expansions = 4
    /// Most tokens of one step (a step with no boundary is cut here).
    public var stepTokens = 1024
    /// Rounds after which the search stops; nil = until budget / all finished.
    public var maxDepth: Int?

    public init(width: Int = 4, expansions: Int = 4, stepTokens: Int = 1024, maxDepth: Int? = nil) {
        self.width = width
        self.expansions = expansions
        self.stepTokens = stepTokens
        self.maxDepth = maxDepth
    }

    enum CodingKeys: String, CodingKey {
        case width, expansions
        case stepTokens = "step_tokens", maxDepth = "max_depth"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BeamConfig()
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        expansions = try c.decodeIfPresent(Int.self, forKey: .expansions) ?? d.expansions
        stepTokens = try c.decodeIfPresent(Int.self, forKey: .stepTokens) ?? d.stepTokens
        maxDepth = try c.decodeIfPresent(Int.self, forKey: .maxDepth)
    }
}

/// Greedy / single sample.
public struct SingleConfig: Codable, Sendable, Equatable {
    public var trajectoryTokens = 32768

    public init(trajectoryTokens: Int = 32768) { self.trajectoryTokens = trajectoryTokens }

    enum CodingKeys: String, CodingKey { case trajectoryTokens = "trajectory_tokens" }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trajectoryTokens = try c.decodeIfPresent(Int.self, forKey: .trajectoryTokens) ?? 32768
    }
}
