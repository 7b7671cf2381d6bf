import ArgumentParser
import Foundation
import Kernels
import Sprig
import Transformer

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a prompt (no search).")

    @Option(name: .long, help: "GGUF file or Hugging Face model folder (default: the embedded model).")
    var model: String?

    @Option(name: .long, help: "Prompt text.")
    var prompt: String

    @Flag(name: .long, help: "Wrap the prompt as a user turn in the model's chat template (a task model with a sprig.json: its own prompt).")
    var chat = false

    @Option(name: .long, help: "Maximum new tokens (default: 128; with --chat on a task model, up to its context, so it reaches its answer).")
    var maxTokens: Int?

    @Option(name: .long, help: "Sampling temperature (0 = greedy).")
    var temperature: Double = 0

    @Option(name: .long, help: "Nucleus sampling mass.")
    var topP: Double = 1.0

    @Option(name: .long, help: "Top-k cut (0 = off).")
    var topK: Int = 0

    @Option(name: .long, help: "Repetition penalty (1 = off).")
    var repetitionPenalty: Double = 1.0

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Print {\"ids\": [...], \"text\": \"...\"}.")
    var json = false

    @Flag(name: .long, help: "Report load time, peak memory and speed on stderr.")
    var verbose = false

    @OptionGroup var activationOptions: ActivationOptions

    func validate() throws {
        if let m = maxTokens, m < 0 { throw ValidationError("--max-tokens must be ≥ 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be > 0") }
    }

    func run() throws {
        let path = try CLI.modelPath(model)
        let lm = try CLI.run { () throws(SprigError) in try LanguageModel.load(path: path) }
        lm.transformer.activationPrecision = activationOptions.precision(default: .f32)
        if verbose {
            CLI.progress(String(format: "loaded %@ in %.2f s (%.1f MB of weights, peak RSS %.0f MB)", path, lm.loadSeconds,
                                Double(lm.transformer.weightBytes) / 1e6, Double(Allocator.peakResidentBytes) / 1e6))
        }
        // A task model (sprig.json beside it, as the embedded default) was trained on its own
        // prompt, not on the chat template: --chat shows it that one, as `search` does.
        let format = chat ? try CLI.run { () throws(SprigError) in try TaskFormat.load(modelPath: path) } : nil
        let text = try CLI.run { () throws(SprigError) -> String in
            guard chat else { return prompt }
            guard let format else { return lm.tokenizer.chatPrompt(user: prompt) }
            return try format.prompt(for: prompt, chatPrompt: { lm.tokenizer.chatPrompt(user: $0) })
        }
        let sampling = SamplingParameters(temperature: temperature, topP: topP, topK: topK,
                                          repetitionPenalty: repetitionPenalty)
        let stream = !json
        let result = try CLI.run { () throws(SprigError) in
            // A task model's working runs past 128 tokens before its answer (generate stops
            // at the end of sequence or the context).
            try lm.generate(prompt: text, maxTokens: maxTokens ?? (format != nil ? lm.transformer.config.maxPositions : 128), sampling: sampling, seed: seed,
                            onText: stream ? { piece in
                                FileHandle.standardOutput.write(piece.data(using: .utf8) ?? Data())
                            } : nil)
        }
        if json {
            try CLI.printJSON(GenerateJSON(ids: result.ids, text: result.text))
        } else {
            print("")
            // The task's own reading of the text (the default model writes its digits reversed).
            if let format, let answer = format.extractor(for: prompt).answer(in: result.text) { CLI.progress("answer: \(answer)") }
        }
        if verbose {
            CLI.progress(String(format: "%d prompt tokens, %d generated in %.2f s, decode %.1f tok/s, stop: %@, peak RSS %.0f MB",
                                result.promptTokens, result.ids.count, result.seconds, result.decodeTokensPerSecond,
                                result.stopReason, Double(Allocator.peakResidentBytes) / 1e6))
        }
    }
}

struct GenerateJSON: Encodable {
    var ids: [Int]
    var text: String
}
