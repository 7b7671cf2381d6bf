import Foundation
import XCTest

/// Every bad option or config value ends the real `sprig` binary with one `error:` line on
/// stderr and a non-zero status, never a trap. Models: the tiny fixture (with a generated
/// byte-level tokenizer where a tokenizer is needed).
final class CLIValidationTests: XCTestCase {
    var tiny: URL!

    override func setUpWithError() throws {
        tiny = try TestModels.tinyWithTokenizer()
    }

    override func tearDownWithError() throws {
        if let t = tiny { try? FileManager.default.removeItem(at: t) }
    }

    func search(_ extra: [String]) -> [String] {
        ["search", "--model", tiny.path, "--question", "What is 2+3?", "--quiet"] + extra
    }

    func tempFile(_ name: String, _ contents: Data) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-\(UUID().uuidString)-\(name)")
        try contents.write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    // MARK: search

    func testSearchRejectsBadNumbers() throws {
        try assertCleanFailure(search(["--budget", "0"]), mentions: "--budget")
        try assertCleanFailure(search(["--budget=-5"]), mentions: "--budget")
        try assertCleanFailure(search(["--children", "0"]), mentions: "--children")
        try assertCleanFailure(search(["--children=-3"]), mentions: "--children")
        try assertCleanFailure(search(["--children", "9223372036854775807"]), mentions: "--children")
        try assertCleanFailure(search(["--child-tokens", "0"]), mentions: "--child-tokens")
        try assertCleanFailure(search(["--n", "0"]), mentions: "--n")
        try assertCleanFailure(search(["--n", "100000"]), mentions: "--n")
        try assertCleanFailure(search(["--seed=-1"]), mentions: "seed")
        try assertCleanFailure(search(["--budget", "1e9"]), mentions: "budget")
    }

    func testSearchRejectsBadNamesAndSizes() throws {
        try assertCleanFailure(search(["--strategy", "dfs"]), mentions: "unknown --strategy 'dfs'")
        try assertCleanFailure(search(["--kv-memory", "lots"]), mentions: "--kv-memory")
        try assertCleanFailure(search(["--kv-memory", "0"]), mentions: "--kv-memory")
        try assertCleanFailure(search(["--kv-memory=-1GiB"]), mentions: "--kv-memory")
        try assertCleanFailure(search(["--kv-memory", "1e99"]), mentions: "--kv-memory")
        // Parses, but holds fewer than 4 KV blocks of the model.
        try assertCleanFailure(search(["--kv-memory", "1KiB"]), mentions: "fewer than 4 KV blocks")
        // Parses, but is more than the machine has (the pool is allocated up front).
        try assertCleanFailure(search(["--kv-memory", "100000GiB"]), mentions: "exceeds this machine")
        try assertCleanFailure(["search", "--model", tiny.path, "--question", "  \n"], mentions: "--question is empty")
    }

    /// --strategy and a preset naming another strategy: an error, not one silently ignored.
    func testSearchRejectsAStrategyThatContradictsThePreset() throws {
        let preset = SprigCLI.packageRoot.appendingPathComponent("Configs/mcts-small.json").path
        try assertCleanFailure(search(["--config", preset, "--strategy", "greedy"]), mentions: "disagree")
        let same = try SprigCLI.run(search(["--config", preset, "--strategy", "mcts", "--budget", "60", "--child-tokens", "20"]))
        XCTAssertEqual(same.status, 0, same.stderr)
    }

