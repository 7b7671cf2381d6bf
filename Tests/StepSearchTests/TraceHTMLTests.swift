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

    func testEveryNodeAndStepScoreAppears() throws {
        let trace = try mctsTrace()
        let html = TraceHTML.render(trace: trace)
        XCTAssertEqual(count("<circle class=\"node", in: html), trace.nodes.count)
        for n in trace.nodes {
            XCTAssertTrue(html.contains("data-id=\"\(n.id)\""), "node \(n.id)")
            for s in n.stepScores { XCTAssertTrue(html.contains(String(format: "%.4f", s)), "score \(s) of node \(n.id)") }
        }
        XCTAssertTrue(html.contains("What is 6 × 7?"))
        XCTAssertTrue(html.contains("<b>Strategy:</b> mcts"))
        XCTAssertTrue(html.contains("\(trace.tokensUsed) / \(trace.budget)"))
        XCTAssertTrue(trace.nodes.contains(where: \.pruned))
        XCTAssertEqual(count("pruned\" data-id", in: html) + count("pruned cut\" data-id", in: html)
                       + count("pruned terminal\" data-id", in: html) + count("pruned cut terminal\" data-id", in: html),
                       trace.nodes.filter(\.pruned).count)
    }

    func testChosenPathIsMarked() throws {
        let trace = try mctsTrace()
        let html = TraceHTML.render(trace: trace)
        XCTAssertGreaterThan(trace.chosen.count, 2)
        for id in trace.chosen {
            let pattern = try NSRegularExpression(pattern: "<circle class=\"node chosen[^\"]*\" data-id=\"\(id)\"")
            XCTAssertEqual(pattern.numberOfMatches(in: html, range: NSRange(html.startIndex..., in: html)), 1, "node \(id)")
        }
        XCTAssertEqual(count("<circle class=\"node chosen", in: html), trace.chosen.count)
        XCTAssertEqual(count("class=\"edge chosen\"", in: html), trace.chosen.count - 1)
    }

    func testMarkupIsEscapedAndEmbeddedJSONRoundTrips() throws {
        let evil = "<script>alert('x')</script> & \"q\""
        let nodes = [
            TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 2, value: 0.5, score: 0,
                      terminal: false, pruned: false, stop: "root"),
            TraceNode(id: 1, parent: 0, tokens: 3, text: evil + ".\n\n</think>", stepScores: [0.25], visits: 1,
                      value: 0.25, score: 0.25, terminal: true, pruned: false, stop: "endOfSequence"),
            TraceNode(id: 2, parent: 0, tokens: 2, text: "cut", stepScores: [], visits: 1, value: 0, score: 0,
                      terminal: false, pruned: false, stop: "budget"),
        ]
        let trace = SearchTrace(nodes: nodes, tokensUsed: 5, budget: 5, strategy: "mcts<x>", seed: 1, chosen: [0, 1],
                                question: evil, answer: "</script><b>")
        let html = TraceHTML.render(trace: trace)
        XCTAssertFalse(html.contains("<script>alert"))
        XCTAssertFalse(html.contains("</script><b>"))
        XCTAssertFalse(html.contains("mcts<x>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"))
        XCTAssertTrue(html.contains("&lt;/script&gt;&lt;b&gt;"))
        XCTAssertEqual(count("<script", in: html), 2, "only the page's own two script elements")
        XCTAssertTrue(html.contains("class=\"node cut\" data-id=\"2\""))
        // Self-contained: nothing is fetched.
        XCTAssertFalse(html.contains("src="))
        XCTAssertFalse(html.contains("href="))
        XCTAssertFalse(html.contains("<link"))
        // The embedded data is the trace itself.
        let start = try XCTUnwrap(html.range(of: "id=\"trace-data\">"))
        let end = try XCTUnwrap(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let json = String(html[start.upperBound..<end.lowerBound])
        XCTAssertEqual(try JSONDecoder().decode(SearchTrace.self, from: Data(json.utf8)), trace)
    }

    func testDeepTraceLaysOutWithoutRecursion() {
        var nodes = [TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 1, value: 0, score: 0,
                               terminal: false, pruned: false, stop: "root")]
        for i in 1..<20_000 {
            nodes.append(TraceNode(id: i, parent: i - 1, tokens: 1, text: "t", stepScores: [], visits: 1, value: 0.5,
                                   score: 0.5, terminal: false, pruned: false, stop: "tokenLimit"))
        }
        let trace = SearchTrace(nodes: nodes, tokensUsed: 19_999, budget: 20_000, strategy: "beam", seed: 0,
                                chosen: Array(0..<20_000), question: nil, answer: nil)
        let layout = TraceHTML.Layout(trace)
        XCTAssertEqual(layout.position.count, 20_000)
        XCTAssertEqual(layout.position[19_999]?.y ?? 0, 20 + 56 * 19_999)
    }

    func testColourScale() {
        XCTAssertEqual(TraceHTML.color(0), "hsl(0,70%,50%)")
        XCTAssertEqual(TraceHTML.color(1), "hsl(120,70%,50%)")
        XCTAssertEqual(TraceHTML.color(.nan), "hsl(0,70%,50%)")
        XCTAssertEqual(TraceHTML.color(7), "hsl(120,70%,50%)")
    }
}
