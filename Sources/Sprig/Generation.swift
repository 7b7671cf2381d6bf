import Foundation
import PagedKV
import Tokenizer
import Transformer

/// Plain (non-search) generation: one sequence, prefill then decode.
public struct GenerationResult: Codable, Sendable {
    public var ids: [Int]
    public var text: String
    public var promptTokens: Int
    public var seconds: Double
    public var decodeTokensPerSecond: Double
    public var stopReason: String
}

extension LanguageModel {
    /// Generates up to `maxTokens` tokens after `prompt` (already formatted), calling
    /// `onText` with each complete piece of UTF-8 text as it is produced.
    public func generate(prompt: String, maxTokens: Int, sampling: SamplingParameters, seed: UInt64,
                         onText: ((String) -> Void)? = nil) throws(SprigError) -> GenerationResult {
        let promptIDs = tokenizer.encode(prompt)
        guard !promptIDs.isEmpty else { throw .invalidArgument("the prompt is empty") }
        guard maxTokens >= 0 else { throw .invalidArgument("--max-tokens must be ≥ 0") }
        let config = transformer.config
        let total = min(promptIDs.count + min(maxTokens, config.maxPositions), config.maxPositions)  // no overflow at Int.max
        guard promptIDs.count < config.maxPositions else {
            throw .model(.contextOverflow(needed: promptIDs.count, limit: config.maxPositions))
        }
        let bytes = (total + 32) * transformer.kvLayout().bytesPerToken + (1 << 20)
        let cache = transformer.makeCache(memoryBytes: bytes)
        let seq = cache.createSequence()
        var rng = SplitMix64(seed: seed)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var ids: [Int] = []
        var penalised = DistinctTokens(promptIDs)   // the repetition penalty's tokens
        var workspace = SamplerWorkspace()
        let stops = stopIDs
        let t0 = Date()
        var out: ForwardOutput
        do { out = try transformer.forward([ForwardEntry(sequence: seq, tokens: promptIDs)], cache: cache) } catch {
            throw .model(error)
        }
        let tDecode = Date()
        var reason = "max_tokens"
        while ids.count < maxTokens {
            // Every generated token takes a position (as in a search), so none is sampled past the last.
            if cache.length(seq) >= config.maxPositions { reason = "context"; break }
            let next = Sampler.sample(out.logits(row: 0), parameters: sampling, previous: penalised.ids, rng: &rng,
                                      workspace: &workspace).token
            if stops.contains(next) { reason = "eos"; break }
            ids.append(next)
            penalised.insert(next)
            let piece = decoder.append(next)
            if !piece.isEmpty { onText?(piece) }
            if ids.count == maxTokens { break }
            do { out = try transformer.forward([ForwardEntry(sequence: seq, tokens: [next])], cache: cache) } catch {
                throw .model(error)
            }
        }
        let now = Date()
        let decodeSeconds = now.timeIntervalSince(tDecode)
        return GenerationResult(ids: ids, text: tokenizer.decode(ids), promptTokens: promptIDs.count,
                                seconds: now.timeIntervalSince(t0),
                                decodeTokensPerSecond: decodeSeconds > 0 ? Double(ids.count) / decodeSeconds : 0,
                                stopReason: reason)
    }
}
