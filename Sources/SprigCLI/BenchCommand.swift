import ArgumentParser
import Foundation
import Kernels
import Sprig
import Transformer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the machine's roofline and Sprig's prefill and batched decode speed.")

    @Argument(help: "What to measure: 'decode' (roofline, prefill and batched decode), 'cache' (a 4-ary search tree over the paged cache), 'memory' (peak RSS of a large search tree) or 'search' (where seeded searches' wall time goes: the forward vs everything else).")
    var target: String = "decode"

    @Option(name: .long, help: "GGUF file or Hugging Face folder (default: the embedded model).")
    var model: String?

    @OptionGroup var searchOptions: BenchSearchOptions

    @Option(name: .long, help: "Sequence counts to decode together (comma-separated).")
    var sequences: String = "1,4,16"

    @Option(name: .long, help: "Decode steps per measurement.")
    var steps: Int = 32

    @Option(name: .long, help: "Prompt length for the prefill measurement.")
    var prompt: Int = 128

    @Option(name: .long, help: "decode: tokens of the shared prefix the sequences are forked from (attention grows with it).")
    var context: Int = 32

    @Option(name: .long, help: "KV cache block size in tokens, as the engine uses.")
    var blockSize: Int = SearchEngine.defaultBlockSize

    @Option(name: .long, help: "cache: prompt tokens of the tree's root.")
    var rootTokens: Int = 200

    @Option(name: .long, help: "cache: tokens decoded per node ('64' or a range 'lo-hi', drawn per node).")
    var nodeTokens: String = "64"

    @Option(name: .long, help: "memory: tokens in the tree.")
    var treeTokens: Int = 160_000

    @Option(name: .long, help: "memory: children per expansion.")
    var children: Int = 4

    @Option(name: .long, help: "memory: tokens per child.")
    var childTokens: Int = 1024

    @Option(name: .long, help: "memory, search: KV pool size, e.g. 4GiB (default: sized to the tree; search: 2GiB).")
    var kvMemory: String?

    @Flag(name: .long, help: "Expand quantized weights to f32 first.")
    var f32 = false

    @OptionGroup var activationOptions: ActivationOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        guard ["decode", "cache", "memory", "search"].contains(target) else { throw ValidationError("unknown bench target '\(target)' (decode, cache, memory, search)") }
        guard treeTokens > 0, children > 0, childTokens > 0 else { throw ValidationError("--tree-tokens, --children and --child-tokens must be positive") }
        if let k = kvMemory, ByteSize.parse(k) == nil { throw ValidationError("--kv-memory must be a size such as 4GiB") }
        guard steps > 0, prompt > 0, context > 0 else { throw ValidationError("--steps, --prompt and --context must be positive") }
        guard (1...1024).contains(blockSize) else { throw ValidationError("--block-size must be in 1...1024") }
        guard rootTokens > 0, let r = parseNodeTokens(), r.lowerBound > 0, r.upperBound <= 4096 else {
            throw ValidationError("--root-tokens must be positive and --node-tokens N or LO-HI within 1...4096")
        }
        guard parseCounts() != nil else { throw ValidationError("--sequences must be positive integers, e.g. 1,4,16") }
        guard (parseCounts() ?? []).allSatisfy({ $0 <= 4096 }) else { throw ValidationError("--sequences must be at most 4096 each") }
    }

    func parseNodeTokens() -> ClosedRange<Int>? {
        let parts = nodeTokens.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), let lo = parts[0], let hi = parts.last ?? nil, lo <= hi else { return nil }
        return lo...hi
    }

    func parseCounts() -> [Int]? {
        let parts = sequences.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.compactMap { $0 }
    }

    func run() throws {
        if target == "search" { return try runSearch() }
        let loaded = try CLI.loadModel(try CLI.modelPath(model), dequantize: f32)
        loaded.activationPrecision = activationOptions.precision(default: .q8)
        if target == "cache" { return try runCache(loaded) }
        if target == "memory" { return try runMemory(loaded) }
        // The decode measurement runs `context` prefix positions, one warm-up step, then the timed steps.
        let limit = loaded.config.maxPositions
        if prompt > limit { CLI.fail("--prompt \(prompt) is longer than the model's context of \(limit) positions") }
        if context + 1 > limit { CLI.fail("--context \(context) does not fit the model's context of \(limit) positions") }
        if steps > limit - context - 1 { CLI.fail("--steps \(steps) does not fit the model's context of \(limit) positions (at most \(max(0, limit - context - 1)) after a \(context)-token prefix)") }
        var roofline = Roofline.measure(workingSetBytes: loaded.weightBytes)
        var bench = DecodeBenchmark(model: loaded)
        bench.decodeSteps = steps
        bench.promptTokens = prompt
        bench.contextTokens = context
        bench.blockSize = blockSize
        let prefill = try bench.prefill()
        var figures: [DecodeBenchmark.DecodeFigure] = []
        for n in parseCounts() ?? [1] {
            let f = try bench.decode(sequences: n, roofline: roofline)
            figures.append(f)
            if !json {
                CLI.progress("decode N=\(n): \(String(format: "%.1f", f.tokensPerSecond)) tok/s")
            }
            // The roofline after each figure too: every fraction is against the best seen in the run.
            roofline = roofline.remeasured()
        }
        figures = figures.map { $0.against(roofline, model: loaded) }
        let report = BenchReport(bandwidthGBs: roofline.bandwidthGBs, gflops: roofline.gflops,
                                 workingSetBandwidthGBs: roofline.workingSetBandwidthGBs, int8Gops: roofline.int8Gops,
                                 prefillTokensPerSecond: prefill, decode: figures,
                                 weightBytes: loaded.weightBytes, parameters: loaded.parameterCount,
                                 activations: loaded.effectiveActivationPrecision.rawValue,
                                 kv: loaded.kvPrecision.rawValue, weightPrefetch: WeightPrefetch.setting)
        if json {
            try CLI.printJSON(report)
        } else {
            print(String(format: "roofline: %.1f GB/s read (%.1f GB/s for a buffer the weights' size), %.1f GFLOP/s sgemm, %.1f int8 GOP/s",
                         roofline.bandwidthGBs, roofline.workingSetBandwidthGBs, roofline.gflops, roofline.int8Gops))
            print(String(format: "weights: %.1f MB, %d parameters", Double(loaded.weightBytes) / 1e6, loaded.parameterCount))
            print(String(format: "prefill: %.1f tok/s (%d-token prompt)", prefill, prompt))
            print("activations: \(loaded.effectiveActivationPrecision.rawValue), KV cache: \(loaded.kvPrecision.rawValue), weight prefetch: \(report.weightPrefetch)")
            for f in figures {
                print(String(format: "decode N=%2d: %7.1f tok/s total, %.0f%% of roofline", f.sequences, f.tokensPerSecond, f.rooflineFraction * 100))
            }
        }
    }
}

