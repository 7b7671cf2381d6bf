import Foundation
import Kernels
import PagedKV

/// Seeded generator (SplitMix64) so every random test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float.random(in: -1...1, using: &self) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

/// Writes the same recognisable pattern into every K and V row of `token` (a unique id)
/// so a later read proves which token's rows a position resolves to.
func stamp(_ cache: PagedKVCache, _ seq: SequenceID, position: Int, token: Int) {
    let layout = cache.pool.layout
    for layer in 0..<layout.layers {
        let k = cache.keyRow(seq, layer: layer, position: position)
        let v = cache.valueRow(seq, layer: layer, position: position)
        for j in 0..<layout.rowElements {
            k[j] = Float(token) + Float(layer * 1000 + j) * 1e-3
            v[j] = -Float(token) - Float(layer * 1000 + j) * 1e-3
        }
    }
}

/// Token ids whose stamps the sequence reads back, position by position (nil where the
/// rows match no stamp or disagree between layers and K/V).
func readTokens(_ cache: PagedKVCache, _ seq: SequenceID) -> [Int?] {
    let layout = cache.pool.layout
    return (0..<cache.length(seq)).map { p in
        let token = Int(cache.keyRow(seq, layer: 0, position: p)[0].rounded(.down))
        for layer in 0..<layout.layers {
            let k = cache.keyRow(seq, layer: layer, position: p)
            let v = cache.valueRow(seq, layer: layer, position: p)
            for j in 0..<layout.rowElements {
                if k[j] != Float(token) + Float(layer * 1000 + j) * 1e-3 { return nil }
                if v[j] != -Float(token) - Float(layer * 1000 + j) * 1e-3 { return nil }
            }
        }
        return token
    }
}

/// Contiguous copy of one sequence's rows, kept by the test only: [layer][position][rowElements].
struct AttentionShadow {
    var keys: [[[Float]]]
    var values: [[[Float]]]
}

/// Appends `count` random rows to `seq` and its shadow.
func appendRandomRows(_ cache: PagedKVCache, _ seq: SequenceID, _ count: Int, _ shadow: inout AttentionShadow,
                      _ rng: inout SplitMix64) throws {
    let layout = cache.pool.layout
    let start = try cache.append(seq, count: count)
    for p in start..<start + count {
        for layer in 0..<layout.layers {
            let k = (0..<layout.rowElements).map { _ in rng.float() }
            let v = (0..<layout.rowElements).map { _ in rng.float() }
            cache.store(seq, layer: layer, position: p, key: k, value: v)
            // The shadow keeps what the cache holds: f16 rows are the values rounded.
            shadow.keys[layer].append(layout.precision == .f16 ? Half.rounded(k) : k)
            shadow.values[layer].append(layout.precision == .f16 ? Half.rounded(v) : v)
        }
    }
}

/// Straightforward causal GQA attention: [queryCount, heads, headDim].
func referenceAttention(_ shadow: AttentionShadow, layout: KVLayout, layer: Int, start: Int, queryCount: Int,
                        heads: Int, q: [Float]) -> [Double] {
    let d = layout.headDim
    let group = heads / layout.kvHeads
    var out = [Double](repeating: 0, count: queryCount * heads * d)
    for i in 0..<queryCount {
        for h in 0..<heads {
            let kvh = h / group
            var scores: [Double] = []
            for p in 0...(start + i) {
                var s = 0.0
                for c in 0..<d { s += Double(q[(i * heads + h) * d + c]) * Double(shadow.keys[layer][p][kvh * d + c]) }
                scores.append(s / Double(d).squareRoot())
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for p in 0...(start + i) {
                for c in 0..<d {
                    out[(i * heads + h) * d + c] += e[p] / z * Double(shadow.values[layer][p][kvh * d + c])
                }
            }
        }
    }
    return out
}

