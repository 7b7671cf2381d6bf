import Foundation

/// One line of the summary: every row of one configuration × selection × budget.
public struct SweepSummaryLine: Sendable, Equatable {
    public var configuration: String
    public var selection: String?
    public var strategy: String
    public var budget: Int
    public var n: Int?
    public var rows: Int
    /// Fraction of rows answered correctly, in [0, 1].
    public var accuracy: Double
    public var meanTokensUsed: Double
    public var meanAnswerTokens: Double
    /// Mean of tokens_used + answer_tokens (the x axis of the plot).
    public var meanTokensSpent: Double
    /// Fraction of rows where some trajectory was correct (pass@N ceiling).
    public var oracle: Double
    public var meanSeconds: Double

    /// The plot series this line belongs to: "configuration" or "configuration/selection".
    public var series: String { selection.map { "\(configuration)/\($0)" } ?? configuration }
}

/// Aggregation of rows.jsonl into summary.csv / summary.md / accuracy-vs-tokens.svg / index.html.
public enum SweepSummary {
    /// Lines in first-appearance order of configuration/selection, budgets ascending within each.
    public static func aggregate(_ rows: [SweepRow]) -> [SweepSummaryLine] {
        struct Key: Hashable { var configuration: String; var selection: String?; var budget: Int }
        var groups: [Key: [SweepRow]] = [:]
        var seriesOrder: [String] = []
        for r in rows {
            let k = Key(configuration: r.configuration, selection: r.selection, budget: r.budget)
            groups[k, default: []].append(r)
            let s = r.selection.map { "\(r.configuration)/\($0)" } ?? r.configuration
            if !seriesOrder.contains(s) { seriesOrder.append(s) }
        }
        let lines = groups.map { key, rs -> SweepSummaryLine in
            let count = Double(rs.count)
            func mean(_ f: (SweepRow) -> Double) -> Double { rs.reduce(0) { $0 + f($1) } / count }
            return SweepSummaryLine(
                configuration: key.configuration, selection: key.selection, strategy: rs[0].strategy,
                budget: key.budget, n: rs[0].n, rows: rs.count, accuracy: mean { $0.correct ? 1 : 0 },
                meanTokensUsed: mean { Double($0.tokensUsed) }, meanAnswerTokens: mean { Double($0.answerTokens) },
                meanTokensSpent: mean { Double($0.tokensSpent) }, oracle: mean { $0.oracleCorrect ? 1 : 0 },
                meanSeconds: mean(\.seconds))
        }
        let rank = Dictionary(uniqueKeysWithValues: seriesOrder.enumerated().map { ($1, $0) })
        return lines.sorted {
            let a = rank[$0.series] ?? 0, b = rank[$1.series] ?? 0
            return a != b ? a < b : $0.budget < $1.budget
        }
    }

    public static let csvHeader = "configuration,selection,strategy,budget,n,rows,accuracy,mean_tokens_used,mean_answer_tokens,mean_tokens_spent,oracle,mean_seconds"

    public static func csv(_ lines: [SweepSummaryLine]) -> String {
        var out = csvHeader + "\n"
        for l in lines {
            let fields = [field(l.configuration), field(l.selection ?? ""), field(l.strategy), String(l.budget),
                          l.n.map(String.init) ?? "", String(l.rows), fmt(l.accuracy, 4), fmt(l.meanTokensUsed, 1),
                          fmt(l.meanAnswerTokens, 1), fmt(l.meanTokensSpent, 1), fmt(l.oracle, 4), fmt(l.meanSeconds, 3)]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    public static func markdown(_ lines: [SweepSummaryLine], title: String = "Sweep summary") -> String {
        var out = "# \(title)\n\n"
        out += "| configuration | selection | strategy | budget | N | rows | accuracy | mean tokens spent | mean tokens used | oracle (pass@N) | mean s |\n"
        out += "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for l in lines {
            out += "| \(mdCell(l.configuration)) | \(mdCell(l.selection ?? "")) | \(l.strategy) | \(l.budget) | \(l.n.map(String.init) ?? "") | \(l.rows) | "
            out += "\(fmt(l.accuracy * 100, 1))% | \(fmt(l.meanTokensSpent, 0)) | \(fmt(l.meanTokensUsed, 0)) | \(fmt(l.oracle * 100, 1))% | \(fmt(l.meanSeconds, 2)) |\n"
        }
        return out
    }

    /// Writes summary.csv, summary.md, accuracy-vs-tokens.svg and index.html into `folder`.
    public static func write(rows: [SweepRow], to folder: String) throws(SprigError) {
        let lines = aggregate(rows)
        let files: [(String, String)] = [
            ("summary.csv", csv(lines)),
            ("summary.md", markdown(lines)),
            ("accuracy-vs-tokens.svg", SweepPlot.svg(lines)),
            ("index.html", SweepPlot.html(lines, problems: Set(rows.map(\.problem)).count, rows: rows.count)),
        ]
        for (name, text) in files {
            let path = folder + "/" + name
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw .io(path, "cannot write: \(error.localizedDescription)")
            }
        }
    }

    static func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func mdCell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
}
