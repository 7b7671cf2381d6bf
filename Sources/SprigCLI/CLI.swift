import Foundation
import ArgumentParser
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

    /// Runs a typed-throwing body and turns its error into a clean one-line exit.
    static func run<T, E: Error & CustomStringConvertible>(_ body: () throws(E) -> T) throws -> T {
        do { return try body() } catch {
            progress("error: \(error.description)")
            throw ExitCode.failure
        }
    }

    static func loadModel(_ path: String, dequantize: Bool = false) throws -> TransformerModel {
        try run { () throws(TransformerError) in try TransformerModel.load(path: path, dequantize: dequantize) }
    }
}
