import Foundation
import Dispatch
import Kernels
import PagedKV
import SPRM
import StepSearch
import Tokenizer
import Transformer

/// Scores one reasoning step from the hidden state that produced its step token.
public protocol StepScorer: Sendable {
    /// `hidden`: [hiddenSize], the residual stream entering the last decoder layer.
    func score(hidden: UnsafeBufferPointer<Float>) -> Double
    /// The scores of `count` features stored back to back ([count, hiddenSize]): `extend`
    /// scores its steps together once its tokens are drawn. By default one `score` each.
    func scores(features: UnsafePointer<Float>, count: Int, width: Int) -> [Double]
}

extension StepScorer {
    public func scores(features: UnsafePointer<Float>, count: Int, width: Int) -> [Double] {
        (0..<count).map { score(hidden: UnsafeBufferPointer(start: features + $0 * width, count: width)) }
    }
}

extension SPRMHead: StepScorer {
    public func score(hidden: UnsafeBufferPointer<Float>) -> Double { score(hidden) }
    /// One sgemm for the batch: the head's weights are read once, not once per step.
    public func scores(features: UnsafePointer<Float>, count: Int, width: Int) -> [Double] {
        precondition(width == inputWidth, "SPRMHead.scores: features have \(width) floats, head expects \(inputWidth)")
        return scores(rows: features, count: count)
    }
}

/// `SearchPolicy` over the real transformer: branches are sequences of one paged
/// KV cache; forks share blocks copy-on-write; every extend advances all its
/// branches with one batched forward per token; step tokens are scored from the
/// hidden state that produced them, kept as they are drawn and scored in one batch
/// when the extend ends (no extra forward pass).
public final class ModelPolicy: SearchPolicy {
    struct Branch {
        var sequence: SequenceID
        var nextLogits: [Float]            // [vocab] logits for the next token
        var nextHidden: [Float]            // [hidden] penultimate hidden state at that position
        var detector: StepDetector.State
        var decoder: StreamingDecoder
        var penalised: DistinctTokens      // the repetition penalty's tokens (prompt + generated, each once)
        var thinkClosed: Bool
        var stepLogProb: Double = 0        // since the last step boundary (for the fallback scorer)
        var stepTokens = 0
    }

