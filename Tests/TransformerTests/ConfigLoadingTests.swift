import Foundation
import XCTest
import Checkpoint
@testable import Transformer

/// config.json reading: numbers of 0 and 1 are numbers (not booleans), booleans are
/// booleans, and what Sprig does not implement is refused by name.
final class ConfigLoadingTests: XCTestCase {
    static let base = """
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 160, "vocab_size": 320,
        "num_attention_heads": 4, "rms_norm_eps": 1e-5, "max_position_embeddings": 128
        """

    func load(_ fields: String) throws -> TransformerConfig {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-config-\(UUID().uuidString).json")
        try Data("{\(Self.base), \(fields)}".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try TransformerConfig.load(huggingFaceConfig: url)
    }

    func assertRefused(_ fields: String, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try load(fields), line: line) { error in
            XCTAssertTrue("\(error)".contains(mentions), "\(error)", line: line)
        }
    }

    /// RoPE on part of each head (Phi-4-mini's partial_rotary_factor, top level or among the
    /// rope parameters) is refused; a factor of 1 is whole heads.
    func testPartialRotaryIsRefused() throws {
        assertRefused(#""num_hidden_layers": 2, "partial_rotary_factor": 0.75"#, mentions: "partial_rotary_factor 0.75")
        assertRefused(#""num_hidden_layers": 2, "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default", "partial_rotary_factor": 0.5}"#,
                      mentions: "partial_rotary_factor 0.5")
        XCTAssertEqual(try load(#""num_hidden_layers": 2, "partial_rotary_factor": 1.0"#).layerCount, 2)
    }

    func testOnesAndZerosAreNumbers() throws {
        let c = try load(#""num_hidden_layers": 1, "num_key_value_heads": 1, "bos_token_id": 0, "eos_token_id": 1"#)
        XCTAssertEqual(c.layerCount, 1)
        XCTAssertEqual(c.kvHeadCount, 1)
        XCTAssertEqual(c.bosTokenID, 0)
        XCTAssertEqual(c.eosTokenIDs, [1])
        let lists = try load(#""num_hidden_layers": 2, "eos_token_id": [1, 0, 7]"#)
        XCTAssertEqual(lists.eosTokenIDs, [1, 0, 7])
        XCTAssertEqual(lists.kvHeadCount, 4)   // absent: one KV head per head
        // A zero is a number that fails validation, not a missing field.
        assertRefused(#""num_hidden_layers": 0"#, mentions: "must be positive")
        // A boolean where a number belongs is not a number.
        assertRefused(#""num_hidden_layers": true"#, mentions: "missing or non-integer 'num_hidden_layers'")
        assertRefused(#""num_hidden_layers": 2.5"#, mentions: "'num_hidden_layers' must be a whole number in range (got 2.5)")
        assertRefused(#""num_hidden_layers": 4611686018427387904"#, mentions: "'num_hidden_layers' must be a whole number in range")
        assertRefused(#""num_hidden_layers": 1e300"#, mentions: "'num_hidden_layers' must be a whole number in range")
    }

    func testBooleansAreBooleans() throws {
        XCTAssertTrue(try load(#""num_hidden_layers": 2, "tie_word_embeddings": true"#).tiedEmbeddings)
        XCTAssertFalse(try load(#""num_hidden_layers": 2, "tie_word_embeddings": false"#).tiedEmbeddings)
        // A number is not a boolean: the default (untied) applies.
        XCTAssertFalse(try load(#""num_hidden_layers": 2, "tie_word_embeddings": 1"#).tiedEmbeddings)
        XCTAssertTrue(try load(#""num_hidden_layers": 2, "attention_bias": true"#).attentionBias)
    }

    func testSlidingWindowIsRefusedUnlessItCoversTheContext() throws {
        func qwen(_ fields: String) -> String {
            #""model_type": "qwen2", "num_hidden_layers": 2, "max_window_layers": 0, "# + fields
        }
        assertRefused(qwen(#""use_sliding_window": true, "sliding_window": 8"#), mentions: "sliding-window attention")
        XCTAssertNoThrow(try load(qwen(#""use_sliding_window": false, "sliding_window": 8"#)))
        // A window as long as the context is full attention.
        XCTAssertNoThrow(try load(qwen(#""use_sliding_window": true, "sliding_window": 128"#)))
        XCTAssertNoThrow(try load(qwen(#""use_sliding_window": true, "sliding_window": null"#)))
        // transformers 4.x slides only layers from max_window_layers on.
        XCTAssertNoThrow(try load(#""model_type": "qwen2", "num_hidden_layers": 2, "max_window_layers": 2, "use_sliding_window": true, "sliding_window": 8"#))
        // transformers 5.x names each layer's kind.
        assertRefused(qwen(#""layer_types": ["full_attention", "sliding_attention"], "sliding_window": 8"#),
                      mentions: "sliding-window attention")
        XCTAssertNoThrow(try load(qwen(#""layer_types": ["full_attention", "full_attention"], "sliding_window": 8"#)))
    }

    func testRopeScalingIsReadOrRefused() throws {
        let c = try load(#""num_hidden_layers": 2, "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 64}"#)
        XCTAssertEqual(c.ropeScaling?.type, "llama3")
        XCTAssertEqual(c.ropeScaling?.factor, 8)
        XCTAssertEqual(c.ropeScaling?.lowFreqFactor, 1)
        XCTAssertEqual(c.ropeScaling?.originalMaxPositions, 64)
        assertRefused(#""num_hidden_layers": 2, "rope_scaling": {"rope_type": "yarn", "factor": 4}"#, mentions: "'yarn'")
        assertRefused(#""num_hidden_layers": 2, "rope_scaling": {"type": "linear"}"#, mentions: "positive factor")
    }

    func testBadDocumentsAreReported() {
        assertRefused(#""num_hidden_layers": 2,"#, mentions: "not valid JSON")
    }

    /// An optional field of the wrong type is a broken checkpoint, not its default (a text
    /// rope_theta was read as 10000).
    func testOptionalFieldsOfTheWrongTypeAreRefused() throws {
        assertRefused(#""num_hidden_layers": 2, "rope_theta": "abc""#, mentions: "'rope_theta' is not a number")
        assertRefused(#""num_hidden_layers": 2, "rope_parameters": {"rope_theta": [1]}"#, mentions: "'rope_parameters.rope_theta'")
        assertRefused(#""num_hidden_layers": 2, "head_dim": 16.5"#, mentions: "'head_dim' is not an integer")
        assertRefused(#""num_hidden_layers": 2, "num_key_value_heads": "2""#, mentions: "'num_key_value_heads' is not a number")
        XCTAssertEqual(try load(#""num_hidden_layers": 2, "rope_theta": null"#).ropeTheta, 10000)
        XCTAssertEqual(try load(#""num_hidden_layers": 2, "rope_theta": 500000"#).ropeTheta, 500000)
    }
}

/// GGUF metadata that cannot describe a model is refused by the key at fault.
final class GGUFConfigTests: XCTestCase {
    func testZeroHeadsAreRefusedByName() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llama3-rope-gguf/model.gguf")
        var bytes = [UInt8](try Data(contentsOf: fixture))
        // The key, then its type (uint32 = 4) and value: set the value to 0.
        let key = Array("llama.attention.head_count".utf8) + [4, 0, 0, 0]
        let at = try XCTUnwrap((0...(bytes.count - key.count)).first { bytes[$0..<($0 + key.count)].elementsEqual(key) })
        XCTAssertNotEqual(bytes[(at + key.count)..<(at + key.count + 4)].reduce(0, { $0 | Int($1) }), 0)
        for k in 0..<4 { bytes[at + key.count + k] = 0 }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-heads0-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        // Used to be reported as "RoPE on 64 of 576 head dimensions is not supported".
        XCTAssertThrowsError(try TransformerConfig.load(gguf: GGUFFile(path: url.path))) { error in
            XCTAssertTrue("\(error)".contains("llama.attention.head_count must be positive"), "\(error)")
        }
    }
}
