import Foundation
import PagedKV
import Synchronization
import SPRM
import StepSearch
import Tokenizer
import Transformer

/// Everything a budgeted search needs on one model: the model and tokenizer, its
/// SPRM head (if any), how questions become prompts, and the KV memory cap.
/// One engine runs many searches, one at a time (a second `search` while one runs, from
/// another thread or from a callback, throws); each search gets a fresh cache view of one
/// pool, and every block is back in the pool when a search returns.
public final class SearchEngine: @unchecked Sendable {
    public let model: LanguageModel
    public let head: SPRMHead?
    public let format: TaskFormat
    public let pool: BlockPool
    public let detector: StepDetector
    /// Where the last search's wall time went.
    public private(set) var lastTiming: SearchTiming?
    /// The last search's KV cache when it held the most blocks.
    public private(set) var lastKV: SearchKV?
    /// Set while a search runs: searches share the pool, so they cannot overlap.
    private let searching = Atomic<Bool>(false)

    /// Tokens per KV block. Small, because a fork leaves its parent's partly filled last
    /// block to be copied by each child but the first to write, and a leaf's last block half
    /// empty: up to ~blockSize − 1 rows lost per node (Experiments/paged-cache). Attention
    /// chunks span blocks, so 4 costs no more attention time than 16.
    public static let defaultBlockSize = 4