extension BenchCommand {
    func runCache(_ model: TransformerModel) throws {
        var bench = CacheBenchmark(model: model)
        bench.blockSize = blockSize
        bench.promptTokens = rootTokens
        bench.tokensPerNode = parseNodeTokens() ?? 64...64
        let r = try bench.run(progress: json ? nil : { CLI.progress($0) })
        if json { return try CLI.printJSON(r) }
        print(String(format: "tree: %d nodes, %d tokens generated in %.1f s", r.nodes, r.generatedTokens, r.treeSeconds))
        print(String(format: "KV bytes: %.1f MB used vs %.1f MB copy-per-child (%.1fx less)", Double(r.kvBytes) / 1e6,
                     Double(r.kvBytesWithoutSharing) / 1e6, Double(r.kvBytesWithoutSharing) / Double(max(r.kvBytes, 1))))
        print("re-prefilled tokens on branching: \(r.reprefilledTokens)")
        for n in ["1", "4", "16"] { print(String(format: "decode %2@ sequences: %.1f tok/s", n, r.tokensPerSecond[n] ?? 0)) }
    }
}

extension BenchCommand {
    func runMemory(_ model: TransformerModel) throws {
        var bench = TreeMemoryBenchmark(model: model)
        bench.treeTokens = treeTokens
        bench.children = children
        bench.childTokens = childTokens
        bench.blockSize = blockSize
        bench.kvMemoryBytes = kvMemory.flatMap { ByteSize.parse($0) }
        let r = try bench.run(progress: json ? nil : { CLI.progress($0) })
        if json { return try CLI.printJSON(r) }
        let gb = { (b: Int) in String(format: "%.2f GB", Double(b) / 1e9) }
        print("tree: \(r.nodes) nodes, \(r.treeTokens) tokens in \(String(format: "%.1f", r.seconds)) s")
        print("weights \(gb(r.weightBytes)), KV in use \(gb(r.kvBytesInUse)) (pool \(gb(r.kvPoolBytes))), branch state \(gb(r.branchStateBytes))")
        print("RSS after load \(gb(r.rssAfterLoadBytes)), peak \(gb(r.peakRSSBytes)), at end \(gb(r.rssEndBytes))")
    }
}

struct BenchReport: Encodable {
    var bandwidthGBs: Double
    var gflops: Double
    /// Reading a buffer of `weight_bytes` over and over: the weights' own bound when they fit a cache.
    var workingSetBandwidthGBs: Double
    /// The int8 multiply-add peak (q8 activations on VNNI); 0 without VNNI.
    var int8Gops: Double
    var prefillTokensPerSecond: Double
    var decode: [DecodeBenchmark.DecodeFigure]
    var weightBytes: Int
    var parameters: Int
    /// "f32" or "q8": the activation precision the decode figures were measured with.
    var activations: String
    /// "f32" or "f16": the KV cache element type the decode figures were measured with.
    var kv: String
    /// The product kernels' weight prefetch, in `SPRIG_PREFETCH`'s syntax (`WeightPrefetch.setting`).
    var weightPrefetch: String
    enum CodingKeys: String, CodingKey {
        case bandwidthGBs = "bandwidth_gbs", gflops, prefillTokensPerSecond = "prefill_tokens_per_s", decode
        case weightBytes = "weight_bytes", parameters, activations, kv, weightPrefetch = "weight_prefetch"
        case workingSetBandwidthGBs = "working_set_bandwidth_gbs", int8Gops = "int8_gops"
    }
}
