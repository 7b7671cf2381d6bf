import Foundation
import PagedKV
import SPRM
import StepSearch

/// One problem of a `sprig train-sprm` data set: a JSONL line `{"question": …, "answer": …}`
/// (the answer may be a JSON string or number).
public struct TrainSPRMProblem: Sendable, Equatable {
    public var question: String
    public var answer: String

    public init(question: String, answer: String) {
        self.question = question
        self.answer = answer
    }

    /// Reads a JSONL file; blank lines are skipped, any other bad line is an error naming it.
    public static func load(path: String) throws(SprigError) -> [TrainSPRMProblem] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw .notFound(path)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path, "cannot read the file") }
        var out: [TrainSPRMProblem] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            guard let line = try? JSONDecoder().decode(Line.self, from: Data(text.utf8)) else {
                throw .io("\(path):\(n + 1)", "expected a JSON object with a string \"question\" and a string or number \"answer\"")
            }
            out.append(TrainSPRMProblem(question: line.question, answer: line.answer.text))
        }
        guard !out.isEmpty else { throw .io(path, "no problems (expected JSONL lines {\"question\": …, \"answer\": …})") }
        return out
    }

    private struct Line: Decodable {
        var question: String
        var answer: Answer
    }

    /// A string, integer or decimal answer (booleans and objects are rejected).
    private struct Answer: Decodable {
        var text: String
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { text = s; return }
            if let i = try? c.decode(Int.self) { text = String(i); return }
            text = String(try c.decode(Double.self))
        }
    }
}

/// Final-answer comparison for outcome labels: normalised exact match.
public enum AnswerMatch {
    /// Trimmed, lower-cased, `$`, `\boxed{}` wrapper, thousands separators and trailing
    /// punctuation removed; numbers rendered canonically ("12.0" → "12", "-0" → "0").
    public static func normalize(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if t.hasPrefix("\\boxed{") && t.hasSuffix("}") { t = String(t.dropFirst(7).dropLast()) }
        t = t.replacingOccurrences(of: "$", with: "")
        while let last = t.last, ".;:!".contains(last) { t.removeLast() }
        t = t.trimmingCharacters(in: .whitespaces)
        let digitsOnly = t.replacingOccurrences(of: ",", with: "")
        if let v = Double(digitsOnly), v.isFinite {
            if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
            return String(v)
        }
        return t
    }

    /// Whether an extracted answer equals the reference after `normalize`; nil never matches.
    public static func matches(_ extracted: String?, reference: String) -> Bool {
        guard let e = extracted else { return false }
        return normalize(e) == normalize(reference)
    }
}

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
        if let patterns = settings.stepPatterns {
            let tok = engine.model.tokenizer
            let bytes = (0..<engine.model.transformer.config.vocabSize).map { tok.tokenBytes($0) }
            detector = StepDetector(patterns: patterns, thinkOpenID: tok.id(of: "<think>"),
                                    thinkCloseID: tok.id(of: "</think>"), tokenBytes: bytes)
        } else {
            detector = engine.detector
        }
    }

    /// The k trajectories of one problem, labelled by final-answer correctness.
    /// Sampling is deterministic in (settings.seed, problemID).
    public func sample(_ problem: TrainSPRMProblem, problemID: Int) throws -> [SampledTrajectory] {
        let k = settings.samples
        guard k >= 1, settings.maxTokens >= 1 else { throw SprigError.invalidArgument("samples and max tokens must be positive") }
        let promptIDs = engine.model.tokenizer.encode(try engine.prompt(for: problem.question))
        let limit = engine.model.transformer.config.maxPositions
        guard promptIDs.count < limit else {
            throw SprigError.model(.contextOverflow(needed: promptIDs.count, limit: limit))
        }
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
        let extractor = FinalAnswerExtractor()
        return chunks.enumerated().map { i, c in
            let answer = extractor.answer(in: c.text)
            return SampledTrajectory(problemID: problemID, features: features[i], answer: answer,
                                     correct: AnswerMatch.matches(answer, reference: problem.answer),
                                     tokenCount: c.tokens.count,
                                     meanLogProb: c.tokens.isEmpty ? 0 : c.logProb / Double(c.tokens.count), text: c.text)
        }
    }
}
