import Foundation

/// Accuracy vs mean tokens spent, one line per series, as a self-contained SVG (log-scale x),
/// and the sweep's index.html (the plot inline plus the summary table).
public enum SweepPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]

    public static func svg(_ lines: [SweepSummaryLine], title: String = "Accuracy vs tokens spent") -> String {
        var order: [String] = []
        var points: [String: [SweepSummaryLine]] = [:]
        for l in lines {
            if points[l.series] == nil { order.append(l.series) }
            points[l.series, default: []].append(l)
        }
        // Layout: plot area [left, left + plotW) × [top, top + plotH); legend on the right.
        let left = 70.0, top = 40.0, plotW = 520.0, plotH = 340.0
        let legendX = left + plotW + 24, rowH = 18.0
        let width = legendX + 230
        let height = max(top + plotH + 60, top + Double(order.count) * rowH + 20)
        let xs = lines.map { max(1, $0.meanTokensSpent) }
        var lo = floor(log10(xs.min() ?? 1)), hi = ceil(log10(xs.max() ?? 10))
        if hi <= lo { hi = lo + 1 }
        if lo < 0 { lo = 0 }
        func px(_ tokens: Double) -> Double { left + (log10(max(1, tokens)) - lo) / (hi - lo) * plotW }
        func py(_ accuracy: Double) -> Double { top + (1 - accuracy) * plotH }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        s += "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        // Grid and ticks: y every 10%, x at 1, 2, 5 × each power of ten.
        for i in 0...10 {
            let y = py(Double(i) / 10)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(i * 10)%</text>\n"
        }
        var decade = lo
        while decade <= hi {
            for m in [1.0, 2.0, 5.0] {
                let v = m * pow(10, decade)
                let lv = log10(v)
                guard lv >= lo - 1e-9, lv <= hi + 1e-9 else { continue }
                let x = px(v)
                s += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\" stroke=\"\(m == 1 ? "#ddd" : "#f4f4f4")\"/>\n"
                s += "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(tick(v))</text>\n"
            }
            decade += 1
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 38))\" text-anchor=\"middle\">mean tokens spent per problem (log scale)</text>\n"
        s += "<text transform=\"translate(18 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">accuracy</text>\n"

        for (i, name) in order.enumerated() {
            let color = palette[i % palette.count]
            let pts = (points[name] ?? []).sorted { $0.meanTokensSpent < $1.meanTokensSpent }
            s += "<g class=\"series\" data-series=\"\(escape(name))\">\n"
            if pts.count > 1 {
                let path = pts.map { "\(f(px($0.meanTokensSpent))),\(f(py($0.accuracy)))" }.joined(separator: " ")
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            for p in pts {
                s += "<circle cx=\"\(f(px(p.meanTokensSpent)))\" cy=\"\(f(py(p.accuracy)))\" r=\"3.5\" fill=\"\(color)\">"
                s += "<title>\(escape(name)) budget \(p.budget): \(String(format: "%.1f", p.accuracy * 100))% at \(Int(p.meanTokensSpent.rounded())) tokens (\(p.rows) rows)</title></circle>\n"
            }
            let ly = top + Double(i) * rowH
            s += "<line x1=\"\(f(legendX))\" y1=\"\(f(ly + 6))\" x2=\"\(f(legendX + 22))\" y2=\"\(f(ly + 6))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<circle cx=\"\(f(legendX + 11))\" cy=\"\(f(ly + 6))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(f(legendX + 28))\" y=\"\(f(ly + 10))\">\(escape(name))</text>\n"
            s += "</g>\n"
        }
        if order.isEmpty {
            s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" fill=\"#999\">no rows yet</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    public static func html(_ lines: [SweepSummaryLine], problems: Int, rows: Int) -> String {
        var h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sprig sweep</title>\n<style>"
        h += "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}"
        h += "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
        h += "td.l{text-align:left}</style></head><body>\n"
        h += "<h1>Sprig sweep</h1>\n<p>\(rows) rows over \(problems) problems. Files: "
        h += ["rows.jsonl", "summary.csv", "summary.md", "accuracy-vs-tokens.svg"]
            .map { "<a href=\"\($0)\">\($0)</a>" }.joined(separator: ", ") + ".</p>\n"
        h += svg(lines)
        h += "<h2>Summary</h2>\n<table>\n<tr><th>configuration</th><th>selection</th><th>strategy</th><th>budget</th><th>N</th>"
        h += "<th>rows</th><th>accuracy</th><th>mean tokens spent</th><th>mean tokens used</th><th>oracle (pass@N)</th><th>mean s</th></tr>\n"
        for l in lines {
            h += "<tr><td class=\"l\">\(escape(l.configuration))</td><td class=\"l\">\(escape(l.selection ?? ""))</td>"
            h += "<td class=\"l\">\(escape(l.strategy))</td><td>\(l.budget)</td><td>\(l.n.map(String.init) ?? "")</td><td>\(l.rows)</td>"
            h += "<td>\(String(format: "%.1f", l.accuracy * 100))%</td><td>\(String(format: "%.0f", l.meanTokensSpent))</td>"
            h += "<td>\(String(format: "%.0f", l.meanTokensUsed))</td><td>\(String(format: "%.1f", l.oracle * 100))%</td>"
            h += "<td>\(String(format: "%.2f", l.meanSeconds))</td></tr>\n"
        }
        h += "</table>\n</body></html>\n"
        return h
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    /// 1, 20, 500, 2k, 50k, 1M.
    static func tick(_ v: Double) -> String {
        if v >= 1e6 { return "\(Int((v / 1e6).rounded()))M" }
        if v >= 1e3 { return "\(Int((v / 1e3).rounded()))k" }
        return "\(Int(v.rounded()))"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
