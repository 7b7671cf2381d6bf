import Foundation
import ArgumentParser
import Sprig
import Transformer
import Kernels

/// Shared helpers of the subcommands.
enum CLI {
    /// One line on stderr (progress and diagnostics never mix with JSON on stdout).
    static func progress(_ line: String) {
        writeStderr(line + "\n")
    }

    /// A one-line error on stderr and exit status 1.
    static func fail(_ message: String) -> Never {
        progress("error: \(message)")
        Foundation.exit(1)
    }

    /// A status line redrawn in place on stderr (nil clears it).
    static func status(_ line: String?) {
        writeStderr("\r\u{1B}[K" + (line ?? ""))
    }

    /// The string's bytes to file descriptor 2, straight from its UTF-8 storage: FileHandle
    /// with `Data(utf8)` (and more so `data(using:)`) costs 0.1 ms or more at its first call
    /// (runtime casts and Foundation set-up), inside a short search's timed window.
    private static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(2, bytes.baseAddress! + done, bytes.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Why a file cannot be written at `path` (nil when it can: its folder exists and is
    /// writable, and the path is not a folder). Checked before long work, so that a typo in an
    /// output path does not cost the result of a finished search or sweep.
    static func outputProblem(_ path: String) -> String? {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return "\(path) is a folder, not a file" }
            return access(path, W_OK) == 0 ? nil : "\(path) is not writable"
        }
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else { return "\(path): folder \(folder) does not exist" }
        guard isDir.boolValue else { return "\(path): \(folder) is not a folder" }
        return access(folder, W_OK) == 0 ? nil : "\(path): folder \(folder) is not writable"
    }

    /// The model path given, or the embedded default.
    static func modelPath(_ given: String?) throws -> String {
        if let g = given { return g }
        guard let d = DefaultModel.locate() else {
            fail("no --model given and the embedded default (\(DefaultModel.folderName)) was not found; run from the repository or set SPRIG_DEFAULT_MODEL")
        }
        return d
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Runs a typed-throwing body and turns its error into a clean one-line exit.
    static func run<T, E: Error & CustomStringConvertible>(_ body: () throws(E) -> T) throws -> T {
        do { return try body() } catch {
            progress("error: \(error.description)")
            throw ExitCode.failure
        }
    }

    /// Loads `--model` (or the embedded default) and a search engine over it with the SPRM
    /// head `sprm` and a KV cache of `kvMemory` (validated by the command; 2 GiB otherwise).
    /// `activations`, when given, is set before the engine sizes its cache (it decides
    /// the cache's element type: TransformerModel.kvPrecision).
    static func loadEngine(model: String?, sprm: String?, kvMemory: String,
                           activations: ActivationPrecision? = nil) throws -> SearchEngine {
        let path = try modelPath(model)
        let lm = try run { () throws(SprigError) in try LanguageModel.load(path: path) }
        if let a = activations { lm.transformer.activationPrecision = a }
        let kvBytes = ByteSize.parse(kvMemory) ?? (2 << 30)
        return try run { () throws(SprigError) in try SearchEngine(model: lm, sprmPath: sprm, kvMemoryBytes: kvBytes) }
    }

    static func loadModel(_ path: String, dequantize: Bool = false) throws -> TransformerModel {
        try run { () throws(TransformerError) in try TransformerModel.load(path: path, dequantize: dequantize) }
    }
}

/// `--activations f32|q8`, shared by `bench`, `generate` and `search`. The throughput
/// commands (search, bench) default to q8 — on quantized checkpoints the integer kernels
/// decode sibling branches 1.5–2× faster, as llama.cpp computes — and generate to f32,
/// whose greedy text must match the reference token for token.
struct ActivationOptions: ParsableArguments {
    @Option(name: .long, help: "Activations in quantized-weight products: f32 (exact) or q8 (int8 blocks, integer dot products, as llama.cpp). Default: SPRIG_ACTIVATIONS, else q8 for search and bench, f32 for generate. No effect on f32/f16/bf16 weights.")
    var activations: String?

    func validate() throws {
        guard ActivationPrecision.parse(activations) != nil else { throw ValidationError("--activations must be f32 or q8") }
    }

    /// The option, else SPRIG_ACTIVATIONS, else the command's default (a bad
    /// SPRIG_ACTIVATIONS is reported on stderr and means f32).
    func precision(default fallback: ActivationPrecision) -> ActivationPrecision {
        if let o = activations, let p = ActivationPrecision.parse(o) { return p }
        if let problem = ActivationPrecision.environmentProblem {
            CLI.progress("warning: \(problem)")
            return .f32
        }
        return ActivationPrecision.environmentChoice ?? fallback
    }
}
