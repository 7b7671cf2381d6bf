import Foundation

/// One question with its reference answer: a line of a JSONL problem file, as read by
/// `sprig sweep` and `sprig train-sprm`. `question` (a non-empty string) and `answer` (a
/// string or number) are required; `id` defaults to the problem's index, `level` to nil.
/// Numbers are accepted for `answer`, `id` and `level` (`"answer": 25416`, `"id": 7`);
/// other fields (a, b, solution, ...) are ignored.
public struct Problem: Sendable, Equatable {
    public var id: String
    public var level: String?
    public var question: String
    public var answer: String

    public init(id: String, level: String? = nil, question: String, answer: String) {
        self.id = id
        self.level = level
        self.question = question
        self.answer = answer
    }

    /// Reads a JSONL problem file (see `parse`).
    public static func load(path: String) throws(SprigError) -> [Problem] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw .notFound(path)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path, "cannot read the file") }
        return try parse(jsonl: data, file: path)
    }

    /// Parses JSONL; blank lines are skipped, any other bad line is an error naming
    /// `file:line`, as are a repeated id and a file without problems.
    public static func parse(jsonl data: Data, file: String) throws(SprigError) -> [Problem] {
        var out: [Problem] = []
        var seen: Set<String> = []
        let decoder = JSONDecoder()
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let at = "\(file):\(index + 1)"
            let raw: RawProblem
            do { raw = try decoder.decode(RawProblem.self, from: Data(line)) } catch {
                throw .io(at, "expected a JSON object with a string \"question\" and a string or number \"answer\"")
            }
            guard let question = raw.question, !question.isEmpty else { throw .io(at, "has no \"question\"") }
            guard let answer = raw.answer?.text else { throw .io(at, "has no \"answer\"") }
            let id = raw.id?.text ?? String(out.count)
            guard seen.insert(id).inserted else { throw .io(at, "repeats id \"\(id)\"") }
            out.append(Problem(id: id, level: raw.level?.text, question: question, answer: answer))
        }
        guard !out.isEmpty else { throw .io(file, "no problems (expected JSONL lines {\"question\": …, \"answer\": …})") }
        return out
    }

    /// The fields a problem file may set.
    private struct RawProblem: Decodable {
        var id: Scalar?
        var level: Scalar?
        var question: String?
        var answer: Scalar?
    }

    /// A JSON string or number, as text (integral numbers without a fractional part, so
    /// 4 and 4.0 both read "4"); booleans, arrays and objects are rejected.
    private struct Scalar: Decodable {
        var text: String
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { text = s; return }
            if let i = try? c.decode(Int64.self) { text = String(i); return }
            let d = try c.decode(Double.self)
            text = d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        }
    }
}
