import XCTest
@testable import StepSearch

/// An MCTS-shaped synthetic trace: expansions of `children` nodes under random open nodes,
/// about 4 characters of text per token, steps ending in ".\n\n" with one score each.
enum SyntheticTrace {
    static func make(nodes count: Int, tokens: Int, children: Int = 4, seed: UInt64 = 1) -> SearchTrace {
        var rng = seed
        func next() -> UInt64 { rng = FakeRandom.mix(rng &+ 0x9E37_79B9_7F4A_7C15); return rng }
        func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        let words = ["so", "the", "product", "is", "carry", "the", "one", "then", "add", "we", "get", "check", "digit", "times"]
        var nodes = [TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 0, value: 0, score: 0,
                               terminal: false, pruned: false, stop: "root")]
        var open = [0]
        let perNode = max(1, tokens / max(1, count - 1))
        var used = 0
        while nodes.count < count, !open.isEmpty {
            let parent = open[Int(next() % UInt64(open.count))]
            for _ in 0..<children where nodes.count < count {
                let t = nodes.count == count - 1 ? tokens - used : perNode
                var text = "", scores: [Double] = []
                while text.utf8.count < 4 * t {
                    let sentence = (0..<12).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
                    text += sentence + (unit() < 0.35 ? ".\n\n" : ". ")
                    if text.hasSuffix(".\n\n") { scores.append(unit()) }
                }
                let id = nodes.count
                let terminal = unit() < 0.15
                nodes.append(TraceNode(id: id, parent: parent, tokens: t, text: text, stepScores: scores,
                                       visits: 1 + Int(next() % 9), value: unit(), score: unit(), terminal: terminal,
                                       pruned: unit() < 0.1, stop: id == count - 1 ? "budget" : terminal ? "endOfSequence" : "tokenLimit"))
                used += t
                if !terminal { open.append(id) }
            }
        }
        // The chosen path: the last node's ancestors.
        var chosen: [Int] = []
        var cursor: Int? = nodes.count - 1
        while let c = cursor { chosen.append(c); cursor = nodes[c].parent }
        return SearchTrace(nodes: nodes, tokensUsed: used, budget: tokens, strategy: "mcts", seed: seed,
                           chosen: chosen.reversed(), question: "What is 347 × 29?", answer: "10063")
    }
}

final class TraceHTMLLayoutTests: XCTestCase {
    private func node(_ id: Int, _ parent: Int?) -> TraceNode {
        TraceNode(id: id, parent: parent, tokens: 1, text: "t", stepScores: [], visits: 1, value: 0.5, score: 0.5,
                  terminal: false, pruned: false, stop: parent == nil ? "root" : "tokenLimit")
    }

    func testDeepTraceLaysOutWithoutRecursion() {
        let nodes = [node(0, nil)] + (1..<20_000).map { node($0, $0 - 1) }
        let trace = SearchTrace(nodes: nodes, tokensUsed: 19_999, budget: 20_000, strategy: "beam", seed: 0,
                                chosen: Array(0..<20_000), question: nil, answer: nil)
        let layout = TraceHTML.Layout(trace)
        XCTAssertEqual(layout.position.count, 20_000)
        XCTAssertEqual(layout.maxDepth, 19_999)
        XCTAssertEqual(layout.position[19_999]?.x ?? 0, TraceHTML.Layout.margin + TraceHTML.Layout.dx * 19_999)
        XCTAssertEqual(layout.leaves, 1)
    }

