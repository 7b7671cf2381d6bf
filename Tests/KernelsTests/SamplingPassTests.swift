import XCTest
@testable import Kernels
import CKernels

/// `SamplingStats.parallelPass` (the row split over the pool) gives the single pass's
/// per-chunk maxima and sums bit for bit, and exactly the candidates the sampler keeps from
/// one pass's superset (those within the window of the global max).
final class SamplingPassTests: XCTestCase {
    func testParallelPassEqualsOnePass() {
        var g = SystemRandomNumberGenerator()
        // Logit-like rows (a low floor, a few peaks; peaks in the second half too) and a flat
        // one, where both overflow the candidate capacity.
        for (count, peaks, flat) in [(49_152, 40, false), (151_936, 200, false), (10_000, 3, false), (8_200, 0, true), (300, 5, false)] {
            var x = (0..<count).map { _ in flat ? Float.random(in: 0...0.01, using: &g) : Float.random(in: -25...0, using: &g) }
            for _ in 0..<peaks { x[Int.random(in: 0..<count, using: &g)] = Float.random(in: -4...6, using: &g) }
            let chunks = SamplingStats.chunkCount(count)
            func run(_ parallel: Bool) -> ([Float], [Double], [Double], [Int32], [Int32]) {
                var maxes = [Float](repeating: 0, count: chunks)
                var sT = [Double](repeating: 0, count: chunks), s1 = sT
                var ids = [Int32](repeating: -1, count: 4096)
                let found = x.withUnsafeBufferPointer { xb in
                    maxes.withUnsafeMutableBufferPointer { m in
                        sT.withUnsafeMutableBufferPointer { st in
                            s1.withUnsafeMutableBufferPointer { p in
                                ids.withUnsafeMutableBufferPointer { c in
                                    let f = parallel ? SamplingStats.parallelPass : SamplingStats.pass
                                    return f(xb.baseAddress!, count, 1 / 0.7, m.baseAddress!, st.baseAddress!,
                                             p.baseAddress!, 0.7 * Float(log(1024.0)), c.baseAddress!, 4096, nil,
                                             SamplingStats.negligibleCut(count: count))
                                }
                            }
                        }
                    }
                }
                XCTAssertEqual(found < 0, flat, "count \(count): candidates overflowed: \(found < 0)")
                let top = x.max()! - 0.7 * Float(log(1024.0))
                let raw = Array(ids[0..<max(found, 0)])
                return (maxes, sT, s1, raw.filter { x[Int($0)] >= top }, raw)
            }
            let one = run(false), split = run(true)
            XCTAssertEqual(one.0, split.0, "count \(count): chunk maxima")
            XCTAssertEqual(one.1, split.1, "count \(count): tempered sums")
            XCTAssertEqual(one.2, split.2, "count \(count): plain sums")
            XCTAssertEqual(one.3, split.3, "count \(count): final candidates")
            if count >= 8192 {   // shorter rows take the single pass (a superset)
                XCTAssertEqual(split.4, split.3, "count \(count): the split pass keeps exactly the final candidates")
            }
            XCTAssertEqual(one.3.isEmpty, flat)
        }
    }
}

/// The penalty swap's vector sum against the f64 definition.
final class SwapSumTests: XCTestCase {
    func testMatchesTheDoubleSum() {
        var rng = SplitMix64(seed: 8)
        for count in [0, 1, 7, 8, 9, 23, 64] {
            let raw = (0..<count).map { _ in Float(Double(rng.next() >> 11) * 0x1.0p-53) * 40 - 30 }
            let lowered = raw.map { $0 > 0 ? $0 / 1.3 : $0 * 1.3 }
            let shift: Float = 10
            let reference = zip(raw, lowered).reduce(0.0) { $0 + exp(Double($1.0 - shift)) - exp(Double($1.1 - shift)) }
            let got = SamplingStats.swapSum(raw: raw, lowered: lowered, count: count, shift: shift)
            XCTAssertEqual(got, reference, accuracy: 1e-6 * max(1, abs(reference)), "count \(count)")
        }
    }
}

