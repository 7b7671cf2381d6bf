import Foundation
import XCTest
@testable import Checkpoint

/// Little-endian byte writer for hand-made GGUF files.
struct GGUFBuilder {
    var b: [UInt8] = []
    mutating func u8(_ v: UInt8) { b.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); b += Array(s.utf8) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        b += Array("GGUF".utf8); u32(version); u64(tensors); u64(kvs)
    }
    mutating func kvU32(_ key: String, _ v: UInt32) { str(key); u32(4); u32(v) }
    mutating func tensorInfo(_ name: String, ne: [UInt64], type: UInt32, offset: UInt64) {
        str(name); u32(UInt32(ne.count)); for d in ne { u64(d) }; u32(type); u64(offset)
    }
    mutating func pad(to align: Int) { while b.count % align != 0 { b.append(0) } }
}

/// One f32 tensor "t" of `ne` with `data` after the header, aligned to 32.
func oneTensorGGUF(ne: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, data: [UInt8]) -> [UInt8] {
    var g = GGUFBuilder()
    g.header(tensors: 1, kvs: 0)
    g.tensorInfo("t", ne: ne, type: type, offset: offset)
    g.pad(to: 32)
    return g.b + data
}

final class GGUFTests: XCTestCase {
    func testTinyFileMetadataOfEveryType() throws {
        let g = try GGUFFile(path: try Fixture.path("tiny.gguf"))
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.string("general.architecture"), "llama")
        XCTAssertEqual(g.int("t.u8"), 200)
        XCTAssertEqual(g.int("t.i8"), -100)
        XCTAssertEqual(g.int("t.u16"), 60000)
        XCTAssertEqual(g.int("t.i16"), -30000)
        XCTAssertEqual(g.int("t.u32"), 4_000_000_000)
        XCTAssertEqual(g.int("t.i32"), -2_000_000_000)
        XCTAssertEqual(g.metadata["t.u64"], .uint(1 << 63 + 5))
        XCTAssertNil(g.int("t.u64"))  // does not fit in Int
        XCTAssertEqual(g.int("t.i64"), -(1 << 62))
        XCTAssertEqual(g.double("t.f32"), Double(Float(0.1)))
        XCTAssertEqual(g.double("t.f64"), 1e-300)
        XCTAssertEqual(g.bool("t.bool"), true)
        XCTAssertEqual(g.string("t.str"), "héllo ✓")
        XCTAssertEqual(g.ints("t.ints"), [1, -2, 3])
        XCTAssertEqual(g.strings("t.strs"), ["a", "", "ccc"])
        XCTAssertEqual(g.doubles("t.floats"), [0.5, -1.25])
        XCTAssertEqual(g.metadata["t.nested"], .array([.array([.int(1), .int(2)]), .array([.int(3)])]))
        XCTAssertEqual(g.int("llama.block_count"), 2)
        XCTAssertNil(g.string("t.u8"))
        XCTAssertNil(g.int("absent"))
        XCTAssertEqual(g.metadataKeys.first, "general.architecture")
    }

    func testTinyFileTensorsMatchGGUFPy() throws {
        let path = try Fixture.path("tiny.gguf")
        let g = try GGUFFile(path: path)
        let ref = try XCTUnwrap(try Fixture.reference()["gguf"] as? [String: [String: Any]])
        XCTAssertEqual(g.tensorNames, (ref.keys + ["q6k"]).sorted())
        for (name, r) in ref {
            let t = try g.require(name)
            XCTAssertEqual(t.type.rawValue, r["type"] as? String, name)
            XCTAssertEqual(t.shape, r["shape"] as? [Int], name)
            XCTAssertEqual(t.data.count, t.type.byteCount(elements: t.elementCount))
            // gguf-py dequantizes in f32 too; the only difference is summation order (none here).
            assertClose(try t.floats(), try XCTUnwrap(r["values"] as? [Double]), tol: 1e-6)
        }
        // The q6_K tensor (arbitrary bytes) decodes as gguf-py decodes it (Fixtures/kquants.json).
        XCTAssertTrue(g.unsupportedTensors.isEmpty)
        let q6k = try g.require("q6k")
        XCTAssertEqual(q6k.type, .q6_K)
        let expected = try XCTUnwrap(try Fixture.json("kquants.json")["tiny.gguf q6k"] as? [String: Any])["values"] as? [Double]
        assertRelativelyClose(try q6k.floats(), try XCTUnwrap(expected))
        assertThrows(.missingTensor(path: path, name: "zz")) { try g.require("zz") }
    }

    func testHandMadeFileAndAlignment() throws {
        var g = GGUFBuilder()
        g.header(version: 2, tensors: 2, kvs: 1)
        g.kvU32("general.alignment", 64)
        g.tensorInfo("a", ne: [2], type: 0, offset: 0)
        g.tensorInfo("b", ne: [1], type: 0, offset: 64)
        g.pad(to: 64)
        let dataStart = g.b.count
        var floats: [Float] = [1.5, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        floats += [7]
        let bytes = g.b + floats.withUnsafeBytes { Array($0) }
        let f = try GGUFFile(file: MappedFile(bytes: bytes, path: "m.gguf"))
        XCTAssertEqual(f.version, 2)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset, dataStart)
        XCTAssertEqual(try f.tensor("a")?.floats(), [1.5, -2])
        XCTAssertEqual(try f.tensor("b")?.floats(), [7])
        XCTAssertEqual(f.orderedTensorNames, ["a", "b"])
    }

    func testShapeIsReversedToRowMajor() throws {
        // ne = [3, 2]: 2 rows of 3; row-major values are the file order.
        let vals: [Float] = [1, 2, 3, 4, 5, 6]
        let f = try GGUFFile(file: MappedFile(bytes: oneTensorGGUF(ne: [3, 2], data: vals.withUnsafeBytes { Array($0) }), path: "m"))
        XCTAssertEqual(f.tensor("t")?.shape, [2, 3])
        XCTAssertEqual(try f.tensor("t")?.floats(), vals)
    }

    func testQuantBlockLayoutByHand() throws {
        // q4_0: d = 0.5 (f16 0x3800); byte j holds element j (low nibble) and j + 16 (high nibble).
        var block: [UInt8] = [0x00, 0x38]
        for j in 0..<16 { block.append(UInt8(j) | UInt8(15 - j) << 4) }
        let f = try GGUFFile(file: MappedFile(bytes: oneTensorGGUF(ne: [32], type: 2, data: block), path: "m"))
        let w = try XCTUnwrap(f.tensor("t")).floats()
        for j in 0..<16 {
            XCTAssertEqual(w[j], Float(j - 8) * 0.5)
            XCTAssertEqual(w[j + 16], Float(15 - j - 8) * 0.5)
        }
        // q8_0: d = 2 (0x4000), q = -3.
        let q8: [UInt8] = [0x00, 0x40] + [UInt8](repeating: UInt8(bitPattern: -3), count: 32)
        let f8 = try GGUFFile(file: MappedFile(bytes: oneTensorGGUF(ne: [32], type: 8, data: q8), path: "m"))
        XCTAssertEqual(try f8.tensor("t")?.floats(), [Float](repeating: -6, count: 32))
    }

    func testHalfConversion() {
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0xC000), -2)
        XCTAssertEqual(halfToFloat(0x0001), 5.960_464_5e-8)  // smallest subnormal
        XCTAssertEqual(halfToFloat(0x7BFF), 65504)
        XCTAssertEqual(halfToFloat(0x7C00), .infinity)
        XCTAssertTrue(halfToFloat(0x7E00).isNaN)
        XCTAssertEqual(halfToFloat(0x8000).sign, .minus)
    }

    func testHeaderErrors() {
        let p = "m.gguf"
        func open(_ b: [UInt8]) throws -> GGUFFile { try GGUFFile(file: MappedFile(bytes: b, path: p)) }
        assertThrows(.truncated(path: p, what: "magic")) { try open([0x47, 0x47]) }
        assertThrows(.malformed(path: p, what: "not a GGUF file (bad magic)")) { try open(Array("GGML0000".utf8)) }
        var v1 = GGUFBuilder(); v1.header(version: 1, tensors: 0, kvs: 0)
        assertThrows({ try open(v1.b) }) { $0.isUnsupported }
        var be = GGUFBuilder(); be.header(version: UInt32(3).byteSwapped, tensors: 0, kvs: 0)
        assertThrows(.unsupported(path: p, what: "big-endian GGUF")) { try open(be.b) }
        var huge = GGUFBuilder(); huge.header(tensors: UInt64.max, kvs: 0)
        assertThrows({ try open(huge.b) }) { $0.isTruncated }
        var hugeKV = GGUFBuilder(); hugeKV.header(tensors: 0, kvs: 1 << 40)
        assertThrows({ try open(hugeKV.b) }) { $0.isTruncated }

        // A key whose length runs past the end.
        var longKey = GGUFBuilder(); longKey.header(tensors: 0, kvs: 1); longKey.u64(1 << 62); longKey.b += [0, 0, 0, 0, 0]
        assertThrows({ try open(longKey.b) }) { $0.isTruncated }
        var badType = GGUFBuilder(); badType.header(tensors: 0, kvs: 1); badType.str("k"); badType.u32(13); badType.u32(0)
        assertThrows(.malformed(path: p, what: "metadata 'k' has unknown value type 13")) { try open(badType.b) }
        var badBool = GGUFBuilder(); badBool.header(tensors: 0, kvs: 1); badBool.str("k"); badBool.u32(7); badBool.u8(2)
        assertThrows({ try open(badBool.b) }) { $0.isMalformed }
        var dup = GGUFBuilder(); dup.header(tensors: 0, kvs: 2); dup.kvU32("k", 1); dup.kvU32("k", 2)
        assertThrows(.malformed(path: p, what: "metadata key 'k' appears twice")) { try open(dup.b) }
        // An array claiming more elements than bytes left.
        var bigArray = GGUFBuilder(); bigArray.header(tensors: 0, kvs: 1); bigArray.str("k"); bigArray.u32(9)
        bigArray.u32(4); bigArray.u64(1 << 61); bigArray.u32(0)
        assertThrows({ try open(bigArray.b) }) { $0.isTruncated }
        // Arrays nested deeper than 8.
        var deep = GGUFBuilder(); deep.header(tensors: 0, kvs: 1); deep.str("k"); deep.u32(9)
        for _ in 0..<20 { deep.u32(9); deep.u64(1) }
        deep.u32(4); deep.u64(0)
        assertThrows({ try open(deep.b) }) { $0.isMalformed }
        var align = GGUFBuilder(); align.header(tensors: 0, kvs: 1); align.kvU32("general.alignment", 24)
        assertThrows(.malformed(path: p, what: "general.alignment must be a power of two")) { try open(align.b) }

        // Tensor infos.
        let f32x4 = [UInt8](repeating: 0, count: 16)
        XCTAssertNoThrow(try open(oneTensorGGUF(ne: [4], data: f32x4)))
        assertThrows(.outOfRange(path: p, tensor: "t")) { try open(oneTensorGGUF(ne: [5], data: f32x4)) }
        assertThrows(.outOfRange(path: p, tensor: "t")) { try open(oneTensorGGUF(ne: [1 << 40, 1 << 40], data: f32x4)) }
        assertThrows(.outOfRange(path: p, tensor: "t")) { try open(oneTensorGGUF(ne: [4], offset: 1 << 62, data: f32x4)) }
        assertThrows(.outOfRange(path: p, tensor: "t")) { try open(oneTensorGGUF(ne: [4], offset: UInt64.max - 31, data: f32x4)) }
        assertThrows({ try open(oneTensorGGUF(ne: [4], offset: 4, data: f32x4)) }) { $0.isMalformed }  // misaligned
        assertThrows({ try open(oneTensorGGUF(ne: [UInt64(bitPattern: -4)], data: f32x4)) }) { $0.isMalformed }
        assertThrows({ try open(oneTensorGGUF(ne: [1, 1, 1, 1, 1], data: f32x4)) }) { $0.isMalformed }
        assertThrows({ try open(oneTensorGGUF(ne: [16, 2], type: 2, data: [UInt8](repeating: 0, count: 36))) }) { $0.isMalformed }
        assertThrows({ try open(oneTensorGGUF(ne: [4], data: [0, 0])) }) { $0.isOutOfRange }
        // Type ids Sprig cannot read are named in the error.
        let q8k = try? open(oneTensorGGUF(ne: [256], type: 15, data: [UInt8](repeating: 0, count: 292)))
        assertThrows(.unsupportedType(path: p, tensor: "t", typeName: "q8_K")) { try XCTUnwrap(q8k).require("t") }
        let odd = try? open(oneTensorGGUF(ne: [4], type: 99, data: f32x4))
        assertThrows(.unsupportedType(path: p, tensor: "t", typeName: "ggml type 99")) { try XCTUnwrap(odd).require("t") }
        var twice = GGUFBuilder(); twice.header(tensors: 2, kvs: 0)
        twice.tensorInfo("t", ne: [1], type: 0, offset: 0); twice.tensorInfo("t", ne: [1], type: 0, offset: 32)
        twice.pad(to: 32)
        assertThrows(.malformed(path: p, what: "tensor 't' appears twice")) { try open(twice.b + [UInt8](repeating: 0, count: 64)) }
        // Header cut inside the tensor infos.
        let cut = oneTensorGGUF(ne: [4], data: f32x4)
        assertThrows({ try open(Array(cut[0..<30])) }) { $0.isTruncated }
        assertThrows(.fileNotFound(path: "/no/such.gguf")) { try GGUFFile(path: "/no/such.gguf") }
    }
}

