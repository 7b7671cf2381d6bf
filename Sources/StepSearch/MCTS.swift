import Foundation

/// The paper's step-level MCTS (MetaStone-S1 section 5.6), anytime and under one token budget.
///
/// - Node: a chunk of generated text; the root is the prompt.
/// - Selection: from the root, descend by PUCT or UCT (`MCTSConfig`) over children whose
///   subtree still has an expandable node, until a leaf. With `widening` (default) an internal
///   node whose children all fell below their first-impression scores takes another batch
///   (`shouldWiden`), so the search is not stuck below an unlucky first batch.
/// - Expansion: fork `children` branches from the leaf and generate up to `childTokens` tokens
///   each (or up to `stopAfterSteps` step boundaries) in ONE batched extend.
/// - Evaluation: a child's value is its aggregated SPRM path score (root→child steps); no rollouts.
/// - Backup: each child counts as one visit with its value; every ancestor adds the children's
///   visits and values, so Q = mean of the values in the subtree.
/// - Terminal (EOS / context limit) nodes are never expanded again.
/// - Stop: budget spent, no expandable leaf, memory exhausted with nothing left to prune, or
///   cancelled. Chosen: the best finished trajectory with an extractable answer, else the best
///   finished one, else the best node by path score (completed outside the budget).
/// - Memory pressure (`canGrow` false): prune the lowest-Q subtree off the paths to the best
///   node and to the selected leaf, release its branches, and retry.
public struct MCTS: SearchStrategy {
    public let config: MCTSConfig

    public init(config: MCTSConfig = MCTSConfig()) { self.config = config }

    public var name: String { StrategyKind.mcts.rawValue }

    public func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult {
        try Preflight.check(context)
        let tree = SearchTree(aggregation: context.aggregation, rootBranch: try policy.root())
        defer { tree.releaseAll(policy: policy) }
        let progress = ProgressReporter(context: context)
        let k = config.children
        let request = ExtendRequest(maxTokens: config.childTokens, stopAfterSteps: config.stopAfterSteps,
                                    sampling: context.sampling, shouldStop: context.isCancelled)
        var interrupted = false
        var pruned = 0
        var expansion = 0

        while true {
            if context.isCancelled() { interrupted = true; break }
            if context.budget.remaining <= 0 { break }
            guard let leaf = select(tree) else { break }
            var fits = policy.canGrow(branches: k, tokens: k * config.childTokens)
            while !fits {
                let keep = Set(tree.path(to: bestNode(tree, context: context)) + tree.path(to: leaf))
                let dropped = pruneWeakest(tree, keeping: keep, policy: policy)
                if dropped == 0 { break }
                pruned += dropped
                fits = policy.canGrow(branches: k, tokens: k * config.childTokens)
            }
            if !fits { break }

            let ids = try tree.expand([leaf], branchesPerParent: k, request: request,
                                      seed: Seeds.derive(context.seed, expansion), policy: policy,
                                      budget: context.budget)
            expansion += 1
            setPriors(ids, parent: leaf, tree: tree)
            backup(ids, from: leaf, tree: tree)
            refreshExhausted(from: leaf, tree: tree)
            progress.report(nodes: tree.count, bestScore: tree.nodes.map(\.score).max() ?? 0)
            if ids.contains(where: { tree[$0].stop == StopReason.cancelled.rawValue }) { interrupted = true; break }
        }

        return try Finisher.result(tree: tree, chosen: bestNode(tree, context: context), policy: policy,
                                   context: context, strategy: name, interrupted: interrupted,
                                   pruned: pruned, nodeValue: { $0.meanValue })
    }

    // MARK: - Selection

    /// The node to expand next, nil when none is left: a leaf, or (with widening) an internal
    /// node all of whose continuations turned out worse than they first looked.
    func select(_ tree: SearchTree) -> Int? {
        var n = 0
        while true {
            let node = tree[n]
            if node.exhausted { return nil }
            if node.children.isEmpty { return canExpandLeaf(node) ? n : nil }
            if shouldWiden(node, tree: tree) { return n }
            var best: Int?
            var bestValue = -Double.infinity
            for c in node.children where !tree[c].exhausted {
                let v = selectionScore(tree[c], parentVisits: node.visits)
                if v > bestValue { bestValue = v; best = c }
            }
            guard let next = best else { return nil }
            n = next
        }
    }

    func canExpandLeaf(_ node: SearchTree.Node) -> Bool {
        node.children.isEmpty && !node.terminal && !node.pruned && node.branch != nil
    }

