import Foundation

/// Where a sweep stands, reported after every task.
public struct SweepProgress: Sendable {
    /// Tasks finished, those found done on disk included, out of `total`.
    public var done: Int
    public var total: Int
    /// Tasks run by this process so far.
    public var ranNow: Int
    public var elapsed: Double
    /// Tasks per second of this process (0 before the first one finishes).
    public var rate: Double { elapsed > 0 ? Double(ranNow) / elapsed : 0 }
    /// Seconds left at the current rate; nil before the first task finishes.
    public var eta: Double? { rate > 0 ? Double(total - done) / rate : nil }

    /// "[#####.....] 12/40 tasks  0.31/s  ETA 1m30s".
    public var line: String {
        let width = 24
        let filled = total > 0 ? min(width, done * width / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let etaText = eta.map { Self.duration($0) } ?? "?"
        return "[\(bar)] \(done)/\(total) tasks  \(String(format: "%.2f", rate))/s  ETA \(etaText)"
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t)s"
    }
}

/// The outcome of `SweepRunner.run`.
public struct SweepRunReport: Sendable, Equatable {
    public var total: Int
    /// Tasks whose rows were all on disk already.
    public var skipped: Int
    /// Tasks run (and written) by this call.
    public var ran: Int
    public var rowsWritten: Int
    /// True when cancellation stopped the run before every task was done.
    public var interrupted: Bool

    public init(total: Int, skipped: Int, ran: Int, rowsWritten: Int, interrupted: Bool) {
        self.total = total
        self.skipped = skipped
        self.ran = ran
        self.rowsWritten = rowsWritten
        self.interrupted = interrupted
    }
}

/// Drives a sweep: skips what rows.jsonl already holds, runs the rest in order, appends each
/// task's rows as soon as it finishes. Model-free: the work is the `execute` closure.
public final class SweepRunner {
    public let tasks: [SweepTask]
    public let rows: SweepRowFile

    /// - Parameters:
    ///   - shard: this process takes the problems whose index % count == index.
    ///   - rowsPath: rows.jsonl; with `resume` false an existing file is moved to `rows.jsonl.old`.
    public init(spec: SweepSpec, problems: [Problem], shard: SweepShard = .all, rowsPath: String,
                resume: Bool = true) throws(SprigError) {
        if !resume, FileManager.default.fileExists(atPath: rowsPath) {
            let old = rowsPath + ".old"
            try? FileManager.default.removeItem(atPath: old)
            do { try FileManager.default.moveItem(atPath: rowsPath, toPath: old) } catch {
                throw .io(rowsPath, "cannot move aside for a fresh run: \(error.localizedDescription)")
            }
        }
        self.rows = try SweepRowFile(path: rowsPath)
        self.tasks = SweepTask.all(spec: spec, problems: shard.select(problems))
    }

    /// Tasks with at least one row missing.
    public var pending: [SweepTask] {
        tasks.filter { !$0.rowKeys.allSatisfy(rows.keys.contains) }
    }

    /// Runs the pending tasks. `execute` returns a task's rows, or nil when it was interrupted
    /// (nothing is written for it and the run stops). Rows already present are never rewritten.
    public func run(execute: (SweepTask) throws -> [SweepRow]?, isCancelled: () -> Bool = { false },
                    onProgress: ((SweepProgress) -> Void)? = nil) throws -> SweepRunReport {
        let todo = pending
        var report = SweepRunReport(total: tasks.count, skipped: tasks.count - todo.count, ran: 0, rowsWritten: 0,
                                    interrupted: false)
        let start = Date()
        func progress() {
            onProgress?(SweepProgress(done: report.skipped + report.ran, total: report.total, ranNow: report.ran,
                                      elapsed: Date().timeIntervalSince(start)))
        }
        progress()
        for task in todo {
            if isCancelled() { report.interrupted = true; break }
            guard let produced = try execute(task) else { report.interrupted = true; break }
            let expected = Set(task.rowKeys)
            for r in produced where !expected.contains(r.key) {
                throw SprigError.invalidArgument("sweep: task \(task.rowKeys.first?.description ?? "") produced a row for another key (\(r.key))")
            }
            report.rowsWritten += try rows.append(produced)
            report.ran += 1
            progress()
        }
        return report
    }
}
