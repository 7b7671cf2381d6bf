import ArgumentParser
import Foundation
import Sprig
import StepSearch

/// `sprig bench search`: seeded searches of one question in one process, per strategy,
/// with the share of wall time outside the model's forward (issue 6: < 3 %).
struct BenchSearchOptions: ParsableArguments {
    @Option(name: .long, help: "search: the question.")
    var question: String = "What is 4821 * 37?"

    @Option(name: .long, help: "search: strategies, comma-separated (mcts, best-of-n, beam, greedy, sample).")
    var strategies: String = "mcts,best-of-n,beam"

    @Option(name: .long, help: "search: searches per strategy (seeds 1…n).")
    var searches: Int = 6

    @Option(name: .long, help: "search: token budget per search (default: the strategy's preset).")
    var budget: Int?

    @Option(name: .long, help: "search: SPRM head (default: the model's own).")
    var sprm: String?

    func validate() throws {
        guard searches > 0 && searches <= 10_000 else { throw ValidationError("--searches must be in 1...10000") }
        if let b = budget, b <= 0 { throw ValidationError("--budget must be positive") }
        for s in strategyList where Presets.kind(s) == nil {
            throw ValidationError("unknown strategy '\(s)' in --strategies (mcts, best-of-n, beam, greedy, sample)")
        }
        guard !strategyList.isEmpty else { throw ValidationError("--strategies is empty") }
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--question is empty") }
    }

    var strategyList: [String] {
        strategies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

struct SearchBenchReport: Encodable {
    var question: String
    var search: [SearchBenchmark.Figure]
}

extension BenchCommand {
    func runSearch() throws {
        let o = searchOptions
        let engine = try CLI.loadEngine(model: model, sprm: o.sprm, kvMemory: kvMemory ?? "2GiB",
                                        activations: activationOptions.precision(default: .q8))
        let context = engine.model.transformer.config.maxPositions
        let bench = SearchBenchmark(engine: engine)
        var figures: [SearchBenchmark.Figure] = []
        for name in o.strategyList {
            var preset = try CLI.run { () throws(SprigError) in try Presets.resolve(strategy: name, file: nil) }
            if let b = o.budget { preset.budget = b }
            // As `sprig search`: the paper's 1024-token children do not fit a small model's context.
            if preset.strategy == .mcts && preset.mcts.childTokens >= context { preset.mcts.childTokens = context - 1 }
            let f = try CLI.run { () throws(SprigError) in
                do {
                    return try bench.run(question: o.question, config: preset, searches: o.searches) { k in
                        CLI.status("\(preset.strategy.rawValue): search \(k)/\(o.searches)")
                    }
                } catch let e as SprigError {
                    throw e
                } catch { throw SprigError.invalidArgument("\(error)") }
            }
            figures.append(f)
            CLI.status(nil)
            if !json {
                print(String(format: "%@: %d searches, %d tokens, %.2f s; outside the forward %.1f%% (first search %.1f%%, later %.1f%%: sampling and SPRM %.1f%% (SPRM %.2f%%), tree %.1f%%); %.1f µs forward and %.2f µs outside per token; KV %.3f× the distinct tokens",
                             f.strategy, f.searches, f.tokens, f.wallSeconds, 100 * f.outsideModelShare,
                             100 * f.firstOutsideModelShare, 100 * f.warmOutsideModelShare, 100 * f.samplingShare,
                             100 * f.scoringShare, 100 * f.treeShare, f.forwardMicrosecondsPerToken, f.outsideMicrosecondsPerToken, f.kvOverhead))
            }
        }
        if json { try CLI.printJSON(SearchBenchReport(question: o.question, search: figures)) }
    }
}