    /// Widening: sample another batch at an internal node when every child looks bad: its
    /// best path score found below it (or, unexpanded, its own score) is under the mean
    /// first-impression score of the batch. Best-below, not the mean value, is compared:
    /// mean backup lowers every explored node's Q, which would widen good nodes too.
    func shouldWiden(_ node: SearchTree.Node, tree: SearchTree) -> Bool {
        guard config.widening, !node.children.isEmpty, !node.terminal, !node.pruned, node.branch != nil else {
            return false
        }
        let expected = node.children.reduce(0) { $0 + tree[$1].score } / Double(node.children.count)
        return node.children.allSatisfy { c in
            let child = tree[c]
            let promise = child.children.isEmpty ? child.score : child.bestBelow
            return promise < expected - 1e-12
        }
    }

    func selectionScore(_ child: SearchTree.Node, parentVisits: Int) -> Double {
        let q = child.meanValue
        let n = Double(child.visits)
        let parentN = Double(max(1, parentVisits))
        switch config.selection {
        case .puct:
            return q + config.exploration * child.prior * parentN.squareRoot() / (1 + n)
        case .uct:
            guard n > 0 else { return .infinity }
            return q + config.exploration * (Foundation.log(parentN) / n).squareRoot()
        }
    }

    func setPriors(_ ids: [Int], parent: Int, tree: SearchTree) {
        guard !ids.isEmpty else { return }
        switch config.prior {
        case .uniform:
            for id in ids { tree[id].prior = 1 / Double(ids.count) }
        case .logProb:
            // Softmax over siblings of the chunk's mean per-token log-prob.
            let logits = ids.map { id -> Double in
                let lp = tree[id].pathLogProb - tree[parent].pathLogProb
                return lp / Double(max(1, tree[id].tokens))
            }
            let top = logits.max() ?? 0
            let weights = logits.map { Foundation.exp($0 - top) }
            let total = weights.reduce(0, +)
            for (id, w) in zip(ids, weights) { tree[id].prior = total > 0 ? w / total : 1 / Double(ids.count) }
        }
    }

    // MARK: - Backup

    func backup(_ ids: [Int], from leaf: Int, tree: SearchTree) {
        var added = 0.0
        for id in ids {
            tree[id].visits = 1
            tree[id].totalValue = tree[id].score
            added += tree[id].score
        }
        let best = ids.map { tree[$0].score }.max() ?? -Double.infinity
        var cursor: Int? = leaf
        while let c = cursor {
            tree[c].bestBelow = max(tree[c].bestBelow, best)
            tree[c].visits += ids.count
            tree[c].totalValue += added
            cursor = tree[c].parent
        }
    }

    /// Recomputes `exhausted` from `id` up to the root.
    func refreshExhausted(from id: Int, tree: SearchTree) {
        var cursor: Int? = id
        while let c = cursor {
            let n = tree[c]
            tree[c].exhausted = n.pruned || (!canExpandLeaf(n) && n.children.allSatisfy { tree[$0].exhausted })
            cursor = n.parent
        }
    }

    // MARK: - Choice and pruning

    /// Best finished trajectory with an answer, else best finished, else best node with a live
    /// branch (path score, then longer path, then earlier id), else the root.
    func bestNode(_ tree: SearchTree, context: SearchContext) -> Int {
        func better(_ a: Int, _ b: Int) -> Bool {
            let x = tree[a], y = tree[b]
            if x.score != y.score { return x.score > y.score }
            if x.pathTokens != y.pathTokens { return x.pathTokens > y.pathTokens }
            return a < b
        }
        func best(_ ids: [Int]) -> Int? { ids.min(by: better) }
        // The best finished node with an answer: answers are read (texts joined, parsed) in
        // order of preference until one has one, not for every finished node.
        let finished = tree.nodes.filter { $0.terminal }.map(\.id).sorted(by: better)
        if let b = finished.first(where: { context.extractor.answer(in: tree.text(to: $0)) != nil }) ?? finished.first {
            return b
        }
        let live = tree.nodes.filter { $0.id != 0 && $0.branch != nil }.map(\.id)
        return best(live) ?? 0
    }

    /// Prunes the lowest-Q subtree that holds a live branch and avoids `keeping`.
    /// Returns the number of newly pruned nodes (0 = nothing could be pruned).
    func pruneWeakest(_ tree: SearchTree, keeping: Set<Int>, policy: SearchPolicy) -> Int {
        var victim: Int?
        for n in tree.nodes where n.id != 0 && !n.pruned && !keeping.contains(n.id) {
            guard tree.subtree(n.id).contains(where: { tree[$0].branch != nil }) else { continue }
            if let v = victim {
                let q = n.meanValue, qv = tree[v].meanValue
                if q < qv || (q == qv && n.id > v) { victim = n.id }
            } else {
                victim = n.id
            }
        }
        guard let v = victim else { return 0 }
        var count = 0
        for id in tree.subtree(v) {
            if !tree[id].pruned { tree[id].pruned = true; count += 1 }
            tree[id].exhausted = true
            tree.releaseBranch(of: id, policy: policy)
        }
        if let p = tree[v].parent { refreshExhausted(from: p, tree: tree) }
        return count
    }
}
