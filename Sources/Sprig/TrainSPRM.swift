import Foundation
import SPRM

/// `sprig train-sprm`: trains an SPRM head on a frozen backbone from outcome labels only.
/// Samples k trajectories per problem, labels each by final-answer correctness, collects the
/// feature of every step token, trains with `SPRTrainer`, and writes into `outputDirectory`:
/// `sprm.safetensors` (MetaStone keys), `metrics.csv`, `figure4.svg`, `features.bin`
/// (when sampled), `samples.jsonl` (texts, when sampled) and `summary.json`.
public struct TrainSPRM {
    public struct Options: Sendable {
        /// Model to sample with; unused when `featuresPath` is given.
        public var modelPath: String?
        public var trainData: String?
        public var evalData: String?
        /// A `features.bin` from an earlier run: train on it instead of sampling.
        public var featuresPath: String?
        public var outputDirectory: String
        public var sampling = TrainSPRMSampling()
        public var training = SPRTrainingConfig()
        public var kvMemoryBytes = 1 << 30

        public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
    }

    /// What a run produced (also written to `summary.json`).
    public struct Report: Sendable, Codable {
        public var loss: String
        public var epochs: Int
        public var featureWidth: Int
        public var trainTrajectories: Int
        public var evalTrajectories: Int
        /// Trajectories without any step token (they cannot be trained on and score 0).
        public var stepless: Int
        public var meanSteps: Double
        public var sampleSeconds: Double
        public var trainSeconds: Double
        /// The head before training (epoch 0) and after, on each set.
        public var trainBefore: TrainSPRMEvaluation
        public var train: TrainSPRMEvaluation
        public var evalBefore: TrainSPRMEvaluation?
        public var eval: TrainSPRMEvaluation?
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Most trajectories per problem: they are decoded together as one batch, each lane
    /// holding its logits and hidden state (and `search --n` stops at the same number).
    public static let maxSamples = 4096

    /// Checks the options a user can get wrong; one-line errors.
    public func validate() throws(SprigError) {
        let o = options
        guard o.sampling.samples >= 1 else { throw .invalidArgument("--samples must be at least 1 (got \(o.sampling.samples))") }
        guard o.sampling.samples <= Self.maxSamples else {
            throw .invalidArgument("--samples must be at most \(Self.maxSamples) (got \(o.sampling.samples))")
        }
        guard o.sampling.maxTokens >= 1 else { throw .invalidArgument("--max-tokens must be at least 1 (got \(o.sampling.maxTokens))") }
        guard o.training.epochs >= 1 else { throw .invalidArgument("--epochs must be at least 1 (got \(o.training.epochs))") }
        guard o.sampling.temperature >= 0, o.sampling.temperature.isFinite else {
            throw .invalidArgument("--temperature must be ≥ 0 (got \(o.sampling.temperature))")
        }
        if let p = o.sampling.stepPatterns, p.isEmpty || p.contains(where: \.isEmpty) {
            throw .invalidArgument("--step-pattern must be non-empty text")
        }
        guard o.sampling.topP > 0, o.sampling.topP <= 1 else { throw .invalidArgument("--top-p must be in (0, 1] (got \(o.sampling.topP))") }
        guard o.training.learningRate > 0, o.training.learningRate.isFinite else {
            throw .invalidArgument("--learning-rate must be positive (got \(o.training.learningRate))")
        }
        if o.featuresPath == nil {
            guard o.modelPath != nil else { throw .invalidArgument("--model is required unless --features is given") }
            guard o.trainData != nil else { throw .invalidArgument("--data is required unless --features is given") }
        }
        for path in [o.modelPath, o.trainData, o.evalData, o.featuresPath].compactMap({ $0 })
        where !FileManager.default.fileExists(atPath: path) {
            throw .notFound(path)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: o.outputDirectory, isDirectory: &isDir), !isDir.boolValue {
            throw .io(o.outputDirectory, "--out must be a folder, and this is a file")
        }
    }

