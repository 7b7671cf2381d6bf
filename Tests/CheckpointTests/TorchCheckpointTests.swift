import Foundation
import XCTest
@testable import Checkpoint

final class TorchCheckpointTests: XCTestCase {
    func testSPRMHeadMatchesTorch() throws {
        let sd = try TorchCheckpoint.loadStateDict(path: try Fixture.path("score_module.pt"))
        let ref = try XCTUnwrap(try Fixture.reference()["pt"] as? [String: [String: Any]])
        XCTAssertEqual(Set(sd.keys), ["0.weight", "0.bias", "3.weight", "3.bias"])
        XCTAssertEqual(sd["0.weight"]?.shape, [16, 8])
        XCTAssertEqual(sd["3.weight"]?.shape, [1, 16])
        XCTAssertEqual(sd["3.bias"]?.shape, [1])
        for (name, r) in ref {
            let t = try XCTUnwrap(sd[name])
            XCTAssertEqual(t.name, name)
            XCTAssertEqual(t.shape, r["shape"] as? [Int])
            assertClose(t.values, try XCTUnwrap(r["values"] as? [Double]))  // exact
        }
    }

    func testProtocol4AndParameters() throws {
        let ref = try XCTUnwrap(try Fixture.reference()["pt"] as? [String: [String: Any]])
        for file in ["proto4.pt", "params.pt"] {
            let sd = try TorchCheckpoint.loadStateDict(path: try Fixture.path(file))
            XCTAssertEqual(Set(sd.keys), Set(ref.keys), file)
            for (name, r) in ref {
                XCTAssertEqual(sd[name]?.shape, r["shape"] as? [Int], file)
                assertClose(try XCTUnwrap(sd[name]).values, try XCTUnwrap(r["values"] as? [Double]))
            }
        }
    }

    func testHalfAndBFloat16Storages() throws {
        let ref = try Fixture.reference()
        for (file, key) in [("head_f16.pt", "pt_f16"), ("head_bf16.pt", "pt_bf16")] {
            let sd = try TorchCheckpoint.loadStateDict(path: try Fixture.path(file))
            let r = try XCTUnwrap(ref[key] as? [String: [Double]])
            for (name, values) in r { assertClose(try XCTUnwrap(sd[name]).values, values) }
        }
    }

    func testStorageOffsetsAreHonoured() throws {
        let sd = try TorchCheckpoint.loadStateDict(path: try Fixture.path("views.pt"))
        let r = try XCTUnwrap(try Fixture.reference()["pt_views"] as? [String: [Double]])
        XCTAssertEqual(sd["tail"]?.shape, [2, 3])
        assertClose(try XCTUnwrap(sd["tail"]).values, try XCTUnwrap(r["tail"]))
        assertClose(try XCTUnwrap(sd["head"]).values, try XCTUnwrap(r["head"]))
    }

    func testRefusals() throws {
        let noncontig = try Fixture.path("noncontig.pt")
        assertThrows({ try TorchCheckpoint.loadStateDict(path: noncontig) }) {
            $0.isUnsupported && $0.description.contains("not contiguous")
        }
        let int64 = try Fixture.path("int64.pt")
        assertThrows(.unsupportedType(path: int64, tensor: "n", typeName: "LongStorage")) {
            try TorchCheckpoint.loadStateDict(path: int64)
        }
        // A pickled nn.Module names classes that must never be resolved or called.
        assertThrows({ try TorchCheckpoint.loadStateDict(path: try Fixture.path("module.pt")) }) {
            $0.isUnsupported && $0.description.contains("torch.nn.modules.linear")
        }
        assertThrows({ try TorchCheckpoint.loadStateDict(path: try Fixture.path("deflated.pt")) }) {
            $0.isUnsupported && $0.description.contains("compressed")
        }
        assertThrows({ try TorchCheckpoint.loadStateDict(path: try Fixture.path("tiny.gguf")) }) { $0.isMalformed }
        assertThrows({ try TorchCheckpoint.loadStateDict(file: MappedFile(bytes: [0x80, 2, 0x7D, 0x2E], path: "old.pt")) }) {
            $0.isUnsupported && $0.description.contains("legacy")
        }
        assertThrows(.fileNotFound(path: "/no/score_module.pt")) { try TorchCheckpoint.loadStateDict(path: "/no/score_module.pt") }
    }

