import Foundation
import PagedKV
import StepSearch

/// Runs sweep tasks on a `SearchEngine`: one search per task, except that a Best-of-N task
/// samples its N trajectories once and applies every selection rule to them.
public final class SweepEngineRunner {
    public let engine: SearchEngine

    public init(engine: SearchEngine) {
        self.engine = engine
    }

    /// The task's rows (one per selection), or nil when `isCancelled` stopped a search
    /// (an interrupted search is not a result; the task is redone on resume).
    public func run(_ task: SweepTask, isCancelled: @escaping @Sendable () -> Bool) throws -> [SweepRow]? {
        let config = task.configuration.config(at: task.point)
        let extractor = engine.format.extractor(for: task.problem.question)
        guard config.strategy == .bestOfN, let rules = task.configuration.selections, let primary = rules.first else {
            let start = Date()
            let result = try engine.search(question: task.problem.question, config: config, seed: task.seed,
                                           isCancelled: isCancelled)
            if result.interrupted { return nil }
            let oracle = SweepOracle.anyCorrect(trace: result.trace, chosenAnswer: result.answer,
                                                expected: task.problem.answer, extractor: extractor)
            return [row(task, selection: nil, result: result, answer: result.answer, score: result.score,
                        answerTokens: result.answerTokens, seconds: Date().timeIntervalSince(start), oracle: oracle)]
        }

        var first = config
        first.bestOfN.selection = primary
        let start = Date()
        let (result, recorder) = try searchRecording(question: task.problem.question, config: first, seed: task.seed,
                                                     extractor: extractor, isCancelled: isCancelled)
        if result.interrupted { return nil }
        let seconds = Date().timeIntervalSince(start)
        let oracle = SweepOracle.anyCorrect(trace: result.trace, chosenAnswer: result.answer,
                                            expected: task.problem.answer, extractor: extractor)
        let samples = BestOfNReselect.trajectories(trace: result.trace, logProbs: recorder.bestOfNLogProbs(trace: result.trace))
        let chosenNode = result.trace.chosen.last
        var rows: [SweepRow] = []
        for rule in rules {
            let pick = rule == primary ? nil : BestOfNReselect.pick(samples, rule: rule, seed: task.seed, extractor: extractor)
            if rule == primary || (pick.map { samples[$0].node } == chosenNode && chosenNode != nil) {
                rows.append(row(task, selection: rule.rawValue, result: result, answer: result.answer, score: result.score,
                                answerTokens: result.answerTokens, seconds: seconds, oracle: oracle))
            } else if let i = pick, samples[i].candidate.terminal {
                rows.append(row(task, selection: rule.rawValue, result: result, answer: extractor.answer(in: samples[i].candidate.text),
                                score: samples[i].candidate.score, answerTokens: 0, seconds: seconds, oracle: oracle))
            } else {
                // An unfinished pick needs its own out-of-budget completion (or the rule needs
                // log-probs that were not recorded): rerun with that rule on the same seed,
                // which samples the same N trajectories.
                var again = config
                again.bestOfN.selection = rule
                let t0 = Date()
                let other = try engine.search(question: task.problem.question, config: again, seed: task.seed,
                                              isCancelled: isCancelled)
                if other.interrupted { return nil }
                rows.append(row(task, selection: rule.rawValue, result: other, answer: other.answer, score: other.score,
                                answerTokens: other.answerTokens, seconds: Date().timeIntervalSince(t0), oracle: oracle))
            }
        }
        return rows
    }

    private func row(_ task: SweepTask, selection: String?, result: SearchResult, answer: String?, score: Double,
                     answerTokens: Int, seconds: Double, oracle: Bool) -> SweepRow {
        let correct = AnswerCheck.isCorrect(answer, expected: task.problem.answer)
        return SweepRow(problem: task.problem.id, level: task.problem.level, configuration: task.configuration.name,
                        strategy: result.strategy, selection: selection, budget: task.point.budget, n: task.point.n,
                        seed: task.seed, tokensUsed: result.tokensUsed, answerTokens: answerTokens, answer: answer,
                        expected: task.problem.answer, correct: correct, score: score, nodes: result.nodes,
                        seconds: seconds, oracleCorrect: oracle || correct)
    }

    /// `SearchEngine.search` with the policy wrapped in a `RecordingPolicy` (same steps, same
    /// sampling, so the same result), for the log-probs the trace does not keep.
    func searchRecording(question: String, config: SearchConfig, seed: UInt64, extractor: AnswerExtractor,
                         isCancelled: @escaping @Sendable () -> Bool) throws -> (SearchResult, RecordingPolicy) {
        var recorder: RecordingPolicy?
        let result = try engine.search(question: question, config: config, seed: seed, extractor: extractor,
                                       isCancelled: isCancelled, wrap: { policy in
                                           let r = RecordingPolicy(base: policy)
                                           recorder = r
                                           return r
                                       })
        guard let recorder else { throw SprigError.invalidArgument("sweep: the search did not start") }
        return (result, recorder)
    }
}
