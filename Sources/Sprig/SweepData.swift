import Foundation

/// One evaluation problem of a sweep (a line of a JSONL split). Only `question` and
/// `answer` are required; `id` defaults to the line's index, `level` to nil. Numbers are
/// accepted where strings are expected (`"answer": 25416`, `"id": 7`).
public struct SweepProblem: Sendable, Equatable {
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

    /// Parses a JSONL split; blank lines are skipped. `file` names it in errors.
    public static func parse(jsonl data: Data, file: String) throws(SprigError) -> [SweepProblem] {
        var out: [SweepProblem] = []
        var seen: Set<String> = []
        let decoder = JSONDecoder()
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let raw: RawProblem
            do { raw = try decoder.decode(RawProblem.self, from: Data(line)) } catch {
                throw .io(file, "line \(number + 1) is not a JSON object with string or number fields")
            }
            guard let question = raw.question?.text, !question.isEmpty else {
                throw .io(file, "line \(number + 1) has no \"question\"")
            }
            guard let answer = raw.answer?.text else { throw .io(file, "line \(number + 1) has no \"answer\"") }
            let id = raw.id?.text ?? String(out.count)
            guard seen.insert(id).inserted else { throw .io(file, "line \(number + 1) repeats id \"\(id)\"") }
            out.append(SweepProblem(id: id, level: raw.level?.text, question: question, answer: answer))
        }
        return out
    }

    public static func load(path: String) throws(SprigError) -> [SweepProblem] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .notFound(path) }
        return try parse(jsonl: data, file: path)
    }

    /// The fields a sweep reads; others (a, b, solution, ...) are ignored.
    private struct RawProblem: Decodable {
        var id: Scalar?
        var level: Scalar?
        var question: Scalar?
        var answer: Scalar?
    }

    /// A JSON string or number, as text (integral numbers without a fractional part).
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

/// `--shard i/n`: problem at index k belongs to shard k % n.
public struct SweepShard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public static let all = SweepShard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// "2/8" → index 2 of 8; nil when malformed or out of range.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, i >= 0, i < n else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The elements of `items` whose index % count == index, in order.
    public func select<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }
}

/// Exact-match answer checking after normalisation.
public enum AnswerCheck {
    /// Trims whitespace; for numbers, drops a leading "+", thousands separators ("1,234" /
    /// "1_234") and an all-zero fractional part ("12.0" → "12", "-0" → "0"). Other text is
    /// only trimmed (a comma in "3, 4" is not a separator).
    public static func normalize(_ raw: String) -> String {
        var t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard isNumeric(t) else { return t }
        if t.hasPrefix("+") { t.removeFirst() }
        t = t.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "_", with: "")
        if let dot = t.firstIndex(of: ".") {
            var fraction = t[t.index(after: dot)...]
            while fraction.last == "0" { fraction.removeLast() }
            t = fraction.isEmpty ? String(t[..<dot]) : String(t[..<dot]) + "." + fraction
        }
        if t.hasPrefix("-"), t.dropFirst().allSatisfy({ $0 == "0" }) { t = "0" }
        return t
    }

    public static func isCorrect(_ answer: String?, expected: String) -> Bool {
        guard let a = answer else { return false }
        return normalize(a) == normalize(expected)
    }

    /// [+-]digits with optional groups of three after "," or "_", then an optional fraction.
    static func isNumeric(_ s: String) -> Bool {
        var body = Substring(s)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return false }
        if parts.count == 2 { guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit) else { return false } }
        for separator in [",", "_"] as [Character] where whole.contains(separator) {
            let groups = whole.split(separator: separator, omittingEmptySubsequences: false)
            guard let head = groups.first, (1...3).contains(head.count), head.allSatisfy(\.isASCIIDigit),
                  groups.dropFirst().allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isASCIIDigit) }) else { return false }
            return true
        }
        return whole.allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
