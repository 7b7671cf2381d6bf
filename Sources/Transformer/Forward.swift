import Foundation
import Kernels
import PagedKV

extension TransformerModel {
    /// Runs the entries' tokens through the model in one batched pass: every
    /// weight matrix is read once for all rows; attention runs per sequence over
    /// its own cache blocks. Each sequence's cache grows by its token count.
    ///
    /// Throws before touching the cache on a bad token id or a context overflow;
    /// on `outOfBlocks` the cache is left as it was.
    ///
    /// `onOutputRows`: called with disjoint ranges of output rows, together covering all of
    /// them, as soon as their logits are written, before `forward` returns; the output it
    /// is given is the one `forward` returns. For an LM head small enough to sit in each
    /// core's cache, the pool's threads each compute whole logits rows and call it right
    /// after, concurrently, so a caller can draw tokens from rows still in that core's
    /// cache instead of after a hand-off (the rows' other half written by the other core).
    /// A handler must touch only what belongs to its rows.
    public func forward(_ entries: [ForwardEntry], cache: PagedKVCache,
                        onOutputRows: (Range<Int>, ForwardOutput) -> Void) throws(TransformerError) -> ForwardOutput {
        // Not escaping (nor optional, which is): its captures stay on the caller's stack
        // instead of a context allocated on every call.
        try forward(entries, cache: cache, handles: true, onOutputRows)
    }

    public func forward(_ entries: [ForwardEntry], cache: PagedKVCache) throws(TransformerError) -> ForwardOutput {
        try forward(entries, cache: cache, handles: false) { _, _ in }
    }