    /// - Parameters:
    ///   - sprmPath: a head file/folder; nil looks for `sprm.safetensors` / `score_module.pt` beside the model.
    ///   - kvMemoryBytes: the KV cache cap (blocks allocated up front).
    public init(model: LanguageModel, sprmPath: String? = nil, kvMemoryBytes: Int = 1 << 30,
                blockSize: Int = SearchEngine.defaultBlockSize) throws(SprigError) {
        self.model = model
        var head: SPRMHead? = nil
        if let p = sprmPath {
            do { head = try SPRMHead.load(path: p) } catch { throw .invalidArgument(error.description) }
        } else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: model.path, isDirectory: &isDir), isDir.boolValue {
                for name in ["sprm.safetensors", "score_module.pt"] where head == nil {
                    let candidate = model.path + "/" + name
                    if FileManager.default.fileExists(atPath: candidate) {
                        do { head = try SPRMHead.load(path: candidate) } catch { throw .invalidArgument(error.description) }
                    }
                }
            }
        }
        if let h = head, h.inputWidth != model.transformer.config.hiddenSize {
            throw .invalidArgument("SPRM head expects features of width \(h.inputWidth) but the model's hidden size is \(model.transformer.config.hiddenSize)")
        }
        self.head = head
        self.format = try TaskFormat.load(modelPath: model.path) ?? .chat
        guard (1...1024).contains(blockSize) else { throw .invalidArgument("blockSize must be in 1...1024 (got \(blockSize))") }
        let layout = model.transformer.kvLayout(blockSize: blockSize)
        guard kvMemoryBytes >= layout.blockBytes * 4 else {
            throw .invalidArgument("--kv-memory \(kvMemoryBytes) bytes holds fewer than 4 KV blocks of \(layout.blockBytes) bytes")
        }
        // The pool is allocated up front; more than the machine has would abort in malloc.
        let physical = ProcessInfo.processInfo.physicalMemory
        guard UInt64(kvMemoryBytes) <= physical else {
            throw .invalidArgument("--kv-memory \(kvMemoryBytes) bytes exceeds this machine's \(physical) bytes of memory")
        }
        self.pool = BlockPool(layout: layout, memoryBytes: kvMemoryBytes)
        self.detector = Self.detector(model: model, patterns: format.stepPatterns ?? [".\n\n"])
    }

    /// A step detector over `model`'s vocabulary and `<think>` tags that splits steps at `patterns`.
    static func detector(model: LanguageModel, patterns: [String]) -> StepDetector {
        let tok = model.tokenizer
        let bytes = (0..<model.transformer.config.vocabSize).map { tok.tokenBytes($0) }
        return StepDetector(patterns: patterns, thinkOpenID: tok.id(of: "<think>"),
                            thinkCloseID: tok.id(of: "</think>"), tokenBytes: bytes)
    }

    /// The prompt text for a question (canonicalised for known tasks, else the chat template).
    public func prompt(for question: String) throws(SprigError) -> String {
        try format.prompt(for: question, chatPrompt: { model.tokenizer.chatPrompt(user: $0) })
    }

    /// The prompt's token ids for a question; an error when they fill the model's context.
    public func promptIDs(for question: String) throws(SprigError) -> [Int] {
        let ids = model.tokenizer.encode(try prompt(for: question))
        let limit = model.transformer.config.maxPositions
        guard ids.count < limit else { throw .model(.contextOverflow(needed: ids.count, limit: limit)) }
        return ids
    }

    /// Sampling settings: the preset's, with the model's own defaults where the preset keeps the library defaults.
    func sampling(for config: SearchConfig) -> SamplingSettings {
        var s = config.sampling
        if config.strategy != .greedy, let d = format.sampling, s == SamplingSettings() {
            if let t = d.temperature { s.temperature = t }
            if let p = d.topP { s.topP = p }
        }
        return s
    }

    /// Runs one search. `budget`/`seed` override the preset's; `extractor` the model's
    /// own answer reading (`format.extractor(for:)`); `wrap` may put a layer
    /// (recording, logging) between the strategy and the model policy.
    public func search(question: String, config: SearchConfig, budget: Int? = nil, seed: UInt64? = nil,
                       extractor: AnswerExtractor? = nil,
                       isCancelled: @escaping @Sendable () -> Bool = { false },
                       onProgress: ((SearchProgress) -> Void)? = nil,
                       wrap: ((ModelPolicy) -> SearchPolicy)? = nil) throws -> SearchResult {
        guard searching.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw SprigError.invalidArgument("this SearchEngine is already running a search; use one engine per concurrent search")
        }
        defer { searching.store(false, ordering: .releasing) }
        lastTiming = nil
        lastKV = nil
        var config = config
        config.sampling = sampling(for: config)
        if let b = budget { config.budget = b }
        try config.validate(file: "search")
        let promptIDs = try promptIDs(for: question)
        // The prompt plus one block to generate into must fit the pool, or nothing can run.
        let promptBlocks = (promptIDs.count + pool.layout.blockSize - 1) / pool.layout.blockSize
        guard promptBlocks < pool.blockCount else {
            throw SprigError.invalidArgument("the prompt's \(promptIDs.count) tokens need \(promptBlocks + 1) KV blocks but the KV memory cap holds \(pool.blockCount); raise --kv-memory")
        }
        if config.strategy == .mcts {
            // MCTS expands only when all children fit at their longest (pruning frees room
            // later, not at the root): an expansion larger than the whole cap never runs, and
            // the search would end with nothing generated.
            let k = config.mcts.children, tokens = k * config.mcts.childTokens, bs = pool.layout.blockSize
            let free = pool.blockCount - promptBlocks
            if !ModelPolicy.fits(branches: k, tokens: tokens, freeBlocks: free, blockSize: bs) {
                let need = (tokens + bs - 1) / bs + k
                let bytesPerBlock = bs * pool.layout.bytesPerToken
                let mb = { (blocks: Int) in String(format: "%.1f MB", Double(blocks * bytesPerBlock) / 1e6) }
                throw SprigError.invalidArgument("one MCTS expansion (\(k) children × \(config.mcts.childTokens) tokens) needs \(mb(need)) of KV cache but the KV memory cap leaves \(mb(free)) after the prompt; raise --kv-memory or lower --children / --child-tokens")
            }
        }
        let cache = PagedKVCache(pool: pool)
        let context = config.makeContext(extractor: extractor ?? format.extractor(for: question), question: question, seedOverride: seed,
                                         isCancelled: isCancelled, onProgress: onProgress)
        let result: SearchResult
        do {
            let start = Date()
            let policy = try ModelPolicy(model: model, promptIDs: promptIDs, cache: cache, scorer: head, detector: detector)
            let prefill = Date().timeIntervalSince(start)
            result = try config.makeStrategy().run(policy: wrap?(policy) ?? policy, context: context)
            lastTiming = SearchTiming(wallSeconds: Date().timeIntervalSince(start), prefillSeconds: prefill,
                                      extendSeconds: policy.extendSeconds, forwardSeconds: policy.forwardSeconds,
                                      scoringSeconds: policy.scoringSeconds)
            lastKV = policy.fullestKV.map { SearchKV($0, bytesPerToken: pool.layout.bytesPerToken) }
        }
        // Strategies release every branch and the policy frees its prompt; anything
        // left would be a bug, but it must not keep blocks from the next search.
        if cache.sequenceCount > 0 { cache.keepOnly([]) }
        return result
    }
}

