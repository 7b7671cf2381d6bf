import Foundation
import XCTest
@testable import Checkpoint
import SprigJSON

/// A safetensors file from a header string and data bytes; `length` overrides the 8-byte prefix.
func safetensorsBytes(_ header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = length ?? UInt64(h.count)
    return withUnsafeBytes(of: n.littleEndian) { Array($0) } + h + data
}

final class SafetensorsTests: XCTestCase {
    func testTinyFileMatchesReference() throws {
        let store = try SafetensorsStore(path: try Fixture.path("tiny.safetensors"))
        let ref = try XCTUnwrap(try Fixture.reference()["safetensors"] as? [String: [String: Any]])
        XCTAssertEqual(store.tensorNames, ["empty", "w_bf16", "w_f16", "w_f32"])
        XCTAssertEqual(store.metadata["note"], "sprig fixture")
        for (name, r) in ref {
            let t = try store.require(name)
            XCTAssertEqual(t.shape, r["shape"] as? [Int], name)
            assertClose(try t.floats(), try XCTUnwrap(r["values"] as? [Double]))  // exact: widening only
        }
        XCTAssertEqual(store.tensor("w_f16")?.type, .f16)
        XCTAssertEqual(store.tensor("w_bf16")?.type, .bf16)
        XCTAssertEqual(store.tensor("empty")?.elementCount, 0)
        XCTAssertEqual(try store.tensor("empty")?.floats(), [])
    }

    func testUnsupportedDtypeIsReportedByName() throws {
        let path = try Fixture.path("tiny.safetensors")
        let store = try SafetensorsStore(path: path)
        XCTAssertNil(store.tensor("ids_i64"))
        XCTAssertEqual(store.unsupportedTensors["ids_i64"], "I64")
        assertThrows(.unsupportedType(path: path, tensor: "ids_i64", typeName: "I64")) { try store.require("ids_i64") }
        assertThrows(.missingTensor(path: path, name: "nope")) { try store.require("nope") }
    }

    func testShardedFolderThroughIndex() throws {
        let dir = try Fixture.path("sharded")
        let store = try SafetensorsStore(path: dir)
        XCTAssertEqual(store.files.count, 2)
        let ref = try XCTUnwrap(try Fixture.reference()["sharded"] as? [String: [String: Any]])
        XCTAssertEqual(store.tensorNames, ref.keys.sorted())
        for (name, r) in ref {
            let t = try store.require(name)
            XCTAssertEqual(t.shape, r["shape"] as? [Int])
            assertClose(try t.floats(), try XCTUnwrap(r["values"] as? [Double]))
        }
        // Tensors of one shard share one mapping.
        XCTAssertTrue(store.tensor("layer.0.w")?.file === store.tensor("layer.0.b")?.file)
        XCTAssertFalse(store.tensor("layer.0.w")?.file === store.tensor("layer.1.w")?.file)
    }