/// One `SamplingStats.pass` over `x` with stored exponentials and no candidates: chunk
/// maxima, tempered sums, plain sums (when `plain`), exponentials.
func passWithExps(_ x: [Float], scale: Float, plain: Bool, cut: Float) -> ([Float], [Double], [Double], [Float]) {
    let count = x.count, chunks = SamplingStats.chunkCount(count)
    var maxes = [Float](repeating: 0, count: chunks)
    var sT = [Double](repeating: 0, count: chunks), s1 = sT
    var exps = [Float](repeating: .nan, count: count)
    s1.withUnsafeMutableBufferPointer { p in
        _ = SamplingStats.pass(x, count: count, scale: scale, maxes: &maxes, scaledSums: &sT,
                               plainSums: plain ? p.baseAddress : nil, window: 0, candidates: nil, capacity: 0,
                               exps: &exps, cut: cut)
    }
    return (maxes, sT, s1, exps)
}

/// Negligible terms: a group of 8 entries whose exponents all fall below −cut adds exact
/// zeros (stored as 0), every other group its exponentials, and the chunk sums stay within
/// 2⁻²⁴ (plus f32 rounding) of the f64 sums of every term.
final class NegligibleTermsTests: XCTestCase {
    func testGroupsBelowTheCutAddNothing() {
        var rng = SplitMix64(seed: 40)
        func u() -> Float { Float(Double(rng.next() >> 11) * 0x1.0p-53) }
        for (count, scale) in [(263, Float(1 / 0.6)), (1000, Float(1)), (49_152, Float(1 / 0.7)), (300, Float(1 / 1.5))] {
            // A peaked row: a floor 20–60 below a few high logits, some groups near the cut.
            var x = (0..<count).map { _ in -20 - 40 * u() }
            for _ in 0..<max(2, count / 100) { x[Int(rng.next() % UInt64(count))] = 5 * u() }
            let cut = SamplingStats.negligibleCut(count: count)
            let chunks = SamplingStats.chunkCount(count)
            let (maxes, sT, s1, exps) = passWithExps(x, scale: scale, plain: true, cut: cut)
            var skipped = 0
            for j in 0..<chunks {
                let lo = j * SamplingStats.chunk, hi = min(count, lo + SamplingStats.chunk)
                var wantT = 0.0, want1 = 0.0
                for g in stride(from: lo, to: hi, by: 8) {
                    let group = g..<min(g + 8, hi)
                    let top = Double(group.map { x[$0] }.max()! - maxes[j])
                    for i in group {
                        wantT += exp(Double(x[i] - maxes[j]) * Double(scale))
                        want1 += exp(Double(x[i] - maxes[j]))
                    }
                    if top * Double(scale) < -Double(cut) {
                        skipped += 1
                        XCTAssertTrue(group.allSatisfy { exps[$0] == 0 }, "count \(count) group at \(g): stored as 0")
                    } else {
                        XCTAssertTrue(group.contains { exps[$0] > 0 }, "count \(count) group at \(g): computed")
                    }
                }
                XCTAssertEqual(sT[j], wantT, accuracy: (0x1p-24 + 1e-6) * wantT, "count \(count) chunk \(j): tempered")
                XCTAssertEqual(s1[j], want1, accuracy: (0x1p-24 + 1e-6) * want1, "count \(count) chunk \(j): plain")
            }
            XCTAssertGreaterThan(skipped, 0, "count \(count): some groups were negligible")
        }
    }
}

/// The pass's stored exponentials are the terms `walk` computes: a walk that reads them
/// stops at the same token for every target, and the stored sums match the chunk sums.
final class StoredExpsTests: XCTestCase {
    func testWalkOverStoredExpsStopsWhereTheComputingWalkDoes() {
        var rng = SplitMix64(seed: 12)
        for (count, scale) in [(263, Float(1)), (700, Float(1 / 0.7)), (4096, Float(1))] {
            let x = (0..<count).map { _ in Float(Double(rng.next() >> 11) * 0x1.0p-53) * 12 - 8 }
            let chunks = SamplingStats.chunkCount(count)
            let (maxes, sT, _, exps) = passWithExps(x, scale: scale, plain: scale != 1,
                                                    cut: SamplingStats.negligibleCut(count: count))
            for j in 0..<chunks {
                let lo = j * SamplingStats.chunk, hi = min(count, lo + SamplingStats.chunk)
                XCTAssertFalse(exps[lo..<hi].contains { $0.isNaN }, "count \(count) chunk \(j): every term stored")
                let stored = exps[lo..<hi].reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(stored, sT[j], accuracy: 1e-5 * sT[j], "count \(count) chunk \(j): the stored terms are the chunk's sum")
                for k in 0..<64 {
                    let target = sT[j] * Double(k) / 64
                    let computed = SamplingStats.walk(x, start: lo, end: hi, shift: maxes[j], scale: scale, factor: 1, target: target,
                                                      cut: SamplingStats.negligibleCut(count: count))
                    let read = SamplingStats.walk(x, start: lo, end: hi, shift: maxes[j], scale: scale, factor: 1, target: target,
                                                  stored: exps, cut: SamplingStats.negligibleCut(count: count))
                    XCTAssertEqual(computed, read, "count \(count) chunk \(j) target \(k)/64")
                }
            }
        }
    }
}

