import Foundation
import StepSearch

/// A sweep: configurations × budgets × seeds over an evaluation split (Configs/sweep-*.json).
///
/// ```json
/// {"note": "...", "seeds": [0, 1],
///  "configurations": [
///    {"name": "greedy", "preset": "greedy-small.json", "budgets": [512]},
///    {"name": "bon", "preset": {"strategy": "best-of-n", "best_of_n": {"trajectory_tokens": 512}},
///     "n": [2, 4, 8], "selections": ["sprm", "majority", "log_prob"]},
///    {"name": "mcts", "preset": "mcts-small.json", "budgets": [1024, 2048, 4096]}]}
/// ```
/// A preset is a path (relative to the spec's folder, else the working directory) or an inline
/// `SearchConfig` object (whose `budget` may be left out). Best-of-N configurations take either
/// `n` (one point per N with budget N × trajectory_tokens) or `budgets` (the preset's N), and
/// `selections`: every rule is applied to the same N samples (one generation per point).
public struct SweepSpec: Sendable, Equatable {
    public var note: String?
    public var seeds: [UInt64]
    public var configurations: [SweepConfiguration]

    public init(note: String? = nil, seeds: [UInt64], configurations: [SweepConfiguration]) {
        self.note = note
        self.seeds = seeds
        self.configurations = configurations
    }

    public static func load(path: String) throws(SprigError) -> SweepSpec {
        guard let data = FileManager.default.contents(atPath: path) else { throw .notFound(path) }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(data, file: path, folder: folder)
    }

    /// Parses and validates a spec; preset paths resolve against `folder`, then the working directory.
    public static func parse(_ data: Data, file: String, folder: String) throws(SprigError) -> SweepSpec {
        func bad(_ m: String) -> SprigError { .io(file, m) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        let seeds: [UInt64]
        if let raw = root["seeds"] {
            guard let list = raw as? [NSNumber], !list.isEmpty, list.allSatisfy({ $0.int64Value >= 0 }) else {
                throw bad("\"seeds\" must be a non-empty list of non-negative integers")
            }
            seeds = list.map { UInt64($0.int64Value) }
        } else {
            seeds = [0]
        }
        guard Set(seeds).count == seeds.count else { throw bad("\"seeds\" repeats a seed") }
        guard let list = root["configurations"] as? [[String: Any]], !list.isEmpty else {
            throw bad("\"configurations\" must be a non-empty list of objects")
        }
        var configurations: [SweepConfiguration] = []
        for (i, item) in list.enumerated() {
            configurations.append(try SweepConfiguration.parse(item, index: i, file: file, folder: folder))
        }
        let names = configurations.map(\.name)
        guard Set(names).count == names.count else { throw bad("two configurations share a name") }
        return SweepSpec(note: root["note"] as? String, seeds: seeds, configurations: configurations)
    }
}

/// One configuration of a sweep: a preset and the points (budgets) it is run at.
public struct SweepConfiguration: Sendable, Equatable {
    public var name: String
    public var preset: SearchConfig
    public var points: [SweepPoint]
    /// Best-of-N only: the selection rules applied to the same samples; nil for other strategies.
    public var selections: [BestOfNSelection]?

    public init(name: String, preset: SearchConfig, points: [SweepPoint], selections: [BestOfNSelection]? = nil) {
        self.name = name
        self.preset = preset
        self.points = points
        self.selections = selections
    }

    /// The preset with a point's budget (and N) applied.
    public func config(at point: SweepPoint) -> SearchConfig {
        var c = preset
        c.budget = point.budget
        if let n = point.n { c.bestOfN.n = n }
        return c
    }