    /// Runs sampling (or loads the features), training and evaluation; `log` gets progress lines.
    public func run(log: @escaping (String) -> Void = { _ in }) throws -> Report {
        try validate()
        let o = options
        do {
            try FileManager.default.createDirectory(atPath: o.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw SprigError.io(o.outputDirectory, "cannot create the output folder: \(error.localizedDescription)")
        }
        let dir = o.outputDirectory.hasSuffix("/") ? String(o.outputDirectory.dropLast()) : o.outputDirectory
        let t0 = Date()
        let data: TrainSPRMFeatures
        if let f = o.featuresPath {
            data = try TrainSPRMFeatures.read(path: f)
            log("loaded \(data.train.count) train / \(data.eval.count) eval trajectories (width \(data.width)) from \(f)")
        } else {
            data = try sampleAll(dir: dir, log: log)
        }
        let sampleSeconds = Date().timeIntervalSince(t0)

        let examples = data.train.map { SPRExample(features: $0.features, correct: $0.correct, problemID: $0.problemID) }
        let t1 = Date()
        let trainer = SPRTrainer(config: o.training)
        let initial = SPRTrainer.initialHead(inputWidth: data.width, hiddenWidth: o.training.hiddenWidth ?? 2 * data.width,
                                             seed: o.training.seed)
        let result: SPRTrainingResult
        do {
            result = try trainer.train(examples, initialHead: initial) { m in
                let a = m.auroc.map { String(format: "%.3f", $0) } ?? "n/a"
                log(String(format: "epoch %d (%@): loss %@  bce %.4f  score correct %.3f / incorrect %.3f  train AUROC %@",
                           m.epoch, m.objective, m.trainLoss.map { String(format: "%.4f", $0) } ?? "-", m.evalBCE,
                           m.meanScoreCorrect, m.meanScoreIncorrect, a))
            }
        } catch {
            throw SprigError.invalidArgument(error.description)
        }
        let trainSeconds = Date().timeIntervalSince(t1)
        do {
            try result.write(headPath: dir + "/sprm.safetensors", csvPath: dir + "/metrics.csv", svgPath: dir + "/figure4.svg")
        } catch {
            throw SprigError.io(dir, error.description)
        }
        let all = data.train + data.eval
        let report = Report(
            loss: o.training.loss.rawValue, epochs: o.training.epochs, featureWidth: data.width,
            trainTrajectories: data.train.count, evalTrajectories: data.eval.count,
            stepless: all.filter { $0.features.isEmpty }.count,
            meanSteps: all.isEmpty ? 0 : Double(all.map(\.features.count).reduce(0, +)) / Double(all.count),
            sampleSeconds: sampleSeconds, trainSeconds: trainSeconds,
            trainBefore: .evaluate(head: initial, trajectories: data.train),
            train: .evaluate(head: result.head, trajectories: data.train),
            evalBefore: data.eval.isEmpty ? nil : .evaluate(head: initial, trajectories: data.eval),
            eval: data.eval.isEmpty ? nil : .evaluate(head: result.head, trajectories: data.eval))
        log("train: " + report.train.summaryLine)
        if let e = report.eval { log("eval:  " + e.summaryLine) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(report).write(to: URL(fileURLWithPath: dir + "/summary.json"), options: .atomic)
        } catch {
            throw SprigError.io(dir + "/summary.json", "cannot write: \(error.localizedDescription)")
        }
        return report
    }

    /// Samples the train and eval sets, writing `features.bin` and `samples.jsonl`.
    private func sampleAll(dir: String, log: (String) -> Void) throws -> TrainSPRMFeatures {
        let o = options
        guard let modelPath = o.modelPath, let trainPath = o.trainData else {
            throw SprigError.invalidArgument("--model and --data are required unless --features is given")
        }
        let train = try Problem.load(path: trainPath)
        let eval = try o.evalData.map { p throws(SprigError) in try Problem.load(path: p) } ?? []
        let model = try LanguageModel.load(path: modelPath)
        log(String(format: "loaded %@ (hidden %d) in %.1f s", modelPath, model.transformer.config.hiddenSize, model.loadSeconds))
        let engine = try SearchEngine(model: model, sprmPath: nil, kvMemoryBytes: o.kvMemoryBytes)
        let sampler = TrainSPRMSampler(engine: engine, settings: o.sampling)
        var lines: [String] = []
        func run(_ set: [Problem], name: String) throws -> [SampledTrajectory] {
            var out: [SampledTrajectory] = []
            let start = Date()
            for (i, p) in set.enumerated() {
                let ts = try sampler.sample(p, problemID: i)
                out += ts
                for t in ts {
                    let row: [String: Any] = ["set": name, "problem": i, "reference": p.answer, "answer": t.answer ?? NSNull(),
                                              "correct": t.correct, "steps": t.features.count, "text": t.text]
                    if let d = try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]) {
                        lines.append(String(decoding: d, as: UTF8.self))
                    }
                }
                let elapsed = Date().timeIntervalSince(start)
                log(String(format: "%@ %d/%d: %d/%d correct, %d steps, %d tokens  (%.0f s, %.1f tok/s)", name, i + 1, set.count,
                           ts.filter(\.correct).count, ts.count, ts.map(\.features.count).reduce(0, +),
                           ts.map(\.tokenCount).reduce(0, +), elapsed,
                           Double(out.map(\.tokenCount).reduce(0, +)) / max(elapsed, 1e-9)))
            }
            return out
        }
        let data = TrainSPRMFeatures(width: model.transformer.config.hiddenSize,
                                     train: try run(train, name: "train"), eval: try run(eval, name: "eval"))
        try data.write(to: dir + "/features.bin")
        do {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/samples.jsonl"), options: .atomic)
        } catch {
            throw SprigError.io(dir + "/samples.jsonl", "cannot write: \(error.localizedDescription)")
        }
        return data
    }
}
