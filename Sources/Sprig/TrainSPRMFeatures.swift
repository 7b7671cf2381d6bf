import Foundation

/// Sampled features of a training run, cached so another loss can be trained without
/// resampling (`sprig train-sprm --features DIR/features.bin`).
///
/// Layout (little-endian): "SPRF", u32 version (1), u32 feature width c, u32 trajectory count;
/// per trajectory: u8 split (0 train, 1 eval), u8 correct, u8 has-answer, u8 0,
/// u32 problem id, u32 token count, f64 mean log-prob, u32 answer byte count, answer UTF-8,
/// u32 step count s, s × c f32 features.
public struct TrainSPRMFeatures: Sendable {
    public var width: Int
    public var train: [SampledTrajectory]
    public var eval: [SampledTrajectory]

    public init(width: Int, train: [SampledTrajectory], eval: [SampledTrajectory]) {
        self.width = width
        self.train = train
        self.eval = eval
    }

    static let magic: [UInt8] = Array("SPRF".utf8)

    public func encoded() -> [UInt8] {
        var out = Self.magic
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out.append(contentsOf: $0) } }
        u32(1); u32(width); u32(train.count + eval.count)
        for (split, set) in [(0, train), (1, eval)] {
            for t in set {
                let answer = Array((t.answer ?? "").utf8)
                out += [UInt8(split), t.correct ? 1 : 0, t.answer == nil ? 0 : 1, 0]
                u32(t.problemID); u32(t.tokenCount)
                withUnsafeBytes(of: t.meanLogProb.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                u32(answer.count); out += answer
                u32(t.features.count)
                for f in t.features {
                    precondition(f.count == width, "TrainSPRMFeatures: feature width \(f.count) != \(width)")
                    for v in f { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                }
            }
        }
        return out
    }

    public func write(to path: String) throws(SprigError) {
        do { try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io(path, "cannot write the features file: \(error.localizedDescription)")
        }
    }

    public static func read(path: String) throws(SprigError) -> TrainSPRMFeatures {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { throw .notFound(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path, "cannot read the file") }
        return try decode(Array(data), path: path)
    }

    static func decode(_ b: [UInt8], path: String) throws(SprigError) -> TrainSPRMFeatures {
        var at = 0
        func need(_ n: Int) throws(SprigError) {
            guard n >= 0, b.count - at >= n else { throw .io(path, "truncated features file (at byte \(at))") }
        }
        func u8() throws(SprigError) -> UInt8 { try need(1); at += 1; return b[at - 1] }
        func u32() throws(SprigError) -> Int {
            try need(4)
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(b[at + i]) << (8 * UInt32(i)) }
            at += 4
            return Int(v)
        }
        func u64() throws(SprigError) -> UInt64 {
            try need(8)
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        try need(4)
        guard Array(b[0..<4]) == magic else { throw .io(path, "not a features file written by sprig train-sprm") }
        at = 4
        let version = try u32()
        guard version == 1 else { throw .io(path, "features file version \(version) is not supported (expected 1)") }
        let width = try u32(), count = try u32()
        guard width >= 1 else { throw .io(path, "features file has feature width 0") }
        var result = TrainSPRMFeatures(width: width, train: [], eval: [])
        for _ in 0..<count {
            let split = try u8(), correct = try u8(), hasAnswer = try u8()
            _ = try u8()
            guard split <= 1 else { throw .io(path, "bad split byte \(split) at byte \(at - 4)") }
            let problem = try u32(), tokens = try u32()
            let meanLogProb = Double(bitPattern: try u64())
            let answerCount = try u32()
            try need(answerCount)
            let answer = String(decoding: b[at..<(at + answerCount)], as: UTF8.self)
            at += answerCount
            let steps = try u32()
            let (total, overflow) = steps.multipliedReportingOverflow(by: 4 * width)
            guard !overflow else { throw .io(path, "truncated features file (at byte \(at))") }
            try need(total)
            var features: [[Float]] = []
            features.reserveCapacity(steps)
            for _ in 0..<steps {
                var f = [Float](repeating: 0, count: width)
                for j in 0..<width {
                    var v: UInt32 = 0
                    for i in 0..<4 { v |= UInt32(b[at + i]) << (8 * UInt32(i)) }
                    at += 4
                    f[j] = Float(bitPattern: v)
                }
                features.append(f)
            }
            let t = SampledTrajectory(problemID: problem, features: features, answer: hasAnswer == 1 ? answer : nil,
                                      correct: correct == 1, tokenCount: tokens, meanLogProb: meanLogProb)
            if split == 0 { result.train.append(t) } else { result.eval.append(t) }
        }
        guard at == b.count else { throw .io(path, "\(b.count - at) trailing bytes after the last trajectory") }
        return result
    }
}