    /// torch writes zip64 records for archives over 4 GB; rebuild the fixture's end records that way.
    func testZip64EndRecords() throws {
        let bytes = try Fixture.bytes("score_module.pt")
        let eocd = try XCTUnwrap((0...(bytes.count - 22)).last { i in bytes[i..<(i + 4)].elementsEqual([0x50, 0x4B, 0x05, 0x06]) })
        func le(_ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        func put(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let count = le(eocd + 10, 2), cdSize = le(eocd + 12, 4), cdOffset = le(eocd + 16, 4)
        var out = Array(bytes[0..<eocd])
        let record = UInt64(out.count)
        out += [0x50, 0x4B, 0x06, 0x06] + put(44, 8) + put(45, 2) + put(45, 2) + put(0, 4) + put(0, 4)
            + put(count, 8) + put(count, 8) + put(cdSize, 8) + put(cdOffset, 8)
        out += [0x50, 0x4B, 0x06, 0x07] + put(0, 4) + put(record, 8) + put(1, 4)
        out += [0x50, 0x4B, 0x05, 0x06] + put(0, 4) + put(0xFFFF, 2) + put(0xFFFF, 2)
            + put(0xFFFF_FFFF, 4) + put(0xFFFF_FFFF, 4) + put(0, 2)
        let sd = try TorchCheckpoint.loadStateDict(file: MappedFile(bytes: out, path: "z64.pt"))
        let plain = try TorchCheckpoint.loadStateDict(path: try Fixture.path("score_module.pt"))
        XCTAssertEqual(sd.mapValues(\.values), plain.mapValues(\.values))
        // A locator pointing nowhere is a typed error.
        var broken = out
        broken[out.count - 22 - 20 + 8] ^= 0x10
        assertThrows({ try TorchCheckpoint.loadStateDict(file: MappedFile(bytes: broken, path: "z64.pt")) }) { _ in true }
    }

    func testCorruptedStorageFailsCRC() throws {
        var bytes = try Fixture.bytes("score_module.pt")
        // Flip one byte inside the storage of 0.weight (located by the local header of data/0).
        let name = Array("score_module/data/0".utf8)
        let at = try XCTUnwrap((0..<(bytes.count - name.count)).first { bytes[$0..<($0 + name.count)].elementsEqual(name) })
        let extraLen = Int(bytes[at - 2]) | Int(bytes[at - 1]) << 8
        bytes[at + name.count + extraLen + 5] ^= 0x40
        assertThrows({ try TorchCheckpoint.loadStateDict(file: MappedFile(bytes: bytes, path: "x.pt")) }) {
            $0.isMalformed && $0.description.contains("CRC")
        }
    }

    /// Hand-written pickles: only state-dict opcodes run; anything else is refused.
    func testPickleInterpreter() throws {
        func run(_ ops: [UInt8]) throws -> Pickle.Value {
            try ops.withUnsafeBytes { raw throws(CheckpointError) in try Pickle.load(raw, path: "p", entry: "e") }
        }
        // {"a": (1, -2, 300, 70000, True, None)} via protocol 4 opcodes.
        let ops: [UInt8] = [0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0x94, 0x8C, 1, 0x61, 0x94, 0x28,
                            0x4B, 1, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0x2C, 0x01, 0x8A, 3, 0x70, 0x11, 0x01,
                            0x88, 0x4E, 0x74, 0x73, 0x2E]
        guard case .dict(let d) = try run(ops), d.items.count == 1, case .string("a") = d.items[0].0,
              case .tuple(let t) = d.items[0].1 else { return XCTFail("wrong shape") }
        XCTAssertEqual(t.compactMap(\.intValue), [1, -2, 300, 70000])
        // LONG1 sign extension: 0xFF as 1 byte is -1.
        guard case .int(-1) = try run([0x8A, 1, 0xFF, 0x2E]) else { return XCTFail("LONG1") }
        assertThrows({ try run([0x63] + Array("os\nsystem\n".utf8) + [0x2E]) }) {
            $0.isUnsupported && $0.description.contains("os.system")
        }
        assertThrows({ try run([0x8C, 2] + Array("os".utf8) + [0x8C, 6] + Array("system".utf8) + [0x93, 0x2E]) }) { $0.isUnsupported }
        assertThrows({ try run([0x69, 0x2E]) }) { $0.isUnsupported }  // INST
        assertThrows({ try run([0x2E]) }) { $0.isMalformed }  // empty stack
        assertThrows({ try run([0x74, 0x2E]) }) { $0.isMalformed }  // TUPLE without MARK
        assertThrows({ try run([0x68, 9, 0x2E]) }) { $0.isMalformed }  // empty memo slot
        assertThrows({ try run([0x4B]) }) { $0.isTruncated }
        assertThrows({ try run([0x7D]) }) { $0.isTruncated }  // no STOP
    }
}
