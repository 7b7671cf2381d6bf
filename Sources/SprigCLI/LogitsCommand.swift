import ArgumentParser
import Foundation
import Sprig
import Transformer

struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Run token ids through the model and print the logits at every position.")

    @Option(name: .long, help: "GGUF file or Hugging Face model folder (default: the embedded model).")
    var model: String?

    @Option(name: .long, help: "Comma-separated token ids, e.g. 1,2,3.")
    var tokens: String

    @Flag(name: .long, help: "Print {\"logits\": [[...], ...]}.")
    var json = false

    func parsedTokens() throws -> [Int] {
        let parts = tokens.split(separator: ",", omittingEmptySubsequences: false)
        var ids: [Int] = []
        for p in parts {
            guard let v = Int(p.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw ValidationError("--tokens: '\(p)' is not a non-negative integer")
            }
            ids.append(v)
        }
        guard !ids.isEmpty else { throw ValidationError("--tokens is empty") }
        return ids
    }

    func validate() throws { _ = try parsedTokens() }

    func run() throws {
        let ids = try parsedTokens()
        let transformer = try CLI.loadModel(try CLI.modelPath(model))
        let cache = transformer.makeCache(memoryBytes: (ids.count + 64) * transformer.kvLayout().bytesPerToken + (1 << 20))
        let seq = cache.createSequence()
        let out = try CLI.run { () throws(TransformerError) in
            try transformer.forward([ForwardEntry(sequence: seq, tokens: ids, allPositions: true)], cache: cache)
        }
        let rows = (0..<out.rows).map { Array(out.logits(row: $0)) }
        if json {
            try CLI.printJSON(["logits": rows])
        } else {
            for (p, row) in rows.enumerated() {
                let top = row.enumerated().max { $0.element < $1.element }!
                print("position \(p): token \(ids[p]) → argmax \(top.offset) (\(top.element))")
            }
        }
    }
}
