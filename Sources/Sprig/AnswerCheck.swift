import Foundation

/// Final-answer comparison (sweep correctness and train-sprm outcome labels): exact match
/// after `normalize`.
public enum AnswerCheck {
    /// Trimmed and lower-cased, a `\boxed{…}` wrapper, `$` signs and trailing ".;:!" removed.
    /// Numbers are then made canonical: a leading "+", leading zeros ("0042"), thousands
    /// separators ("1,234" / "1_234") and an all-zero fractional part go ("12.0" → "12", "-0" → "0"). A comma that
    /// is not a thousands separator stays ("3, 4", "12,34").
    public static func normalize(_ raw: String) -> String {
        var t = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if t.hasPrefix("\\boxed{") && t.hasSuffix("}") { t = String(t.dropFirst(7).dropLast()) }
        t = t.replacingOccurrences(of: "$", with: "")
        while let last = t.last, ".;:!".contains(last) { t.removeLast() }
        t = t.trimmingCharacters(in: .whitespacesAndNewlines)
        guard isNumeric(t) else { return t }
        if t.hasPrefix("+") { t.removeFirst() }
        t = t.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "_", with: "")
        if let dot = t.firstIndex(of: ".") {
            var fraction = t[t.index(after: dot)...]
            while fraction.last == "0" { fraction.removeLast() }
            t = fraction.isEmpty ? String(t[..<dot]) : String(t[..<dot]) + "." + fraction
        }
        t = stripLeadingZeros(t)
        if t.hasPrefix("-"), t.dropFirst().allSatisfy({ $0 == "0" }) { t = "0" }
        return t
    }

    /// "0042" → "42", "-007.5" → "-7.5", "000" → "0": leading zeros do not change a number
    /// (a model may write its answer zero-padded, as the default model's scratchpad does).
    /// `s` is a plain number: an optional "-" and digits with at most one ".".
    static func stripLeadingZeros(_ s: String) -> String {
        let negative = s.hasPrefix("-")
        var body = Substring(negative ? String(s.dropFirst()) : s)
        while body.count > 1, body.first == "0", body.dropFirst().first?.isASCIIDigit == true { body = body.dropFirst() }
        return (negative ? "-" : "") + body
    }

    /// Whether an extracted answer equals the expected one after `normalize`; nil never matches.
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
