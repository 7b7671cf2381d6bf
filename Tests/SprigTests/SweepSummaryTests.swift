import XCTest
import StepSearch
@testable import Sprig

final class SweepSummaryTests: XCTestCase {
    static func row(_ problem: String, _ configuration: String, _ selection: String?, budget: Int, seed: UInt64 = 0,
                    tokens: Int, answerTokens: Int = 0, correct: Bool, oracle: Bool, seconds: Double = 1) -> SweepRow {
        SweepRow(problem: problem, level: nil, configuration: configuration,
                 strategy: selection == nil ? "mcts" : "best-of-n", selection: selection, budget: budget,
                 n: selection == nil ? nil : budget / 100, seed: seed, tokensUsed: tokens, answerTokens: answerTokens,
                 answer: correct ? "1" : "2", expected: "1", correct: correct, score: 0.5, nodes: 3, seconds: seconds,
                 oracleCorrect: oracle)
    }

    static let rows: [SweepRow] = [
        row("a", "mcts", nil, budget: 1000, tokens: 900, answerTokens: 100, correct: true, oracle: true, seconds: 2),
        row("b", "mcts", nil, budget: 1000, tokens: 1000, correct: false, oracle: true, seconds: 4),
        row("a", "mcts", nil, budget: 500, tokens: 500, correct: false, oracle: false),
        row("b", "mcts", nil, budget: 500, tokens: 400, correct: false, oracle: true),
        row("a", "bon", "sprm", budget: 200, tokens: 150, correct: true, oracle: true),
        row("b", "bon", "sprm", budget: 200, tokens: 170, correct: true, oracle: true),
        row("a", "bon", "majority", budget: 200, tokens: 150, correct: false, oracle: true),
        row("b", "bon", "majority", budget: 200, tokens: 170, correct: true, oracle: true),
        row("a", "bon", "sprm", budget: 200, seed: 1, tokens: 160, correct: false, oracle: false),
    ]

    func testAggregation() throws {
        let lines = SweepSummary.aggregate(Self.rows)
        XCTAssertEqual(lines.map(\.series), ["mcts", "mcts", "bon/sprm", "bon/majority"])
        XCTAssertEqual(lines.map(\.budget), [500, 1000, 200, 200])
        let m1000 = lines[1]
        XCTAssertEqual(m1000.rows, 2)
        XCTAssertEqual(m1000.accuracy, 0.5)
        XCTAssertEqual(m1000.meanTokensUsed, 950)
        XCTAssertEqual(m1000.meanAnswerTokens, 50)
        XCTAssertEqual(m1000.meanTokensSpent, 1000)
        XCTAssertEqual(m1000.oracle, 1)
        XCTAssertEqual(m1000.meanSeconds, 3)
        let m500 = lines[0]
        XCTAssertEqual(m500.accuracy, 0)
        XCTAssertEqual(m500.oracle, 0.5)
        XCTAssertEqual(m500.meanTokensSpent, 450)
        let sprm = lines[2]
        XCTAssertEqual(sprm.rows, 3)   // two seeds pooled
        XCTAssertEqual(sprm.accuracy, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(sprm.meanTokensUsed, 160)
        XCTAssertEqual(sprm.oracle, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(sprm.n, 2)
        XCTAssertEqual(lines[3].accuracy, 0.5)
    }

    func testCSVAndMarkdown() {
        let lines = SweepSummary.aggregate(Self.rows)
        let csv = SweepSummary.csv(lines).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.first, SweepSummary.csvHeader)
        XCTAssertEqual(csv.count, 5)
        XCTAssertEqual(csv[2], "mcts,,mcts,1000,,2,0.5000,950.0,50.0,1000.0,1.0000,3.000")
        XCTAssertEqual(csv[3], "bon,sprm,best-of-n,200,2,3,0.6667,160.0,0.0,160.0,0.6667,1.000")
        XCTAssertEqual(SweepSummary.field("a,b"), "\"a,b\"")
        let md = SweepSummary.markdown(lines)
        XCTAssertTrue(md.contains("| bon | majority | best-of-n | 200 | 2 | 2 | 50.0% | 160 | 160 | 100.0% | 1.00 |"), md)
    }

    func testSVGHasEverySeriesAndIsWellFormed() {
        let lines = SweepSummary.aggregate(Self.rows)
        let svg = SweepPlot.svg(lines)
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        for name in ["mcts", "bon/sprm", "bon/majority"] {
            XCTAssertTrue(svg.contains("data-series=\"\(name)\""), name)
            XCTAssertTrue(svg.contains(">\(name)</text>"), "legend entry \(name)")
        }
        XCTAssertEqual(svg.components(separatedBy: "<g class=\"series\"").count - 1, 3)
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 1)   // only mcts has two points
        XCTAssertTrue(svg.contains("accuracy"))
        XCTAssertTrue(svg.contains("mean tokens spent"))
        // Balanced tags: every opened <g>, <text>, <title>, <circle ...> is closed.
        for tag in ["g", "text", "title", "svg"] {
            XCTAssertEqual(svg.components(separatedBy: "<\(tag) ").count + svg.components(separatedBy: "<\(tag)>").count - 2,
                           svg.components(separatedBy: "</\(tag)>").count - 1, tag)
        }
        XCTAssertTrue(SweepPlot.svg([]).contains("no rows yet"))
    }

    func testSVGEscapesNames() {
        var r = Self.rows[0]
        r.configuration = "a<b&\"c\""
        let svg = SweepPlot.svg(SweepSummary.aggregate([r]))
        XCTAssertTrue(svg.contains("a&lt;b&amp;&quot;c&quot;"))
        XCTAssertFalse(svg.contains("a<b"))
    }

    func testWriteCreatesAllFiles() throws {
        let dir = NSTemporaryDirectory() + "sweep-summary-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SweepSummary.write(rows: Self.rows, to: dir)
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("<a href=\"summary.csv\">"))
        XCTAssertEqual(html.components(separatedBy: "<tr><td").count - 1, 4)
        XCTAssertTrue(html.contains("9 rows over 2 problems"))
        for f in ["summary.csv", "summary.md", "accuracy-vs-tokens.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + f), f)
        }
    }
}