/// The 16-lane C pass (`ck_sampling_pass`, used on AVX-512 CPUs) is the Swift pass bit for
/// bit: chunk maxima, both sums, stored exponentials, candidates and their count, for rows
/// around every vector and chunk edge, temperatures, with and without each output, and a
/// candidate overflow.
final class WideSamplingPassTests: XCTestCase {
    func testWidePassIsTheSwiftPassBitForBit() throws {
        guard SamplingStats.useWidePass else { throw XCTSkip("needs AVX-512 (the Swift pass runs everywhere else)") }
        var rng = SplitMix64(seed: 31)
        var checked = 0
        for count in [1, 5, 8, 9, 15, 16, 17, 24, 31, 255, 256, 257, 263, 1000, 4096, 10_000, 49_152] {
            for scale in [Float(1), Float(1 / 0.6), Float(1 / 1.7)] {
                for (spread, capacity) in [(Float(20), 4096), (Float(0.01), 64)] {   // logit-like; flat (overflows)
                    var x = (0..<count).map { _ in (Float(Double(rng.next() >> 11) * 0x1.0p-53) - 0.9) * spread }
                    if count > 3 { x[count / 2] = 7; x[1] = -.infinity; x[2] = 0 }
                    let chunks = SamplingStats.chunkCount(count)
                    let window = Float(log(1024.0)) / scale
                    let cut = SamplingStats.negligibleCut(count: count)
                    for outputs in 0..<4 {
                        let withPlain = outputs & 1 == 1, withExtras = outputs & 2 == 2
                        func run(_ wide: Bool) -> ([UInt32], [UInt64], [UInt64], [UInt32], [Int32], Int) {
                            var maxes = [Float](repeating: .nan, count: chunks)
                            var sT = [Double](repeating: .nan, count: chunks), s1 = sT
                            var exps = [Float](repeating: .nan, count: count)
                            var ids = [Int32](repeating: -7, count: capacity)
                            let found = x.withUnsafeBufferPointer { xb in
                                maxes.withUnsafeMutableBufferPointer { m in
                                    sT.withUnsafeMutableBufferPointer { st in
                                        s1.withUnsafeMutableBufferPointer { p in
                                            ids.withUnsafeMutableBufferPointer { c in
                                                exps.withUnsafeMutableBufferPointer { e in
                                                    let plain = withPlain ? p.baseAddress : nil
                                                    let cand = withExtras ? c.baseAddress : nil
                                                    let ex = withExtras ? e.baseAddress : nil
                                                    return wide
                                                        ? Int(ck_sampling_pass(xb.baseAddress!, Int32(count), scale, m.baseAddress!,
                                                                               st.baseAddress!, plain, window, cand, Int32(capacity), ex, cut))
                                                        : SamplingStats.swiftPass(xb.baseAddress!, count: count, scale: scale,
                                                                                  maxes: m.baseAddress!, scaledSums: st.baseAddress!,
                                                                                  plainSums: plain, window: window, candidates: cand,
                                                                                  capacity: capacity, exps: ex, cut: cut)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            return (maxes.map(\.bitPattern), sT.map(\.bitPattern), s1.map(\.bitPattern),
                                    exps.map(\.bitPattern), ids, found)
                        }
                        let a = run(true), b = run(false)
                        let what = "count \(count) scale \(scale) spread \(spread) outputs \(outputs)"
                        XCTAssertEqual(a.0, b.0, "\(what): chunk maxima")
                        XCTAssertEqual(a.1, b.1, "\(what): tempered sums")
                        XCTAssertEqual(a.2, b.2, "\(what): plain sums")
                        XCTAssertEqual(a.3, b.3, "\(what): stored exponentials")
                        XCTAssertEqual(a.5, b.5, "\(what): candidate count")
                        if a.5 > 0 { XCTAssertEqual(a.4[..<a.5], b.4[..<b.5], "\(what): candidates") }
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 17 * 3 * 2 * 4)
    }
}