    func testParentsSitBetweenTheirChildrenAndLeavesDoNotOverlap() {
        let trace = SyntheticTrace.make(nodes: 300, tokens: 30_000)
        let layout = TraceHTML.Layout(trace)
        XCTAssertEqual(layout.position.count, trace.nodes.count)
        var kids: [Int: [Int]] = [:]
        for n in trace.nodes { if let p = n.parent { kids[p, default: []].append(n.id) } }
        for n in trace.nodes {
            let pos = try? XCTUnwrap(layout.position[n.id])
            if let p = n.parent { XCTAssertEqual(pos?.x, (layout.position[p]?.x ?? 0) + TraceHTML.Layout.dx) }
            if let ch = kids[n.id], let first = layout.position[ch[0]], let last = layout.position[ch[ch.count - 1]] {
                XCTAssertEqual(pos?.y ?? 0, (first.y + last.y) / 2, accuracy: 1e-9)
            }
        }
        let leafRows = trace.nodes.filter { kids[$0.id] == nil }.compactMap { layout.position[$0.id]?.y }.sorted()
        XCTAssertEqual(leafRows.count, layout.leaves)
        for (a, b) in zip(leafRows, leafRows.dropFirst()) { XCTAssertEqual(b - a, TraceHTML.Layout.dy, accuracy: 1e-9) }
        for p in layout.position.values {
            XCTAssertTrue((0...layout.width).contains(p.x) && (0...layout.height).contains(p.y))
        }
    }

    func testMalformedParentsStillPlaceEveryNode() {
        // 1 ↔ 2 form a cycle with no root; 3 points at a missing parent.
        let trace = SearchTrace(nodes: [node(0, nil), node(1, 2), node(2, 1), node(3, 99)], tokensUsed: 3, budget: 3,
                                strategy: "mcts", seed: 0, chosen: [], question: nil, answer: nil)
        let layout = TraceHTML.Layout(trace)
        XCTAssertEqual(Set(layout.position.keys), [0, 1, 2, 3])
        XCTAssertEqual(TraceHTML.render(trace: trace).components(separatedBy: "<rect class=\"node").count - 1, 4)
    }

    func testBoxWidthGrowsWithVisitsAndIsCapped() {
        XCTAssertEqual(TraceHTML.Layout.boxWidth(visits: 0), 14)
        XCTAssertLessThan(TraceHTML.Layout.boxWidth(visits: 1), TraceHTML.Layout.boxWidth(visits: 10))
        XCTAssertEqual(TraceHTML.Layout.boxWidth(visits: 1_000_000), TraceHTML.Layout.maxBoxWidth)
        XCTAssertEqual(TraceHTML.Layout.boxWidth(visits: -5), 14)
    }

    func testColourScale() {
        XCTAssertEqual(TraceHTML.color(0), "hsl(0,65%,60%)")
        XCTAssertEqual(TraceHTML.color(1), "hsl(120,65%,60%)")
        XCTAssertEqual(TraceHTML.color(.nan), "hsl(0,65%,60%)")
        XCTAssertEqual(TraceHTML.color(7), "hsl(120,65%,60%)")
    }

    /// 500 nodes / 160k tokens: text is stored once, so the page is the text plus a bounded
    /// overhead per node.
    func testLargeTraceStaysCompact() throws {
        let trace = SyntheticTrace.make(nodes: 500, tokens: 160_000)
        XCTAssertEqual(trace.nodes.count, 500)
        XCTAssertEqual(trace.nodes.map(\.tokens).reduce(0, +), 160_000)
        let textBytes = trace.nodes.map(\.text.utf8.count).reduce(0, +)
        let start = Date()
        let html = TraceHTML.render(trace: trace)
        let seconds = Date().timeIntervalSince(start)
        let bytes = html.utf8.count
        // Every text once in the JSON (".\n\n" costs 2 extra bytes as "\n\n" escapes), plus < 1 KB per node.
        XCTAssertLessThan(bytes, textBytes + 2 * textBytes / 40 + 1_000 * trace.nodes.count + 40_000)
        XCTAssertGreaterThan(bytes, textBytes)
        let sample = String(trace.nodes[250].text.prefix(80)).replacingOccurrences(of: "\n", with: "\\n")
        XCTAssertEqual(html.components(separatedBy: sample).count - 1, 1, "a node's text appears exactly once")
        print("500-node trace: text \(textBytes) B, page \(bytes) B, rendered in \(String(format: "%.3f", seconds)) s")
    }
}