/// Where a search's wall time went (issue 6: the model vs everything else).
public struct SearchTiming: Codable, Sendable {
    public var wallSeconds: Double
    /// The prompt's prefill (a forward pass, outside any extend).
    public var prefillSeconds: Double
    /// Inside the policy's extends: forward passes plus sampling, step detection, scoring.
    public var extendSeconds: Double
    /// Transformer forward passes during extends.
    public var forwardSeconds: Double
    /// SPRM head evaluations during extends (inside `extendSeconds`, outside forwards).
    public var scoringSeconds: Double

    public init(wallSeconds: Double, prefillSeconds: Double, extendSeconds: Double, forwardSeconds: Double,
                scoringSeconds: Double = 0) {
        self.wallSeconds = wallSeconds
        self.prefillSeconds = prefillSeconds
        self.extendSeconds = extendSeconds
        self.forwardSeconds = forwardSeconds
        self.scoringSeconds = scoringSeconds
    }

    /// Share of wall time outside the model's forward passes (sampling, SPRM scoring,
    /// step detection, tree bookkeeping in the strategy).
    public var outsideModelFraction: Double { share(wallSeconds - forwardSeconds - prefillSeconds) }
    /// Share in the model: the prompt's prefill and the extends' forward passes.
    public var modelFraction: Double { share(forwardSeconds + prefillSeconds) }
    /// Share inside extends but outside forwards: sampling, step detection, SPRM scoring.
    public var samplingFraction: Double { share(extendSeconds - forwardSeconds) }
    /// The part of `samplingFraction` in the SPRM head.
    public var scoringFraction: Double { share(scoringSeconds) }
    /// Share outside extends and the prefill: the strategy's tree bookkeeping.
    public var treeFraction: Double { share(wallSeconds - extendSeconds - prefillSeconds) }

    private func share(_ seconds: Double) -> Double { wallSeconds > 0 ? max(0, seconds) / wallSeconds : 0 }

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_s", prefillSeconds = "prefill_s", extendSeconds = "extend_s"
        case forwardSeconds = "forward_s", modelShare = "model_share", outsideModelShare = "outside_model_share"
        case samplingShare = "sampling_share", treeShare = "tree_share"
        case scoringSeconds = "sprm_s", scoringShare = "sprm_share"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(wallSeconds: try c.decode(Double.self, forKey: .wallSeconds),
                  prefillSeconds: try c.decode(Double.self, forKey: .prefillSeconds),
                  extendSeconds: try c.decode(Double.self, forKey: .extendSeconds),
                  forwardSeconds: try c.decode(Double.self, forKey: .forwardSeconds),
                  scoringSeconds: try c.decodeIfPresent(Double.self, forKey: .scoringSeconds) ?? 0)
    }

    /// The five times and the shares derived from them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(prefillSeconds, forKey: .prefillSeconds)
        try c.encode(extendSeconds, forKey: .extendSeconds)
        try c.encode(forwardSeconds, forKey: .forwardSeconds)
        try c.encode(modelFraction, forKey: .modelShare)
        try c.encode(outsideModelFraction, forKey: .outsideModelShare)
        try c.encode(samplingFraction, forKey: .samplingShare)
        try c.encode(treeFraction, forKey: .treeShare)
        try c.encode(scoringSeconds, forKey: .scoringSeconds)
        try c.encode(scoringFraction, forKey: .scoringShare)
    }
}
