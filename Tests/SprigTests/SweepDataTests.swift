import XCTest
@testable import Sprig

final class SweepDataTests: XCTestCase {
    func testNormalisationOfNumbers() {
        XCTAssertEqual(AnswerCheck.normalize("  25416 \n"), "25416")
        XCTAssertEqual(AnswerCheck.normalize("1,234,567"), "1234567")
        XCTAssertEqual(AnswerCheck.normalize("1_234"), "1234")
        XCTAssertEqual(AnswerCheck.normalize("+42"), "42")
        XCTAssertEqual(AnswerCheck.normalize("42.0"), "42")
        XCTAssertEqual(AnswerCheck.normalize("42.000"), "42")
        XCTAssertEqual(AnswerCheck.normalize("42.50"), "42.5")
        XCTAssertEqual(AnswerCheck.normalize("-3,000.0"), "-3000")
        XCTAssertEqual(AnswerCheck.normalize("-0.0"), "0")
        XCTAssertEqual(AnswerCheck.normalize("0000178377"), "178377")
        XCTAssertEqual(AnswerCheck.normalize("-007.50"), "-7.5")
        XCTAssertEqual(AnswerCheck.normalize("0.25"), "0.25")
        XCTAssertEqual(AnswerCheck.normalize("000"), "0")
        XCTAssertTrue(AnswerCheck.isCorrect("0000178377", expected: "178377"))
        XCTAssertEqual(FinalAnswerExtractor().answer(in: "<think>\n0000033747.\n\n</think>\n0000178377"), "178377")
        XCTAssertEqual(FinalAnswerExtractor().answer(in: "</think>\nThe answer is 0."), "0")
    }

    /// The answer readers' backwards search: the last match, byte-exact, any text around it.
    func testLastRangeFindsTheLastExactMatch() {
        let t = "é</think>a</think>β 答"
        let r = t.lastRange(of: "</think>")
        XCTAssertEqual(r.map { String(t[$0.upperBound...]) }, "β 答")
        XCTAssertEqual(r.map { String(t[..<$0.lowerBound]) }, "é</think>a")
        XCTAssertNil(t.lastRange(of: "</THINK>"))
        XCTAssertNil(t.lastRange(of: ""))
        XCTAssertNil("ab".lastRange(of: "abc"))
        XCTAssertEqual("aaa".lastRange(of: "aa").map { "aaa".utf8.distance(from: "aaa".startIndex, to: $0.lowerBound) }, 1)
        let sub = t.dropLast(2)   // a Substring: indices stay the base string's
        XCTAssertEqual(sub.lastRange(of: "</think>").map { String(sub[$0.upperBound...]) }, "β")
        XCTAssertEqual(FinalAnswerExtractor(reversedDigits: true).answer(in: "<think>x</think>y</think>\n7738710000"), "178377")
        XCTAssertEqual(FinalAnswerExtractor().answer(in: "answer is 3. The answer is 12."), "12")
    }

    /// The byte path of the reversed-digits reading agrees with the scalar loop on every
    /// kind of text after the last `</think>`, and hands non-ASCII whitespace to it.
    func testReversedAnswerBytesMatchScalars() {
        let tails = ["", "\n7738710000", " \t\r\n0012", "0000", "000x1", "\n 98 7", "x12", "\u{A0}45", "\u{3000}\n0710",
                     "\u{2028}3", "é12", "12é", "\n\u{A0}", "7", " ", "\n\n10203004\n</think>9"]
        for head in ["", "<think>a.\n\n</think>", "</think>1</think>", "x"] {
            for tail in tails {
                let text = head + (head.isEmpty && tail.hasPrefix("\n\n1") ? "" : "</think>") + tail
                XCTAssertEqual(FinalAnswerExtractor.reversedAnswer(in: text), FinalAnswerExtractor.reversedAnswerScalars(in: text),
                               "\(text.debugDescription)")
            }
        }
        XCTAssertNil(FinalAnswerExtractor.reversedAnswer(in: "no tag 123"))
        XCTAssertEqual(FinalAnswerExtractor.reversedAnswer(in: "</think>\u{A0}0710"), "170", "NBSP is whitespace")
        XCTAssertEqual(FinalAnswerExtractor.reversedAnswer(in: "</think>\n0000"), "0")
        var ascii = "</think> 120"
        XCTAssertNotNil(ascii.withUTF8 { FinalAnswerExtractor.reversedAnswerASCII($0) }, "ASCII text takes the byte path")
    }