    private func forward(_ entries: [ForwardEntry], cache: PagedKVCache, handles: Bool,
                         _ onOutputRows: (Range<Int>, ForwardOutput) -> Void) throws(TransformerError) -> ForwardOutput {
        let c = config
        precondition(cache.pool.layout.layers == c.layerCount && cache.pool.layout.kvHeads == c.kvHeadCount
                     && cache.pool.layout.headDim == c.headDim, "cache layout does not match the model")
        // Rows of the flattened batch and where each entry's outputs go.
        var starts: [Int] = []            // cache position of each entry's first new token
        var rowOffset: [Int] = []         // first row of each entry in the batch
        var entryRow: [Int] = []          // first output row of each entry
        var rows = 0, outRows = 0, maxContext = 0
        for e in entries {
            guard !e.tokens.isEmpty else { throw .cache("an entry has no tokens") }
            for t in e.tokens where t < 0 || t >= c.vocabSize { throw .tokenOutOfRange(t, vocab: c.vocabSize) }
            let start = cache.length(e.sequence)
            guard start + e.tokens.count <= c.maxPositions else {
                throw .contextOverflow(needed: start + e.tokens.count, limit: c.maxPositions)
            }
            starts.append(start)
            rowOffset.append(rows)
            entryRow.append(outRows)
            rows += e.tokens.count
            outRows += e.allPositions ? e.tokens.count : 1
            maxContext = max(maxContext, start + e.tokens.count)
        }
        // Reserve cache slots for everyone, all-or-nothing.
        var appended: [Int] = []
        for (i, e) in entries.enumerated() {
            do {
                try cache.append(e.sequence, count: e.tokens.count)
                appended.append(i)
            } catch {
                for j in appended { try? cache.truncate(entries[j].sequence, to: starts[j]) }
                throw .cache(error.description)
            }
        }

        // Attention work units: (entry, first query, query count); long prefills are
        // split so both cores share them.
        var units: [(entry: Int, first: Int, count: Int)] = []
        units.reserveCapacity(entries.count + 2)
        for (i, e) in entries.enumerated() {
            let n = e.tokens.count
            let chunk = n >= 16 ? (n + 1) / 2 : n
            var f = 0
            while f < n { units.append((i, f, min(chunk, n - f))); f += chunk }
        }
        let shared = SharedPrefixPlan(entries: entries, starts: starts, cache: cache, heads: c.headCount,
                                      kvHeads: c.kvHeadCount, headDim: c.headDim)
        let ws = workspace
        ws.reserve(rows: rows, outRows: outRows, context: maxContext, workers: units.count)

        let hidden = c.hiddenSize, qkvWidth = c.qDim + 2 * c.kvDim
        let x = ws.x.pointer, xn = ws.xn.pointer, qkv = ws.qkv.pointer, q = ws.q.pointer
        let attn = ws.attn.pointer, gateUp = ws.gateUp.pointer, act = ws.act.pointer
        let eps = Float(c.rmsNormEps)
        let precision = activationPrecision   // f32 or q8 activations in quantized products
        let scratch = ws.scoreScratch.map { $0.pointer }   // once per pass, not per layer
        let heads = c.headCount, qDim = c.qDim, headDim = c.headDim

        shared.setQueries { UnsafePointer(q + rowOffset[$0] * qDim) }

        // Embeddings.
        for (i, e) in entries.enumerated() {
            for (j, t) in e.tokens.enumerated() { weights.embedding.row(t, into: x + (rowOffset[i] + j) * hidden) }
        }

        // Decode-sized passes: each parallel loop names the next product's weights, which
        // a worker prefetches once out of chunks (the serial work in between leaves the
        // memory bus idle otherwise).
        let warms = rows < QuantizedMatrix.gemmThreshold
        func warm(_ next: Linear) -> UnsafeRawBufferPointer? { warms ? next.warmRegion(activations: precision) : nil }

        // RoPE tables, one per row for all layers: [rows, headDim] = [cos | sin] halves.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * headDim) { tables in
        let ropeTable = tables.baseAddress!
        for (i, e) in entries.enumerated() {
            for j in 0..<e.tokens.count { rope.table(position: starts[i] + j, into: ropeTable + (rowOffset[i] + j) * headDim) }
        }

        for (l, layer) in weights.layers.enumerated() {
            let nextQKV = l + 1 < c.layerCount ? weights.layers[l + 1].qkv : weights.lmHead
            if l == c.layerCount - 1 { copyOutputRows(entries, rowOffset, from: x, width: hidden, into: ws.hidden.pointer) }
            // Attention block.
            Ops.rmsNorm(x, weight: layer.attentionNorm.pointer, eps: eps, rows: rows, dim: hidden, into: xn)
            let warmOutput = warm(layer.output)   // after the q/k/v product and after attention
            layer.qkv.apply(xn, rows: rows, into: qkv, activations: precision, thenWarm: warmOutput)
            for (i, e) in entries.enumerated() {
                for j in 0..<e.tokens.count {
                    let r = rowOffset[i] + j, pos = starts[i] + j
                    let src = qkv + r * qkvWidth
                    let qr = q + r * c.qDim
                    let table = UnsafePointer(ropeTable + r * headDim)
                    qr.update(from: src, count: c.qDim)
                    let k = src + c.qDim
                    if let qn = layer.queryNorm, let kn = layer.keyNorm {   // Qwen3: per head, in place
                        Ops.rmsNorm(qr, weight: qn.pointer, eps: eps, rows: c.headCount, dim: headDim, into: qr)
                        Ops.rmsNorm(k, weight: kn.pointer, eps: eps, rows: c.kvHeadCount, dim: headDim, into: k)
                    }
                    rope.apply(qr, heads: c.headCount, table: table)
                    // K rotated in the product's buffer, then stored (as f16 when the cache holds halves).
                    rope.apply(k, heads: c.kvHeadCount, table: table)
                    cache.store(e.sequence, layer: l, position: pos, key: k, value: src + c.qDim + c.kvDim)
                }
            }
            if !shared.isEmpty { shared.attendShared(cache: cache, layer: l) }   // siblings' shared rows, once for all
            WorkerPool.shared.parallelFor(count: units.count, thenWarm: warmOutput) { lo, hi in
                for u in lo..<hi {
                    let unit = units[u]
                    let r = rowOffset[unit.entry] + unit.first
                    if let (g, index) = shared.member[unit.entry] {
                        pagedAttentionAfterPrefix(cache: cache, seq: entries[unit.entry].sequence, layer: l,
                                                  start: starts[unit.entry], prefix: shared.groups[g].prefix,
                                                  q: q + r * qDim, out: attn + r * qDim, state: shared.states[g], index: index)
                    } else {
                        pagedAttention(cache: cache, seq: entries[unit.entry].sequence, layer: l,
                                       start: starts[unit.entry] + unit.first, queryCount: unit.count, heads: heads,
                                       q: q + r * qDim, out: attn + r * qDim, scratch: scratch[u])
                    }
                }
            }
            layer.output.apply(attn, rows: rows, into: xn, activations: precision, thenWarm: warm(layer.gateUp))
            Ops.add(xn, into: x, count: rows * hidden)
            // MLP block.
            Ops.rmsNorm(x, weight: layer.mlpNorm.pointer, eps: eps, rows: rows, dim: hidden, into: xn)
            layer.gateUp.apply(xn, rows: rows, into: gateUp, activations: precision, thenWarm: warm(layer.down))
            Ops.siluMul(gateUp, rows: rows, inter: c.intermediateSize, into: act)
            layer.down.apply(act, rows: rows, into: xn, activations: precision, thenWarm: warm(nextQKV))
            Ops.add(xn, into: x, count: rows * hidden)
        }
        }

