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
        let all = tree[0].children
        guard !all.isEmpty else { return 0 }
        let finished = all.filter { tree[$0].terminal }
        let pool = finished.isEmpty ? all : finished
        // Deterministic order: higher first, ties to the earlier trajectory.
        func best(_ ids: [Int], by key: (Int) -> Double) -> Int {
            ids.reduce(ids[0]) { key($1) > key($0) ? $1 : $0 }
        }
        let byScore: (Int) -> Double = { tree[$0].score }
        let byLogProb: (Int) -> Double = { tree[$0].pathLogProb }

        switch config.selection {
        case .sprm:
            return best(pool, by: byScore)
        case .logProb:
            return best(pool, by: byLogProb)
        case .random:
            let r = Seeds.derive(context.seed, -1)
            return pool[Int(r % UInt64(pool.count))]
        case .majority, .sprmWeighted, .logProbWeighted:
            var groups: [String: [Int]] = [:]
            var order: [String] = []
            for id in finished {
                guard let a = context.extractor.answer(in: tree.text(to: id)) else { continue }
                if groups[a] == nil { order.append(a) }
                groups[a, default: []].append(id)
            }
            guard !order.isEmpty else { return best(pool, by: byScore) }
            let weight: ([Int]) -> Double
            let representative: ([Int]) -> Int
            switch config.selection {
            case .majority:
                // Count first; the group's best SPRM score (in [0, 1], so < one vote) breaks ties.
                weight = { ids in Double(ids.count) + 0.5 * min(1, max(0, ids.map(byScore).max() ?? 0)) }
                representative = { best($0, by: byScore) }
            case .sprmWeighted:
                weight = { $0.reduce(0) { $0 + byScore($1) } }
                representative = { best($0, by: byScore) }
            default:
                weight = { ids in
                    ids.reduce(0) { acc, id in
                        acc + Foundation.exp(tree[id].pathLogProb / Double(max(1, tree[id].pathTokens)))
                    }
                }
                representative = { best($0, by: byLogProb) }
            }
            let winner = order.reduce(order[0]) { weight(groups[$1]!) > weight(groups[$0]!) ? $1 : $0 }
            return representative(groups[winner]!)
        }
    }
}
