import Foundation
import Dispatch
import PagedKV
import SPRM
import StepSearch
import Tokenizer
import Transformer

/// Scores one reasoning step from the hidden state that produced its step token.
public protocol StepScorer: Sendable {
    /// `hidden`: [hiddenSize], the residual stream entering the last decoder layer.
    func score(hidden: UnsafeBufferPointer<Float>) -> Double
}

extension SPRMHead: StepScorer {
    public func score(hidden: UnsafeBufferPointer<Float>) -> Double { score(hidden) }
}

/// `SearchPolicy` over the real transformer: branches are sequences of one paged
/// KV cache; forks share blocks copy-on-write; every extend advances all its
/// branches with one batched forward per token; step tokens are scored inline
/// from the hidden state that produced them (no extra forward pass).
public final class ModelPolicy: SearchPolicy {
    struct Branch {
        var sequence: SequenceID
        var nextLogits: [Float]            // [vocab] logits for the next token
        var nextHidden: [Float]            // [hidden] penultimate hidden state at that position
        var detector: StepDetector.State
        var decoder: StreamingDecoder
        var recent: [Int]                  // tokens for the repetition penalty (prompt + generated)
        var thinkClosed: Bool
        var stepLogProb: Double = 0        // since the last step boundary (for the fallback scorer)
        var stepTokens = 0
    }

    public let model: LanguageModel
    public let cache: PagedKVCache
    let scorer: StepScorer?
    let detector: StepDetector
    let stopIDs: Set<Int>
    let thinkCloseID: Int?
    private var template: Branch?
    private var branches: [Int: Branch] = [:]
    private var nextID = 0
    /// Branches currently alive (root/fork minus release): a leak check for callers.
    public var liveBranches: Int { branches.count }
    /// Wall seconds spent inside `extend`, and the part of it in the transformer's forward
    /// passes: the rest is sampling, step detection, SPRM scoring and bookkeeping.
    public private(set) var extendSeconds = 0.0
    public private(set) var forwardSeconds = 0.0
    /// Called for every step token `extend` detects, before it is scored: the branch, the
    /// token's index in that branch's chunk, and the feature the step is scored from (the
    /// penultimate hidden state at the position that produced the token, [hiddenSize]; valid
    /// only during the call). `sprig train-sprm` collects training features here; nil costs nothing.
    public var stepObserver: ((BranchID, Int, UnsafeBufferPointer<Float>) -> Void)?

    /// `promptIDs` are prefilled once; every `root()` forks that prefilled sequence.
    public init(model: LanguageModel, promptIDs: [Int], cache: PagedKVCache, scorer: StepScorer?,
                detector: StepDetector) throws {
        self.model = model
        self.cache = cache
        self.scorer = scorer
        self.detector = detector
        self.stopIDs = model.stopIDs
        self.thinkCloseID = model.tokenizer.id(of: "</think>")
        guard !promptIDs.isEmpty else { throw SprigError.invalidArgument("the prompt is empty") }
        let seq = cache.createSequence()
        let out = try model.transformer.forward([ForwardEntry(sequence: seq, tokens: promptIDs)], cache: cache)
        // The prompt may open the thinking region itself (a template ending in "<think>\n").
        var state = detector.initialState()
        for t in promptIDs { _ = detector.observe(t, state: &state) }
        template = Branch(sequence: seq, nextLogits: Array(out.logits(row: 0)), nextHidden: Array(out.penultimateHidden(row: 0)),
                          detector: state, decoder: StreamingDecoder(tokenizer: model.tokenizer),
                          recent: promptIDs, thinkClosed: false)
    }

    deinit {
        for b in branches.values { cache.free(b.sequence) }
        if let t = template { cache.free(t.sequence) }
    }

    public func root() throws -> BranchID {
        guard let t = template else { throw SprigError.invalidArgument("policy has no prompt") }
        return try add(t, sequence: cache.fork(t.sequence))
    }

    public func fork(_ parent: BranchID) throws -> BranchID {
        guard let p = branches[parent.raw] else { throw SprigError.invalidArgument("unknown \(parent)") }
        return try add(p, sequence: cache.fork(p.sequence))
    }

    private func add(_ source: Branch, sequence: SequenceID) -> BranchID {
        var b = source
        b.sequence = sequence
        let id = nextID
        nextID += 1
        branches[id] = b
        return BranchID(id)
    }

    public func release(_ branch: BranchID) {
        if let b = branches.removeValue(forKey: branch.raw) { cache.free(b.sequence) }
    }

    public func canGrow(branches count: Int, tokens: Int) -> Bool {
        let blockSize = cache.pool.layout.blockSize
        // New blocks for the tokens plus one copy-on-write block per branch; a request
        // beyond the pool (or one whose arithmetic would overflow) never fits.
        let free = cache.pool.freeCount
        guard count >= 0, tokens >= 0, count <= free, tokens / blockSize <= free else { return false }
        return free >= tokens / blockSize + (tokens % blockSize == 0 ? 0 : 1) + count
    }

