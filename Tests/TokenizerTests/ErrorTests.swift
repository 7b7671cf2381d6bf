import Foundation
import XCTest
@testable import Tokenizer
import SprigJSON

/// Malformed or unsupported files give a TokenizerError naming the file.
final class ErrorTests: XCTestCase {
    private func minimal(preTokenizer: String = #"{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"#,
                         merges: String = #"["a b"]"#, extra: String = "") -> Data {
        var vocab: [String] = []
        for b in 0..<256 {
            let s = String(Unicode.Scalar(ByteLevel.byteToScalar[b])!)
            let escaped = s == "\"" ? "\\\"" : (s == "\\" ? "\\\\" : s)
            vocab.append("\"\(escaped)\":\(b)")
        }
        vocab.append(#""ab":256"#)
        let json = #"{"model":{"type":"BPE","vocab":{"# + vocab.joined(separator: ",") + #"},"merges":"# + merges
            + #"},"pre_tokenizer":"# + preTokenizer + #","decoder":{"type":"ByteLevel"}"# + extra + "}"
        return Data(json.utf8)
    }

    private func error(_ data: Data) -> TokenizerError? {
        do {
            _ = try BPETokenizer(tokenizerJSON: data, configJSON: nil, path: "t.json")
            return nil
        } catch {
            return error
        }
    }

    func testMinimalTokenizerLoads() throws {
        let tok = try BPETokenizer(tokenizerJSON: minimal(), configJSON: nil, path: "t.json")
        XCTAssertEqual(tok.encode("abc ab"), [256, 99, 32, 256])  // ids are byte values here; Ġ is 32
        XCTAssertEqual(tok.vocabSize, 257)
    }

    func testUnknownRegexIsRejected() {
        let pre = #"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}"#
        guard case let .unknownPattern(path, pattern)? = error(minimal(preTokenizer: pre)) else {
            return XCTFail("expected unknownPattern")
        }
        XCTAssertEqual(path, "t.json")
        XCTAssertEqual(pattern, #"\w+"#)
    }

    func testUnknownPreTokenizerAndMismatchedDecoderAreRejected() {
        let e = error(minimal(preTokenizer: #"{"type":"Whitespace"}"#))
        XCTAssertEqual(e, .unsupported(path: "t.json", what: "pre-tokenizer 'Whitespace'"))
        XCTAssertTrue(e?.description.hasPrefix("t.json: ") ?? false)
        // A SentencePiece pre-tokenizer with a byte-level decoder is no tokenizer we know.
        XCTAssertEqual(error(minimal(preTokenizer: #"{"type":"Metaspace","replacement":"▁"}"#)),
                       .unsupported(path: "t.json", what: "ByteLevel decoder without a ByteLevel pre-tokenizer"))
    }

    func testMergeOutsideVocabularyIsRejected() {
        XCTAssertEqual(error(minimal(merges: #"["a c"]"#)), .badMerge(path: "t.json", merge: "a c"))
        XCTAssertEqual(error(minimal(merges: #"["abc"]"#)), .badMerge(path: "t.json", merge: "abc"))
    }

    func testMalformedJSONReportsOffset() {
        guard case let .invalidJSON(path, offset, _)? = error(Data(#"{"model": [1, 2,"#.utf8)) else {
            return XCTFail("expected invalidJSON")
        }
        XCTAssertEqual(path, "t.json")
        XCTAssertEqual(offset, 16)
        XCTAssertEqual(error(Data("{}".utf8)), .missingField(path: "t.json", field: "model"))
    }

    func testGGUFErrors() {
        XCTAssertThrowsError(try BPETokenizer(ggufTokens: ["a"], merges: [], tokenTypes: [1, 1], pre: nil, bosID: nil,
                                              eosID: nil, chatTemplate: nil, path: "m.gguf"))
        do {
            _ = try BPETokenizer(ggufTokens: ["a"], merges: [], tokenTypes: [1], pre: "mystery", bosID: nil, eosID: nil,
                                 chatTemplate: nil, path: "m.gguf")
            XCTFail("unknown pre accepted")
        } catch {
            XCTAssertEqual(error, .unsupported(path: "m.gguf", what: "GGUF pre-tokenizer 'mystery'"))
        }
    }

    func testMissingFileIsUnreadable() {
        do {
            _ = try BPETokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))
            XCTFail("loaded a missing file")
        } catch {
            guard case let .unreadable(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/tokenizer.json")
        }
    }

    func testJSONEscapes() throws {
        let v = try JSON.parse(Data(#"{"s":"a\n\u00e9\ud83d\ude00\"","n":-12,"f":1.5e2,"b":[true,false,null]}"#.utf8), path: "x")
        XCTAssertEqual(v["s"]?.string, "a\n\u{e9}\u{1F600}\"")
        XCTAssertEqual(v["n"]?.int, -12)
        XCTAssertEqual(v["f"]?.int, 150)
        XCTAssertEqual(v["b"]?.array?.count, 3)
    }
}
