import Foundation
import XCTest
@testable import Checkpoint

/// SplitMix64: tiny, seedable, good enough to drive mutations reproducibly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeded mutation fuzzing of the three parsers. Each input is derived from (seed, file, iteration)
/// only, so any failure is reproducible. Every mutated input must either load (and then
/// dequantize every tensor) or throw a CheckpointError; a trap or crash kills the test run.
///
/// Env: SPRIG_FUZZ_ITERATIONS (per seed file, default 4000), SPRIG_FUZZ_SEED (default 20251126),
/// SPRIG_FUZZ_SAVE_DIR (write each input to <dir>/current.bin before parsing it, to keep a crasher).
final class CheckpointFuzzTests: XCTestCase {
    struct Stats { var runs = 0, loaded = 0, errors: [String: Int] = [:] }

    /// Mutations: bit flips, interesting bytes, lying length fields, insertions, deletions, truncation.
    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = seed
        let steps = Int.random(in: 1...4, using: &rng)
        for _ in 0..<steps {
            // Headers live at the front (or, for zips, the back): bias positions there.
            func pos() -> Int {
                guard !b.isEmpty else { return 0 }
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return Int.random(in: 0..<min(b.count, 96), using: &rng)
                case 1: return Int.random(in: max(0, b.count - 256)..<b.count, using: &rng)
                default: return Int.random(in: 0..<b.count, using: &rng)
                }
            }
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: // bit flip
                if !b.isEmpty { b[pos()] ^= 1 << UInt8.random(in: 0..<8, using: &rng) }
            case 1: // interesting byte
                if !b.isEmpty { b[pos()] = [0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x22][Int.random(in: 0..<7, using: &rng)] }
            case 2: // lying length: overwrite 4 or 8 bytes with an extreme or near-size value
                let width = Bool.random(using: &rng) ? 4 : 8
                guard b.count >= width else { break }
                let at = min(pos(), b.count - width)
                let n = UInt64(b.count)
                let choices: [UInt64] = [0, 1, n, n &- 1, n + 1, n * 2, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32,
                                         UInt64(Int64.max), UInt64.max, UInt64.max - 7, rng.next()]
                let v = choices[Int.random(in: 0..<choices.count, using: &rng)]
                for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 3: // insert random bytes
                let at = b.isEmpty ? 0 : pos()
                b.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            case 4: // delete a range
                guard !b.isEmpty else { break }
                let at = pos()
                b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...16, using: &rng)))
            case 5: // truncate
                b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            default: // duplicate a chunk elsewhere (copies structures such as tensor infos)
                guard b.count > 8 else { break }
                let from = pos(), len = Int.random(in: 1...min(32, b.count - from), using: &rng)
                let chunk = Array(b[from..<(from + len)])
                let to = pos()
                b.replaceSubrange(to..<min(b.count, to + len), with: chunk)
            }
        }
        return b
    }

    /// Runs every parser on `bytes`. Returns nil when something loaded, else the error kind.
    static func exercise(_ bytes: [UInt8]) -> [String] {
        var outcome: [String] = []
        let file = MappedFile(bytes: bytes, path: "fuzz")
        func note(_ e: CheckpointError) { outcome.append(String(describing: e).split(separator: ":").dropFirst().first.map(String.init) ?? "?") }
        do {
            let s = try SafetensorsStore(file: file)
            for n in s.tensorNames { _ = try s.require(n).floats() }
            outcome.append("loaded")
        } catch { note(error) }
        do {
            let g = try GGUFFile(file: file)
            for n in g.tensorNames { _ = try g.require(n).floats() }
            _ = g.strings("tokenizer.ggml.tokens")
            outcome.append("loaded")
        } catch { note(error) }
        do {
            _ = try TorchCheckpoint.loadStateDict(file: file)
            outcome.append("loaded")
        } catch { note(error) }
        return outcome
    }

    func testMutatedSeedsNeverCrash() throws {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["SPRIG_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 4000
        let seed = env["SPRIG_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_251_126
        // One descriptor, rewritten in place: creating a file per input is ~100x slower here.
        let saveFD: Int32 = env["SPRIG_FUZZ_SAVE_DIR"].map { open($0 + "/current.bin", O_WRONLY | O_CREAT | O_TRUNC, 0o644) } ?? -1
        defer { if saveFD >= 0 { close(saveFD) } }
        let seeds = ["tiny.safetensors", "sharded/model-00002-of-00002.safetensors", "tiny.gguf",
                     "score_module.pt", "views.pt", "proto4.pt"]
        let start = Date()
        var total = 0, loaded = 0
        for (fileIndex, name) in seeds.enumerated() {
            let original = try Fixture.bytes(name)
            // The unmutated seed must load with its own parser.
            XCTAssertTrue(Self.exercise(original).contains("loaded"), name)
            for i in 0..<iterations {
                var rng = SplitMix(state: seed ^ (UInt64(fileIndex) << 48) ^ UInt64(i) &* 0x9E37_79B9)
                let input = Self.mutate(original, &rng)
                if saveFD >= 0 {
                    _ = input.withUnsafeBytes { pwrite(saveFD, $0.baseAddress, $0.count, 0) }
                    _ = ftruncate(saveFD, off_t(input.count))
                }
                let outcome = Self.exercise(input)
                XCTAssertEqual(outcome.count, 3)
                if outcome.contains("loaded") { loaded += 1 }
                total += 1
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(total) executions (x3 parsers), \(loaded) loaded, \(total - loaded) rejected with CheckpointError, 0 crashes, \(String(format: "%.2f", seconds)) s, seed \(seed)")
        XCTAssertGreaterThan(total - loaded, total / 4, "mutations should mostly hit validation")
    }
}
