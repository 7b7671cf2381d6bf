import XCTest
@testable import StepSearch

final class AggregationTests: XCTestCase {
    func testHandComputedValues() {
        let s = [0.9, 0.5, 0.8]
        // (0.9 * 0.5 * 0.8)^(1/3) = 0.36^(1/3)
        XCTAssertEqual(ScoreAggregation.geometricMean.aggregate(s), 0.711_378_660_898_012_5, accuracy: 1e-12)
        XCTAssertEqual(ScoreAggregation.arithmeticMean.aggregate(s), 2.2 / 3, accuracy: 1e-12)
        XCTAssertEqual(ScoreAggregation.minimum.aggregate(s), 0.5)
        XCTAssertEqual(ScoreAggregation.last.aggregate(s), 0.8)
        XCTAssertEqual(ScoreAggregation.product.aggregate(s), 0.36, accuracy: 1e-12)
    }

    func testNoStepsScoresZero() {
        for a in ScoreAggregation.allCases { XCTAssertEqual(a.aggregate([]), 0, "\(a)") }
    }

    func testStepsAreClampedAtFloor() {
        // sqrt(1e-10 * 0.4) = sqrt(4e-11)
        XCTAssertEqual(ScoreAggregation.geometricMean.aggregate([0, 0.4]), 6.324_555_320_336_759e-6, accuracy: 1e-18)
        XCTAssertEqual(ScoreAggregation.product.aggregate([0, 0.4]), 4e-11, accuracy: 1e-20)
        XCTAssertEqual(ScoreAggregation.minimum.aggregate([0.3, -1]), 1e-10)
        XCTAssertEqual(ScoreAggregation.geometricMean.aggregate([.nan]), 1e-10, accuracy: 1e-20)
    }

    func testRunningStatsMatchWholePath() {
        let first = [0.7, 0.2]
        let second = [0.99, 0.6, 0.05]
        let stats = PathStats().appending(first).appending(second)
        for a in ScoreAggregation.allCases {
            XCTAssertEqual(stats.score(a), a.aggregate(first + second), accuracy: 1e-15, "\(a)")
        }
    }

    func testTokenBudgetIsHard() {
        let b = TokenBudget(limit: 5)
        XCTAssertTrue(b.tryConsume(3))
        XCTAssertFalse(b.tryConsume(3), "would pass the limit")
        XCTAssertEqual(b.used, 3, "a refused charge consumes nothing")
        XCTAssertTrue(b.tryConsume(2))
        XCTAssertFalse(b.tryConsume())
        XCTAssertEqual(b.remaining, 0)
        XCTAssertEqual(TokenBudget(limit: -4).limit, 0)
        XCTAssertFalse(TokenBudget(limit: 0).tryConsume())
        // A batch takes what remains, never more.
        let c = TokenBudget(limit: 7)
        XCTAssertEqual(c.consume(upTo: 4), 4)
        XCTAssertEqual(c.consume(upTo: 0), 0)
        XCTAssertEqual(c.consume(upTo: 5), 3)
        XCTAssertEqual(c.consume(upTo: 2), 0)
        XCTAssertEqual(c.used, 7)
    }

    func testBoxedExtractor() {
        let e = BoxedAnswerExtractor()
        XCTAssertEqual(e.answer(in: "so \\boxed{1} no, \\boxed{\\frac{1}{2}} done"), "\\frac{1}{2}")
        XCTAssertNil(e.answer(in: "no answer"))
        XCTAssertNil(e.answer(in: "\\boxed{unclosed"))
        XCTAssertNil(e.answer(in: "\\boxed{  }"))
    }
}