    func testFolderWithoutIndexLoadsEverySafetensorsFile() throws {
        let dir = try Fixture.tempDir(self)
        let src = try Fixture.path("sharded")
        for n in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(atPath: src + "/" + n, toPath: dir.path + "/" + n)
        }
        XCTAssertEqual(try SafetensorsStore(path: dir.path).tensorNames.count, 3)
        // A single model.safetensors wins over other files.
        try FileManager.default.copyItem(atPath: try Fixture.path("tiny.safetensors"), toPath: dir.path + "/model.safetensors")
        XCTAssertEqual(try SafetensorsStore(path: dir.path).tensorNames, ["empty", "w_bf16", "w_f16", "w_f32"])
    }

    func testShardErrors() throws {
        let dir = try Fixture.tempDir(self)
        let index = dir.path + "/model.safetensors.index.json"
        try #"{"weight_map": {"a": "missing.safetensors"}}"#.write(toFile: index, atomically: true, encoding: .utf8)
        assertThrows(.fileNotFound(path: dir.path + "/missing.safetensors")) { try SafetensorsStore(path: dir.path) }

        try #"{"weight_map": {"a": "../x.safetensors"}}"#.write(toFile: index, atomically: true, encoding: .utf8)
        assertThrows({ try SafetensorsStore(path: dir.path) }) { $0.isMalformed }

        try #"{"metadata": {}}"#.write(toFile: index, atomically: true, encoding: .utf8)
        assertThrows(.malformed(path: index, what: "no \"weight_map\" object")) { try SafetensorsStore(path: dir.path) }

        // The index names a tensor its shard lacks.
        try FileManager.default.copyItem(atPath: try Fixture.path("tiny.safetensors"), toPath: dir.path + "/s.safetensors")
        try #"{"weight_map": {"w_f32": "s.safetensors", "ghost": "s.safetensors"}}"#.write(toFile: index, atomically: true, encoding: .utf8)
        assertThrows(.missingTensor(path: dir.path + "/s.safetensors", name: "ghost")) { try SafetensorsStore(path: dir.path) }

        // Same tensor in two shards.
        try FileManager.default.copyItem(atPath: try Fixture.path("tiny.safetensors"), toPath: dir.path + "/t.safetensors")
        try #"{"weight_map": {"w_f32": "s.safetensors", "w_f16": "t.safetensors"}}"#.write(toFile: index, atomically: true, encoding: .utf8)
        assertThrows({ try SafetensorsStore(path: dir.path) }) { $0.isMalformed }
    }

    func testMissingPaths() throws {
        assertThrows(.fileNotFound(path: "/nonexistent/x.safetensors")) { try SafetensorsStore(path: "/nonexistent/x.safetensors") }
        let empty = try Fixture.tempDir(self)
        assertThrows(.fileNotFound(path: empty.path + "/*.safetensors")) { try SafetensorsStore(path: empty.path) }
        assertThrows({ try MappedFile(path: empty.path) }) { if case .io = $0 { return true }; return false }
    }

    func testHeaderErrors() {
        let p = "mem.safetensors"
        func open(_ b: [UInt8]) throws(CheckpointError) -> SafetensorsStore { try SafetensorsStore(file: MappedFile(bytes: b, path: p)) }
        let f32x2: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]  // 1.0, 2.0
        let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertEqual(try open(safetensorsBytes(good, data: f32x2)).tensor("a")?.floats(), [1, 2])

        assertThrows(.truncated(path: p, what: "8-byte header length")) { try open([1, 2, 3]) }
        assertThrows({ try open(safetensorsBytes(good, data: f32x2, length: 1 << 40)) }) { $0.isTruncated }
        assertThrows({ try open(safetensorsBytes(good, data: f32x2, length: UInt64.max)) }) { $0.isTruncated }
        assertThrows({ try open(safetensorsBytes("{\"a\": [1, 2", data: [])) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes("not json", data: [])) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes("[1]", data: [])) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes(String(repeating: "[", count: 100_000), data: [])) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: f32x2)) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: f32x2)) }) { $0.isMalformed }
        assertThrows({ try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: f32x2)) }) { $0.isMalformed }
        // Offsets past the data section.
        assertThrows(.outOfRange(path: p, tensor: "a")) {
            try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: f32x2))
        }
        // Shape disagrees with the byte range.
        assertThrows(.outOfRange(path: p, tensor: "a")) {
            try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: f32x2))
        }
        assertThrows(.outOfRange(path: p, tensor: "a")) {
            try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: f32x2))
        }
        assertThrows(.unsupportedType(path: p, tensor: "a", typeName: "F4")) {
            try open(safetensorsBytes(#"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,8]}}"#, data: f32x2))
        }
        // Duplicate keys.
        assertThrows({
            try open(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: f32x2))
        }) { $0.isMalformed }
        // __metadata__ is ignored whatever it holds; unaligned f32 data is fine.
        let meta = #"{"__metadata__":{"k":"v","n":3},"b":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}"#
        XCTAssertEqual(try open(safetensorsBytes(meta, data: [9] + f32x2)).tensor("b")?.floats(), [1])
    }

    func testJSONEscapes() throws {
        let text = #"{"a\"b\u00e9\ud83d\ude00":[1.5e2,-0.25,true,false,null]}"#
        let json = try Array(text.utf8).withUnsafeBytes { raw throws(CheckpointError) in try JSON.parse(raw, path: "x", what: "t") }
        XCTAssertEqual(json, .object([JSONField(key: "a\"bé😀", value: .array([.number(150), .number(-0.25), .bool(true), .bool(false), .null]))]))
    }

    /// A syntax error in a header is `malformed`, naming the file, the part and the byte.
    func testHeaderSyntaxErrorNamesFileAndOffset() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}"#
        let bytes = safetensorsBytes(header, data: [0, 0, 128, 63, 0, 0, 0, 64])
        XCTAssertThrowsError(try SafetensorsStore(file: MappedFile(bytes: bytes, path: "m.safetensors"))) { error in
            guard case let .malformed(path, what)? = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "m.safetensors")
            XCTAssertEqual(what, "header is not valid JSON (expected a key at byte \(header.utf8.count - 1))")
        }
    }

    func testErrorMessagesNameFileAndProblem() {
        let e = CheckpointError.outOfRange(path: "/m/x.safetensors", tensor: "w")
        XCTAssertTrue(e.description.contains("/m/x.safetensors") && e.description.contains("'w'"))
        XCTAssertTrue(CheckpointError.unsupportedType(path: "f", tensor: "t", typeName: "q4_K").description.contains("q4_K"))
    }
}