    public let model: LanguageModel
    public let cache: PagedKVCache
    let scorer: StepScorer?
    let detector: StepDetector
    let stopIDs: [Int]   // a few ids: a linear scan beats hashing every token
    let thinkCloseID: Int?
    private var template: Branch?
    private var branches: [Int: Branch] = [:]
    private var nextID = 0
    /// One per pool thread, kept from extend to extend (the sampler's buffers are sized once).
    var drawScratch: [DrawScratch] = []
    /// Whether forwards draw the fed branches' next tokens from inside (`presample`); off,
    /// `drawAll` samples them after the forward returns: the same tokens (tested), slower.
    var presamples = true
    /// [steps, hidden] an extend's step features, gathered for one batch (`scoreSteps`).
    var featureScratch: [Float] = []
    /// Branches currently alive (root/fork minus release): a leak check for callers.
    public var liveBranches: Int { branches.count }
    /// Wall seconds spent inside `extend`, and the part of it in the transformer's forward
    /// passes: the rest is sampling, step detection, SPRM scoring and bookkeeping. The
    /// forwards are timed by the time-stamp counter, scaled by each extend's clock span
    /// (`TickSpan`: a clock read per forward cost more than the counter's).
    public private(set) var extendSeconds = 0.0
    public private(set) var forwardSeconds = 0.0
    /// SPRM head evaluations during extends (a part of extend time outside forwards).
    public internal(set) var scoringSeconds = 0.0
    /// The cache's accounting when it held the most blocks so far (see `SearchKV`).
    public private(set) var fullestKV: KVStats?
    private var nextKVSnapshot = 0   // blocks in use that trigger the next snapshot
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
        self.stopIDs = model.stopIDs.sorted()
        self.thinkCloseID = model.tokenizer.id(of: "</think>")
        guard !promptIDs.isEmpty else { throw SprigError.invalidArgument("the prompt is empty") }
        let seq = cache.createSequence()
        let out = try model.transformer.forward([ForwardEntry(sequence: seq, tokens: promptIDs)], cache: cache)
        // The prompt may open the thinking region itself (a template ending in "<think>\n").
        var state = detector.initialState()
        for t in promptIDs { _ = detector.observe(t, state: &state) }
        template = Branch(sequence: seq, nextLogits: Array(out.logits(row: 0)), nextHidden: Array(out.penultimateHidden(row: 0)),
                          detector: state, decoder: StreamingDecoder(tokenizer: model.tokenizer),
                          penalised: DistinctTokens(promptIDs), thinkClosed: false)
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
        Self.fits(branches: count, tokens: tokens, freeBlocks: cache.pool.freeCount, blockSize: cache.pool.layout.blockSize)
    }

    /// Whether `count` branches growing by `tokens` in all fit `freeBlocks`: new blocks for
    /// the tokens plus one copy-on-write block per branch. A request beyond the pool (or one
    /// whose arithmetic would overflow) never fits.
    static func fits(branches count: Int, tokens: Int, freeBlocks free: Int, blockSize: Int) -> Bool {
        guard count >= 0, tokens >= 0, count <= free, tokens / blockSize <= free else { return false }
        return free >= tokens / blockSize + (tokens % blockSize == 0 ? 0 : 1) + count
    }

    /// The text of `branch`'s generated tokens is not kept; callers keep chunk texts.
    public func extend(_ ids: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        var timing = TickSpan()   // the forwards' part of this extend
        defer {
            let (wall, forward) = timing.seconds()
            extendSeconds += wall
            forwardSeconds += forward
        }
        var lanes = try ids.enumerated().map { k, id -> Lane in
            guard let b = branches[id.raw] else { throw SprigError.invalidArgument("unknown \(id)") }
            return Lane(id: id, branch: b, rng: SplitMix64(seed: seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15))
        }
        var active = Array(ids.indices)
        let sampling = DrawSettings(SamplingParameters(temperature: request.temperature, topP: request.topP, topK: request.topK,
                                                       repetitionPenalty: request.repetitionPenalty),
                                    vocabulary: model.transformer.config.vocabSize)
        let maxPositions = model.transformer.config.maxPositions
        var lastOut: ForwardOutput? = nil
        func keepLogits(_ i: Int) {
            guard lanes[i].outRow >= 0, let out = lastOut else { return }
            lanes[i].branch.nextLogits = Array(out.logits(row: lanes[i].outRow))   // a new array: siblings may share the old one
            let hidden = out.penultimateHidden(row: lanes[i].outRow)
            lanes[i].branch.nextHidden.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: hidden) }
            lanes[i].outRow = -1
        }
        // Per-step lists, emptied and refilled (no allocation per step once grown).
        var drawing: [Int] = [], fed: [Int] = [], still: [Int] = []
        // The forward's entries, one per fed lane, each with its own one-token array: while
        // the same lanes are fed step after step (`entriesFed`), each token is written in
        // place; they are rebuilt only when a lane drops out.
        var entries: [ForwardEntry] = [], entriesFed: [Int] = []
        while !active.isEmpty {
            // Cancellation is asked once a step, for all of its lanes.
            if request.shouldStop?() == true {
                for i in active { lanes[i].chunk.stop = .cancelled }
                break
            }
            // The lanes that take a token this step. KV blocks are promised to the lanes
            // taken so far: the batched forward appends for all of them at once, so each
            // must fit with the others.
            drawing.removeAll(keepingCapacity: true)
            var reserved = 0
            let free = cache.pool.freeCount
            for i in active {
                if lanes[i].chunk.tokens.count >= request.maxTokens { lanes[i].chunk.stop = .tokenLimit; continue }
                let sequence = lanes[i].branch.sequence
                if cache.length(sequence) >= maxPositions { lanes[i].chunk.stop = .contextLimit; continue }
                // At most: of siblings extending one shared block, only the first writes in place.
                let blocks = cache.blocksNeededAtMost(forAppending: 1, to: sequence)
                if reserved + blocks > free { lanes[i].chunk.stop = .budget; continue }
                reserved += blocks
                drawing.append(i)
            }
            // One token each from the budget, in lane order: the lanes past its end stop. (Their
            // blocks, promised above, could only have turned later lanes away, which stop for
            // the budget all the same.)
            let granted = budget.consume(upTo: drawing.count)
            for i in drawing[granted...] { lanes[i].chunk.stop = .budget }
            drawing.removeLast(drawing.count - granted)
            drawAll(&lanes, drawing, sampling: sampling, out: lastOut)
            fed.removeAll(keepingCapacity: true)
            for i in drawing where !lanes[i].stopped { fed.append(i) }
            if fed.isEmpty { break }
            if fed != entriesFed {
                // A lane dropped out (the fed lanes are a subset of the last step's): lanes not
                // fed this step keep their logits before the forward overwrites them.
                for i in fed { lanes[i].fed = true }
                for i in ids.indices where lanes[i].outRow >= 0 && !lanes[i].fed { keepLogits(i) }
                for i in fed { lanes[i].fed = false }
                entries = fed.map { ForwardEntry(sequence: lanes[$0].branch.sequence, tokens: [0]) }
                entriesFed = fed
            }
            for (k, i) in fed.enumerated() { entries[k].tokens[0] = lanes[i].chunk.tokens[lanes[i].chunk.tokens.count - 1] }
            let out = try forwardAndPresample(entries, lanes: &lanes, fed: fed, sampling: sampling, timing: &timing)
            lastOut = out
            still.removeAll(keepingCapacity: true)
            for (row, i) in fed.enumerated() {
                lanes[i].outRow = row   // its logits and hidden state stay in `out` until kept
                if let k = request.stopAfterSteps, lanes[i].steps >= k {
                    lanes[i].chunk.stop = .stepBoundary
                } else {
                    still.append(i)
                }
            }
            swap(&active, &still)
        }
        for i in ids.indices { keepLogits(i) }
        for i in lanes.indices { Self.decodeText(&lanes[i]) }
        scoreSteps(&lanes)
        for lane in lanes { branches[lane.id.raw] = lane.branch }
        let used = cache.pool.usedCount
        if used > nextKVSnapshot {
            fullestKV = cache.stats
            nextKVSnapshot = used + max(8, used / 8)
        }
        return lanes.map(\.chunk)
    }
}
