import Foundation
@testable import StepSearch

/// A deterministic stand-in for the model. Every trajectory is `depth` steps, each step
///   [choice token 100+c] [filler token 1] × fillers [boundary token 2 ".\n\n"]
/// followed by [3 "</think>"] [4 "\boxed{answer(choices)}"] [0 EOS]. The SPRM score of a step
/// is `stepScore(choices so far)`, known to the test. Sampling of choice c uses probability
/// `probabilities[c]` (hashed from seed, slot and position), or, when `stratified`, the slot
/// index (slot i takes choice i % width at the first choice of an extend), so tests can make
/// the tree they want. Greedy (temperature 0) always takes `greedyChoice`.
final class FakePolicy: SearchPolicy {
    struct World {
        var depth = 4
        var width = 4
        var fillers = 1
        var probabilities: [Double] = [0.4, 0.2, 0.2, 0.2]
        var stratified = false
        var greedyChoice = 0
        var contextLimit: Int?
        var stepScore: @Sendable ([Int]) -> Double = { _ in 0.5 }
        var answer: @Sendable ([Int]) -> String = { $0.map(String.init).joined() }

        var stepLength: Int { fillers + 2 }
        var trajectoryLength: Int { depth * stepLength + 3 }
    }

    struct State {
        var tokens: [Int] = []
        var choices: [Int] = []
        var finished = false
    }

    let world: World
    /// canGrow says no when live branches + requested would pass this.
    var maxLiveBranches: Int?
    private(set) var states: [Int: State] = [:]
    private(set) var nextID = 0
    private(set) var roots = 0
    private(set) var forks = 0
    private(set) var releases = 0
    private(set) var produced = 0
    private(set) var extendCalls = 0
    private(set) var contractErrors: [String] = []

    init(_ world: World, maxLiveBranches: Int? = nil) {
        self.world = world
        self.maxLiveBranches = maxLiveBranches
    }

    var live: Int { states.count }

    func root() throws -> BranchID {
        roots += 1
        return add(State())
    }

    func fork(_ parent: BranchID) throws -> BranchID {
        guard let s = states[parent.raw] else {
            contractErrors.append("fork of dead \(parent)")
            throw FakeError.deadBranch
        }
        forks += 1
        return add(s)
    }

    func release(_ branch: BranchID) {
        if states.removeValue(forKey: branch.raw) == nil { contractErrors.append("double release \(branch)") }
        releases += 1
    }

    func canGrow(branches: Int, tokens: Int) -> Bool {
        guard let m = maxLiveBranches else { return true }
        return live + branches <= m
    }

    private func add(_ s: State) -> BranchID {
        let id = nextID
        nextID += 1
        states[id] = s
        return BranchID(id)
    }

    func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        extendCalls += 1
        for b in branches {
            guard let s = states[b.raw] else { contractErrors.append("extend of dead \(b)"); throw FakeError.deadBranch }
            if s.finished { contractErrors.append("extend of finished \(b)"); throw FakeError.finishedBranch }
        }
        var chunks = branches.map { _ in Chunk(tokens: [], text: "", stepScores: [], logProb: 0, stop: .tokenLimit) }
        var running = Array(branches.indices)
        var stepsThisExtend = Array(repeating: 0, count: branches.count)
        var choicesThisExtend = Array(repeating: 0, count: branches.count)
        var stopped = Array(repeating: false, count: branches.count)
        // Round-robin, one token per running branch per "decode step", as a batched decoder does.
        while !running.isEmpty {
            if request.shouldStop?() == true {
                for i in running { chunks[i].stop = .cancelled }
                break
            }
            for i in running {
                var s = states[branches[i].raw]!
                if let limit = world.contextLimit, s.tokens.count >= limit {
                    chunks[i].stop = .contextLimit; stopped[i] = true; continue
                }
                if chunks[i].tokens.count >= request.maxTokens {
                    chunks[i].stop = .tokenLimit; stopped[i] = true; continue
                }
                guard budget.tryConsume(1) else { chunks[i].stop = .budget; stopped[i] = true; continue }
                produced += 1
                let p = s.tokens.count
                let stepEnd = world.depth * world.stepLength
                var token: Int
                var text: String
                if p < stepEnd {
                    let o = p % world.stepLength
                    if o == 0 {
                        let c = choose(request: request, seed: seed, slot: i, position: p, nth: choicesThisExtend[i])
                        choicesThisExtend[i] += 1
                        s.choices.append(c)
                        chunks[i].logProb += Foundation.log(world.probabilities[c])
                        token = 100 + c; text = "c\(c)"
                    } else if o == world.stepLength - 1 {
                        token = 2; text = ".\n\n"
                        chunks[i].stepScores.append(world.stepScore(s.choices))
                        stepsThisExtend[i] += 1
                    } else {
                        token = 1; text = " x"
                    }
                } else if p == stepEnd {
                    token = 3; text = "</think>"
                } else if p == stepEnd + 1 {
                    token = 4; text = "\\boxed{\(world.answer(s.choices))}"
                    chunks[i].answerTokens += 1
                } else {
                    token = 0; text = ""
                    chunks[i].answerTokens += 1
                    s.finished = true
                }
                s.tokens.append(token)
                chunks[i].tokens.append(token)
                chunks[i].text += text
                states[branches[i].raw] = s
                if token == 0 { chunks[i].stop = .endOfSequence; stopped[i] = true }
                else if let n = request.stopAfterSteps, stepsThisExtend[i] >= n, token == 2 {
                    chunks[i].stop = .stepBoundary; stopped[i] = true
                }
            }
            running = running.filter { !stopped[$0] }
        }
        return chunks
    }

    private func choose(request: ExtendRequest, seed: UInt64, slot: Int, position: Int, nth: Int) -> Int {
        if request.temperature == 0 { return world.greedyChoice }
        if world.stratified && nth == 0 { return slot % world.width }
        let h = FakeRandom.mix(seed ^ FakeRandom.mix(UInt64(slot) &* 1_000_003 &+ UInt64(position)))
        let u = Double(h >> 11) / Double(1 << 53)
        var acc = 0.0
        for (c, p) in world.probabilities.enumerated() {
            acc += p
            if u < acc { return c }
        }
        return world.width - 1
    }
}

enum FakeError: Error { case deadBranch, finishedBranch }

enum FakeRandom {
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A thread-safe flag for cancellation tests.
final class Flag: @unchecked Sendable {
    private var value = false
    private let lock = NSLock()
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

extension SearchTrace {
    var nodeTokenSum: Int { nodes.reduce(0) { $0 + $1.tokens } }
}
