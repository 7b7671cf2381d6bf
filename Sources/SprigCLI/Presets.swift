import Foundation
import Sprig
import StepSearch

/// Built-in presets (the paper's settings), or a preset file.
enum Presets {
    static func kind(_ name: String) -> StrategyKind? {
        switch name.lowercased() {
        case "bon", "best-of-n", "bestofn": return .bestOfN
        default: return StrategyKind(rawValue: name.lowercased())
        }
    }

    static func resolve(strategy: String, file: String?) throws(SprigError) -> SearchConfig {
        if let f = file {
            do { return try SearchConfig.load(contentsOf: URL(fileURLWithPath: f)) } catch {
                throw .invalidArgument("\(error)")
            }
        }
        guard let kind = kind(strategy) else { throw .invalidArgument("unknown strategy '\(strategy)'") }
        switch kind {
        case .mcts:
            var c = SearchConfig(strategy: .mcts, budget: 160_000)   // the paper: 4 × 1024, 160k
            c.mcts = MCTSConfig(children: 4, childTokens: 1024)
            return c
        case .bestOfN:
            var c = SearchConfig(strategy: .bestOfN, budget: 160_000)
            c.bestOfN = BestOfNConfig(n: 8, selection: .sprm)
            return c
        case .beam:
            return SearchConfig(strategy: .beam, budget: 160_000)
        case .greedy, .sample:
            return SearchConfig(strategy: kind, budget: 32_768)
        }
    }
}

/// "512MiB", "4GiB", "1.5G", "1000000" → bytes.
enum ByteSize {
    static func parse(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("gib", 1_073_741_824), ("mib", 1_048_576), ("kib", 1024), ("gb", 1e9), ("mb", 1e6),
                                         ("kb", 1e3), ("g", 1_073_741_824), ("m", 1_048_576), ("k", 1024), ("b", 1)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0, v.isFinite, v * scale < 1e15 else { return nil }
            return Int(v * scale)
        }
        guard let v = Int(t), v > 0 else { return nil }
        return v
    }
}
