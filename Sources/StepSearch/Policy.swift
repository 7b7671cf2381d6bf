import Foundation
import Synchronization

/// An opaque handle to one generation branch (a KV-cache sequence) owned by a `SearchPolicy`.
public struct BranchID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public init(_ raw: Int) { self.raw = raw }
    public var description: String { "branch#\(raw)" }
}

/// Why one `extend` stopped on one branch.
public enum StopReason: String, Codable, Sendable, CaseIterable {
    /// Stopped right after the `stopAfterSteps`-th step boundary of this extend.
    case stepBoundary
    /// `ExtendRequest.maxTokens` tokens were generated.
    case tokenLimit
    /// The model emitted end-of-sequence: the trajectory is finished.
    case endOfSequence
    /// The model's context window is full: the trajectory cannot continue.
    case contextLimit
    /// The global `TokenBudget` refused the next token.
    case budget
    /// `ExtendRequest.shouldStop` returned true.
    case cancelled

    /// A finished trajectory: it is never extended again.
    public var isTerminal: Bool { self == .endOfSequence || self == .contextLimit }
}

/// What one `extend` produced on one branch.
public struct Chunk: Sendable, Equatable {
    /// The generated token ids, in order (every one of them was charged to the budget).
    public var tokens: [Int]
    /// The decoded text of `tokens`. The policy decodes across chunk boundaries correctly
    /// (a multi-byte character split between two chunks goes to the chunk that completes it).
    public var text: String
    /// SPRM scores (sigmoid, in [0, 1]) of the steps completed inside this chunk, in order.
    public var stepScores: [Double]
    /// Sum of log p(sampled token) over `tokens` (under the sampling distribution's base model).
    public var logProb: Double
    public var stop: StopReason
    /// How many of `tokens` came after the end of thinking (`</think>`); 0 for non-reasoning formats.
    public var answerTokens: Int

    public init(tokens: [Int], text: String, stepScores: [Double], logProb: Double,
                stop: StopReason, answerTokens: Int = 0) {
        self.tokens = tokens
        self.text = text
        self.stepScores = stepScores
        self.logProb = logProb
        self.stop = stop
        self.answerTokens = answerTokens
    }
}

/// One batched generation request: the same limits and sampling settings for every branch.
public struct ExtendRequest: Sendable {
    /// Most tokens generated per branch by this extend.
    public var maxTokens: Int
    /// Stop a branch right after this many step boundaries; nil = only at maxTokens / EOS / limits.
    public var stopAfterSteps: Int?
    /// 0 = greedy (argmax); the policy must then ignore `seed`.
    public var temperature: Double
    /// Nucleus mass in (0, 1]; 1 = off.
    public var topP: Double
    /// 0 = off.
    public var topK: Int
    /// 1 = off.
    public var repetitionPenalty: Double
    /// Polled by the policy between decode steps; when it returns true every running branch
    /// stops with `.cancelled` (so SIGINT does not wait for a 1024-token chunk to finish).
    public var shouldStop: (@Sendable () -> Bool)?

    public init(maxTokens: Int, stopAfterSteps: Int? = nil, temperature: Double = 0.6,
                topP: Double = 0.95, topK: Int = 0, repetitionPenalty: Double = 1.05,
                shouldStop: (@Sendable () -> Bool)? = nil) {
        self.maxTokens = maxTokens
        self.stopAfterSteps = stopAfterSteps
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.shouldStop = shouldStop
    }

    public init(maxTokens: Int, stopAfterSteps: Int? = nil, sampling: SamplingSettings,
                shouldStop: (@Sendable () -> Bool)? = nil) {
        self.init(maxTokens: maxTokens, stopAfterSteps: stopAfterSteps,
                  temperature: sampling.temperature, topP: sampling.topP, topK: sampling.topK,
                  repetitionPenalty: sampling.repetitionPenalty, shouldStop: shouldStop)
    }
}

