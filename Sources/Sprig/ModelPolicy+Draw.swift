import Foundation
import Kernels
import SPRM
import StepSearch
import Transformer

extension ModelPolicy {
    /// One branch while `extend` runs.
    struct Lane {
        let id: BranchID
        var branch: Branch
        var chunk = Chunk(tokens: [], text: "", stepScores: [], logProb: 0, stop: .tokenLimit)
        var steps = 0
        var rng: SplitMix64
        /// Row of the last forward output that holds the next logits (−1: `branch.nextLogits`).
        /// They reach `nextLogits` only when the next forward would overwrite them and at
        /// the end: not one copy per token.
        var outRow = -1
        /// The token just drawn was a stop token (it is not fed).
        var stopped = false
        /// Fed to the forward of the current step (set just before it).
        var fed = false
        /// The next token and its log-probability, drawn ahead inside the forward that
        /// computed its logits (`presample`); nil: `draw` samples it.
        var pending: (token: Int, logProb: Double)?
        /// [steps, hidden] the features of the steps found during this extend, scored
        /// together at its end (`scoreSteps`).
        var features: [Float] = []
    }

    /// The chunk's text, from its tokens (a stop token ends it and is not text).
    static func decodeText(_ lane: inout Lane) {
        let tokens = lane.chunk.tokens
        let count = lane.chunk.stop == .endOfSequence && !tokens.isEmpty ? tokens.count - 1 : tokens.count
        lane.chunk.text = lane.branch.decoder.append(contentsOf: tokens[..<count])
    }

    /// What one thread needs to draw: the sampler's buffers and a logits row to sample
    /// stored (possibly sibling-shared) logits from. The policy keeps one per pool thread.
    struct DrawScratch {
        var workspace = SamplerWorkspace()
        var logits: [Float] = []
        /// Counter ticks this thread spent drawing (`presample`) during the current forward.
        var ticks: UInt64 = 0
    }

    /// Draws the next token of the lane whose logits are `row` of `out`, from inside the
    /// forward that wrote them (`TransformerModel.forward`'s `onOutputRows`), on the thread
    /// that wrote them: the row is still in its cache and both cores draw at once. The
    /// lane's state (penalised tokens, generator) is what `draw` would see: nothing changes
    /// it between this forward and the next `drawAll`. Only the sampling runs here; `draw`
    /// records the token. A lane that stops before its next draw drops it (its generator
    /// lives only as long as the extend).
    func presample(_ lane: inout Lane, row: Int, sampling: DrawSettings, out: ForwardOutput,
                   scratch: inout DrawScratch) {
        lane.pending = Self.sample(&lane, from: out.logits(row: row), sampling: sampling, workspace: &scratch.workspace)
    }

    /// Samples `lane`'s next token from `logits` (restored afterwards) with its generator and
    /// penalised history.
    static func sample(_ lane: inout Lane, from logits: UnsafeMutableBufferPointer<Float>, sampling: DrawSettings,
                       workspace: inout SamplerWorkspace) -> (token: Int, logProb: Double) {
        // The generator apart from the lane while the sampler runs: passing both `&lane.rng`
        // and the lane's penalised ids made Swift copy the ids array (a reference counted on
        // the array's header, a line the caller's thread writes too: it moved between cores).
        var rng = lane.rng
        let drawn = Sampler.sample(logits, settings: sampling, previous: lane.branch.penalised.ids, rng: &rng,
                                   workspace: &workspace)
        lane.rng = rng
        return drawn
    }

    /// One scratch per pool thread, made on first use.
    func prepareDrawScratch() {
        let threads = WorkerPool.shared.threadCount
        if drawScratch.count < threads { drawScratch = (0..<threads).map { _ in DrawScratch() } }
    }

    /// Fewest lanes whose draws are split over the worker pool: below this the hand-off
    /// costs more than it saves.
    static let minLanesToSplit = 8

    /// Draws the next token of every lane in `order` and does its bookkeeping (step
    /// detection, SPRM scoring, decoding), split lane by lane over the worker pool when
    /// there are enough lanes and no step observer (a caller's closure runs on the
    /// caller's thread). Each lane owns its generator and state, and each thread its
    /// scratch, so the results do not depend on which thread drew which lane.
    func drawAll(_ lanes: inout [Lane], _ order: [Int], sampling: DrawSettings, out: ForwardOutput?) {
        prepareDrawScratch()
        let threads = WorkerPool.shared.threadCount
        // Drawn ahead (`presample`): what is left is bookkeeping, cheaper than a hand-off.
        let sampled = order.allSatisfy { lanes[$0].pending != nil }
        if sampled || stepObserver != nil || threads == 1 || order.count < Self.minLanesToSplit {
            for i in order { draw(&lanes[i], sampling: sampling, out: out, scratch: &drawScratch[0]) }
            return
        }
        lanes.withUnsafeMutableBufferPointer { lanePtr in
            drawScratch.withUnsafeMutableBufferPointer { scratchPtr in
                // Halves (mergeRuns): each thread draws the same lanes step after step, so a lane's
                // state stays in one core's cache (claims of a quarter at a time moved them).
                WorkerPool.shared.parallelFor(count: order.count, mergeRuns: true) { lo, hi in
                    let thread = WorkerPool.currentThreadIndex
                    precondition(thread < scratchPtr.count, "draws run on the shared pool's threads")
                    for k in lo..<hi {
                        draw(&lanePtr[order[k]], sampling: sampling, out: out, scratch: &scratchPtr[thread])
                    }
                }
            }
        }
    }