    func testNonNumbersAreOnlyTrimmed() {
        // A comma that is not a thousands separator stays.
        XCTAssertEqual(AnswerCheck.normalize(" 3, 4 "), "3, 4")
        XCTAssertEqual(AnswerCheck.normalize("12,34"), "12,34")
        XCTAssertEqual(AnswerCheck.normalize("x+1"), "x+1")
        XCTAssertEqual(AnswerCheck.normalize("1.2.3"), "1.2.3")
    }

    func testCorrectness() {
        XCTAssertTrue(AnswerCheck.isCorrect("123,296", expected: "123296"))
        XCTAssertTrue(AnswerCheck.isCorrect("+123296.0", expected: " 123296"))
        XCTAssertFalse(AnswerCheck.isCorrect("123297", expected: "123296"))
        XCTAssertFalse(AnswerCheck.isCorrect("1232960", expected: "123296"))
        XCTAssertFalse(AnswerCheck.isCorrect(nil, expected: "1"))
    }

    func testParsesMultiplicationSplitLines() throws {
        let text = """
        {"id": "easy-000", "level": "easy", "question": "What is 706 * 36?", "a": 706, "b": 36, "answer": "25416", "solution": "<think>..."}

        {"question": "2+2?", "answer": 4}
        {"id": 7, "question": "q", "answer": 2.5, "level": null}
        """
        let problems = try Problem.parse(jsonl: Data(text.utf8), file: "t.jsonl")
        XCTAssertEqual(problems.count, 3)
        XCTAssertEqual(problems[0], Problem(id: "easy-000", level: "easy", question: "What is 706 * 36?", answer: "25416"))
        XCTAssertEqual(problems[1].id, "1")   // defaults to its index among problems
        XCTAssertEqual(problems[1].answer, "4")
        XCTAssertNil(problems[1].level)
        XCTAssertEqual(problems[2].id, "7")
        XCTAssertEqual(problems[2].answer, "2.5")
    }

    func testParseErrorsNameFileAndLine() {
        func message(_ text: String) -> String {
            do { _ = try Problem.parse(jsonl: Data(text.utf8), file: "split.jsonl"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("{\"question\": \"q\"}").contains("split.jsonl:1: has no \"answer\""))
        XCTAssertTrue(message("{\"answer\": \"1\"}\n").contains("split.jsonl:1: has no \"question\""))
        XCTAssertTrue(message("{\"question\":\"a\",\"answer\":\"1\"}\nnot json").contains("split.jsonl:2: "))
        XCTAssertTrue(message("{\"id\":\"x\",\"question\":\"a\",\"answer\":1}\n{\"id\":\"x\",\"question\":\"b\",\"answer\":2}")
            .contains("repeats id \"x\""))
        XCTAssertTrue(message("{\"question\": true, \"answer\": \"1\"}").contains("split.jsonl:1: "))
    }

    func testShardsPartitionEveryProblemExactlyOnce() {
        let items = Array(0..<23)
        for n in 1...7 {
            var seen: [Int] = []
            for i in 0..<n {
                guard let shard = SweepShard(parsing: "\(i)/\(n)") else { return XCTFail("\(i)/\(n) rejected") }
                let part = shard.select(items)
                XCTAssertTrue(part.allSatisfy { $0 % n == i })
                seen += part
            }
            XCTAssertEqual(seen.sorted(), items, "n = \(n)")
        }
    }

    func testShardParsing() {
        XCTAssertEqual(SweepShard(parsing: "2/8"), SweepShard(index: 2, count: 8))
        for bad in ["8/8", "-1/2", "1/0", "1", "a/b", "1/2/3", ""] { XCTAssertNil(SweepShard(parsing: bad), bad) }
    }
}
