import ArgumentParser
import Foundation
import SPRM
import Sprig

struct TrainSPRMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-sprm",
        abstract: "Train an SPRM head on a frozen model from final-answer correctness only.",
        discussion: """
            Samples --samples trajectories per problem of --data (JSONL lines {"question": …, "answer": …}), \
            labels each by its final answer, collects the penultimate hidden state at every step token, and \
            trains the head with the SPR (or BCE) loss. Writes DIR/sprm.safetensors, metrics.csv, figure4.svg, \
            features.bin, samples.jsonl and summary.json; prints the summary as JSON on stdout. \
            --features DIR/features.bin retrains without sampling again.
            """)

    @Option(name: .long, help: "GGUF file or Hugging Face folder to sample with (frozen).")
    var model: String?

    @Option(name: .long, help: "Training problems, JSONL {\"question\", \"answer\"}.")
    var data: String?

    @Option(name: .customLong("eval-data"), help: "Held-out problems, same format (within-problem AUROC reported).")
    var evalData: String?

    @Option(name: .long, help: "A features.bin from an earlier run: train on it instead of sampling.")
    var features: String?

    @Option(name: .long, help: "Trajectories per problem (k).")
    var samples: Int = 8

    @Option(name: .customLong("max-tokens"), help: "Most generated tokens per trajectory.")
    var maxTokens: Int = 256

    @Option(name: .long, help: "Training epochs.")
    var epochs: Int = 10

    @Option(name: .long, help: "spr (the paper's self-supervised loss) or bce (per-step BCE baseline).")
    var loss: String = "spr"

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, help: "Seed for sampling, initialisation and dropout.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Sampling temperature.")
    var temperature: Double = 0.7

    @Option(name: .customLong("top-p"), help: "Nucleus mass in (0, 1].")
    var topP: Double = 0.95

    @Option(name: .customLong("learning-rate"), help: "Adam learning rate.")
    var learningRate: Float = 1e-3

    @Option(name: .customLong("kv-memory"), help: "KV cache memory cap, e.g. 512MiB or 2GiB.")
    var kvMemory: String = "1GiB"

    @Option(name: .customLong("step-pattern"), help: "Text that ends a step (repeatable; default: the model's, \".\\n\\n\").")
    var stepPatterns: [String] = []

    @Flag(name: .long, help: "No progress on stderr.")
    var quiet = false

    /// The options as the library takes them; bad values are usage errors (exit 64).
    func makeOptions() throws -> TrainSPRM.Options {
        guard let lossKind = SPRLoss(rawValue: loss) else { throw ValidationError("--loss must be spr or bce (got '\(loss)')") }
        guard let kvBytes = ByteSize.parse(kvMemory) else { throw ValidationError("--kv-memory '\(kvMemory)' is not a size like 512MiB or 4GiB") }
        var options = TrainSPRM.Options(outputDirectory: out)
        options.modelPath = model
        options.trainData = data
        options.evalData = evalData
        options.featuresPath = features
        options.kvMemoryBytes = kvBytes
        options.sampling.samples = samples
        options.sampling.maxTokens = maxTokens
        options.sampling.temperature = temperature
        options.sampling.topP = topP
        options.sampling.seed = seed
        if !stepPatterns.isEmpty {
            // Let shells pass "\n" literally.
            options.sampling.stepPatterns = stepPatterns.map { $0.replacingOccurrences(of: "\\n", with: "\n") }
        }
        options.training.loss = lossKind
        options.training.epochs = epochs
        options.training.learningRate = learningRate
        options.training.seed = seed
        return options
    }

    func validate() throws {
        // Option values and combinations are usage errors; missing files are found in run (exit 1).
        do { try TrainSPRM(options: makeOptions()).validate() } catch let e as SprigError {
            if case .invalidArgument(let m) = e { throw ValidationError(m) }
        }
    }

    func run() throws {
        let options = try makeOptions()
        let job = TrainSPRM(options: options)
        try CLI.run { () throws(SprigError) in try job.validate() }
        let report: TrainSPRM.Report
        do {
            report = try job.run(log: quiet ? { _ in } : { CLI.progress($0) })
        } catch {
            CLI.fail("\(error)")
        }
        try CLI.printJSON(report)
    }
}
