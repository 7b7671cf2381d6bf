import Foundation

/// One trajectory from the prompt: greedy (temperature 0) or one sample with the context's
/// sampling settings. The "no search" baseline (budget-0 row of the paper's Table 4): the
/// budget caps the trajectory; if it is cut, the completion finishes it outside the budget.
public struct SingleTrajectory: SearchStrategy {
    public let greedy: Bool
    public let config: SingleConfig

    public init(greedy: Bool, config: SingleConfig = SingleConfig()) {
        self.greedy = greedy
        self.config = config
    }

    public var name: String { greedy ? StrategyKind.greedy.rawValue : StrategyKind.sample.rawValue }

    public func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult {
        try Preflight.check(context)
        var context = context
        if greedy { context.sampling = .greedy }
        let tree = SearchTree(aggregation: context.aggregation, rootBranch: try policy.root())
        defer { tree.releaseAll(policy: policy) }
        let progress = ProgressReporter(context: context)

        var chosen = 0
        var interrupted = context.isCancelled()
        if !interrupted {
            let request = ExtendRequest(maxTokens: config.trajectoryTokens, sampling: context.sampling,
                                        shouldStop: context.isCancelled)
            let ids = try tree.expand([0], branchesPerParent: 1, request: request,
                                      seed: Seeds.derive(context.seed, 0), policy: policy, budget: context.budget)
            chosen = ids[0]
            tree[0].visits = 1
            tree[chosen].visits = 1
            interrupted = tree[chosen].stop == StopReason.cancelled.rawValue || context.isCancelled()
        }
        progress.report(nodes: tree.count, bestScore: tree[chosen].score)
        return try Finisher.result(tree: tree, chosen: chosen, policy: policy, context: context,
                                   strategy: name, interrupted: interrupted, pruned: 0,
                                   nodeValue: { $0.score })
    }
}
