import Foundation
import Kernels
import StepSearch
import XCTest
@testable import Sprig

/// Many searches in one process: every KV block returns to the pool after each, and the
/// heap (jemalloc's own count) stays near its level after warm-up.
final class ReliabilityLeakTests: XCTestCase {
    func testJemallocIsTheProcessMalloc() throws {
        let version = try XCTUnwrap(Allocator.jemallocVersion, "mallctl(\"version\") did not answer: malloc is not jemalloc")
        XCTAssertFalse(version.isEmpty)
        // Its statistics must follow a real malloc: 64 MiB through plain malloc shows up.
        let before = try XCTUnwrap(Allocator.allocatedBytes)
        let p = try XCTUnwrap(malloc(64 << 20))
        memset(p, 1, 64 << 20)
        let during = try XCTUnwrap(Allocator.allocatedBytes)
        free(p)
        let after = try XCTUnwrap(Allocator.allocatedBytes)
        // (Other threads may free a little meanwhile: 1 MiB of slack.)
        XCTAssertGreaterThanOrEqual(during - before, 63 << 20)
        XCTAssertLessThan(after, during - (60 << 20))
        // And the shared library is mapped into this process.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/maps"))
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        XCTAssertTrue(maps.contains("libc.so") || maps.contains("libc-"), "cannot read /proc/self/maps: \(maps.prefix(200))")
        XCTAssertTrue(maps.contains("jemalloc"), "libjemalloc is not mapped")
    }

    /// Current resident set size (Linux /proc/self/statm, pages → bytes).
    static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    struct Figures {
        var searches = 0
        var seconds = 0.0
        var heapAfterWarmup = 0
        var heapAfterAll = 0
        var residentAfterWarmup = 0
        var residentAfterAll = 0
        var tokens = 0
        var description: String {
            String(format: "%d searches in %.1f s, %d tokens; jemalloc allocated %.2f → %.2f MB (Δ %+.3f MB); RSS %.1f → %.1f MB",
                   searches, seconds, tokens, Double(heapAfterWarmup) / 1e6, Double(heapAfterAll) / 1e6,
                   Double(heapAfterAll - heapAfterWarmup) / 1e6, Double(residentAfterWarmup) / 1e6,
                   Double(residentAfterAll) / 1e6)
        }
    }

    /// Runs `count` searches cycling through `configs`; checks the pool after every one.
    func runMany(engine: SearchEngine, configs: [SearchConfig], count: Int, warmup: Int) throws -> Figures {
        var f = Figures()
        let t0 = Date()
        for i in 0..<count {
            let config = configs[i % configs.count]
            let result = try engine.search(question: "What is \(i % 7) times 3?", config: config, seed: UInt64(i))
            f.tokens += result.tokensUsed
            XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount, "search \(i) (\(config.strategy)) kept blocks")
            if i + 1 == warmup {
                f.heapAfterWarmup = Allocator.allocatedBytes ?? 0
                f.residentAfterWarmup = Self.residentBytes()
            }
        }
        f.searches = count
        f.seconds = Date().timeIntervalSince(t0)
        f.heapAfterAll = Allocator.allocatedBytes ?? 0
        f.residentAfterAll = Self.residentBytes()
        XCTAssertEqual(engine.pool.checkInvariants(), [])
        return f
    }

    static func mixedConfigs(budget: Int, childTokens: Int, completion: Int) -> [SearchConfig] {
        var mcts = SearchConfig(strategy: .mcts, budget: budget)
        mcts.mcts = MCTSConfig(children: 3, childTokens: childTokens)
        var bon = SearchConfig(strategy: .bestOfN, budget: budget)
        bon.bestOfN = BestOfNConfig(n: 3, selection: .sprm)
        bon.bestOfN.trajectoryTokens = budget / 3
        var beam = SearchConfig(strategy: .beam, budget: budget)
        beam.beam = BeamConfig(width: 2, expansions: 2, stepTokens: childTokens)
        let greedy = SearchConfig(strategy: .greedy, budget: budget)
        let sample = SearchConfig(strategy: .sample, budget: budget)
        return [mcts, bon, beam, greedy, sample].map { c in
            var c = c
            c.completionTokens = completion
            return c
        }
    }

    func testHundredSearchesOnTheTinyModelGiveEveryBlockBack() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 4 << 20)
        let f = try runMany(engine: engine, configs: Self.mixedConfigs(budget: 60, childTokens: 8, completion: 8),
                            count: 100, warmup: 20)
        print("tiny model: \(f.description)")
        // Nothing a search allocates may survive it: after warm-up (workspaces grown to their
        // largest shapes) 80 more searches may not add a megabyte.
        XCTAssertLessThan(f.heapAfterAll - f.heapAfterWarmup, 1 << 20, f.description)
    }

    /// SmolLM2 through the library; SPRIG_LEAK_SEARCHES sets the count (default 10, a few
    /// seconds each on a busy 2-core machine; the README's figures are from 100).
    func testManySearchesOnSmolLM2GiveEveryBlockBack() throws {
        let path = try TestModels.smolLM2()
        let count = Int(ProcessInfo.processInfo.environment["SPRIG_LEAK_SEARCHES"] ?? "") ?? 10
        let lm = try LanguageModel.load(path: path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 256 << 20)
        let f = try runMany(engine: engine, configs: Self.mixedConfigs(budget: 24, childTokens: 8, completion: 4),
                            count: count, warmup: max(1, min(10, count / 2)))
        print("SmolLM2: \(f.description)")
        XCTAssertLessThan(f.heapAfterAll - f.heapAfterWarmup, 4 << 20, f.description)
    }
}
