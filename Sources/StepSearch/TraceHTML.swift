import Foundation

/// A self-contained HTML viewer of a `SearchTrace`: one file, no network (inline CSS, JS, SVG).
///
/// The tree is laid out once here (`Layout`: depth along x, leaves in rows) and written as
/// static SVG, so it shows even with scripts off: one box per node, filled by value (red 0 →
/// green 1), wider with more visits; edges parent → child; the chosen path in blue; pruned
/// nodes dashed and faded; budget-cut nodes ringed red; finished (terminal) nodes rounded.
/// The trace itself is embedded once as JSON (every text stored once, `<` `>` `&` escaped so
/// it cannot end the script element); a node's text is rendered only when it is opened, with
/// each step shaded by its SPRM score (low scores stand out, as in MetaStone-S1's Fig. 7).
/// Pan by dragging or scrolling, zoom with ctrl+wheel or the buttons; `#node=ID` in the URL
/// opens a node on load, `#chosen` the chosen trajectory.
public enum TraceHTML {
    public static func render(trace: SearchTrace) -> String {
        let layout = Layout(trace)
        return page(title: "Sprig trace · \(trace.strategy) · \(trace.tokensUsed)/\(trace.budget) tokens",
                    header: header(trace, layout), svg: svg(trace, layout),
                    width: layout.width, height: layout.height, json: embeddedJSON(trace))
    }

    /// The summary bar: question, answer, strategy, tokens used / budget, seed, tree shape.
    static func header(_ trace: SearchTrace, _ layout: Layout) -> String {
        let used = trace.budget > 0 ? min(100, 100 * Double(trace.tokensUsed) / Double(trace.budget)) : 0
        let facts: [(String, String)] = [
            ("Strategy", trace.strategy),
            ("Tokens used", "\(trace.tokensUsed) / \(trace.budget)"),
            ("Seed", "\(trace.seed)"),
            ("Nodes", "\(trace.nodes.count) (\(layout.leaves) leaves, depth \(layout.maxDepth))"),
            ("Pruned", "\(trace.nodes.filter(\.pruned).count)"),
            ("Budget-cut", "\(trace.nodes.filter { $0.stop == StopReason.budget.rawValue }.count)"),
            ("Completion", "\(trace.completionTokens) tokens beyond the budget"),
        ]
        var out = "<div class=\"facts\">"
        for (key, value) in facts {
            out += "<span><b>\(escape(key)):</b> \(escape(value))</span>"
        }
        out += "<span class=\"meter\" title=\"budget used\"><i style=\"width:\(format(used))%\"></i></span></div>\n"
        out += "<div class=\"qa\"><div class=\"q\"><b>Question:</b> \(escape(trace.question ?? "(none)"))</div>\n"
        out += "<div class=\"a\"><b>Answer:</b> \(escape(trace.answer ?? "(none)"))</div></div>"
        return out
    }

    /// Edges (drawn first, under the nodes), then one `<rect class="node …" data-id=…>` and a
    /// label per node. Class names: chosen, pruned, cut (stop == budget), terminal, root.
    static func svg(_ trace: SearchTrace, _ layout: Layout) -> String {
        let chosen = Set(trace.chosen)
        let chosenEdges = Set(zip(trace.chosen, trace.chosen.dropFirst()).map { Edge(parent: $0.0, child: $0.1) })
        var width: [Int: Double] = [:]
        for n in trace.nodes { width[n.id] = Layout.boxWidth(visits: n.visits) }
        var edges = "", chosenPath = "", nodes = ""
        for n in trace.nodes {
            guard let p = n.parent, let a = layout.position[p], let b = layout.position[n.id] else { continue }
            let x1 = a.x + (width[p] ?? 0), mid = (x1 + b.x) / 2
            let d = "M\(format1(x1)) \(format1(a.y))C\(format1(mid)) \(format1(a.y)) \(format1(mid)) \(format1(b.y)) \(format1(b.x)) \(format1(b.y))"
            // The chosen path goes last so no other edge covers it.
            if chosenEdges.contains(Edge(parent: p, child: n.id)) {
                chosenPath += "<path class=\"edge chosen\" d=\"\(d)\"/>\n"
            } else {
                edges += "<path class=\"edge\(n.pruned ? " pruned" : "")\" d=\"\(d)\"/>\n"
            }
        }
        for n in trace.nodes {
            guard let pos = layout.position[n.id] else { continue }
            var classes = ["node"]
            if chosen.contains(n.id) { classes.append("chosen") }
            if n.pruned { classes.append("pruned") }
            if n.stop == StopReason.budget.rawValue { classes.append("cut") }
            if n.terminal { classes.append("terminal") }
            if n.parent == nil { classes.append("root") }
            let w = width[n.id] ?? 14, h = Layout.boxHeight
            let steps = n.stepScores.map(format).joined(separator: ", ")
            let title = "node \(n.id) · \(n.tokens) tokens · visits \(n.visits) · value \(format(n.value))"
                + " · score \(format(n.score)) · \(n.stop) · steps [\(steps)]"
            nodes += "<rect class=\"\(classes.joined(separator: " "))\" data-id=\"\(n.id)\" x=\"\(format1(pos.x))\""
                + " y=\"\(format1(pos.y - h / 2))\" width=\"\(format1(w))\" height=\"\(format1(h))\""
                + " rx=\"\(n.terminal ? 6 : 1)\" fill=\"\(color(n.value))\"><title>\(escape(title))</title></rect>"
                + "<text x=\"\(format1(pos.x + 3))\" y=\"\(format1(pos.y + 3.5))\">\(n.id)</text>\n"
        }
        return "<g class=\"edges\">\n\(edges)\(chosenPath)</g>\n<g class=\"nodes\">\n\(nodes)</g>"
    }

    private struct Edge: Hashable { var parent: Int, child: Int }

    /// Escapes text for HTML element content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func format(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "0" }
    /// Coordinates: one decimal is sub-pixel at any useful zoom and keeps the file small.
    static func format1(_ x: Double) -> String { x.isFinite ? String(format: "%.1f", x) : "0" }

    /// Red (0) → amber (0.5) → green (1), light enough for a dark label on top.
    static func color(_ value: Double) -> String {
        let v = value.isFinite ? min(1, max(0, value)) : 0
        let hue = Int((v * 120).rounded())
        return "hsl(\(hue),65%,60%)"
    }

    /// The trace as JSON that cannot end (or otherwise disturb) the <script> element: `<`, `>`
    /// and `&` only occur inside JSON strings, so writing them as \u escapes keeps the value
    /// and leaves no markup at all; U+2028/9 are escaped for old JS parsers.
    static func embeddedJSON(_ trace: SearchTrace) -> String {
        // Non-finite scores cannot be encoded as JSON: the page gets them as 0, like `format`.
        var clean = trace
        for i in clean.nodes.indices {
            let n = clean.nodes[i]
            clean.nodes[i].value = n.value.isFinite ? n.value : 0
            clean.nodes[i].score = n.score.isFinite ? n.score : 0
            clean.nodes[i].stepScores = n.stepScores.map { $0.isFinite ? $0 : 0 }
        }
        let data = (try? clean.jsonData()) ?? Data("{\"nodes\":[],\"chosen\":[]}".utf8)
        var out = ""
        out.reserveCapacity(data.count + data.count / 16)
        for c in String(decoding: data, as: UTF8.self).unicodeScalars {
            switch c {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
