import ArgumentParser
import Foundation
import Kernels
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

    @Option(name: .long, help: "mcts (the default), best-of-n (bon), beam, greedy or sample; with --config, the preset's.")
    var strategy: String?

    @Option(name: .long, help: "A preset JSON (Configs/*.json); flags below override it.")
    var config: String?

    @Option(name: .long, help: "Global budget of generated tokens (every branch counted); the chosen trajectory's final completion, if unfinished, is reported apart (answer_tokens, at most the preset's completion_tokens).")
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

    @OptionGroup var activationOptions: ActivationOptions

    func validate() throws {
        if let b = budget, b <= 0 { throw ValidationError("--budget must be positive") }
        if let c = children, c <= 0 { throw ValidationError("--children must be positive") }
        if let t = childTokens, t <= 0 { throw ValidationError("--child-tokens must be positive") }
        if let k = n, k <= 0 { throw ValidationError("--n must be positive") }
        if let c = children, c > SearchConfig.maxBranches { throw ValidationError("--children must be at most \(SearchConfig.maxBranches)") }
        if let k = n, k > SearchConfig.maxBranches { throw ValidationError("--n must be at most \(SearchConfig.maxBranches)") }
        if let s = strategy, Presets.kind(s) == nil {
            throw ValidationError("unknown --strategy '\(s)' (mcts, best-of-n, beam, greedy, sample)")
        }
        guard ByteSize.parse(kvMemory) != nil else { throw ValidationError("--kv-memory '\(kvMemory)' is not a size like 512MiB or 4GiB") }
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--question is empty") }
    }

    func run() throws {
        // First, so a signal during loading also ends with a clean (empty) interrupted result.
        Interrupt.install()
        for path in [trace, html].compactMap({ $0 }) {
            if let problem = CLI.outputProblem(path) { CLI.fail(problem) }
        }
        var preset = try CLI.run { () throws(SprigError) in try Presets.resolve(strategy: strategy ?? "mcts", file: config) }
        if let s = strategy, let file = config, Presets.kind(s) != preset.strategy {
            CLI.fail("--strategy \(s) and the preset \(file) (strategy '\(preset.strategy.rawValue)') disagree: give one of them")
        }
        if let c = children { preset.mcts.children = c }
        if let t = childTokens { preset.mcts.childTokens = t }
        if let k = n { preset.bestOfN.n = k }
        if let b = budget { preset.budget = b }
        if let problem = preset.limitProblem { CLI.fail(problem) }   // named before the model loads
        let engine = try CLI.loadEngine(model: model, sprm: sprm, kvMemory: kvMemory,
                                        activations: activationOptions.precision(default: .q8))
        let context = engine.model.transformer.config.maxPositions
        if preset.strategy == .mcts && preset.mcts.childTokens >= context && childTokens == nil {
            // The paper's 1024-token children (the default preset, mcts-paper.json) do not fit
            // a small model's context: a child then runs to its end of sequence or to the
            // context limit instead. An explicit --child-tokens that does not fit is an error.
            if config != nil && !quiet {
                CLI.progress("note: the preset's mcts.child_tokens \(preset.mcts.childTokens) is more than the model's context of \(context) positions; using \(context - 1)")
            }
            preset.mcts.childTokens = context - 1
        }
        if preset.strategy == .mcts && preset.mcts.childTokens >= context {
            CLI.fail("--child-tokens \(preset.mcts.childTokens) does not fit the model's context of \(context) positions")
        }
        let started = Date()
        var shown = started.addingTimeInterval(-1)
        // Redrawn at most 10 times a second, formatted without Foundation's String(format:)
        // (its first call costs ~0.5 ms, inside the timed window of a 0.1 s search).
        let progress: ((SearchProgress) -> Void)? = quiet ? nil : { p in
            let now = Date()
            guard now.timeIntervalSince(shown) >= 0.1 else { return }
            shown = now
            // A score in [0, 1] with three decimals (anything else, e.g. −∞ before a first score: "-").
            var best = "-"
            if p.bestScore.isFinite && p.bestScore >= 0 && p.bestScore < 1e9 {
                let milli = Int((p.bestScore * 1000).rounded())
                best = "\(milli / 1000)." + String(String(milli % 1000 + 1000).dropFirst())
            }
            CLI.status("tokens \(p.tokensUsed)/\(p.budget)  nodes \(p.nodes)  best \(best)  "
                       + "\(Int(p.tokensPerSecond.rounded())) tok/s  \(Int(now.timeIntervalSince(started).rounded()))s")
        }
        var result: SearchResult
        do {
            result = try engine.search(question: question, config: preset, seed: seed,
                                       isCancelled: { Interrupt.isSet }, onProgress: progress)
        } catch {
            CLI.fail("\(error)")
        }
        if !quiet {
            CLI.status(nil)
            if let t = engine.lastTiming {
                CLI.progress(String(format: "time %.2f s: model %.1f%% (prefill %.3f s, forward %.2f s), outside the model %.1f%% (sampling and SPRM %.1f%%, of which SPRM %.2f%%; tree %.1f%%)",
                                    t.wallSeconds, 100 * t.modelFraction, t.prefillSeconds, t.forwardSeconds,
                                    100 * t.outsideModelFraction, 100 * t.samplingFraction, 100 * t.scoringFraction,
                                    100 * t.treeFraction))
            }
            if let kv = engine.lastKV {
                CLI.progress(String(format: "KV at its fullest: %.1f MB for %d distinct tokens (%.3f × their bytes; %.1f MB without sharing)",
                                    Double(kv.bytesInUse) / 1e6, kv.tokensStored, kv.overhead,
                                    Double(kv.bytesWithoutSharing) / 1e6))
            }
        }
        // A signal that arrived after the search loop (during the final completion) cut it short too.
        if Interrupt.isSet { result.interrupted = true }
        // The result first: a trace or view that cannot be written (checked before the
        // search, but the disk may fill) must not take the answer with it.
        if json {
            try CLI.printJSON(SearchOutput(result: result, timing: engine.lastTiming, kv: engine.lastKV))
        } else {
            print(result.text)
            print("")
            print("answer: \(result.answer ?? "(none)")")
            print(String(format: "score %.4f, %d/%d tokens, %d nodes, %d pruned%@", result.score, result.tokensUsed,
                         result.budget, result.nodes, result.prunedNodes, result.interrupted ? ", interrupted" : ""))
        }
        fflush(nil)   // all C streams: print() goes through stdout's buffer
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
    }
}

/// `search --json`: the result's keys, plus "timing" (where the wall time went) and "kv"
/// (the cache when it held the most blocks); both absent when the search stopped before it began.
private struct SearchOutput: Encodable {
    let result: SearchResult
    let timing: SearchTiming?
    let kv: SearchKV?

    enum CodingKeys: String, CodingKey { case timing, kv }

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(timing, forKey: .timing)
        try c.encodeIfPresent(kv, forKey: .kv)
    }
}
