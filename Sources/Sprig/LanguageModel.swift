import Foundation
import Checkpoint
import Kernels
import Tokenizer
import Transformer

/// Errors of the facade: each one line, naming the file and the problem.
public enum SprigError: Error, CustomStringConvertible {
    case notFound(String)
    case noTokenizer(String)
    case noModel(String)
    case invalidArgument(String)
    case model(TransformerError)
    case tokenizer(TokenizerError)
    case checkpoint(CheckpointError)
    case io(String, String)

    /// Why `path`, which was to be read as a file, could not be: thrown where only the
    /// contents were asked for, so the reason is found here, when it is shown.
    static func unreadable(_ path: String) -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return "\(path): no such file or folder" }
        if isDir.boolValue { return "\(path) is a folder, not a file" }
        return "\(path): cannot be read"
    }

    public var description: String {
        switch self {
        case .notFound(let p): return SprigError.unreadable(p)
        case .noTokenizer(let p): return "\(p): no tokenizer found (expected a GGUF file or a folder with tokenizer.json)"
        case .noModel(let p): return "\(p): no model found (expected a GGUF file or a folder with config.json and *.safetensors)"
        case .invalidArgument(let m): return m
        case .model(let e): return e.description
        case .tokenizer(let e): return e.description
        case .checkpoint(let e): return e.description
        case .io(let p, let m): return "\(p): \(m)"
        }
    }
}

/// A transformer with its tokenizer, loaded from one path: a GGUF file (weights
/// and tokenizer inside), or a Hugging Face folder (config.json, *.safetensors,
/// tokenizer.json).
public final class LanguageModel: @unchecked Sendable {
    public let path: String
    public let transformer: TransformerModel
    public let tokenizer: BPETokenizer
    /// Wall seconds spent loading.
    public let loadSeconds: Double

    init(path: String, transformer: TransformerModel, tokenizer: BPETokenizer, loadSeconds: Double) {
        self.path = path
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.loadSeconds = loadSeconds
    }

    public static func load(path: String, dequantize: Bool = false) throws(SprigError) -> LanguageModel {
        let t0 = Date()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .notFound(path) }
        if isDir.boolValue {
            guard FileManager.default.fileExists(atPath: path + "/config.json") else { throw .noModel(path) }
            let tokenizer = try loadTokenizer(path: path)
            let model: TransformerModel
            do { model = try TransformerModel.load(path: path, dequantize: dequantize) } catch { throw .model(error) }
            return LanguageModel(path: path, transformer: model, tokenizer: tokenizer,
                                 loadSeconds: Date().timeIntervalSince(t0))
        }
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch { throw .checkpoint(error) }
        let tokenizer = try tokenizer(gguf: gguf)
        let model: TransformerModel
        do { model = try TransformerModel.load(gguf: gguf, dequantize: dequantize) } catch { throw .model(error) }
        return LanguageModel(path: path, transformer: model, tokenizer: tokenizer, loadSeconds: Date().timeIntervalSince(t0))
    }

    /// The tokenizer alone: from a GGUF file, or a folder holding tokenizer.json.
    public static func loadTokenizer(path: String) throws(SprigError) -> BPETokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .notFound(path) }
        if isDir.boolValue {
            let url = URL(fileURLWithPath: path).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: url.path) else { throw .noTokenizer(path) }
            do { return try BPETokenizer(contentsOf: url) } catch { throw .tokenizer(error) }
        }
        if path.hasSuffix("tokenizer.json") {
            do { return try BPETokenizer(contentsOf: URL(fileURLWithPath: path)) } catch { throw .tokenizer(error) }
        }
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch { throw .checkpoint(error) }
        return try tokenizer(gguf: gguf)
    }

    static func tokenizer(gguf: GGUFFile) throws(SprigError) -> BPETokenizer {
        guard let tokens = gguf.strings("tokenizer.ggml.tokens") else { throw .noTokenizer(gguf.path) }
        let model = gguf.string("tokenizer.ggml.model") ?? "gpt2"
        // "gpt2": byte-level BPE over merges; "llama": SentencePiece pieces merged by score.
        var scores: [Float]? = nil
        switch model {
        case "gpt2": break
        case "llama":
            guard let s = gguf.doubles("tokenizer.ggml.scores") else {
                throw .invalidArgument("\(gguf.path): SentencePiece vocabulary without tokenizer.ggml.scores")
            }
            scores = s.map(Float.init)
        default:
            throw .invalidArgument("\(gguf.path): tokenizer model '\(model)' is not supported ('gpt2' or 'llama' only)")
        }
        do {
            return try BPETokenizer(
                ggufTokens: tokens, merges: gguf.strings("tokenizer.ggml.merges") ?? [],
                tokenTypes: gguf.ints("tokenizer.ggml.token_type") ?? [], pre: gguf.string("tokenizer.ggml.pre"),
                bosID: gguf.int("tokenizer.ggml.bos_token_id"), eosID: gguf.int("tokenizer.ggml.eos_token_id"),
                addBOS: gguf.bool("tokenizer.ggml.add_bos_token"), addEOS: gguf.bool("tokenizer.ggml.add_eos_token"),
                scores: scores, addSpacePrefix: gguf.bool("tokenizer.ggml.add_space_prefix"),
                chatTemplate: gguf.string("tokenizer.chat_template"), path: gguf.path)
        } catch { throw .tokenizer(error) }
    }

    /// Ids that end a generation: the tokenizer's stop ids plus the config's eos ids.
    public var stopIDs: Set<Int> {
        tokenizer.stopIDs.union(transformer.config.eosTokenIDs)
    }
}
