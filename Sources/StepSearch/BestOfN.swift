import Foundation

/// Best-of-N: N full trajectories from the prompt (batched `parallel` at a time), then one is
/// picked by `BestOfNSelection`. Only finished trajectories (EOS / context limit) compete; if
/// none finished, the best by SPRM score is completed outside the budget.
/// Trace: the root and one child per trajectory.
public struct BestOfN: SearchStrategy {
    public let config: BestOfNConfig

    public init(config: BestOfNConfig = BestOfNConfig()) { self.config = config }

    public var name: String { StrategyKind.bestOfN.rawValue }

    public func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult {
        try Preflight.check(context)
        let tree = SearchTree(aggregation: context.aggregation, rootBranch: try policy.root())
        defer { tree.releaseAll(policy: policy) }
        let progress = ProgressReporter(context: context)
        let parallel = max(1, config.parallel ?? config.n ?? 8)
        var produced = 0
        var round = 0
        var interrupted = false

        while true {
            if context.isCancelled() { interrupted = true; break }
            if context.budget.remaining <= 0 { break }
            var batch = min(parallel, config.n.map { $0 - produced } ?? parallel)
            if batch <= 0 { break }
            let perBranch = min(config.trajectoryTokens, context.budget.remaining)
            while batch > 1 && !policy.canGrow(branches: batch, tokens: batch * perBranch) { batch -= 1 }
            let request = ExtendRequest(maxTokens: config.trajectoryTokens, sampling: context.sampling,
                                        shouldStop: context.isCancelled)
            let ids = try tree.expand([0], branchesPerParent: batch, request: request,
                                      seed: Seeds.derive(context.seed, round), policy: policy,
                                      budget: context.budget)
            for id in ids { tree[id].visits = 1 }
            tree[0].visits += ids.count
            produced += ids.count
            round += 1
            progress.report(nodes: tree.count, bestScore: tree[0].children.map { tree[$0].score }.max() ?? 0)
            if ids.contains(where: { tree[$0].stop == StopReason.cancelled.rawValue }) { interrupted = true; break }
        }

        let chosen = pick(tree: tree, context: context)
        return try Finisher.result(tree: tree, chosen: chosen, policy: policy, context: context,
                                   strategy: name, interrupted: interrupted, pruned: 0,
                                   nodeValue: { $0.score })
    }

    /// The chosen child id (0 = the root when nothing was generated).
    func pick(tree: SearchTree, context: SearchContext) -> Int {
        let children = tree[0].children
        let candidates = children.map { id in
            BestOfNSelector.Candidate(text: tree.text(to: id), score: tree[id].score, logProb: tree[id].pathLogProb,
                                      tokens: tree[id].pathTokens, terminal: tree[id].terminal)
        }
        let index = BestOfNSelector.pick(candidates, rule: config.selection, seed: context.seed,
                                         extractor: context.extractor)
        return index.map { children[$0] } ?? 0
    }
}
