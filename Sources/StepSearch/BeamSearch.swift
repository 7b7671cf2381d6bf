import Foundation

/// Step-level beam search. The root is the only beam at first; each round every active beam
/// gets `expansions` one-step children in ONE batched extend (`stopAfterSteps: 1`), the
/// `width` best candidates by aggregated SPRM path score are kept (ties to the earlier node)
/// and the others are pruned. Kept candidates that finished leave the beam as completed
/// trajectories, so the beam narrows as answers arrive. Stops when no beam is active, the
/// budget is spent, `maxDepth` rounds ran, or on cancellation. The chosen trajectory is the
/// best completed one, else the best of the last kept set (then completed outside the budget).
public struct BeamSearch: SearchStrategy {
    public let config: BeamConfig

    public init(config: BeamConfig = BeamConfig()) { self.config = config }

    public var name: String { StrategyKind.beam.rawValue }

    public func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult {
        try Preflight.check(context)
        let tree = SearchTree(aggregation: context.aggregation, rootBranch: try policy.root())
        defer { tree.releaseAll(policy: policy) }
        let progress = ProgressReporter(context: context)
        var active = [0]
        var lastKept: [Int] = []
        var completed: [Int] = []
        var pruned = 0
        var round = 0
        var interrupted = false
        let request = ExtendRequest(maxTokens: config.stepTokens, stopAfterSteps: 1, sampling: context.sampling,
                                    shouldStop: context.isCancelled)

        while !active.isEmpty {
            if context.isCancelled() { interrupted = true; break }
            if context.budget.remaining <= 0 { break }
            if let d = config.maxDepth, round >= d { break }
            // Memory pressure: drop the weakest beams (never the best) until the round fits.
            let m = config.expansions
            while active.count > 1, !policy.canGrow(branches: active.count * m, tokens: active.count * m * config.stepTokens) {
                let weakest = active.removeLast()
                tree[weakest].pruned = true
                tree.releaseBranch(of: weakest, policy: policy)
                pruned += 1
            }
            let ids = try tree.expand(active, branchesPerParent: m, request: request,
                                      seed: Seeds.derive(context.seed, round), policy: policy, budget: context.budget)
            for p in active {
                tree[p].visits += m
                // A beam is never revisited: its children hold the shared cache now.
                tree.releaseBranch(of: p, policy: policy)
            }
            for id in ids { tree[id].visits = 1 }
            let ranked = ids.sorted { tree[$0].score != tree[$1].score ? tree[$0].score > tree[$1].score : $0 < $1 }
            let kept = Array(ranked.prefix(config.width))
            for id in ranked.dropFirst(config.width) {
                tree[id].pruned = true
                tree.releaseBranch(of: id, policy: policy)
                pruned += 1
            }
            lastKept = kept
            completed += kept.filter { tree[$0].terminal }
            active = kept.filter { !tree[$0].terminal && tree[$0].stop != StopReason.budget.rawValue
                && tree[$0].stop != StopReason.cancelled.rawValue }
            round += 1
            let best = (completed + kept).map { tree[$0].score }.max() ?? 0
            progress.report(nodes: tree.count, bestScore: best)
            if ids.contains(where: { tree[$0].stop == StopReason.cancelled.rawValue }) { interrupted = true; break }
        }

        let pool = completed.isEmpty ? lastKept : completed
        let chosen = pool.reduce(pool.first ?? 0) { tree[$1].score > tree[$0].score ? $1 : $0 }
        return try Finisher.result(tree: tree, chosen: chosen, policy: policy, context: context,
                                   strategy: name, interrupted: interrupted, pruned: pruned,
                                   nodeValue: { $0.score })
    }
}
