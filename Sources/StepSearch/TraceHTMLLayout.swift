import Foundation

extension TraceHTML {
    /// A tidy left-to-right layout, computed once: depth along x, leaves in consecutive rows
    /// (in id order) along y, every parent centred over its first..last child. MCTS trees are
    /// wide and shallow, so rows (not columns) for leaves keep a 500-node tree readable at
    /// full width with vertical panning.
    struct Layout {
        /// Pixels between depth levels, between leaf rows, and around the drawing.
        static let dx = 110.0, dy = 18.0, margin = 20.0
        static let boxHeight = 12.0

        /// Left-centre point of each node's box.
        var position: [Int: (x: Double, y: Double)] = [:]
        var width = 0.0
        var height = 0.0
        var maxDepth = 0
        var leaves = 0

        init(_ trace: SearchTrace) {
            var children: [Int: [Int]] = [:]
            var roots: [Int] = []
            let ids = Set(trace.nodes.map(\.id))
            for n in trace.nodes {
                if let p = n.parent, ids.contains(p), p != n.id { children[p, default: []].append(n.id) } else { roots.append(n.id) }
            }
            var row = 0.0
            // Iterative post-order (deep traces must not overflow the stack); `seen` guards
            // against cycles in a malformed trace; nodes on a parent cycle start their own tree.
            var seen = Set<Int>()
            for start in roots + trace.nodes.map(\.id) where !seen.contains(start) {
                var stack: [(id: Int, depth: Int, visited: Bool)] = [(start, 0, false)]
                while let top = stack.popLast() {
                    if top.visited {
                        let kids = (children[top.id] ?? []).compactMap { position[$0]?.y }
                        let y: Double
                        if let first = kids.first, let last = kids.last {
                            y = (first + last) / 2
                        } else {
                            y = Self.margin + Self.boxHeight / 2 + Self.dy * row
                            row += 1
                        }
                        position[top.id] = (Self.margin + Self.dx * Double(top.depth), y)
                        maxDepth = max(maxDepth, top.depth)
                    } else {
                        guard seen.insert(top.id).inserted else { continue }
                        stack.append((top.id, top.depth, true))
                        for c in (children[top.id] ?? []).reversed() where !seen.contains(c) {
                            stack.append((c, top.depth + 1, false))
                        }
                    }
                }
            }
            leaves = Int(row)
            width = 2 * Self.margin + Self.dx * Double(maxDepth) + Self.maxBoxWidth
            height = max(60, 2 * Self.margin + Self.boxHeight + Self.dy * max(0, row - 1))
        }

        static let maxBoxWidth = 64.0

        /// Box width grows with log(visits): 14 px for an unvisited node, at most `maxBoxWidth`.
        static func boxWidth(visits: Int) -> Double {
            min(maxBoxWidth, 14 + 9 * log2(1 + Double(max(0, visits))))
        }
    }
}