    /// The text of `branch`'s generated tokens is not kept; callers keep chunk texts.
    public func extend(_ ids: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        let extendStart = DispatchTime.now().uptimeNanoseconds
        defer { extendSeconds += Double(DispatchTime.now().uptimeNanoseconds - extendStart) / 1e9 }
        var states = try ids.map { id -> Branch in
            guard let b = branches[id.raw] else { throw SprigError.invalidArgument("unknown \(id)") }
            return b
        }
        var chunks = ids.map { _ in Chunk(tokens: [], text: "", stepScores: [], logProb: 0, stop: .tokenLimit) }
        var steps = [Int](repeating: 0, count: ids.count)
        var rngs = ids.indices.map { SplitMix64(seed: seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        var active = Array(ids.indices)
        let sampling = SamplingParameters(temperature: request.temperature, topP: request.topP, topK: request.topK,
                                          repetitionPenalty: request.repetitionPenalty)
        let maxPositions = model.transformer.config.maxPositions
        var workspace = SamplerWorkspace()
        // Branch i's next logits live in row outRow[i] of the last forward's output (the
        // model's workspace) while the loop runs, and reach states[i].nextLogits only when
        // the next forward would overwrite them and at the end: not one copy per token.
        var outRow = [Int](repeating: -1, count: ids.count)
        var lastOut: ForwardOutput? = nil
        var scratch: [Float] = []
        func keepLogits(_ i: Int) {
            guard outRow[i] >= 0, let out = lastOut else { return }
            states[i].nextLogits = Array(out.logits(row: outRow[i]))   // a new array: siblings may share the old one
            outRow[i] = -1
        }
        while !active.isEmpty {
            var entries: [ForwardEntry] = []
            var fed: [Int] = []
            // KV blocks promised to the branches fed so far in this step: the batched
            // forward appends for all of them at once, so each must fit with the others.
            var reserved = 0
            for i in active {
                if request.shouldStop?() == true { chunks[i].stop = .cancelled; continue }
                if chunks[i].tokens.count >= request.maxTokens { chunks[i].stop = .tokenLimit; continue }
                if cache.length(states[i].sequence) >= maxPositions { chunks[i].stop = .contextLimit; continue }
                let blocks = cache.blocksNeeded(forAppending: 1, to: states[i].sequence)
                if reserved + blocks > cache.pool.freeCount { chunks[i].stop = .budget; continue }
                if !budget.tryConsume(1) { chunks[i].stop = .budget; continue }
                reserved += blocks
                // The sampler restores the row it penalises: no copy of the logits per token.
                let (token, logProb) = { () -> (Int, Double) in
                    let recent = states[i].recent  // shares storage (no copy); released before the append below
                    if outRow[i] >= 0, let out = lastOut {
                        return Sampler.sample(out.logits(row: outRow[i]), parameters: sampling, previous: recent,
                                              rng: &rngs[i], workspace: &workspace)
                    }
                    // Stored logits are often shared with siblings (a fork's first token): the
                    // sampler works on a scratch copy instead of copying the array on write.
                    if scratch.count != states[i].nextLogits.count { scratch = states[i].nextLogits } else {
                        scratch.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: states[i].nextLogits) }
                    }
                    return scratch.withUnsafeMutableBufferPointer { buf in
                        Sampler.sample(buf, parameters: sampling, previous: recent, rng: &rngs[i], workspace: &workspace)
                    }
                }()
                chunks[i].tokens.append(token)
                chunks[i].logProb += logProb
                if states[i].thinkClosed { chunks[i].answerTokens += 1 }
                if token == thinkCloseID { states[i].thinkClosed = true }
                states[i].stepLogProb += logProb
                states[i].stepTokens += 1
                if detector.observe(token, state: &states[i].detector) {
                    steps[i] += 1
                    if let observe = stepObserver {
                        let index = chunks[i].tokens.count - 1
                        states[i].nextHidden.withUnsafeBufferPointer { observe(ids[i], index, $0) }
                    }
                    if let s = scorer {
                        chunks[i].stepScores.append(states[i].nextHidden.withUnsafeBufferPointer { s.score(hidden: $0) })
                    } else {
                        // No SPRM head: the policy's own confidence in the step (geometric
                        // mean token probability) stands in for the process score.
                        chunks[i].stepScores.append(Foundation.exp(states[i].stepLogProb / Double(states[i].stepTokens)))
                    }
                    states[i].stepLogProb = 0
                    states[i].stepTokens = 0
                }
                if stopIDs.contains(token) {
                    chunks[i].stop = .endOfSequence
                    continue
                }
                chunks[i].text += states[i].decoder.append(token)
                states[i].recent.append(token)
                entries.append(ForwardEntry(sequence: states[i].sequence, tokens: [token]))
                fed.append(i)
            }
            if entries.isEmpty { break }
            for i in ids.indices where outRow[i] >= 0 && !fed.contains(i) { keepLogits(i) }
            let forwardStart = DispatchTime.now().uptimeNanoseconds
            let out = try model.transformer.forward(entries, cache: cache)
            forwardSeconds += Double(DispatchTime.now().uptimeNanoseconds - forwardStart) / 1e9
            lastOut = out
            var still: [Int] = []
            for (row, i) in fed.enumerated() {
                outRow[i] = row
                // In place when this branch owns its array (a forked child's first step copies).
                let hidden = out.penultimateHidden(row: row)
                states[i].nextHidden.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: hidden) }
                if let k = request.stopAfterSteps, steps[i] >= k {
                    chunks[i].stop = .stepBoundary
                } else {
                    still.append(i)
                }
            }
            active = still
        }
        for i in ids.indices { keepLogits(i) }
        for (i, id) in ids.enumerated() { branches[id.raw] = states[i] }
        return chunks
    }
}
