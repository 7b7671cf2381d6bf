import Foundation
import SPRM
import XCTest
@testable import Sprig

/// `TrainSPRM` end to end on the tiny random model, its features file, validation and metrics.
final class TrainSPRMRunTests: XCTestCase {
    var folder = ""
    var work = ""

    override func setUpWithError() throws {
        folder = try TestModels.trainFolder()
        work = folder + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func writeProblems(_ name: String, _ lines: [String]) throws -> String {
        let path = work + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testEndToEndThenRetrainFromFeatures() throws {
        let train = try writeProblems("train.jsonl", [#"{"question": "1+1?", "answer": "2"}"#,
                                                      #"{"question": "2+2?", "answer": 4}"#, ""])
        let eval = try writeProblems("eval.jsonl", [#"{"question": "3+3?", "answer": "6"}"#])
        var o = TrainSPRM.Options(outputDirectory: work + "/out")
        o.modelPath = folder
        o.trainData = train
        o.evalData = eval
        o.kvMemoryBytes = 8 << 20
        o.sampling.samples = 3
        o.sampling.maxTokens = 24
        o.sampling.temperature = 1.0
        o.training.epochs = 3
        var lines: [String] = []
        let report = try TrainSPRM(options: o).run { lines.append($0) }
        XCTAssertEqual(report.trainTrajectories, 6)
        XCTAssertEqual(report.evalTrajectories, 3)
        XCTAssertEqual(report.featureWidth, 64)
        XCTAssertEqual(report.train.problems, 2)
        XCTAssertEqual(report.eval?.problems, 1)
        XCTAssertGreaterThan(report.meanSteps, 0)
        XCTAssertTrue(lines.contains { $0.hasPrefix("epoch 3 (spr)") }, "progress per epoch: \(lines)")

        let out = work + "/out/"
        for name in ["sprm.safetensors", "metrics.csv", "figure4.svg", "features.bin", "samples.jsonl", "summary.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + name), name)
        }
        let head = try SPRMHead.load(path: work + "/out")
        XCTAssertEqual(head.inputWidth, 64)
        XCTAssertEqual(head.hiddenWidth, 128)
        XCTAssertEqual(try String(contentsOfFile: out + "metrics.csv", encoding: .utf8).split(separator: "\n").count, 1 + 4)

        // The cached features hold exactly the sampled trajectories, labels consistent with answers.
        let cached = try TrainSPRMFeatures.read(path: out + "features.bin")
        XCTAssertEqual(cached.train.count, 6)
        XCTAssertEqual(cached.eval.count, 3)
        for t in cached.train {
            XCTAssertEqual(t.correct, AnswerCheck.isCorrect(t.answer, expected: t.problemID == 0 ? "2" : "4"))
        }
        // Eval metrics after training are those of the saved head on the cached eval features.
        XCTAssertEqual(report.eval, TrainSPRMEvaluation.evaluate(head: head, trajectories: cached.eval))

        // Retraining from the features needs no model and gives a different loss's head.
        var r = TrainSPRM.Options(outputDirectory: work + "/bce")
        r.featuresPath = out + "features.bin"
        r.training.loss = .bce
        r.training.epochs = 2
        let again = try TrainSPRM(options: r).run()
        XCTAssertEqual(again.loss, "bce")
        XCTAssertEqual(again.trainTrajectories, 6)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/bce/features.bin"))
        XCTAssertEqual(again.trainBefore, report.trainBefore, "same seed, same initial head, same features")
    }

    func testFeaturesFileRoundTripAndCorruption() throws {
        let t1 = SampledTrajectory(problemID: 3, features: [[1, -2.5], [0.25, 1e-8]], answer: "12", correct: true,
                                   tokenCount: 17, meanLogProb: -0.75)
        let t2 = SampledTrajectory(problemID: 0, features: [], answer: nil, correct: false, tokenCount: 0, meanLogProb: 0)
        let data = TrainSPRMFeatures(width: 2, train: [t1], eval: [t2])
        let path = work + "/f.bin"
        try data.write(to: path)
        let back = try TrainSPRMFeatures.read(path: path)
        XCTAssertEqual(back.width, 2)
        XCTAssertEqual(back.train.first?.features, t1.features)
        XCTAssertEqual(back.train.first?.answer, "12")
        XCTAssertEqual(back.train.first?.meanLogProb, -0.75)
        XCTAssertEqual(back.train.first?.tokenCount, 17)
        XCTAssertEqual(back.eval.first?.answer, nil)
        XCTAssertEqual(back.eval.first?.correct, false)
        let bytes = data.encoded()
        for cut in [0, 3, 10, 20, bytes.count - 1] {
            XCTAssertThrowsError(try TrainSPRMFeatures.decode(Array(bytes.prefix(cut)), path: "x.bin"), "cut \(cut)") { e in
                XCTAssertTrue("\(e)".hasPrefix("x.bin: "), "\(e)")
            }
        }
        XCTAssertThrowsError(try TrainSPRMFeatures.decode(bytes + [0], path: "x.bin"))
        XCTAssertThrowsError(try TrainSPRMFeatures.read(path: work + "/missing.bin"))
    }

    func testValidationErrorsAreOneLine() throws {
        let train = try writeProblems("t.jsonl", [#"{"question": "q", "answer": "1"}"#])
        func error(_ edit: (inout TrainSPRM.Options) -> Void) -> String? {
            var o = TrainSPRM.Options(outputDirectory: work + "/o")
            o.modelPath = folder
            o.trainData = train
            edit(&o)
            do { try TrainSPRM(options: o).validate(); return nil } catch { return error.description }
        }
        XCTAssertNil(error { _ in })
        let cases: [(String, (inout TrainSPRM.Options) -> Void)] = [
            ("--samples", { $0.sampling.samples = 0 }),
            ("--samples", { $0.sampling.samples = -3 }),
            ("--samples", { $0.sampling.samples = 100_000_000 }),   // was an out-of-memory kill
            ("--epochs", { $0.training.epochs = 0 }),
            ("--max-tokens", { $0.sampling.maxTokens = 0 }),
            ("--temperature", { $0.sampling.temperature = -1 }),
            ("/nope/model", { $0.modelPath = "/nope/model" }),
            ("/nope/train.jsonl", { $0.trainData = "/nope/train.jsonl" }),
            ("/nope/eval.jsonl", { $0.evalData = "/nope/eval.jsonl" }),
            ("/nope/f.bin", { $0.featuresPath = "/nope/f.bin" }),
            ("--model", { $0.modelPath = nil }),
            ("--data", { $0.trainData = nil }),
            ("--out", { $0.outputDirectory = train }),
        ]
        for (needle, edit) in cases {
            guard let message = error(edit) else { XCTFail("no error for \(needle)"); continue }
            XCTAssertTrue(message.contains(needle), "\(needle): \(message)")
            XCTAssertFalse(message.contains("\n"), message)
        }
        // Bad JSONL names the file and line.
        let bad = try writeProblems("bad.jsonl", [#"{"question": "q", "answer": "1"}"#, #"{"question": 3}"#])
        XCTAssertThrowsError(try Problem.load(path: bad)) { e in
            XCTAssertTrue("\(e)".hasPrefix(bad + ":2: "), "\(e)")
        }
        let flag = try writeProblems("flag.jsonl", [#"{"question": "q", "answer": true}"#])
        XCTAssertThrowsError(try Problem.load(path: flag))
        XCTAssertEqual(try Problem.load(path: train), [Problem(id: "0", question: "q", answer: "1")])
    }

    func testAnswerMatch() {
        XCTAssertTrue(AnswerCheck.isCorrect("1,234", expected: "1234"))
        XCTAssertTrue(AnswerCheck.isCorrect("12.0", expected: "12"))
        XCTAssertTrue(AnswerCheck.isCorrect(" $42$. ", expected: "42"))
        XCTAssertTrue(AnswerCheck.isCorrect("\\boxed{7}", expected: "7"))
        XCTAssertTrue(AnswerCheck.isCorrect("Paris", expected: "paris"))
        XCTAssertFalse(AnswerCheck.isCorrect("12", expected: "121"))
        XCTAssertFalse(AnswerCheck.isCorrect("-3", expected: "3"))
        XCTAssertFalse(AnswerCheck.isCorrect(nil, expected: "3"))
    }

    /// Selection metrics on a hand-built set, with a head whose score is monotone in x[0].
    func testSelectionMetrics() {
        // logit = relu(x0) * 1 + 0: score rises with x0 ≥ 0.
        let head = SPRMHead(w1: [1, 0], b1: [0], w2: [1], b2: 0)
        func t(_ p: Int, _ x: Float, _ answer: String?, _ correct: Bool, _ lp: Double) -> SampledTrajectory {
            SampledTrajectory(problemID: p, features: [[x, 0]], answer: answer, correct: correct, tokenCount: 5, meanLogProb: lp)
        }
        let set = [
            // Problem 0: majority "5" is wrong, SPRM picks the correct "4", confidence picks wrong.
            t(0, 0.1, "5", false, -0.1), t(0, 0.2, "5", false, -0.2), t(0, 3.0, "4", true, -0.9),
            // Problem 1: all wrong.
            t(1, 1.0, "7", false, -0.5), t(1, 2.0, nil, false, -0.4),
            // Problem 2: all right.
            t(2, 0.5, "9", true, -0.3), t(2, 0.5, "9.0", true, -0.3),
        ]
        let e = TrainSPRMEvaluation.evaluate(head: head, trajectories: set)
        XCTAssertEqual(e.problems, 3)
        XCTAssertEqual(e.trajectories, 7)
        XCTAssertEqual(e.mixedProblems, 1)
        XCTAssertEqual(e.auroc, 1.0)
        XCTAssertEqual(e.confidenceAUROC, 0.0)
        XCTAssertEqual(e.sprmSelect, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(e.confidenceSelect, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(e.majority, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(e.oracle, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(e.random, (1.0 / 3 + 0 + 1) / 3, accuracy: 1e-12)
        XCTAssertEqual(e.sampleAccuracy, 3.0 / 7, accuracy: 1e-12)
    }
}
