import ArgumentParser
import Foundation
import Sprig
import StepSearch

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run strategies × budgets × seeds over an evaluation split and plot accuracy vs tokens.",
        discussion: """
            Writes DIR/rows.jsonl (one row per problem × configuration × selection × budget × seed), \
            summary.csv, summary.md, accuracy-vs-tokens.svg and index.html. Rerunning resumes; \
            --shard i/n splits the problems across machines; --merge joins their folders.
            """)

    @Option(name: .long, help: "GGUF file or Hugging Face folder (default: the embedded model).")
    var model: String?

    @Option(name: .long, help: "SPRM head: safetensors, score_module.pt, or a folder holding one.")
    var sprm: String?

    @Option(name: .long, help: "Evaluation split, JSONL with \"question\" and \"answer\" (and optional \"id\", \"level\"). Default with the embedded model: the repository's Data/mult-eval-hard.jsonl.")
    var data: String?

    @Option(name: .long, help: "Sweep spec (Configs/sweeps/*.json).")
    var config: String = "Configs/sweeps/small.json"

    @Option(name: .long, help: "Use only the first N problems of the split (before --shard, so shards split the same N).")
    var limit: Int?

    @Option(name: .long, help: "Output folder.")
    var out: String?

    @Option(name: .long, help: "Take problems whose index % n == i (e.g. 0/4).")
    var shard: String = "0/1"

    @Flag(name: .long, inversion: .prefixedNo, help: "Skip rows already in DIR/rows.jsonl.")
    var resume = true

    @Option(name: .long, help: "KV cache memory cap, e.g. 512MiB or 4GiB.")
    var kvMemory: String = "2GiB"

    @Option(name: .long, help: "Only recompute the summary, plot and page of this folder.")
    var summarize: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Merge the rows of these sweep folders into --out.")
    var merge: [String] = []

    @Flag(name: .long, help: "No progress bar on stderr.")
    var quiet = false

    func validate() throws {
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
        guard SweepShard(parsing: shard) != nil else { throw ValidationError("--shard must be i/n with 0 ≤ i < n, e.g. 0/4") }
        guard ByteSize.parse(kvMemory) != nil else { throw ValidationError("--kv-memory '\(kvMemory)' is not a size like 512MiB or 4GiB") }
        if summarize != nil { return }
        guard out != nil else { throw ValidationError("--out DIR is required") }
        if merge.isEmpty, data == nil, model != nil || Self.defaultData() == nil {
            throw ValidationError("--data FILE.jsonl is required (or --summarize DIR / --merge DIRS)")
        }
    }

    /// `path` as given, or, when it is relative and not found from here, inside the repository
    /// that holds the embedded model (so the default `Configs/sweeps/small.json` is found from
    /// any folder).
    static func resolve(_ path: String) -> String {
        let fm = FileManager.default
        guard !path.hasPrefix("/"), !fm.fileExists(atPath: path), let model = DefaultModel.locate() else { return path }
        let root = URL(fileURLWithPath: model).deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent(path).path
        return fm.fileExists(atPath: candidate) ? candidate : path
    }

    /// The embedded model's own evaluation split (its hard problems, where search has room):
    /// `Data/mult-eval-hard.jsonl` beside the `Models` folder that holds it.
    static func defaultData() -> String? {
        guard let model = DefaultModel.locate() else { return nil }
        let root = URL(fileURLWithPath: model).deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Data/mult-eval-hard.jsonl").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    func run() throws {
        if let dir = summarize {
            let rows = try CLI.run { () throws(SprigError) in try SweepRowFile.readOnly(path: dir + "/rows.jsonl") }
            try writeSummary(rows, to: dir)
            return
        }
        let outDir = out ?? "sweep"
        makeFolder(outDir)
        if !merge.isEmpty {
            let rows = try CLI.run { () throws(SprigError) in
                try SweepRowFile.merge(paths: merge.map { $0 + "/rows.jsonl" })
            }
            let file = try CLI.run { () throws(SprigError) in try SweepRowFile(path: outDir + "/rows.jsonl") }
            let added = try CLI.run { () throws(SprigError) in try file.append(rows) }
            CLI.progress("merged \(rows.count) rows from \(merge.count) folders (\(added) new) into \(outDir)/rows.jsonl")
            try writeSummary(file.rows, to: outDir)
            return
        }

        let specPath = Self.resolve(config)
        let spec = try CLI.run { () throws(SprigError) in try SweepSpec.load(path: specPath) }
        let dataPath = data ?? Self.defaultData() ?? ""
        if data == nil { CLI.progress("data: \(dataPath) (the embedded model's hard split)") }
        var problems = try CLI.run { () throws(SprigError) in try Problem.load(path: dataPath) }
        if let l = limit { problems = Array(problems.prefix(l)) }
        let part = SweepShard(parsing: shard) ?? .all
        let runner = try CLI.run { () throws(SprigError) in
            try SweepRunner(spec: spec, problems: problems, shard: part, rowsPath: outDir + "/rows.jsonl", resume: resume)
        }
        if runner.rows.droppedTornBytes > 0 {
            CLI.progress("rows.jsonl ended in a torn line (\(runner.rows.droppedTornBytes) bytes); dropped it, that row is redone")
        }
        let pending = runner.pending.count
        CLI.progress("sweep: \(runner.tasks.count) tasks (\(part.select(problems).count) problems, shard \(part)), \(runner.tasks.count - pending) already done")

        var report = SweepRunReport(total: runner.tasks.count, skipped: runner.tasks.count, ran: 0, rowsWritten: 0, interrupted: false)
        if pending > 0 {
            let engine = try CLI.loadEngine(model: model, sprm: sprm, kvMemory: kvMemory)
            let contextLength = engine.model.transformer.config.maxPositions
            for c in spec.configurations where c.preset.strategy == .mcts && c.preset.mcts.childTokens >= contextLength {
                CLI.fail("\(config): configuration '\(c.name)' has child_tokens \(c.preset.mcts.childTokens), beyond the model's context of \(contextLength)")
            }
            if engine.head == nil { CLI.progress("note: no SPRM head for this model; SPRM scores fall back to the policy's confidence") }
            let executor = SweepEngineRunner(engine: engine)
            Interrupt.install()
            do {
                report = try runner.run(
                    execute: { task in try executor.run(task, isCancelled: { Interrupt.isSet }) },
                    isCancelled: { Interrupt.isSet },
                    onProgress: quiet ? nil : { CLI.status($0.line) })
            } catch {
                if !quiet { CLI.status(nil) }
                try? SweepSummary.write(rows: runner.rows.rows, to: outDir)
                CLI.fail("\(error)")
            }
            if !quiet { CLI.status(nil) }
        }
        try writeSummary(runner.rows.rows, to: outDir)
        CLI.progress("sweep: ran \(report.ran) tasks, wrote \(report.rowsWritten) rows; \(runner.rows.rows.count) rows in \(outDir)/rows.jsonl")
        if report.interrupted {
            CLI.progress("interrupted: finished rows are saved; rerun the same command to resume")
            throw ExitCode(130)
        }
    }

    private func makeFolder(_ path: String) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            CLI.fail("\(path): cannot create the output folder: \(error.localizedDescription)")
        }
    }

    /// Writes the summary files and prints summary.md on stdout.
    private func writeSummary(_ rows: [SweepRow], to dir: String) throws {
        try CLI.run { () throws(SprigError) in try SweepSummary.write(rows: rows, to: dir) }
        print(SweepSummary.markdown(SweepSummary.aggregate(rows)), terminator: "")
        CLI.progress("summary: \(dir)/summary.csv, summary.md, accuracy-vs-tokens.svg, index.html")
    }
}