    static func parse(_ item: [String: Any], index: Int, file: String, folder: String) throws(SprigError) -> SweepConfiguration {
        guard let name = item["name"] as? String, !name.isEmpty, !name.contains("\t"), !name.contains("/") else {
            throw .io(file, "configuration \(index): \"name\" must be a non-empty string without '/' or tabs")
        }
        func bad(_ m: String) -> SprigError { .io(file, "configuration '\(name)': \(m)") }
        let preset = try resolvePreset(item["preset"], name: name, file: file, folder: folder)
        let budgets = try positiveInts(item["budgets"], field: "budgets", bad: bad)
        let ns = try positiveInts(item["n"], field: "n", bad: bad)
        var selections: [BestOfNSelection]? = nil
        if preset.strategy == .bestOfN {
            if let raw = item["selections"] {
                guard let names = raw as? [String], !names.isEmpty else { throw bad("\"selections\" must be a non-empty list") }
                var rules: [BestOfNSelection] = []
                for s in names {
                    guard let r = BestOfNSelection(rawValue: s) else {
                        throw bad("unknown selection '\(s)' (\(BestOfNSelection.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard !rules.contains(r) else { throw bad("selection '\(s)' is listed twice") }
                    rules.append(r)
                }
                selections = rules
            } else {
                selections = [preset.bestOfN.selection]
            }
        } else if item["selections"] != nil || ns != nil {
            throw bad("\"selections\" and \"n\" are for best-of-n presets only")
        }
        var points: [SweepPoint]
        switch (budgets, ns) {
        case (.some, .some): throw bad("give either \"budgets\" or \"n\", not both")
        case (.some(let b), nil): points = b.map { SweepPoint(budget: $0, n: nil) }
        case (nil, .some(let n)): points = n.map { SweepPoint(budget: $0 * preset.bestOfN.trajectoryTokens, n: $0) }
        case (nil, nil): points = [SweepPoint(budget: preset.budget, n: nil)]
        }
        guard Set(points.map(\.budget)).count == points.count else { throw bad("two points have the same budget") }
        let configuration = SweepConfiguration(name: name, preset: preset, points: points, selections: selections)
        for p in points {
            do { try configuration.config(at: p).validate(file: "\(file): \(name)") } catch { throw .io(file, "\(error)") }
        }
        return configuration
    }

    private static func positiveInts(_ raw: Any?, field: String, bad: (String) -> SprigError) throws(SprigError) -> [Int]? {
        guard let raw else { return nil }
        guard let list = raw as? [NSNumber], !list.isEmpty, list.allSatisfy({ $0.intValue > 0 && Double($0.intValue) == $0.doubleValue }) else {
            throw bad("\"\(field)\" must be a non-empty list of positive integers")
        }
        return list.map(\.intValue)
    }

    private static func resolvePreset(_ raw: Any?, name: String, file: String, folder: String) throws(SprigError) -> SearchConfig {
        switch raw {
        case let path as String:
            let fm = FileManager.default
            let candidates = path.hasPrefix("/") ? [path] : [folder + "/" + path, path]
            guard let found = candidates.first(where: { fm.fileExists(atPath: $0) }) else {
                throw .io(file, "configuration '\(name)': preset '\(path)' not found (looked in \(folder) and the working directory)")
            }
            do { return try SearchConfig.load(contentsOf: URL(fileURLWithPath: found)) } catch { throw .io(found, "\(error)") }
        case var object as [String: Any]:
            // The points set the budget; an inline preset need not repeat it.
            if object["budget"] == nil { object["budget"] = 1 }
            let data: Data
            do { data = try JSONSerialization.data(withJSONObject: object) } catch { throw .io(file, "configuration '\(name)': bad preset") }
            do { return try SearchConfig.decode(data, file: "\(file): \(name)") } catch { throw .io(file, "\(error)") }
        default:
            throw .io(file, "configuration '\(name)': \"preset\" must be a file path or a SearchConfig object")
        }
    }
}

/// One budget of a configuration (Best-of-N: with its N).
public struct SweepPoint: Sendable, Equatable, Hashable {
    public var budget: Int
    public var n: Int?

    public init(budget: Int, n: Int? = nil) {
        self.budget = budget
        self.n = n
    }
}

/// One unit of work: a problem under one configuration, point and seed. Yields one row per
/// selection rule (one row for strategies without selections).
public struct SweepTask: Sendable {
    public var problem: Problem
    public var configuration: SweepConfiguration
    public var point: SweepPoint
    public var seed: UInt64

    /// The selection names of its rows (`[nil]` for strategies without selections).
    public var selections: [String?] { configuration.selections?.map(\.rawValue) ?? [nil] }

    public var rowKeys: [SweepRowKey] {
        selections.map { SweepRowKey(problem: problem.id, configuration: configuration.name, selection: $0,
                                     budget: point.budget, seed: seed) }
    }

    /// Every task of `spec` over `problems`, problem-major (a partial sweep compares every
    /// configuration on the problems it reached).
    public static func all(spec: SweepSpec, problems: [Problem]) -> [SweepTask] {
        var out: [SweepTask] = []
        for p in problems {
            for seed in spec.seeds {
                for c in spec.configurations {
                    for point in c.points { out.append(SweepTask(problem: p, configuration: c, point: point, seed: seed)) }
                }
            }
        }
        return out
    }
}
