import Foundation
import Transformer

/// Shared helpers of the subcommands.
enum CLI {
    /// One line on stderr (progress and diagnostics never mix with JSON on stdout).
    static func progress(_ line: String) {
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    static func loadModel(_ path: String, dequantize: Bool = false) throws -> TransformerModel {
        try TransformerModel.load(path: path, dequantize: dequantize)
    }
}