/// The ONE global count of generated tokens of a search. The policy charges every token
/// *before* producing it; a refused charge stops that branch with `.budget`.
/// Thread-safe (an atomic count), so a policy may charge from worker threads.
public final class TokenBudget: Sendable {
    public let limit: Int
    /// Tokens consumed so far; an atomic (every generated token passes here, and a lock
    /// cost as much as the step detection).
    private let usedStorage = Atomic<Int>(0)

    /// `limit` < 0 is treated as 0 (nothing can be generated).
    public init(limit: Int) { self.limit = max(0, limit) }

    public var used: Int { usedStorage.load(ordering: .acquiring) }
    public var remaining: Int { limit - used }

    /// Consumes `n` tokens; returns false and consumes nothing when that would pass `limit`.
    public func tryConsume(_ n: Int = 1) -> Bool {
        precondition(n >= 0, "TokenBudget.tryConsume: negative count")
        var used = usedStorage.load(ordering: .relaxed)
        while true {
            guard n <= limit - used else { return false }
            let r = usedStorage.compareExchange(expected: used, desired: used + n, ordering: .acquiringAndReleasing)
            if r.exchanged { return true }
            used = r.original
        }
    }

    /// Consumes as many of `n` tokens as remain; returns how many (`tryConsume(1)` called
    /// `n` times in a row, in one atomic step).
    public func consume(upTo n: Int) -> Int {
        precondition(n >= 0, "TokenBudget.consume: negative count")
        var used = usedStorage.load(ordering: .relaxed)
        while true {
            let take = min(n, max(0, limit - used))
            if take == 0 { return 0 }
            let r = usedStorage.compareExchange(expected: used, desired: used + take, ordering: .acquiringAndReleasing)
            if r.exchanged { return take }
            used = r.original
        }
    }
}

/// The model side of a search. Implemented over the real transformer by the facade, and by
/// fakes in tests. Branches are created by `root` / `fork` and must each be `release`d once.
public protocol SearchPolicy: AnyObject {
    /// The prompt, prefilled; prompt tokens are not charged. Each call returns a new branch.
    func root() throws -> BranchID
    /// A new branch continuing `parent` (shares its cache copy-on-write); free.
    func fork(_ parent: BranchID) throws -> BranchID
    /// Frees a branch; children forked from it stay valid.
    func release(_ branch: BranchID)
    /// Advances every branch (batched: one decode step for all per token) until each stops;
    /// returns one chunk per branch, in order. Charges each token to `budget` first and stops
    /// that branch with `.budget` when refused. Sampling uses `seed` deterministically (same
    /// seed, same branch states, same request -> same chunks), slot `i` of `branches` drawing
    /// its own stream. Branches advance in place: the next extend continues after the chunk.
    func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget,
                seed: UInt64) throws -> [Chunk]
    /// Can `branches` more branches of up to `tokens` new tokens in all be afforded memory-wise
    /// (KV blocks)? Strategies prune when it says no.
    func canGrow(branches: Int, tokens: Int) -> Bool
}

extension SearchPolicy {
    /// Default: memory is not tracked.
    public func canGrow(branches: Int, tokens: Int) -> Bool { true }
}

/// Finds the final answer of a finished trajectory; nil when it has none.
public protocol AnswerExtractor: Sendable {
    func answer(in text: String) -> String?
}

/// The last `\boxed{...}` of the text (braces balanced), trimmed; the usual math-benchmark rule.
public struct BoxedAnswerExtractor: AnswerExtractor {
    public init() {}

    public func answer(in text: String) -> String? {
        guard let start = text.range(of: "\\boxed{", options: .backwards) else { return nil }
        var depth = 1
        var index = start.upperBound
        while index < text.endIndex {
            let c = text[index]
            if c == "{" { depth += 1 }
            if c == "}" {
                depth -= 1
                if depth == 0 {
                    let inner = text[start.upperBound..<index].trimmingCharacters(in: .whitespacesAndNewlines)
                    return inner.isEmpty ? nil : inner
                }
            }
            index = text.index(after: index)
        }
        return nil
    }
}
