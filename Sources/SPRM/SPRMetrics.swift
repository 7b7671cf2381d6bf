import Foundation

public enum SPRMetrics {
    /// AUROC of `scores` for separating correct from incorrect, computed within each problem
    /// (P(score of a correct > score of an incorrect), ties count ½) and averaged over the
    /// problems that have both classes; nil when none has.
    public static func withinProblemAUROC(scores: [Double], correct: [Bool], problems: [Int]) -> Double? {
        precondition(scores.count == correct.count && scores.count == problems.count)
        var byProblem: [Int: [Int]] = [:]
        for i in scores.indices { byProblem[problems[i], default: []].append(i) }
        var sum = 0.0, n = 0
        for (_, idx) in byProblem {
            let pos = idx.filter { correct[$0] }.map { scores[$0] }
            let neg = idx.filter { !correct[$0] }.map { scores[$0] }
            guard !pos.isEmpty, !neg.isEmpty else { continue }
            var wins = 0.0
            for p in pos { for q in neg { wins += p > q ? 1 : (p == q ? 0.5 : 0) } }
            sum += wins / Double(pos.count * neg.count)
            n += 1
        }
        return n == 0 ? nil : sum / Double(n)
    }
}

/// Writers for `sprig train-sprm`'s outputs (no dependencies).
extension SPRTrainingResult {
    /// One row per epoch: epoch,objective,train_loss,eval_bce,mean_score_correct,mean_score_incorrect,auroc,kept_fraction
    /// (empty cells where a value does not apply).
    public var csv: String {
        func f(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.6f", $0) : "" } ?? "" }
        var out = "epoch,objective,train_loss,eval_bce,mean_score_correct,mean_score_incorrect,auroc,kept_fraction\n"
        for m in history {
            out += "\(m.epoch),\(m.objective),\(f(m.trainLoss)),\(f(m.evalBCE)),\(f(m.meanScoreCorrect)),"
            out += "\(f(m.meanScoreIncorrect)),\(f(m.auroc)),\(f(m.keptFraction))\n"
        }
        return out
    }

    /// The paper's Figure 4: mean trajectory score of correct vs incorrect trajectories per epoch.
    public var svg: String {
        let w = 640.0, hgt = 400.0, left = 60.0, right = 150.0, top = 30.0, bottom = 50.0
        let pw = w - left - right, ph = hgt - top - bottom
        let last = Double(max(history.map(\.epoch).max() ?? 1, 1))
        func x(_ e: Int) -> Double { left + pw * Double(e) / last }
        func y(_ v: Double) -> Double { top + ph * (1 - min(max(v, 0), 1)) }
        func line(_ pick: (SPREpochMetrics) -> Double, _ color: String) -> String {
            let pts = history.filter { pick($0).isFinite }
                .map { String(format: "%.1f,%.1f", x($0.epoch), y(pick($0))) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(hgt))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += String(format: "<text x=\"%.0f\" y=\"18\" text-anchor=\"middle\">SPRM mean trajectory score per epoch</text>\n", left + pw / 2)
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y(t), left + pw, y(t))
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", left - 6, y(t) + 4, t)
        }
        let tick = max(1, Int(last) / 10)
        for e in stride(from: 0, through: Int(last), by: tick) {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", x(e), top + ph + 18, e)
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n", left + pw / 2, hgt - 10)
        s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", left, top, pw, ph)
        s += line({ $0.meanScoreCorrect }, "#2a9d3f")
        s += line({ $0.meanScoreIncorrect }, "#d62728")
        let lx = left + pw + 12
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2a9d3f\" stroke-width=\"2\"/>", lx, top + 10, lx + 20, top + 10)
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\">correct</text>\n", lx + 26, top + 14)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\"/>", lx, top + 30, lx + 20, top + 30)
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\">incorrect</text>\n", lx + 26, top + 34)
        return s + "</svg>\n"
    }

    /// Writes the head (safetensors, MetaStone keys), the metrics CSV and the SVG plot;
    /// pass nil to skip a file.
    public func write(headPath: String?, csvPath: String?, svgPath: String?) throws(SPRMError) {
        if let headPath { try head.save(to: headPath) }
        if let csvPath { try writeBytes(Array(csv.utf8), to: csvPath) }
        if let svgPath { try writeBytes(Array(svg.utf8), to: svgPath) }
    }
}