    func testSearchRejectsMissingOrUnfitModels() throws {
        try assertCleanFailure(["search", "--model", "/nonexistent/model.gguf", "--question", "q"], mentions: "no such file")
        // A weights folder without tokenizer.json.
        try assertCleanFailure(["search", "--model", TestModels.tinyFixture.path, "--question", "q"], mentions: "no tokenizer")
        // A folder without config.json.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        try assertCleanFailure(["search", "--model", empty.path, "--question", "q"], mentions: "no model found")
        // The tiny model has 128 positions: a 128-token child cannot follow any prompt.
        try assertCleanFailure(search(["--child-tokens", "128"]), mentions: "does not fit the model's context of 128")
        try assertCleanFailure(search(["--sprm", "/nonexistent/sprm.safetensors"]), mentions: "/nonexistent/sprm.safetensors")
        // The chat prompt of a 200-character question is longer than 128 positions.
        try assertCleanFailure(["search", "--model", tiny.path, "--child-tokens", "8", "--question", String(repeating: "x", count: 200)],
                               mentions: "exceeds the model's context of 128")
        // 4 blocks of 16 positions parse as a cap, but an 83-token prompt needs 6 of them.
        let blockBytes: Int = 3 * 2 * 2 * 16 * 16 * 4     // layers × (K, V) × kv heads × head dim × positions × f32
        let fourBlocks = String(4 * blockBytes)
        try assertCleanFailure(["search", "--model", tiny.path, "--child-tokens", "8", "--kv-memory", fourBlocks, "--question",
                                String(repeating: "y", count: 60)], mentions: "raise --kv-memory")
    }