        // Final norm and LM head on the output rows only.
        let picked = ws.xn.pointer   // reuse: [outRows, hidden] ≤ [rows, hidden]
        copyOutputRows(entries, rowOffset, from: x, width: hidden, into: picked)
        Ops.rmsNorm(picked, weight: weights.finalNorm.pointer, eps: eps, rows: outRows, dim: hidden,
                    into: ws.finalNormed.pointer)
        let output = ForwardOutput(rows: outRows, vocabSize: c.vocabSize, hiddenSize: hidden,
                                   logitsBase: ws.logits.pointer, hiddenBase: ws.hidden.pointer, entryRow: entryRow)
        let head = weights.lmHead, normed = ws.finalNormed.pointer, logits = ws.logits.pointer
        // Then the next pass's first product: sampling and bookkeeping run in between.
        let warmNext = warm(weights.layers[0].qkv)
        let threads = WorkerPool.shared.threadCount
        if handles, outRows >= 2, threads > 1, head.weightBytes <= CacheSizes.l2Bytes / 4 {
            // Whole rows per thread, the head read from L2 by each. The chunks are fixed
            // (halves for two threads), so the logits do not depend on which thread runs
            // which; the product inside the job runs on its thread (nested `parallelFor`).
            let grain = (outRows + threads - 1) / threads
            WorkerPool.shared.parallelFor(count: outRows, grain: grain, thenWarm: warmNext) { lo, hi in
                head.apply(normed + lo * hidden, rows: hi - lo, into: logits + lo * c.vocabSize, activations: precision)
                onOutputRows(lo..<hi, output)
            }
        } else {
            head.apply(normed, rows: outRows, into: logits, activations: precision, thenWarm: warmNext)
            if handles { onOutputRows(0..<outRows, output) }
        }
        return output
    }

    /// Copies the rows that produce outputs (the last token of an entry, or all of
    /// its tokens) from a [rows, width] batch buffer into a packed [outRows, width].
    private func copyOutputRows(_ entries: [ForwardEntry], _ rowOffset: [Int], from src: UnsafeMutablePointer<Float>,
                                width: Int, into dst: UnsafeMutablePointer<Float>) {
        var o = 0
        for (i, e) in entries.enumerated() {
            let first = e.allPositions ? 0 : e.tokens.count - 1
            for j in first..<e.tokens.count {
                (dst + o * width).update(from: src + (rowOffset[i] + j) * width, count: width)
                o += 1
            }
        }
    }
}
