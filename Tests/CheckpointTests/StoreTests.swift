import Foundation
import XCTest
@testable import Checkpoint

final class StoreTests: XCTestCase {
    func testOpenTensorStoreDispatchesOnContent() throws {
        XCTAssertTrue(try openTensorStore(path: try Fixture.path("tiny.gguf")) is GGUFFile)
        XCTAssertTrue(try openTensorStore(path: try Fixture.path("tiny.safetensors")) is SafetensorsStore)
        let sharded = try openTensorStore(path: try Fixture.path("sharded"))
        XCTAssertEqual(sharded.tensorNames, ["layer.0.b", "layer.0.w", "layer.1.w"])
        assertThrows(.fileNotFound(path: "/no/model")) { try openTensorStore(path: "/no/model") }
        // A .pt is neither: the safetensors reader rejects it with a typed error.
        assertThrows({ try openTensorStore(path: try Fixture.path("score_module.pt")) }) { _ in true }
    }

    func testRowDequantizationMatchesWholeTensor() throws {
        let g = try GGUFFile(path: try Fixture.path("tiny.gguf"))
        for name in ["q4_0", "q4_1", "q8_0", "f16", "f32", "bf16"] {
            let t = try g.require(name)
            let all = try t.floats()
            XCTAssertEqual(t.rowCount * t.rowLength, all.count)
            let rows = 1..<t.rowCount
            var part = [Float](repeating: .nan, count: rows.count * t.rowLength)
            part.withUnsafeMutableBufferPointer { t.dequantize(rows: rows, into: $0.baseAddress!) }
            XCTAssertEqual(part, Array(all[(rows.lowerBound * t.rowLength)...]), name)
        }
    }

    func testMissingStorageEntry() throws {
        // Rename the zip entry holding storage "3" (both headers); names are not CRC-covered.
        var bytes = try Fixture.bytes("score_module.pt")
        let from = Array("score_module/data/3".utf8), to = Array("score_module/data/9".utf8)
        var i = 0, renamed = 0
        while i + from.count <= bytes.count {
            if bytes[i..<(i + from.count)].elementsEqual(from) { bytes.replaceSubrange(i..<(i + from.count), with: to); renamed += 1 }
            i += 1
        }
        XCTAssertEqual(renamed, 2)
        assertThrows(.malformed(path: "x.pt", what: "storage '3' of tensor '3.bias' is missing from the archive")) {
            try TorchCheckpoint.loadStateDict(file: MappedFile(bytes: bytes, path: "x.pt"))
        }
    }

    func testMappedFileLifetime() throws {
        // A view keeps its mapping alive after the store is gone.
        var store: GGUFFile? = try GGUFFile(path: try Fixture.path("tiny.gguf"))
        let view = try XCTUnwrap(store?.tensor("f32"))
        let before = try view.floats()
        store = nil
        XCTAssertEqual(try view.floats(), before)
        XCTAssertEqual(view.file.path, try Fixture.path("tiny.gguf"))
        XCTAssertEqual(MappedFile(bytes: [], path: "e").bytes.count, 0)
    }
}

final class TruncationTests: XCTestCase {
    /// Every prefix of each real fixture either loads (only the full file) or throws a typed error.
    func testEveryPrefixOfTheFixtures() throws {
        for name in ["tiny.safetensors", "tiny.gguf", "score_module.pt"] {
            let full = try Fixture.bytes(name)
            var kinds = Set<String>()
            // GGUF files end with alignment padding (< 32 bytes) after the last tensor: cuts there still load.
            let needed = name == "tiny.gguf" ? full.count - 31 : full.count
            for cut in 0..<full.count {
                let file = MappedFile(bytes: Array(full[0..<cut]), path: name)
                do {
                    switch name {
                    case "tiny.gguf": _ = try GGUFFile(file: file)
                    case "tiny.safetensors": _ = try SafetensorsStore(file: file)
                    default: _ = try TorchCheckpoint.loadStateDict(file: file)
                    }
                    if cut < needed { XCTFail("\(name) cut at \(cut) of \(full.count) loaded") }
                } catch {
                    XCTAssertFalse(error.description.contains("\n"))
                    XCTAssertTrue(error.description.hasPrefix(name + ": "))
                    kinds.insert(error.kind)
                }
            }
            // Cuts in the header read as truncated, cuts in the data as out of range (zip: no end record).
            switch name {
            case "tiny.gguf", "tiny.safetensors": XCTAssertEqual(kinds, ["truncated", "outOfRange"], name)
            default: XCTAssertTrue(kinds.contains("malformed"), name)
            }
        }
    }
}
