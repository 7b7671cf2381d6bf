import StepSearch

/// A multiplication question in a user's words, and the problem its policy is shown.
///
/// A policy trained on long multiplication knows only some operand sizes (digits of the
/// first × digits of the second number: `TaskFormat.operandDigits`). Multiplication
/// commutes and scales by powers of ten, so a question outside them maps onto one inside:
/// the operands swapped (7 × 345 → 345 × 7) and/or given trailing zeros (45 × 67 →
/// 450 × 67, answer ÷ 10). Decimals become integers the same way (3.5 × 2 → 35 × 2,
/// answer ÷ 10), and a minus sign goes back on the answer. The policy still does all of
/// the multiplying; Sprig only undoes the scaling and the sign on its final answer.
public struct MultiplicationQuestion: Sendable, Equatable {
    /// The operands the policy is shown, in order (non-negative integers).
    public var a: Int
    public var b: Int
    /// The answer is the policy's product ÷ 10^scale (trailing zeros plus decimal places).
    public var scale: Int
    /// Whether the answer is negative (exactly one operand was).
    public var negative: Bool

    /// A number as written: its digits as an integer, its decimal places and its sign.
    struct Operand: Equatable {
        var magnitude: Int
        var decimals: Int
        var negative: Bool
    }

    /// "What is 4821 * 37?", "12 times 345", "multiply -1.5 by 4" → the question's two
    /// operands; nil unless there are exactly two numbers and a multiplication word or sign.
    static func operands(in question: String) -> (Operand, Operand)? {
        if case .success(let pair) = parse(question) { return pair }
        return nil
    }

    /// Why `question` is not one this policy can be shown, for an error message (nil when it is).
    public static func problem(in question: String) -> String? {
        if case .failure(let why) = parse(question) { return why.text }
        return nil
    }

    enum Unreadable: Error {
        case numberCount(Int), tooLong(String), noOperator
        var text: String {
            switch self {
            case .numberCount(0): return "it has no numbers"
            case .numberCount(let n): return "it has \(n) number\(n == 1 ? "" : "s"), and the model multiplies exactly two"
            case .tooLong(let d): return "\(d.prefix(12))\(d.count > 12 ? "…" : "") has more than 9 significant digits"
            case .noOperator: return "it names no multiplication (*, ×, x, times, multiply, product)"
            }
        }
    }

    static func parse(_ question: String) -> Result<(Operand, Operand), Unreadable> {
        let cleaned = question.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "_", with: "")
        let chars = Array(cleaned)
        var numbers: [Operand] = []
        var i = 0
        while i < chars.count {
            guard chars[i].isASCII && chars[i].isNumber else { i += 1; continue }
            // A minus sign right before the digits, not after a digit or letter ("3-4" is a range).
            let negative = i > 0 && (chars[i - 1] == "-" || chars[i - 1] == "−")
                && (i < 2 || !(chars[i - 2].isLetter || chars[i - 2].isNumber))
            var digits = "", decimals = 0
            while i < chars.count && chars[i].isASCII && chars[i].isNumber { digits.append(chars[i]); i += 1 }
            // A decimal point needs digits after it ("4." ends a sentence).
            if i + 1 < chars.count && chars[i] == "." && chars[i + 1].isASCII && chars[i + 1].isNumber {
                i += 1
                while i < chars.count && chars[i].isASCII && chars[i].isNumber { digits.append(chars[i]); decimals += 1; i += 1 }
            }
            let significant = digits.drop { $0 == "0" }
            guard significant.count <= 9, let v = Int(digits) else { return .failure(.tooLong(String(significant))) }
            numbers.append(Operand(magnitude: v, decimals: decimals, negative: negative))
        }
        guard numbers.count == 2 else { return .failure(.numberCount(numbers.count)) }
        let lowered = cleaned.lowercased()
        let ops = ["*", "×", "x", "times", "multipl", "product", "·"]
        guard ops.contains(where: { lowered.contains($0) }) else { return .failure(.noOperator) }
        return .success((numbers[0], numbers[1]))
    }

    /// The problem for `question` given the policy's trained cells ([aMin, aMax, bMin, bMax]
    /// digit ranges; nil: any size, shown as asked). Among both orders and 0–6 trailing
    /// zeros on each operand, the cheapest that lands in a cell: a zero on the second number
    /// costs 2 (one more round of the method), on the first 1, a swap nothing; ties keep
    /// the question's order. No cell reachable: shown as asked.
    public init?(question: String, cells: [[Int]]?) {
        guard let (x, y) = Self.operands(in: question) else { return nil }
        negative = x.negative != y.negative && x.magnitude != 0 && y.magnitude != 0
        scale = x.decimals + y.decimals
        (a, b) = (x.magnitude, y.magnitude)
        guard let cells, !cells.isEmpty else { return }
        func digits(_ v: Int) -> Int { String(v).count }
        var best: (cost: Int, a: Int, b: Int, zeros: Int)?
        for (p, q) in [(a, b), (b, a)] {
            for sa in 0...6 {
                for sb in 0...6 {
                    let da = digits(p) + sa, db = digits(q) + sb
                    guard da + db <= 10, cells.contains(where: { $0.count == 4 && (($0[0])...($0[1])).contains(da)
                                                                && (($0[2])...($0[3])).contains(db) }) else { continue }
                    let cost = sa + 2 * sb
                    if best == nil || cost < best!.cost {
                        best = (cost, p * Self.power(sa), q * Self.power(sb), sa + sb)
                    }
                }
            }
        }
        if let best {
            (a, b) = (best.a, best.b)
            scale += best.zeros
        }
    }

    static func power(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }

    /// The question's answer from the policy's product (its digits): ÷ 10^scale, with the
    /// sign; trailing zeros of a fraction dropped ("70" at scale 1 → "7", "25" at 2 → "0.25").
    public func answer(fromProduct product: String) -> String {
        guard !product.isEmpty, product.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            // Not a bare integer (a chat model's own wording): only the sign can be restored.
            return negative && scale == 0 && !product.hasPrefix("-") && !product.isEmpty ? "-" + product : product
        }
        var digits = String(product.drop { $0 == "0" })
        if digits.isEmpty { digits = "0" }
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale + 1 - digits.count) + digits }
            let point = digits.index(digits.endIndex, offsetBy: -scale)
            let whole = digits[..<point]
            let fraction = digits[point...].reversed().drop { $0 == "0" }.reversed()
            digits = fraction.isEmpty ? String(whole) : whole + "." + String(fraction)
        }
        return negative && digits != "0" ? "-" + digits : digits
    }
}

/// Reads the policy's answer to the shown problem and turns it into the question's answer.
struct MultiplicationAnswerExtractor: AnswerExtractor {
    var base: FinalAnswerExtractor
    var question: MultiplicationQuestion

    func answer(in text: String) -> String? {
        base.answer(in: text).map { question.answer(fromProduct: $0) }
    }
}
