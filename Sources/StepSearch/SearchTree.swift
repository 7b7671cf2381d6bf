import Foundation

/// Node storage shared by every strategy: chunks, path scores, MCTS statistics, the live
/// branch of each node, and the conversion to a `SearchTrace`.
final class SearchTree {
    struct Node {
        var id: Int
        var parent: Int?
        var children: [Int] = []
        /// The policy branch positioned after this node's text; nil once released.
        var branch: BranchID?
        var tokens: Int = 0
        var text: String = ""
        var stepScores: [Double] = []
        /// Step statistics of the root→node path.
        var stats = PathStats()
        var score: Double = 0
        var visits = 0
        var totalValue = 0.0
        var terminal = false
        var pruned = false
        var stop = "root"
        /// Sum of log-probs / tokens / answer tokens along the root→node path.
        var pathLogProb = 0.0
        var pathTokens = 0
        var pathAnswerTokens = 0
        var prior = 1.0
        /// Best path score among strict descendants (-inf for a leaf).
        var bestBelow = -Double.infinity
        /// No expandable node left in this subtree (MCTS selection skips it).
        var exhausted = false

        var meanValue: Double { visits > 0 ? totalValue / Double(visits) : score }
    }

    private(set) var nodes: [Node] = []
    let aggregation: ScoreAggregation

    init(aggregation: ScoreAggregation, rootBranch: BranchID) {
        self.aggregation = aggregation
        nodes.append(Node(id: 0, parent: nil, branch: rootBranch))
    }

    /// In place (`_read` / `_modify`): reading or writing one field of a node does not
    /// copy the node (its arrays and strings) out and back.
    subscript(id: Int) -> Node {
        _read { yield nodes[id] }
        _modify { yield &nodes[id] }
    }

    var count: Int { nodes.count }

    /// Adds `chunk` as a new child of `parent`, held by `branch`. Returns the new id.
    @discardableResult
    func addChild(of parent: Int, branch: BranchID?, chunk: Chunk) -> Int {
        let p = nodes[parent]
        var node = Node(id: nodes.count, parent: parent, branch: branch)
        node.tokens = chunk.tokens.count
        node.text = chunk.text
        node.stepScores = chunk.stepScores
        node.stats = p.stats.appending(chunk.stepScores)
        node.score = node.stats.score(aggregation)
        node.terminal = chunk.stop.isTerminal
        node.exhausted = node.terminal
        node.stop = chunk.stop.rawValue
        node.pathLogProb = p.pathLogProb + chunk.logProb
        node.pathTokens = p.pathTokens + chunk.tokens.count
        node.pathAnswerTokens = p.pathAnswerTokens + chunk.answerTokens
        nodes.append(node)
        nodes[parent].children.append(node.id)
        return node.id
    }

    /// Node ids root→`id`.
    func path(to id: Int) -> [Int] {
        var out = [id]
        var cursor = nodes[id].parent
        while let c = cursor { out.append(c); cursor = nodes[c].parent }
        return out.reversed()
    }

    /// The generated text root→`id` (the prompt is not included).
    func text(to id: Int) -> String {
        // Appended in a loop: the first generic `joined()` of a process costs runtime
        // conformance lookups (~0.1 ms) inside a search's timed window.
        var text = ""
        for i in path(to: id) { text += nodes[i].text }
        return text
    }

    /// Σ tokens over every node (== budget.used by construction).
    var totalTokens: Int { nodes.reduce(0) { $0 + $1.tokens } }

    func releaseBranch(of id: Int, policy: SearchPolicy) {
        if let b = nodes[id].branch {
            policy.release(b)
            nodes[id].branch = nil
        }
    }

    func releaseAll(policy: SearchPolicy) {
        for i in nodes.indices { releaseBranch(of: i, policy: policy) }
    }

    /// All node ids of the subtree under `id`, `id` included (preorder).
    func subtree(_ id: Int) -> [Int] {
        var out: [Int] = []
        var stack = [id]
        while let n = stack.popLast() {
            out.append(n)
            stack.append(contentsOf: nodes[n].children.reversed())
        }
        return out
    }

    /// Forks `branchesPerParent` branches from each parent, runs ONE batched extend over all of
    /// them, and adds the chunks as children (in parent order, then fork order). Branches of
    /// finished children are released at once (nothing continues them); on a throw every branch
    /// forked here is released. Returns the new node ids.
    func expand(_ parents: [Int], branchesPerParent: Int, request: ExtendRequest, seed: UInt64,
                policy: SearchPolicy, budget: TokenBudget) throws -> [Int] {
        var forks: [(parent: Int, branch: BranchID)] = []
        do {
            for p in parents {
                guard let source = nodes[p].branch else {
                    throw StepSearchError.policyContract("internal: node \(p) has no live branch to fork")
                }
                for _ in 0..<branchesPerParent { forks.append((p, try policy.fork(source))) }
            }
            let chunks = try policy.extend(forks.map(\.branch), request, budget: budget, seed: seed)
            try Preflight.checkChunks(chunks, branches: forks.count, maxTokens: request.maxTokens)
            var ids: [Int] = []
            for (fork, chunk) in zip(forks, chunks) {
                let id = addChild(of: fork.parent, branch: fork.branch, chunk: chunk)
                if chunk.stop.isTerminal { releaseBranch(of: id, policy: policy) }
                ids.append(id)
            }
            return ids
        } catch {
            // Nothing was adopted: adding children cannot throw.
            for f in forks { policy.release(f.branch) }
            throw error
        }
    }

    /// `value` gives each node's trace value (MCTS: mean backed-up value; others: path score).
    func traceNodes(value: (Node) -> Double) -> [TraceNode] {
        nodes.map { n in
            TraceNode(id: n.id, parent: n.parent, tokens: n.tokens, text: n.text,
                      stepScores: n.stepScores, visits: n.visits, value: value(n), score: n.score,
                      terminal: n.terminal, pruned: n.pruned, stop: n.stop)
        }
    }
}

/// Deterministic seed derivation (SplitMix64), so the k-th extend of a run gets its own seed.
/// Public so code that re-applies a strategy's choices (e.g. a sweep) draws the same numbers.
public enum Seeds {
    /// The SplitMix64 finaliser.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed for draw `index` of a run seeded `seed` (BestOfN's random pick uses index -1).
    public static func derive(_ seed: UInt64, _ index: Int) -> UInt64 {
        mix(seed ^ mix(UInt64(truncatingIfNeeded: index) &+ 0x5EED))
    }
}

/// Wall-clock progress reporting shared by the strategies.
struct ProgressReporter {
    let start = Date()
    let context: SearchContext

    func report(nodes: Int, bestScore: Double) {
        guard let callback = context.onProgress else { return }
        let used = context.budget.used
        let elapsed = Date().timeIntervalSince(start)
        callback(SearchProgress(tokensUsed: used, budget: context.budget.limit, nodes: nodes,
                                bestScore: bestScore,
                                tokensPerSecond: elapsed > 0 ? Double(used) / elapsed : 0))
    }
}
