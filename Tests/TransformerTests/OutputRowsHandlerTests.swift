import Foundation
import XCTest
import Kernels
import PagedKV
@testable import Transformer

/// `forward`'s `onOutputRows` handler (issue 6: tokens drawn inside the forward, on the
/// core that computed their logits) sees every output row exactly once, with its final
/// logits, and the logits are those of a forward without a handler.
final class OutputRowsHandlerTests: XCTestCase {
    func model(_ name: String) throws -> TransformerModel {
        guard let dir = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing")
        }
        let gguf = dir.appendingPathComponent("model.gguf")
        return try TransformerModel.load(path: FileManager.default.fileExists(atPath: gguf.path) ? gguf.path : dir.path)
    }

    func testHandlerSeesEveryRowOnceWithTheSameLogits() throws {
        for name in ["qwen2-f32", "llama-f32-tied", "qwen3-qknorm-gguf"] {
            let m = try model(name)
            let vocab = m.config.vocabSize
            XCTAssertLessThanOrEqual(m.weights.lmHead.weightBytes, CacheSizes.l2Bytes / 4, "\(name): rows split by thread")
            for count in [1, 2, 3, 4, 8] {
                var rng = SplitMix64(seed: UInt64(count))
                let prompts = (0..<count).map { i in (0..<(2 + i % 3)).map { _ in Int(rng.next() % UInt64(vocab)) } }
                // Two caches fed the same tokens: one forward with the handler, one without.
                func run(_ handler: ((Range<Int>, ForwardOutput) -> Void)?) throws -> [[Float]] {
                    let cache = m.makeCache(memoryBytes: 8 << 20, blockSize: 4)
                    let seqs = prompts.map { _ in cache.createSequence() }
                    _ = try m.forward(zip(seqs, prompts).map { ForwardEntry(sequence: $0, tokens: Array($1.dropLast())) }, cache: cache)
                    let last = zip(seqs, prompts).map { ForwardEntry(sequence: $0, tokens: [$1.last!]) }
                    let out = try handler.map { try m.forward(last, cache: cache, onOutputRows: $0) } ?? m.forward(last, cache: cache)
                    return (0..<count).map { Array(out.logits(row: $0)) }
                }
                let lock = NSLock()
                var seen = [Int](repeating: 0, count: count)
                var atCall = [[Float]](repeating: [], count: count)
                let with = try run { rows, out in
                    let copies = rows.map { Array(out.logits(row: $0)) }
                    lock.lock()
                    for (k, r) in rows.enumerated() { seen[r] += 1; atCall[r] = copies[k] }
                    lock.unlock()
                }
                let without = try run(nil)
                XCTAssertEqual(seen, [Int](repeating: 1, count: count), "\(name) \(count) rows: each row once")
                XCTAssertTrue(atCall == with, "\(name) \(count) rows: the handler saw the final logits")
                for r in 0..<count {
                    var worst: Float = 0, scale: Float = 0
                    for i in 0..<vocab { worst = max(worst, abs(with[r][i] - without[r][i])); scale = max(scale, abs(without[r][i])) }
                    // Each thread's rows come from the same f32 product as the shared one.
                    XCTAssertLessThanOrEqual(worst / max(scale, 1e-6), 1e-6, "\(name) \(count) rows, row \(r)")
                }
            }
        }
    }
}
