import XCTest
@testable import StepSearch

final class TraceHTMLTests: XCTestCase {
    private func mctsTrace() throws -> SearchTrace {
        let fake = FakePolicy(Worlds.trap(), maxLiveBranches: 12)
        var ctx = SearchContext(budget: TokenBudget(limit: 200), seed: 4, completionTokens: 8)
        ctx.question = "What is 6 × 7?"
        return try MCTS(config: MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1)).run(policy: fake, context: ctx).trace
    }

    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    private func matches(_ pattern: String, in text: String) throws -> [[String]] {
        let re = try NSRegularExpression(pattern: pattern)
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
            (0..<m.numberOfRanges).map { Range(m.range(at: $0), in: text).map { String(text[$0]) } ?? "" }
        }
    }

    /// The classes of each node's box, by id.
    private func nodeClasses(_ html: String) throws -> [Int: Set<String>] {
        var out: [Int: Set<String>] = [:]
        for m in try matches("<rect class=\"([^\"]*)\" data-id=\"(-?\\d+)\"", in: html) {
            out[Int(m[2]) ?? -999] = Set(m[1].split(separator: " ").map(String.init))
        }
        return out
    }

    /// The text of the embedded JSON block (between its tags).
    private func embedded(_ html: String) throws -> String {
        let start = try XCTUnwrap(html.range(of: "id=\"trace-data\">"))
        let end = try XCTUnwrap(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound])
    }

    func testEveryNodeAndStepScoreAppears() throws {
        let trace = try mctsTrace()
        let html = TraceHTML.render(trace: trace)
        let classes = try nodeClasses(html)
        XCTAssertEqual(count("<rect class=\"node", in: html), trace.nodes.count)
        XCTAssertEqual(Set(classes.keys), Set(trace.nodes.map(\.id)))
        // One edge per non-root node.
        XCTAssertEqual(count("<path class=\"edge", in: html), trace.nodes.filter { $0.parent != nil }.count)
        for n in trace.nodes {
            let title = try XCTUnwrap(try matches("data-id=\"\(n.id)\"[^>]*><title>([^<]*)</title>", in: html).first?[1])
            for s in n.stepScores { XCTAssertTrue(title.contains(String(format: "%.4f", s)), "score \(s) of node \(n.id)") }
            XCTAssertTrue(title.contains("visits \(n.visits)"))
            XCTAssertTrue(title.contains("\(n.tokens) tokens"))
            XCTAssertEqual(classes[n.id]?.contains("pruned"), n.pruned, "node \(n.id)")
            XCTAssertEqual(classes[n.id]?.contains("terminal"), n.terminal, "node \(n.id)")
            XCTAssertEqual(classes[n.id]?.contains("cut"), n.stop == "budget", "node \(n.id)")
        }
        XCTAssertTrue(trace.nodes.contains(where: \.pruned), "the trap world prunes")
        XCTAssertTrue(html.contains("What is 6 × 7?"))
        XCTAssertTrue(html.contains("<b>Strategy:</b> mcts"))
        XCTAssertTrue(html.contains("<b>Tokens used:</b> \(trace.tokensUsed) / \(trace.budget)"))
        XCTAssertTrue(html.contains("<b>Seed:</b> 4"))
        XCTAssertTrue(html.contains("<b>Answer:</b> \(TraceHTML.escape(trace.answer ?? "(none)"))"))
        // The embedded data holds every node and every step score exactly.
        let decoded = try JSONDecoder().decode(SearchTrace.self, from: Data(try embedded(html).utf8))
        XCTAssertEqual(decoded, trace)
    }

    func testChosenPathIsMarked() throws {
        let trace = try mctsTrace()
        let html = TraceHTML.render(trace: trace)
        XCTAssertGreaterThan(trace.chosen.count, 2)
        let classes = try nodeClasses(html)
        for n in trace.nodes {
            XCTAssertEqual(classes[n.id]?.contains("chosen"), trace.chosen.contains(n.id), "node \(n.id)")
        }
        XCTAssertEqual(count("class=\"edge chosen\"", in: html), trace.chosen.count - 1)
        // Each chosen edge runs from the parent's box to the child's box.
        let layout = TraceHTML.Layout(trace)
        let ends = try matches("class=\"edge chosen\" d=\"M[^C]*C[^\"]* (-?[\\d.]+) (-?[\\d.]+)\"", in: html)
        XCTAssertEqual(Set(ends.map { $0[1] + "," + $0[2] }),
                       Set(trace.chosen.dropFirst().compactMap { id in
                           layout.position[id].map { TraceHTML.format1($0.x) + "," + TraceHTML.format1($0.y) } }))
    }

    func testMarkupInTextCannotBreakOut() throws {
        let evil = "</script><img src=x onerror=alert(1)> <!-- <script>alert('x')</script> & \"q\" \u{2028}"
        let nodes = [
            TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 2, value: 0.5, score: 0,
                      terminal: false, pruned: false, stop: "root"),
            TraceNode(id: 1, parent: 0, tokens: 3, text: evil + ".\n\n</think>", stepScores: [0.25], visits: 1,
                      value: 0.25, score: 0.25, terminal: true, pruned: false, stop: "endOfSequence"),
            TraceNode(id: 2, parent: 0, tokens: 2, text: "cut", stepScores: [], visits: 1, value: 0, score: 0,
                      terminal: false, pruned: false, stop: "budget"),
        ]
        let trace = SearchTrace(nodes: nodes, tokensUsed: 5, budget: 5, strategy: "mcts<x>", seed: 1, chosen: [0, 1],
                                question: evil, answer: "</script><b>", completionTokens: 1,
                                completionText: "<img src=y onerror=alert(2)>")
        let html = TraceHTML.render(trace: trace)
        for bad in ["<img", "<script>alert", "</script><b>", "mcts<x>", "<!--", "onerror=alert(1)>"] {
            XCTAssertFalse(html.contains(bad), bad)
        }
        XCTAssertTrue(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertTrue(html.contains("&amp; &quot;q&quot;"))
        XCTAssertEqual(count("<script", in: html), 3, "only the page's own three script elements")
        XCTAssertEqual(count("</script>", in: html), 3)
        XCTAssertEqual(try nodeClasses(html)[2], ["node", "cut"])
        // The JSON block holds no markup character at all, and still decodes to the trace.
        let json = try embedded(html)
        XCTAssertFalse(json.contains("<") || json.contains(">") || json.contains("&") || json.contains("\u{2028}"))
        XCTAssertTrue(json.contains("\\u003c/script\\u003e\\u003cimg"))
        XCTAssertEqual(try JSONDecoder().decode(SearchTrace.self, from: Data(json.utf8)), trace)
        // Self-contained: nothing is fetched.
        XCTAssertTrue(try matches("<[a-zA-Z][^>]*\\s(src|href)=", in: html).isEmpty)
        XCTAssertFalse(html.contains("<link"))
        XCTAssertFalse(html.contains("url("))
        XCTAssertFalse(html.contains("@import"))
        XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"))
    }

    func testNonFiniteScoresStillGiveValidJSON() throws {
        let nodes = [
            TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 1, value: .nan, score: .infinity,
                      terminal: false, pruned: false, stop: "root"),
            TraceNode(id: 1, parent: 0, tokens: 1, text: "a.\n\n", stepScores: [-.infinity], visits: 1, value: 0.5,
                      score: .nan, terminal: true, pruned: false, stop: "endOfSequence"),
        ]
        let trace = SearchTrace(nodes: nodes, tokensUsed: 1, budget: 2, strategy: "greedy", seed: 0, chosen: [0, 1],
                                question: nil, answer: nil)
        let html = TraceHTML.render(trace: trace)
        let decoded = try JSONDecoder().decode(SearchTrace.self, from: Data(try embedded(html).utf8))
        XCTAssertEqual(decoded.nodes.count, 2)
        XCTAssertEqual(decoded.nodes[1].stepScores, [0])
        XCTAssertEqual(decoded.nodes[1].value, 0.5)
        XCTAssertTrue(html.contains("<b>Question:</b> (none)"))
    }
}