    func testTruncatedGGUFIsAnError() throws {
        let gguf = try TestModels.smolLM2()
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: gguf))
        let head = try handle.read(upToCount: 4 << 20) ?? Data()
        for (name, bytes) in [("header only", head.prefix(64)), ("first 4 MiB", head)] {
            let path = try tempFile("truncated.gguf", bytes)
            let r = try SprigCLI.run(["logits", "--model", path, "--tokens", "1,2"])
            XCTAssertFalse(r.signaled, "\(name): \(r.stderr)")
            XCTAssertNotEqual(r.status, 0, "\(name)")
            XCTAssertEqual(r.errorLines.count, 1, "\(name): \(r.errorLines)")
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("truncated.gguf"), "\(name): \(r.stderr)")
            try assertCleanFailure(["search", "--model", path, "--question", "q"], mentions: "truncated.gguf")
        }
    }

    func testSearchRejectsBadConfigFiles() throws {
        try assertCleanFailure(search(["--config", "/nonexistent/preset.json"]), mentions: "preset.json")
        let cases: [(String, String)] = [
            (#"{"strategy": "dfs", "budget": 10}"#, "unknown strategy 'dfs'"),
            (#"{"strategy": "mcts", "budget": -1}"#, "budget must be > 0"),
            (#"{"strategy": "mcts", "budget": 10, "mcts": {"children": 0}}"#, "mcts.children must be > 0"),
            (#"{"strategy": "mcts", "budget": 10, "mcts": {"children": 100000}}"#, "mcts.children 100000"),
            (#"{"strategy": "mcts", "budget": 10, "mcts": {"child_tokens": 9223372036854775807}}"#, "child_tokens"),
            (#"{"strategy": "beam", "budget": 10, "beam": {"width": 4000, "expansions": 4000}}"#, "beam.width"),
            (#"{"strategy": "best-of-n", "budget": 10, "best_of_n": {"trajectory_tokens": 9223372036854775807}}"#,
             "trajectory_tokens"),
            (#"{"strategy": "mcts", "budget": 10, "sampling": {"top_p": 0}}"#, "top_p"),
            (#"{"strategy": "mcts", "budget": 10, "completion_tokens": -1}"#, "completion_tokens"),
            (#"{"strategy": "mcts""#, "cannot read search config"),
            (#"{"budget": 10}"#, "strategy"),
            (#"{"strategy": "mcts", "budget": 10, "mcts": {"selection": "wat"}}"#, "must be one of puct, uct"),
            (#"{"strategy": "mcts", "budget": 10, "seed": -1}"#, "seed ≥ 0"),
        ]
        for (i, (json, mention)) in cases.enumerated() {
            let path = try tempFile("preset\(i).json", Data(json.utf8))
            try assertCleanFailure(search(["--config", path]), mentions: mention)
        }
    }

    func testSearchFailsCleanlyOnUnwritableTrace() throws {
        // Refused before the search runs (a finished search's answer is not thrown away).
        try assertCleanFailure(search(["--budget", "8", "--child-tokens", "4", "--trace", "/nonexistent/dir/trace.json"]),
                               mentions: "/nonexistent/dir does not exist")
        let folder = FileManager.default.temporaryDirectory.path
        try assertCleanFailure(search(["--budget", "8", "--child-tokens", "4", "--trace", folder]), mentions: "is a folder")
        try assertCleanFailure(search(["--budget", "8", "--child-tokens", "4", "--html", "/nonexistent/dir/t.html"]),
                               mentions: "/nonexistent/dir does not exist")
    }

    func testPaperPresetRunsOnASmallContext() throws {
        // The shipped preset's 1024-token children are clamped to the context, as with no
        // --config (it used to fail: "the preset's mcts.child_tokens 1024 does not fit").
        let preset = SprigCLI.packageRoot.appendingPathComponent("Configs/mcts-paper.json").path
        var args = search(["--config", preset, "--budget", "64"])
        args.removeAll { $0 == "--quiet" }
        let r = try SprigCLI.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: the preset's mcts.child_tokens 1024"), r.stderr)
    }

    /// README: 64 for a command line wrong on its own, 1 for what is found while running.
    func testExitStatusesSeparateUsageFromInput() throws {
        XCTAssertEqual(try SprigCLI.run(["train-sprm", "--out", "/tmp/x", "--samples", "0"]).status, 64)
        XCTAssertEqual(try SprigCLI.run(["train-sprm", "--out", "/tmp/x", "--loss", "wat"]).status, 64)
        XCTAssertEqual(try SprigCLI.run(["train-sprm", "--out", "/tmp/x"]).status, 64, "no --model and no --features")
        XCTAssertEqual(try SprigCLI.run(["train-sprm", "--out", "/tmp/x", "--model", "/nonexistent", "--data", "/nonexistent"]).status, 1)
        XCTAssertEqual(try SprigCLI.run(search(["--budget", "0"])).status, 64)
        XCTAssertEqual(try SprigCLI.run(["search", "--model", "/nonexistent", "--question", "q"]).status, 1)
    }

    func testMCTSWhoseExpansionCannotFitIsRefused() throws {
        // Used to run to the end with 0 tokens generated and 1 node, and exit 0.
        try assertCleanFailure(search(["--children", "64", "--child-tokens", "100", "--kv-memory", "64KiB"]),
                               mentions: "one MCTS expansion (64 children")
    }

    func testSmallSearchSucceedsOnTinyModel() throws {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-trace-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: trace) }
        let r = try SprigCLI.run(search(["--budget", "64", "--children", "3", "--child-tokens", "8", "--json",
                                         "--trace", trace.path]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["interrupted"] as? Bool, false)
        XCTAssertEqual(json["budget"] as? Int, 64)
        XCTAssertLessThanOrEqual(json["tokens_used"] as? Int ?? .max, 64)
        XCTAssertNotNil(json["pruned"] as? Int)
        XCTAssertTrue(FileManager.default.fileExists(atPath: trace.path))
    }

    // MARK: generate

    func testGenerateRejectsBadSampling() throws {
        let base = ["generate", "--model", tiny.path, "--prompt", "hi"]
        try assertCleanFailure(base + ["--max-tokens=-1"], mentions: "--max-tokens")
        try assertCleanFailure(base + ["--temperature=-0.5"], mentions: "--temperature")
        try assertCleanFailure(base + ["--temperature", "nan"], mentions: "--temperature")
        try assertCleanFailure(base + ["--top-p", "0"], mentions: "--top-p")
        try assertCleanFailure(base + ["--top-p", "1.5"], mentions: "--top-p")
        try assertCleanFailure(base + ["--top-k=-1"], mentions: "--top-k")
        try assertCleanFailure(base + ["--repetition-penalty", "0"], mentions: "--repetition-penalty")
        try assertCleanFailure(["generate", "--model", "/nonexistent", "--prompt", "hi"], mentions: "no such file")
        try assertCleanFailure(["generate", "--model", tiny.path, "--prompt", ""], mentions: "the prompt is empty")
        try assertCleanFailure(["generate", "--model", TestModels.tinyFixture.path, "--prompt", "hi"], mentions: "no tokenizer")
        // 200 prompt tokens do not fit 128 positions.
        try assertCleanFailure(["generate", "--model", tiny.path, "--prompt", String(repeating: "a", count: 200)],
                               mentions: "exceeds the model's context of 128")
    }

    func testGenerateWithHugeMaxTokensStopsAtTheContext() throws {
        let r = try SprigCLI.run(["generate", "--model", tiny.path, "--prompt", "hi", "--json",
                                  "--max-tokens", "9223372036854775807"])
        XCTAssertFalse(r.signaled, r.stderr)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let ids = try XCTUnwrap(json["ids"] as? [Int])
        XCTAssertLessThanOrEqual(ids.count, 128 - 2, "2 prompt tokens + generated ≤ 128 positions")
    }

    // MARK: tokenize

    func testTokenizeRejectsBadInput() throws {
        try assertCleanFailure(["tokenize", "--model", tiny.path], mentions: "exactly one of --text or --text-file")
        try assertCleanFailure(["tokenize", "--model", tiny.path, "--text", "a", "--text-file", "/x"],
                               mentions: "exactly one of --text or --text-file")
        try assertCleanFailure(["tokenize", "--model", tiny.path, "--text-file", "/nonexistent.txt"], mentions: "no such file")
        let latin1 = try tempFile("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9, 0xFF]))
        try assertCleanFailure(["tokenize", "--model", tiny.path, "--text-file", latin1], mentions: "not valid UTF-8")
        try assertCleanFailure(["tokenize", "--model", "/nonexistent", "--text", "a"], mentions: "no such file")
        try assertCleanFailure(["tokenize", "--model", TestModels.tinyFixture.path, "--text", "a"], mentions: "no tokenizer")
    }

    // MARK: logits

    func testLogitsRejectsBadTokens() throws {
        let model = TestModels.tinyFixture.path
        try assertCleanFailure(["logits", "--model", model, "--tokens", "1,320"], mentions: "token id 320 is out of range for a vocabulary of 320")
        try assertCleanFailure(["logits", "--model", model, "--tokens", "9223372036854775807"], mentions: "out of range")
        try assertCleanFailure(["logits", "--model", model, "--tokens=-1"], mentions: "not a non-negative integer")
        try assertCleanFailure(["logits", "--model", model, "--tokens", "1,,2"], mentions: "not a non-negative integer")
        try assertCleanFailure(["logits", "--model", model, "--tokens", "x"], mentions: "not a non-negative integer")
        try assertCleanFailure(["logits", "--model", model, "--tokens", ""], mentions: "--tokens")
        let long = (0..<200).map { String($0 % 300) }.joined(separator: ",")
        try assertCleanFailure(["logits", "--model", model, "--tokens", long], mentions: "exceeds the model's context of 128")
        try assertCleanFailure(["logits", "--model", "/nonexistent", "--tokens", "1"], mentions: "/nonexistent")
    }

    func testLogitsPrintsOneRowPerToken() throws {
        let r = try SprigCLI.run(["logits", "--model", TestModels.tinyFixture.path, "--tokens", "1,2,319", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [[Double]]])
        XCTAssertEqual(json["logits"]?.count, 3)
        XCTAssertEqual(json["logits"]?.first?.count, 320)
    }

    /// A copy of the tiny fixture whose safetensors file is replaced by `corrupt(original)`.
    func corruptedModel(_ corrupt: (Data) -> Data) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: TestModels.tinyFixture.appendingPathComponent("config.json"),
                                         to: dir.appendingPathComponent("config.json"))
        let original = try Data(contentsOf: TestModels.tinyFixture.appendingPathComponent("model.safetensors"))
        try corrupt(original).write(to: dir.appendingPathComponent("model.safetensors"))
        return dir.path
    }

    func testLogitsRejectsTruncatedAndLyingSafetensors() throws {
        func headerLength(_ d: Data) -> Int { d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }
        /// `body` with its first 8 bytes replaced by the little-endian header length `n`.
        func withHeader(_ body: Data, _ n: UInt64) -> Data {
            var out = Data((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) })
            out.append(body.dropFirst(8))
            return out
        }
        let variants: [(String, (Data) -> Data)] = [
            ("truncated to half", { $0.prefix($0.count / 2) }),
            ("truncated inside the header", { $0.prefix(20) }),
            ("empty", { _ in Data() }),
            ("header length past the end", { withHeader($0, UInt64($0.count) * 4) }),
            ("header length 2^63", { withHeader($0, 1 << 63) }),
            ("header length too short", { withHeader($0, UInt64(headerLength($0) / 2)) }),
            ("offsets past the end", { d in
                // The embedding keeps its size but points 10 MB past the end of the data.
                let n = headerLength(d)
                guard var header = (try? JSONSerialization.jsonObject(with: d[8..<(8 + n)])) as? [String: Any],
                      var embed = header["model.embed_tokens.weight"] as? [String: Any],
                      let offsets = embed["data_offsets"] as? [Int], offsets.count == 2 else { return Data() }
                embed["data_offsets"] = [offsets[0] + 10_000_000, offsets[1] + 10_000_000]
                header["model.embed_tokens.weight"] = embed
                let json = (try? JSONSerialization.data(withJSONObject: header)) ?? Data()
                return withHeader(Data(count: 8) + json + d.dropFirst(8 + n), UInt64(json.count))
            }),
            ("offsets inverted", { d in
                let n = headerLength(d)
                guard var header = (try? JSONSerialization.jsonObject(with: d[8..<(8 + n)])) as? [String: Any],
                      var embed = header["model.embed_tokens.weight"] as? [String: Any],
                      let offsets = embed["data_offsets"] as? [Int], offsets.count == 2 else { return Data() }
                embed["data_offsets"] = [offsets[1], offsets[0]]
                header["model.embed_tokens.weight"] = embed
                let json = (try? JSONSerialization.data(withJSONObject: header)) ?? Data()
                return withHeader(Data(count: 8) + json + d.dropFirst(8 + n), UInt64(json.count))
            }),
            ("shape larger than its bytes", { d in
                let n = headerLength(d)
                guard var header = (try? JSONSerialization.jsonObject(with: d[8..<(8 + n)])) as? [String: Any],
                      var embed = header["model.embed_tokens.weight"] as? [String: Any] else { return Data() }
                embed["shape"] = [320, 4800]
                header["model.embed_tokens.weight"] = embed
                let json = (try? JSONSerialization.data(withJSONObject: header)) ?? Data()
                return withHeader(Data(count: 8) + json + d.dropFirst(8 + n), UInt64(json.count))
            }),
        ]
        for (name, corrupt) in variants {
            let path = try corruptedModel(corrupt)
            let r = try SprigCLI.run(["logits", "--model", path, "--tokens", "1,2"])
            XCTAssertFalse(r.signaled, "\(name): died from a signal: \(r.stderr)")
            XCTAssertNotEqual(r.status, 0, "\(name): loaded")
            XCTAssertEqual(r.errorLines.count, 1, "\(name): \(r.errorLines)")
            XCTAssertTrue(r.errorLines.first?.hasPrefix("error: ") == true, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("model.safetensors") || r.stderr.contains(path), "\(name): \(r.stderr)")
        }
    }

    func testLogitsRejectsBadConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-badconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: TestModels.tinyFixture.appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        let configs: [(String, String)] = [
            ("{not json", "not valid JSON"),
            (#"{"model_type": "gpt2"}"#, "unsupported model_type"),
            (#"{"model_type": "llama", "hidden_size": 48}"#, "missing or non-integer"),
            (#"{"model_type": "llama", "hidden_act": "gelu"}"#, "unsupported hidden_act 'gelu'"),
        ]
        for (config, mention) in configs {
            try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
            try assertCleanFailure(["logits", "--model", dir.path, "--tokens", "1"], mentions: mention)
        }
        // A config that disagrees with the weights (hidden size 64 vs 48 in the file).
        var json = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: TestModels.tinyFixture.appendingPathComponent("config.json"))) as? [String: Any])
        json["hidden_size"] = 64
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        try assertCleanFailure(["logits", "--model", dir.path, "--tokens", "1"], mentions: "shape")
    }

    // MARK: view

    func testViewRejectsMissingAndMalformedTraces() throws {
        try assertCleanFailure(["view", "/nonexistent/trace.json"], mentions: "no such file")
        try assertCleanFailure(["view", FileManager.default.temporaryDirectory.path], mentions: "is a folder, not a file")
        let notTrace = try tempFile("not-trace.json", Data(#"{"nodes": 3}"#.utf8))
        try assertCleanFailure(["view", notTrace], mentions: "not a Sprig trace")
        // Well-formed JSON whose references lie (parents, chosen ids out of range, a cycle):
        // drawn or refused, never a trap.
        func node(_ id: Int, _ parent: Int?) -> String {
            #"{"id":\#(id),"parent":\#(parent.map(String.init) ?? "null"),"tokens":3,"text":"x","step_scores":[],"visits":1,"value":0.5,"score":0.5,"terminal":false,"pruned":false,"stop":"tokenLimit"}"#
        }
        let lies = [([node(0, nil), node(1, 99)], [0, 1]), ([node(0, nil), node(1, 0)], [0, 42]),
                    ([node(0, 1), node(1, 0)], [0, 1]), ([node(5, nil), node(-7, -5)], [-7]), ([], [])]
        for (nodes, chosen) in lies {
            let json = #"{"budget":10,"strategy":"mcts","seed":0,"tokens_used":6,"chosen":\#(chosen),"nodes":[\#(nodes.joined(separator: ","))]}"#
            let path = try tempFile("lie.json", Data(json.utf8))
            let html = path + ".html"
            addTeardownBlock { try? FileManager.default.removeItem(atPath: html) }
            let r = try SprigCLI.run(["view", path, "-o", html], timeout: 60)
            XCTAssertFalse(r.signaled, "\(json): \(r.stderr)")
            XCTAssertTrue(r.status == 0 || r.errorLines.first?.hasPrefix("error: ") == true, "\(json): \(r.stderr)")
        }
    }

    // MARK: bench

    func testBenchRejectsBadSizes() throws {
        let model = TestModels.tinyFixture.path
        try assertCleanFailure(["bench", "--model", model, "--steps", "0"], mentions: "--steps")
        try assertCleanFailure(["bench", "--model", model, "--prompt=-1"], mentions: "--prompt")
        try assertCleanFailure(["bench", "--model", model, "--sequences", "0"], mentions: "--sequences")
        try assertCleanFailure(["bench", "--model", model, "--sequences", "1,x"], mentions: "--sequences")
        try assertCleanFailure(["bench", "--model", model, "--sequences", ""], mentions: "--sequences")
        try assertCleanFailure(["bench", "--model", model, "--sequences", "1,,4"], mentions: "--sequences")
        try assertCleanFailure(["bench", "--model", model, "--sequences", "100000"], mentions: "--sequences")
        try assertCleanFailure(["bench", "--model", model, "--prompt", "1000"], mentions: "context of 128")
        try assertCleanFailure(["bench", "--model", model, "--steps", "9223372036854775807"], mentions: "context of 128")
        try assertCleanFailure(["bench", "--model", model, "--context", "0"], mentions: "--context")
        try assertCleanFailure(["bench", "--model", model, "--context", "200"], mentions: "context of 128")
        try assertCleanFailure(["bench", "--model", model, "--context", "100", "--steps", "40"], mentions: "at most 27")
        try assertCleanFailure(["bench", "--model", "/nonexistent"], mentions: "/nonexistent")
        try assertCleanFailure(["bench", "frobnicate", "--model", model], mentions: "unknown bench target 'frobnicate'")
        // The cache benchmark's 200-token prompt does not fit 128 positions.
        try assertCleanFailure(["bench", "cache", "--model", model], mentions: "context of 128")
        try assertCleanFailure(["bench", "search", "--model", model, "--searches", "0"], mentions: "--searches")
        try assertCleanFailure(["bench", "search", "--model", model, "--strategies", "mcts,frob"], mentions: "unknown strategy 'frob'")
        try assertCleanFailure(["bench", "search", "--model", model, "--strategies", ","], mentions: "--strategies")
        try assertCleanFailure(["bench", "search", "--model", model, "--budget", "0"], mentions: "--budget")
    }
}
