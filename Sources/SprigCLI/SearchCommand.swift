import ArgumentParser
import Foundation
import Sprig
import StepSearch

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Answer a question with budgeted test-time search (MCTS, Best-of-N, beam, greedy).",
        discussion: "With no --model, runs on the embedded default (a small multiplication policy with its SPRM head).")

    @Option(name: .long, help: "GGUF file or Hugging Face folder (default: the embedded model).")
    var model: String?

    @Option(name: .long, help: "SPRM head: safetensors, score_module.pt, or a folder holding one.")
    var sprm: String?

    @Option(name: .long, help: "The question.")
    var question: String

    @Option(name: .long, help: "mcts, best-of-n (bon), beam, greedy or sample.")
    var strategy: String = "mcts"

    @Option(name: .long, help: "A preset JSON (Configs/*.json); flags below override it.")
    var config: String?

    @Option(name: .long, help: "Global budget of generated tokens (every branch counted).")
    var budget: Int?

    @Option(name: .long, help: "MCTS: children per expansion.")
    var children: Int?

    @Option(name: .long, help: "MCTS: most tokens per child.")
    var childTokens: Int?

    @Option(name: .long, help: "Best-of-N: number of trajectories.")
    var n: Int?

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "KV cache memory cap, e.g. 512MiB or 4GiB.")
    var kvMemory: String = "2GiB"

    @Option(name: .long, help: "Write the search tree as JSON here.")
    var trace: String?

    @Option(name: .long, help: "Write a self-contained HTML view of the tree here.")
    var html: String?

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        if let b = budget, b <= 0 { throw ValidationError("--budget must be positive") }
        if let c = children, c <= 0 { throw ValidationError("--children must be positive") }
        if let t = childTokens, t <= 0 { throw ValidationError("--child-tokens must be positive") }
        if let k = n, k <= 0 { throw ValidationError("--n must be positive") }
        guard Presets.kind(strategy) != nil else {
            throw ValidationError("unknown --strategy '\(strategy)' (mcts, best-of-n, beam, greedy, sample)")
        }
        guard ByteSize.parse(kvMemory) != nil else { throw ValidationError("--kv-memory '\(kvMemory)' is not a size like 512MiB or 4GiB") }
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--question is empty") }
    }

    func run() throws {
        var preset = try CLI.run { () throws(SprigError) in try Presets.resolve(strategy: strategy, file: config) }
        if let c = children { preset.mcts.children = c }
        if let t = childTokens { preset.mcts.childTokens = t }
        if let k = n { preset.bestOfN.n = k }
        if let b = budget { preset.budget = b }
        let path = try CLI.modelPath(model)
        let lm = try CLI.run { () throws(SprigError) in try LanguageModel.load(path: path) }
        let kvBytes = ByteSize.parse(kvMemory) ?? (2 << 30)
        let engine = try CLI.run { () throws(SprigError) in try SearchEngine(model: lm, sprmPath: sprm, kvMemoryBytes: kvBytes) }
        let context = lm.transformer.config.maxPositions
        if preset.strategy == .mcts && preset.mcts.childTokens >= context {
            CLI.fail("--child-tokens \(preset.mcts.childTokens) does not fit the model's context of \(context) positions")
        }
        Interrupt.install()
        let started = Date()
        let progress: ((SearchProgress) -> Void)? = quiet ? nil : { p in
            CLI.status(String(format: "tokens %d/%d  nodes %d  best %.3f  %.0f tok/s  %.0fs",
                              p.tokensUsed, p.budget, p.nodes, p.bestScore, p.tokensPerSecond, Date().timeIntervalSince(started)))
        }
        let result: SearchResult
        do {
            result = try engine.search(question: question, config: preset, seed: seed,
                                       isCancelled: { Interrupt.isSet }, onProgress: progress)
        } catch {
            CLI.fail("\(error)")
        }
        if !quiet { CLI.status(nil) }
        if let t = trace {
            do { try result.trace.jsonData(pretty: false).write(to: URL(fileURLWithPath: t), options: .atomic) } catch {
                CLI.fail("\(t): cannot write the trace: \(error.localizedDescription)")
            }
        }
        if let h = html {
            do { try TraceHTML.render(trace: result.trace).write(toFile: h, atomically: true, encoding: .utf8) } catch {
                CLI.fail("\(h): cannot write the HTML view: \(error.localizedDescription)")
            }
        }
        if json {
            try CLI.printJSON(result)
        } else {
            print(result.text)
            print("")
            print("answer: \(result.answer ?? "(none)")")
            print(String(format: "score %.4f, %d/%d tokens, %d nodes, %d pruned%@", result.score, result.tokensUsed,
                         result.budget, result.nodes, result.prunedNodes, result.interrupted ? ", interrupted" : ""))
        }
    }
}