    /// Scores the steps every lane found during an extend, as one batch (one pass over the
    /// head's weights; per step, the head was most of a small model's scoring time), and
    /// appends the scores to the lanes' chunks in step order.
    func scoreSteps(_ lanes: inout [Lane]) {
        guard let s = scorer, let width = lanes.first?.branch.nextHidden.count, width > 0 else { return }
        let steps = lanes.reduce(0) { $0 + $1.features.count } / width
        guard steps > 0 else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        featureScratch.removeAll(keepingCapacity: true)
        for lane in lanes { featureScratch.append(contentsOf: lane.features) }
        let scores = featureScratch.withUnsafeBufferPointer { s.scores(features: $0.baseAddress!, count: steps, width: width) }
        var k = 0
        for i in lanes.indices {
            let n = lanes[i].features.count / width
            lanes[i].chunk.stepScores.append(contentsOf: scores[k..<k + n])
            lanes[i].features.removeAll()
            k += n
        }
        scoringSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Samples one token for `lane` and records it: log-probability, thinking state, step
    /// boundary and its score (from the hidden state that produced the token), text.
    func draw(_ lane: inout Lane, sampling: DrawSettings, out: ForwardOutput?, scratch: inout DrawScratch) {
        let token: Int, logProb: Double
        if let p = lane.pending {
            (token, logProb) = p
            lane.pending = nil
        } else if lane.outRow >= 0, let out {
            // The sampler restores the row it penalises: no copy of the logits per token.
            (token, logProb) = Self.sample(&lane, from: out.logits(row: lane.outRow), sampling: sampling,
                                           workspace: &scratch.workspace)
        } else {
            // Stored logits are often shared with siblings (a fork's first token): the
            // sampler works on a scratch copy instead of copying the array on write.
            if scratch.logits.count != lane.branch.nextLogits.count { scratch.logits = lane.branch.nextLogits } else {
                scratch.logits.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: lane.branch.nextLogits) }
            }
            (token, logProb) = scratch.logits.withUnsafeMutableBufferPointer { buf in
                Self.sample(&lane, from: buf, sampling: sampling, workspace: &scratch.workspace)
            }
        }
        lane.chunk.tokens.append(token)
        lane.chunk.logProb += logProb
        if lane.branch.thinkClosed { lane.chunk.answerTokens += 1 }
        if token == thinkCloseID { lane.branch.thinkClosed = true }
        lane.branch.stepLogProb += logProb
        lane.branch.stepTokens += 1
        if detector.observe(token, state: &lane.branch.detector) {
            lane.steps += 1
            // The feature: the hidden state that produced this token (the last forward's row,
            // or the one kept with the branch).
            let feature = lane.outRow >= 0 ? out?.penultimateHidden(row: lane.outRow) : nil
            if let observe = stepObserver {
                let index = lane.chunk.tokens.count - 1
                if let f = feature { observe(lane.id, index, f) } else {
                    lane.branch.nextHidden.withUnsafeBufferPointer { observe(lane.id, index, $0) }
                }
            }
            if scorer != nil {
                // Scored with the extend's other steps at its end: the head's weights are
                // read once per extend, not once per step.
                if let f = feature { lane.features.append(contentsOf: f) } else {
                    lane.features.append(contentsOf: lane.branch.nextHidden)
                }
            } else {
                // No SPRM head: the policy's own confidence in the step (geometric
                // mean token probability) stands in for the process score.
                lane.chunk.stepScores.append(Foundation.exp(lane.branch.stepLogProb / Double(lane.branch.stepTokens)))
            }
            lane.branch.stepLogProb = 0
            lane.branch.stepTokens = 0
        }
        lane.stopped = stopIDs.contains(token)
        if lane.stopped { lane.chunk.stop = .endOfSequence; return }
        // The text is decoded once at the end of `extend` (`decodeText`), not per token.
        lane.branch.penalised.insert(token)
    }
}

extension ModelPolicy {
    /// One batched forward of `entries` (row k feeds lane `fed[k]`) that draws every fed
    /// lane's next token from inside it (`presample`). The forward's time goes to `timing`
    /// less the drawing's share of it: the most any one thread spent drawing (the threads
    /// draw at once, so that is what the drawing added to the forward's wall time).
    func forwardAndPresample(_ entries: [ForwardEntry], lanes: inout [Lane], fed: [Int], sampling: DrawSettings,
                             timing: inout TickSpan) throws -> ForwardOutput {
        prepareDrawScratch()
        let start = TickSpan.now()
        guard presamples else {
            let out = try model.transformer.forward(entries, cache: cache)
            timing.add(since: start)
            return out
        }
        let out = try lanes.withUnsafeMutableBufferPointer { lanePtr in
            try drawScratch.withUnsafeMutableBufferPointer { scratchPtr in
                try fed.withUnsafeBufferPointer { fedPtr in
                    for t in scratchPtr.indices { scratchPtr[t].ticks = 0 }
                    return try model.transformer.forward(entries, cache: cache) { rows, out in
                        let thread = WorkerPool.currentThreadIndex
                        precondition(thread < scratchPtr.count, "forward runs on the shared pool's threads")
                        let start = TickSpan.now()
                        for row in rows {
                            self.presample(&lanePtr[fedPtr[row]], row: row, sampling: sampling, out: out,
                                      scratch: &scratchPtr[thread])
                        }
                        scratchPtr[thread].ticks &+= TickSpan.now() &- start
                    }
                }
            }
        }
        timing.add(since: start)
        timing.remove(ticks: drawScratch.reduce(0) { max($0, $1.ticks) })
        return out
    }
}

