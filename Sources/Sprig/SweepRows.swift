import Foundation

/// What identifies a row: a sweep never holds two rows with the same key.
public struct SweepRowKey: Hashable, Sendable, CustomStringConvertible {
    public var problem: String
    public var configuration: String
    public var selection: String?
    public var budget: Int
    public var seed: UInt64

    public init(problem: String, configuration: String, selection: String?, budget: Int, seed: UInt64) {
        self.problem = problem
        self.configuration = configuration
        self.selection = selection
        self.budget = budget
        self.seed = seed
    }

    public var description: String { "\(problem) \(configuration)/\(selection ?? "-") budget \(budget) seed \(seed)" }
}

/// One line of rows.jsonl: one (problem × configuration × selection × budget × seed) outcome.
public struct SweepRow: Codable, Sendable, Equatable {
    public var problem: String
    public var level: String?
    public var configuration: String
    public var strategy: String
    /// Best-of-N selection rule; nil for other strategies.
    public var selection: String?
    public var budget: Int
    /// Best-of-N: the number of trajectories; nil otherwise.
    public var n: Int?
    public var seed: UInt64
    /// Tokens charged to the budget (every branch).
    public var tokensUsed: Int
    /// Tokens spent outside the budget completing the chosen trajectory.
    public var answerTokens: Int
    public var answer: String?
    public var expected: String
    public var correct: Bool
    public var score: Double
    public var nodes: Int
    public var seconds: Double
    /// Some trajectory of the trace reached the expected answer (the pass@N ceiling).
    public var oracleCorrect: Bool

    public init(problem: String, level: String?, configuration: String, strategy: String, selection: String?,
                budget: Int, n: Int?, seed: UInt64, tokensUsed: Int, answerTokens: Int, answer: String?,
                expected: String, correct: Bool, score: Double, nodes: Int, seconds: Double, oracleCorrect: Bool) {
        self.problem = problem
        self.level = level
        self.configuration = configuration
        self.strategy = strategy
        self.selection = selection
        self.budget = budget
        self.n = n
        self.seed = seed
        self.tokensUsed = tokensUsed
        self.answerTokens = answerTokens
        self.answer = answer
        self.expected = expected
        self.correct = correct
        self.score = score.isFinite ? score : 0
        self.nodes = nodes
        self.seconds = seconds.isFinite ? seconds : 0
        self.oracleCorrect = oracleCorrect
    }

    public var key: SweepRowKey {
        SweepRowKey(problem: problem, configuration: configuration, selection: selection, budget: budget, seed: seed)
    }

    /// Tokens spent in all: the budgeted search plus the out-of-budget completion.
    public var tokensSpent: Int { tokensUsed + answerTokens }

    enum CodingKeys: String, CodingKey {
        case problem, level, configuration, strategy, selection, budget, n, seed, answer, expected, correct, score
        case nodes, seconds
        case tokensUsed = "tokens_used", answerTokens = "answer_tokens", oracleCorrect = "oracle_correct"
    }

    /// Every key is written, absent values as null, so each line has the same columns.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(problem, forKey: .problem)
        try c.encode(level, forKey: .level)
        try c.encode(configuration, forKey: .configuration)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(selection, forKey: .selection)
        try c.encode(budget, forKey: .budget)
        try c.encode(n, forKey: .n)
        try c.encode(seed, forKey: .seed)
        try c.encode(tokensUsed, forKey: .tokensUsed)
        try c.encode(answerTokens, forKey: .answerTokens)
        try c.encode(answer, forKey: .answer)
        try c.encode(expected, forKey: .expected)
        try c.encode(correct, forKey: .correct)
        try c.encode(score, forKey: .score)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(oracleCorrect, forKey: .oracleCorrect)
    }

    /// One line of JSON, sorted keys, no newline.
    public func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// rows.jsonl: read with a torn last line tolerated, appended whole lines at a time with fsync.
public final class SweepRowFile {
    public let path: String
    public private(set) var rows: [SweepRow] = []
    public private(set) var keys: Set<SweepRowKey> = []
    /// Bytes of a torn last line dropped on open (0 when the file ended cleanly).
    public private(set) var droppedTornBytes = 0
    private var handle: FileHandle?

    /// Reads what is there (nothing when the file is missing). A last line with no newline
    /// is a write cut short: it is dropped and the file truncated to its last whole line,
    /// so appends continue after whole lines only. Rows whose key repeats are ignored.
    public init(path: String) throws(SprigError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { return }
        var end = data.count
        if let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) {
            end = lastNewline + 1
        } else {
            end = 0
        }
        droppedTornBytes = data.count - end
        for row in try Self.parse(data[..<end], path: path) where keys.insert(row.key).inserted { rows.append(row) }
        if droppedTornBytes > 0 {
            do {
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try h.truncate(atOffset: UInt64(end))
                try h.synchronize()
                try h.close()
            } catch { throw .io(path, "cannot drop the torn last line: \(error.localizedDescription)") }
        }
    }

    deinit { try? handle?.close() }

    /// Appends the rows whose keys are new, as whole lines in one write, then fsyncs.
    /// Returns how many were written.
    @discardableResult
    public func append(_ new: [SweepRow]) throws(SprigError) -> Int {
        var blob = Data()
        var added: [SweepRow] = []
        var batchKeys = keys
        for row in new where batchKeys.insert(row.key).inserted {
            do { blob.append(try row.jsonLine()) } catch { throw .io(path, "cannot encode a row: \(error)") }
            blob.append(UInt8(ascii: "\n"))
            added.append(row)
        }
        guard !added.isEmpty else { return 0 }
        do {
            if handle == nil {
                if !FileManager.default.fileExists(atPath: path) {
                    guard FileManager.default.createFile(atPath: path, contents: nil) else {
                        throw SprigError.io(path, "cannot create the file")
                    }
                }
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                handle = h
            }
            guard let h = handle else { return 0 }
            try h.seekToEnd()
            try h.write(contentsOf: blob)
            try h.synchronize()
        } catch let e as SprigError {
            throw e
        } catch {
            throw .io(path, "cannot append rows: \(error.localizedDescription)")
        }
        rows.append(contentsOf: added)
        keys = batchKeys
        return added.count
    }

    /// Rows of several rows.jsonl files, first occurrence of each key kept, in file order.
    public static func merge(paths: [String]) throws(SprigError) -> [SweepRow] {
        var seen: Set<SweepRowKey> = []
        var out: [SweepRow] = []
        for p in paths {
            guard FileManager.default.fileExists(atPath: p) else { throw .notFound(p) }
            for row in try SweepRowFile.readOnly(path: p) where seen.insert(row.key).inserted { out.append(row) }
        }
        return out
    }

    /// The whole-line rows of a file without touching it (a torn tail is ignored).
    public static func readOnly(path: String) throws(SprigError) -> [SweepRow] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .notFound(path) }
        let end = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return try parse(data[..<end], path: path)
    }

    /// Rows of whole lines; a line that is not a row is an error naming it (blank lines are skipped).
    private static func parse(_ bytes: Data, path: String) throws(SprigError) -> [SweepRow] {
        let decoder = JSONDecoder()
        var out: [SweepRow] = []
        for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do { out.append(try decoder.decode(SweepRow.self, from: Data(line))) } catch {
                throw .io(path, "line \(i + 1) is not a sweep row")
            }
        }
        return out
    }
}
