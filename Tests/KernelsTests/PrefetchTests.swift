import CKernels
import XCTest
@testable import Kernels

extension ck_prefetch: @retroactive Equatable {
    public static func == (a: ck_prefetch, b: ck_prefetch) -> Bool { a.bytes == b.bytes && a.l2 == b.l2 }
}

/// The weight prefetch distance (`ck_set_weight_prefetch`, chosen per CPU vendor) only moves
/// data ahead of use: every product kernel must give the same bits with none, the default
/// and other distances, for few (≤ 4) and many activation rows.
final class PrefetchTests: XCTestCase {
    typealias Rng = QuantizedMultiplyTests.Rng

    /// Prefetch settings each product is run under (few, many, many from); the first is the reference.
    static let settings: [(ck_prefetch, ck_prefetch, Int32)] = [
        (.init(bytes: 0, l2: 0), .init(bytes: 0, l2: 0), 3),
        (.init(bytes: 2048, l2: 0), .init(bytes: 2048, l2: 0), 3),
        (.init(bytes: 64, l2: 1), .init(bytes: 4096, l2: 0), 5),
        (.init(bytes: 0, l2: 0), .init(bytes: 6144, l2: 1), 3),
        (.init(bytes: 8192, l2: 1), .init(bytes: 65536, l2: 1), 2),
    ]

    static func saved() -> (ck_prefetch, ck_prefetch, Int32) {
        var few = ck_prefetch(), many = ck_prefetch(), from: Int32 = 0
        ck_weight_prefetch_setting(&few, &many, &from)
        return (few, many, from)
    }

    func outputs(rows n: Int, count: Int, _ run: (UnsafeMutablePointer<Float>) -> Void) -> [[Float]] {
        let saved = Self.saved()
        defer { ck_set_weight_prefetch(saved.0, saved.1, saved.2) }
        return Self.settings.map { few, many, from in
            ck_set_weight_prefetch(few, many, from)
            var y = [Float](repeating: .nan, count: count)
            y.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
            return y
        }
    }

    func testQuantizedProductsDoNotDependOnPrefetch() {
        var rng = Rng(state: 41)
        for format in [BlockFormat.q4_0, .q4_1, .q8_0] {
            let m = QuantizedMultiplyTests.makeMatrix(format, rows: 150, columns: 576, rng: &rng)
            for n in [1, 3, 4, 5, 8, 16] {
                let x = (0..<(n * 576)).map { _ in rng.float() }
                for activations in [ActivationPrecision.f32, .q8] {
                    let ys = x.withUnsafeBufferPointer { xp in
                        outputs(rows: n, count: n * 150) { m.multiply(xp.baseAddress!, rows: n, into: $0, activations: activations) }
                    }
                    for (i, y) in ys.enumerated().dropFirst() {
                        XCTAssertEqual(y.map(\.bitPattern), ys[0].map(\.bitPattern),
                                       "\(format) n=\(n) \(activations) prefetch \(Self.settings[i])")
                    }
                }
            }
        }
    }

    func testF32ProductsDoNotDependOnPrefetch() {
        var rng = Rng(state: 43)
        let w = FloatBuffer(count: 96 * 256)
        for i in 0..<w.count { w[i] = rng.float() }
        let linear = Linear(weights: w, inFeatures: 256, outFeatures: 96, bias: nil)
        for n in [1, 2, 4, 6, 16] {
            let x = (0..<(n * 256)).map { _ in rng.float() }
            let ys = x.withUnsafeBufferPointer { xp in
                outputs(rows: n, count: n * 96) { linear.apply(xp.baseAddress!, rows: n, into: $0) }
            }
            for (i, y) in ys.enumerated().dropFirst() {
                XCTAssertEqual(y.map(\.bitPattern), ys[0].map(\.bitPattern), "f32 n=\(n) prefetch \(Self.settings[i])")
            }
        }
    }

    /// The setter rounds to whole cache lines, clamps negatives to none and picks by row count.
    func testSetterRoundsToCacheLines() {
        let saved = Self.saved()
        defer { ck_set_weight_prefetch(saved.0, saved.1, saved.2) }
        ck_set_weight_prefetch(.init(bytes: -5, l2: 0), .init(bytes: 2100, l2: 7), 3)
        XCTAssertEqual(ck_get_weight_prefetch(2), ck_prefetch(bytes: 0, l2: 0))
        XCTAssertEqual(ck_get_weight_prefetch(3), ck_prefetch(bytes: 2048, l2: 1))
        XCTAssertEqual(WeightPrefetch.setting, "0,2048l2,3")
        ck_set_weight_prefetch(.init(bytes: 2048, l2: 0), .init(bytes: 2048, l2: 0), 3)
        XCTAssertEqual(WeightPrefetch.setting, "2048,2048,3")
        ck_set_weight_prefetch(.init(bytes: 0, l2: 0), .init(bytes: 6144, l2: 1), 5)
        XCTAssertEqual(WeightPrefetch.setting, "0,6144l2,5")
    }
}
