import Foundation
import XCTest
@testable import Tokenizer

/// Split scanners and split behaviours against Hugging Face `tokenizers`
/// (Oniguruma) piece offsets on the whole corpus.
final class PreTokenizerTests: XCTestCase {
    struct PatternPieces: Decodable {
        let regex: String
        let pieces: [[[Int]]]
    }
    struct Behavior: Decodable {
        let behavior: String
        let invert: Bool
        let pieces: [String: [[Int]]]
    }
    struct Digits: Decodable {
        let individual: Bool
        let pieces: [String: [[Int]]]
    }
    struct Fixture: Decodable {
        let texts: [String]
        let patterns: [String: PatternPieces]
        let behaviors: [Behavior]
        let digits: [Digits]
    }

    private func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "pretokenize_reference", withExtension: "json",
                                                  subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func offsets(_ steps: [PreTokenizerStep], _ text: String) -> [[Int]] {
        PreTokenizer(normalization: [], steps: steps).split(text[...]).ranges.map { [$0.lowerBound, $0.upperBound] }
    }

    func testScannersMatchOniguruma() throws {
        let fix = try fixture()
        XCTAssertEqual(Set(fix.patterns.keys), ["gpt2", "qwen2", "llama3"])
        for (name, p) in fix.patterns.sorted(by: { $0.key < $1.key }) {
            let pattern = try XCTUnwrap(SplitPattern.recognise(p.regex), "\(name) not recognised")
            var failures = 0
            for (text, expected) in zip(fix.texts, p.pieces) {
                let got = offsets([.split(pattern, .isolated, invert: false)], text)
                if got != expected {
                    failures += 1
                    if failures <= 5 { XCTFail("\(name): \(text.debugDescription.prefix(60)) → \(got) expected \(expected)") }
                }
            }
            XCTAssertEqual(failures, 0, "\(name): \(failures) strings split differently")
        }
    }

    func testSplitBehaviorsMatchHF() throws {
        let fix = try fixture()
        let names = ["removed": SplitBehavior.removed, "isolated": .isolated, "merged_with_previous": .mergedWithPrevious,
                     "merged_with_next": .mergedWithNext, "contiguous": .contiguous]
        XCTAssertEqual(fix.behaviors.count, 10)
        for b in fix.behaviors {
            let behavior = try XCTUnwrap(names[b.behavior])
            for (key, expected) in b.pieces {
                let text = fix.texts[try XCTUnwrap(Int(key))]
                let (scalars, _) = PreTokenizer(normalization: [], steps: []).split(text[...])
                let classes = scalars.map { CharClass.of($0) }
                let got = PreTokenizer.split([0..<scalars.count], scalars, classes, behavior: behavior, invert: b.invert) {
                    _, c, i, _ in c[i] == .number ? 1 : 0
                }.map { [$0.lowerBound, $0.upperBound] }
                XCTAssertEqual(got, expected, "\(b.behavior) invert \(b.invert): \(text.debugDescription.prefix(60))")
            }
        }
        for d in fix.digits {
            for (key, expected) in d.pieces {
                let text = fix.texts[try XCTUnwrap(Int(key))]
                XCTAssertEqual(offsets([.digits(individual: d.individual)], text), expected,
                               "Digits(\(d.individual)): \(text.debugDescription.prefix(60))")
            }
        }
    }

    func testCharClassesUseGeneralCategory() {
        // isAlphabetic would call these letters; \p{L} does not.
        XCTAssertEqual(CharClass.of("\u{0301}"), .other)  // combining acute (Mn)
        XCTAssertEqual(CharClass.of("\u{2160}"), .number)  // Roman numeral one (Nl)
        XCTAssertEqual(CharClass.of("\u{00B2}"), .number)  // superscript two (No)
        XCTAssertEqual(CharClass.of("\u{3000}"), .space)
        XCTAssertEqual(CharClass.of("\u{200B}"), .other)  // zero-width space is not White_Space
        XCTAssertEqual(CharClass.of("\u{02B0}"), .letter)  // modifier letter (Lm)
        XCTAssertEqual(CharClass.of("_"), .other)
    }

    func testUnknownPatternIsNotRecognised() {
        XCTAssertNil(SplitPattern.recognise(#"\p{L}+|\p{N}+"#))
        XCTAssertNil(SplitPattern.recognise(SplitPattern.gpt2Text + "|x"))
    }
}