final class GGUFSpeedTests: XCTestCase {
    /// Qwen-sized vocabulary (151,665 strings) plus merges-like array: must parse in < 0.3 s.
    func testLargeStringArrayParsesFast() throws {
        var g = GGUFBuilder()
        g.header(tensors: 0, kvs: 2)
        let n = 151_665
        g.str("tokenizer.ggml.tokens"); g.u32(9); g.u32(8); g.u64(UInt64(n))
        g.b.reserveCapacity(n * 32)
        for i in 0..<n { g.str("tok\(i)ĠΩ") }
        g.str("tokenizer.ggml.token_type"); g.u32(9); g.u32(5); g.u64(UInt64(n))
        for _ in 0..<n { g.u32(1) }
        let file = MappedFile(bytes: g.b, path: "vocab.gguf")
        let start = Date()
        let f = try GGUFFile(file: file)
        let tokens = try XCTUnwrap(f.strings("tokenizer.ggml.tokens"))
        let seconds = Date().timeIntervalSince(start)
        print("GGUF: \(n) strings + \(n) ints parsed and extracted in \(String(format: "%.3f", seconds)) s")
        XCTAssertEqual(tokens.count, n)
        XCTAssertEqual(tokens[151_664], "tok151664ĠΩ")
        XCTAssertEqual(f.ints("tokenizer.ggml.token_type")?.count, n)
        XCTAssertLessThan(seconds, 0.3)
    }
}
