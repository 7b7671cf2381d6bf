import Foundation

/// A self-contained HTML viewer of a `SearchTrace` (no network: inline CSS, JS and SVG).
///
/// The tree is laid out once here (leaves in id order along x, depth along y) and drawn as
/// static SVG: nodes shaded by value (red 0 → green 1), radius growing with visits, the chosen
/// path highlighted, pruned nodes dashed, budget-cut nodes ringed. A node's text is rendered
/// only when it is clicked (from the embedded trace JSON, via textContent), split at ".\n\n"
/// into steps coloured by their SPRM scores. Every text is escaped.
public enum TraceHTML {
    public static func render(trace: SearchTrace) -> String {
        let layout = Layout(trace)
        let chosen = Set(trace.chosen)
        let chosenEdges = Set(zip(trace.chosen, trace.chosen.dropFirst()).map { "\($0.0)-\($0.1)" })
        var svg = ""
        // Edges first so nodes draw over them.
        for n in trace.nodes {
            guard let p = n.parent, let a = layout.position[p], let b = layout.position[n.id] else { continue }
            let cls = chosenEdges.contains("\(p)-\(n.id)") ? "edge chosen" : "edge"
            svg += "<line class=\"\(cls)\" x1=\"\(a.x)\" y1=\"\(a.y)\" x2=\"\(b.x)\" y2=\"\(b.y)\"/>\n"
        }
        for n in trace.nodes {
            guard let pos = layout.position[n.id] else { continue }
            var classes = ["node"]
            if chosen.contains(n.id) { classes.append("chosen") }
            if n.pruned { classes.append("pruned") }
            if n.stop == StopReason.budget.rawValue { classes.append("cut") }
            if n.terminal { classes.append("terminal") }
            let radius = 4 + min(12, 2 * Double(max(0, n.visits)).squareRoot())
            let steps = n.stepScores.map(format).joined(separator: ", ")
            let title = "node \(n.id) · \(n.tokens) tokens · visits \(n.visits) · value \(format(n.value))"
                + " · score \(format(n.score)) · \(n.stop) · steps [\(steps)]"
            svg += "<circle class=\"\(classes.joined(separator: " "))\" data-id=\"\(n.id)\" cx=\"\(pos.x)\" cy=\"\(pos.y)\""
                + " r=\"\(format(radius))\" fill=\"\(color(n.value))\"><title>\(escape(title))</title></circle>\n"
        }
        let header = [
            ("Strategy", trace.strategy), ("Tokens used", "\(trace.tokensUsed) / \(trace.budget)"),
            ("Seed", "\(trace.seed)"), ("Nodes", "\(trace.nodes.count)"),
            ("Completion", "\(trace.completionTokens) tokens beyond the budget"),
        ].map { "<span><b>\($0.0):</b> \(escape($0.1))</span>" }.joined(separator: "\n")
        return page(title: "Sprig search trace", header: header, question: trace.question ?? "",
                    answer: trace.answer ?? "(none)", svg: svg, width: layout.width, height: layout.height,
                    json: embeddedJSON(trace))
    }

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

    /// Red (0) → amber (0.5) → green (1).
    static func color(_ value: Double) -> String {
        let v = value.isFinite ? min(1, max(0, value)) : 0
        let hue = Int((v * 120).rounded())
        return "hsl(\(hue),70%,50%)"
    }

    /// The trace as JSON that cannot end the <script> element: "<" becomes \u003c.
    static func embeddedJSON(_ trace: SearchTrace) -> String {
        let data = (try? trace.jsonData()) ?? Data("{}".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return text.replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: "\u{2028}", with: "\\u2028").replacingOccurrences(of: "\u{2029}", with: "\\u2029")
    }

    /// Leaves take consecutive columns in id order; a parent sits over its first..last child.
    struct Layout {
        var position: [Int: (x: Double, y: Double)] = [:]
        var width = 0.0
        var height = 0.0

        init(_ trace: SearchTrace) {
            let dx = 16.0, dy = 56.0, margin = 20.0
            var children: [Int: [Int]] = [:]
            var roots: [Int] = []
            let ids = Set(trace.nodes.map(\.id))
            for n in trace.nodes {
                if let p = n.parent, ids.contains(p) { children[p, default: []].append(n.id) } else { roots.append(n.id) }
            }
            var column = 0.0
            var maxDepth = 0
            // Iterative post-order (deep traces must not overflow the stack).
            var stack: [(id: Int, depth: Int, visited: Bool)] = roots.reversed().map { ($0, 0, false) }
            var seen = Set<Int>()
            while let top = stack.popLast() {
                if top.visited {
                    let kids = (children[top.id] ?? []).compactMap { position[$0]?.x }
                    let x = kids.isEmpty ? margin + dx * { defer { column += 1 }; return column }()
                                         : ((kids.first ?? 0) + (kids.last ?? 0)) / 2
                    position[top.id] = (x, margin + dy * Double(top.depth))
                    maxDepth = max(maxDepth, top.depth)
                } else {
                    guard seen.insert(top.id).inserted else { continue }
                    stack.append((top.id, top.depth, true))
                    for c in (children[top.id] ?? []).reversed() { stack.append((c, top.depth + 1, false)) }
                }
            }
            width = max(200, 2 * margin + dx * max(0, column - 1))
            height = 2 * margin + dy * Double(maxDepth)
        }
    }
}
