import XCTest
@testable import Sprig

/// Questions in a user's words mapped onto the operand sizes a policy was trained on, and
/// the policy's product mapped back to the question's answer.
final class MultiplicationQuestionTests: XCTestCase {
    /// Models/sprig-mult's trained cells (digits of a × digits of b).
    let cells = [[1, 5, 1, 1], [3, 4, 2, 2], [3, 4, 3, 3], [4, 5, 3, 4]]

    func problem(_ q: String) throws -> MultiplicationQuestion {
        try XCTUnwrap(MultiplicationQuestion(question: q, cells: cells), q)
    }

    func testShownProblemLandsInATrainedCell() throws {
        for (q, a, b, scale) in [("What is 4821 * 37?", 4821, 37, 0),   // already trained: as asked
                                 ("What is 12*345?", 345, 12, 0),        // swapped, no zeros
                                 ("What is 7 * 345?", 345, 7, 0),
                                 ("What is 45 * 67?", 450, 67, 1),       // a zero on the first number
                                 ("What is 8 * 9?", 8, 9, 0),
                                 ("What is 12345 * 67?", 12345, 670, 1),  // 5 × 2 digits: a zero on the second
                                 ("What is 98765 * 4321?", 98765, 4321, 0)] {
            let m = try problem(q)
            XCTAssertEqual([m.a, m.b, m.scale], [a, b, scale], q)
            XCTAssertFalse(m.negative, q)
        }
        // Beyond every cell (6 digits): shown as asked, for the policy to try.
        let big = try problem("What is 123456 * 78?")
        XCTAssertEqual([big.a, big.b, big.scale], [123456, 78, 0])
        // Without cells (another model): as asked.
        let plain = try XCTUnwrap(MultiplicationQuestion(question: "What is 12*345?", cells: nil))
        XCTAssertEqual([plain.a, plain.b, plain.scale], [12, 345, 0])
    }

    /// For every pair of small operands the shown problem is a trained cell and the mapping
    /// back of the exact product of the shown operands is the exact answer.
    func testRoundTripIsExact() throws {
        func digits(_ v: Int) -> Int { String(v).count }
        for x in [0, 3, 7, 12, 45, 99, 100, 345, 1234, 54321] {
            for y in [0, 1, 9, 10, 67, 305, 4321] {
                let m = try problem("What is \(x) * \(y)?")
                XCTAssertTrue(cells.contains { ($0[0]...$0[1]).contains(digits(m.a)) && ($0[2]...$0[3]).contains(digits(m.b)) },
                              "\(x) * \(y) shown as \(m.a) * \(m.b)")
                XCTAssertEqual(m.answer(fromProduct: String(m.a * m.b)), String(x * y), "\(x) * \(y)")
            }
        }
    }

    func testSignsAndDecimals() throws {
        for (q, product, answer) in [("What is -12 * 34?", "4080", "-408"),
                                     ("Multiply 6 by -7", "42", "-42"),
                                     ("What is -3 * -4?", "12", "12"),
                                     ("What is -5 * 0?", "0", "0"),
                                     ("What is 3.5 * 2?", "70", "7"),
                                     ("What is 0.25 * 0.4?", "100", "0.1"),
                                     ("What is 1.5 * -0.5?", "75", "-0.75")] {
            let m = try problem(q)
            XCTAssertEqual(m.answer(fromProduct: String(m.a * m.b)), answer, q)
            XCTAssertEqual(String(m.a * m.b), product, "the product the policy is asked for: \(q)")
        }
        // "3-4" is a range, not a negative number; a sentence's final period is not a decimal point.
        XCTAssertEqual(MultiplicationQuestion.operands(in: "What is 4821 * 37.")?.1,
                       MultiplicationQuestion.Operand(magnitude: 37, decimals: 0, negative: false))
        XCTAssertEqual(MultiplicationQuestion.operands(in: "x3-4")?.1.negative, false)
    }

    func testAnswerFromProductFormatsLikeANumber() {
        var m = MultiplicationQuestion(question: "What is 2.5 * 2?", cells: nil)!
        XCTAssertEqual(m.answer(fromProduct: "0050"), "5", "leading zeros dropped, the fraction's zeros too")
        m.scale = 3
        XCTAssertEqual(m.answer(fromProduct: "5"), "0.005")
        XCTAssertEqual(m.answer(fromProduct: "0"), "0")
        m.negative = true
        XCTAssertEqual(m.answer(fromProduct: "12345"), "-12.345")
        XCTAssertEqual(m.answer(fromProduct: "about 12"), "about 12", "not an integer: left as the model wrote it")
    }

    func testRejectsWhatIsNotATwoNumberProduct() {
        for bad in ["What is 4 + 5?", "hello", "1 * 2 * 3", "What is 1234567890 * 2?"] {
            XCTAssertNil(MultiplicationQuestion(question: bad, cells: cells), bad)
        }
    }

    /// The error names what is wrong with the question; an accepted one has no problem.
    func testProblemSaysWhyAQuestionIsRefused() {
        XCTAssertEqual(MultiplicationQuestion.problem(in: "1 * 2 * 3"), "it has 3 numbers, and the model multiplies exactly two")
        XCTAssertEqual(MultiplicationQuestion.problem(in: "What is 7 squared?"), "it has 1 number, and the model multiplies exactly two")
        XCTAssertEqual(MultiplicationQuestion.problem(in: "hello"), "it has no numbers")
        XCTAssertEqual(MultiplicationQuestion.problem(in: "What is 4 + 5?"), "it names no multiplication (*, ×, x, times, multiply, product)")
        XCTAssertEqual(MultiplicationQuestion.problem(in: "What is 1234567890 * 2?"), "1234567890 has more than 9 significant digits")
        XCTAssertNil(MultiplicationQuestion.problem(in: "What is 4821 * 37?"))
        XCTAssertNil(MultiplicationQuestion.problem(in: "multiply -1.5 by 4"))
    }
}
