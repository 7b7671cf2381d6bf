import Foundation
import PagedKV
import SPRM
import StepSearch

/// One sampled trajectory with its step features and outcome label.
public struct SampledTrajectory: Sendable {
    /// Index of the problem in its data set (train and eval sets are numbered separately).
    public var problemID: Int
    /// One feature per step token, in order ([steps][hiddenSize]): the penultimate hidden
    /// state at the position that produced the step token.
    public var features: [[Float]]
    /// The extracted final answer (nil when the text has none).
    public var answer: String?
    public var correct: Bool
    /// Generated tokens and their mean log-probability (the policy's confidence baseline).
    public var tokenCount: Int
    public var meanLogProb: Double
    /// The generated text (not stored in the features file).
    public var text: String

    public init(problemID: Int, features: [[Float]], answer: String?, correct: Bool,
                tokenCount: Int, meanLogProb: Double, text: String = "") {
        self.problemID = problemID
        self.features = features
        self.answer = answer
        self.correct = correct
        self.tokenCount = tokenCount
        self.meanLogProb = meanLogProb
        self.text = text
    }
}

/// How trajectories are sampled for training.
public struct TrainSPRMSampling: Sendable {
    /// k: trajectories per problem, decoded together over forks of one prefilled prompt.
    public var samples = 8
    /// Most generated tokens per trajectory.
    public var maxTokens = 256
    public var temperature = 0.7
    public var topP = 0.95
    public var repetitionPenalty = 1.0
    public var seed: UInt64 = 0
    /// Step patterns replacing the model format's (nil: the format's, default ".\n\n").
    public var stepPatterns: [String]? = nil

    public init() {}
}

/// Samples k trajectories per problem with the engine's model (batched: the prompt is
/// prefilled once and forked k times, one forward per token for all k), collecting the
/// SPRM feature of every step token through `ModelPolicy.stepObserver`.
public struct TrainSPRMSampler {
    public let engine: SearchEngine
    public let settings: TrainSPRMSampling
    /// The engine's detector, or one with `settings.stepPatterns` and the same think tags.
    public let detector: StepDetector

    public init(engine: SearchEngine, settings: TrainSPRMSampling) {
        self.engine = engine
        self.settings = settings
        detector = settings.stepPatterns.map { SearchEngine.detector(model: engine.model, patterns: $0) } ?? engine.detector
    }

    /// The k trajectories of one problem, labelled by final-answer correctness.
    /// Sampling is deterministic in (settings.seed, problemID).
    public func sample(_ problem: Problem, problemID: Int) throws -> [SampledTrajectory] {
        let k = settings.samples
        guard k >= 1, settings.maxTokens >= 1 else { throw SprigError.invalidArgument("samples and max tokens must be positive") }
        let promptIDs = try engine.promptIDs(for: problem.question)
        let cache = PagedKVCache(pool: engine.pool)
        defer { if cache.sequenceCount > 0 { cache.keepOnly([]) } }
        var features = [[[Float]]](repeating: [], count: k)
        var chunks: [Chunk] = []
        do {
            let policy = try ModelPolicy(model: engine.model, promptIDs: promptIDs, cache: cache, scorer: nil,
                                         detector: detector)
            let roots = try (0..<k).map { _ in try policy.root() }
            var slot: [Int: Int] = [:]
            for (i, r) in roots.enumerated() { slot[r.raw] = i }
            policy.stepObserver = { branch, _, hidden in
                if let i = slot[branch.raw] { features[i].append(Array(hidden)) }
            }
            let request = ExtendRequest(maxTokens: settings.maxTokens, temperature: settings.temperature,
                                        topP: settings.topP, repetitionPenalty: settings.repetitionPenalty)
            let seed = settings.seed &+ UInt64(problemID) &* 0xD1B5_4A32_D192_ED03
            chunks = try policy.extend(roots, request, budget: TokenBudget(limit: k * settings.maxTokens), seed: seed)
            for r in roots { policy.release(r) }
        }
        let extractor = engine.format.extractor(for: problem.question)
        return chunks.enumerated().map { i, c in
            let answer = extractor.answer(in: c.text)
            return SampledTrajectory(problemID: problemID, features: features[i], answer: answer,
                                     correct: AnswerCheck.isCorrect(answer, expected: problem.answer),
                                     tokenCount: c.tokens.count,
                                     meanLogProb: c.tokens.isEmpty ? 0 : c.logProb / Double(c.tokens.count), text: c.text)
        }
    }
}
