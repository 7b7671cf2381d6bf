import Foundation

/// Turns a searched tree plus a chosen node into a `SearchResult`: finishes the chosen
/// trajectory outside the budget when the search left it unfinished, extracts the answer,
/// and builds the trace.
enum Finisher {
    /// Seed index of the completion extend (well away from the search's own extend indices).
    static let completionSeedIndex = Int.max / 2

    static func result(tree: SearchTree, chosen: Int, policy: SearchPolicy, context: SearchContext,
                       strategy: String, interrupted: Bool, pruned: Int,
                       nodeValue: (SearchTree.Node) -> Double) throws -> SearchResult {
        let node = tree[chosen]
        var completion = Chunk(tokens: [], text: "", stepScores: [], logProb: 0, stop: .tokenLimit)
        if !node.terminal, !interrupted, context.completionTokens > 0, let branch = node.branch {
            // A separate budget: the completion is reported beyond the search budget, capped.
            let fork = try policy.fork(branch)
            defer { policy.release(fork) }
            let request = ExtendRequest(maxTokens: context.completionTokens, stopAfterSteps: nil,
                                        sampling: context.sampling, shouldStop: context.isCancelled)
            let chunks = try policy.extend([fork], request, budget: TokenBudget(limit: context.completionTokens),
                                           seed: Seeds.derive(context.seed, completionSeedIndex))
            if let c = chunks.first { completion = c }
        }
        let searched = tree.text(to: chosen)
        let text = searched + completion.text
        let answer = context.extractor.answer(in: text)
        let used = context.budget.used
        guard tree.totalTokens == used else {
            throw StepSearchError.policyContract("chunks hold \(tree.totalTokens) tokens but the budget was charged \(used)")
        }
        let trace = SearchTrace(nodes: tree.traceNodes(value: nodeValue), tokensUsed: used,
                                budget: context.budget.limit, strategy: strategy, seed: context.seed,
                                chosen: tree.path(to: chosen), question: context.question, answer: answer,
                                completionTokens: completion.tokens.count, completionText: completion.text)
        return SearchResult(answer: answer, text: text, score: node.score, tokensUsed: used,
                            answerTokens: completion.tokens.count, budget: context.budget.limit,
                            nodes: tree.count, prunedNodes: pruned, interrupted: interrupted,
                            strategy: strategy, trace: trace)
    }
}
