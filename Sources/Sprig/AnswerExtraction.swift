import Foundation
import StepSearch

/// The final answer of a reasoning trajectory, the way users of such models read it:
/// the last `\boxed{…}`; else an explicit "answer is / Answer: / ####" marker; else,
/// after `</think>` when present, the last number (or the first non-empty line).
/// With `reversedDigits` (a model that writes numbers least significant digit
/// first, see `TaskFormat.answerDigits`): the first number after `</think>`, read back.
public struct FinalAnswerExtractor: AnswerExtractor {
    public var reversedDigits: Bool

    public init(reversedDigits: Bool = false) { self.reversedDigits = reversedDigits }

    public func answer(in text: String) -> String? {
        if reversedDigits { return Self.reversedAnswer(in: text) }
        if let boxed = BoxedAnswerExtractor().answer(in: text) { return Self.clean(boxed) }
        var tail = Substring(text)
        if let close = text.lastRange(of: "</think>") { tail = text[close.upperBound...] }
        for marker in ["####", "answer is", "Answer:", "answer:"] {
            if let r = tail.lastRange(of: marker) {
                let after = tail[r.upperBound...]
                if let n = Self.lastNumber(in: after.prefix(80)) { return n }
                let line = after.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                let t = Self.clean(line)
                if !t.isEmpty { return t }
            }
        }
        if let n = Self.lastNumber(in: tail) { return n }
        if tail.startIndex != text.startIndex {
            return tail.split(whereSeparator: \.isNewline).map { Self.clean(String($0)) }.first { !$0.isEmpty }
        }
        return nil
    }

    /// "</think>\n7738710000" → "178377"; nil without `</think>` or a digit right after it.
    static func reversedAnswer(in text: String) -> String? {
        var bytes = text
        if let answer = bytes.withUTF8({ reversedAnswerASCII($0) }) { return answer }
        return reversedAnswerScalars(in: text)
    }

    /// `reversedAnswer` over UTF-8 bytes, for text whose bytes before the digits are ASCII
    /// (a search reads every finished node's answer; the scalar loop's Unicode property
    /// lookups made that most of MCTS's own time). nil: a non-ASCII byte where whitespace may
    /// be skipped (it may be Unicode whitespace), left to the scalar loop; .some(nil): no answer.
    static func reversedAnswerASCII(_ b: UnsafeBufferPointer<UInt8>) -> String?? {
        guard let start = lastStart(of: thinkClose, in: b) else { return .some(nil) }
        var i = start + thinkClose.count
        while i < b.count, b[i] == 0x20 || (b[i] >= 0x09 && b[i] <= 0x0D) { i += 1 }
        if i < b.count && b[i] >= 0x80 { return nil }
        var j = i
        while j < b.count && b[j] >= 0x30 && b[j] <= 0x39 { j += 1 }
        guard j > i else { return .some(nil) }
        // The digits reversed, without leading zeros (one zero stays).
        var digits = Array(b[i..<j].reversed())
        let zeros = digits.prefix(while: { $0 == 0x30 }).count
        digits.removeFirst(min(zeros, digits.count - 1))
        return .some(String(decoding: digits, as: UTF8.self))
    }

    static func reversedAnswerScalars(in text: String) -> String? {
        guard let close = text.lastRange(of: "</think>") else { return nil }
        // A byte loop: the generic drop/prefix/reversed views instantiated runtime metadata
        // on first use, inside a short search's timed window.
        var digits: [UInt8] = []
        for u in text.unicodeScalars[close.upperBound...] {
            if digits.isEmpty && u.properties.isWhitespace { continue }
            guard u.value >= 0x30 && u.value <= 0x39 else { break }
            digits.append(UInt8(u.value))
        }
        digits.reverse()
        return digits.isEmpty ? nil : AnswerCheck.stripLeadingZeros(String(decoding: digits, as: UTF8.self))
    }

    /// The last integer or decimal in `s` (thousands separators and leading zeros removed, sign kept).
    static func lastNumber(in s: Substring) -> String? {
        var best: String? = nil
        var current = ""
        var previous: Character = " "
        for ch in s {
            if ch.isASCII && ch.isNumber {
                if current.isEmpty && previous == "-" { current = "-" }
                current.append(ch)
            } else if (ch == "." || ch == ",") && !current.isEmpty && current.last?.isNumber == true {
                current.append(ch)
            } else {
                if let n = finish(current) { best = n }
                current = ""
            }
            previous = ch
        }
        if let n = finish(current) { best = n }
        return best
    }

    private static func finish(_ raw: String) -> String? {
        var t = raw
        while let last = t.last, last == "." || last == "," { t.removeLast() }
        t = t.replacingOccurrences(of: ",", with: "")
        return t.contains(where: \.isNumber) ? AnswerCheck.stripLeadingZeros(t) : nil
    }

    static func clean(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        while let last = t.last, ".;:".contains(last) { t.removeLast() }
        return t.replacingOccurrences(of: "$", with: "").trimmingCharacters(in: .whitespaces)
    }
}

extension StringProtocol {
    /// The last occurrence of `needle`'s exact bytes. Not Foundation's `range(of:options:
    /// .backwards)`: on Linux it bridges to NSString, ~0.3 ms at its first call, inside a
    /// 0.1 s search's timed window.
    func lastRange(of needle: String) -> Range<String.Index>? {
        let pat = Array(needle.utf8)
        guard let i = lastStart(of: pat, in: Array(utf8)) else { return nil }
        let lo = utf8.index(utf8.startIndex, offsetBy: i)
        return lo..<utf8.index(lo, offsetBy: pat.count)
    }
}

/// `</think>`'s bytes.
let thinkClose = Array("</think>".utf8)

/// Where the last occurrence of `pat` in `hay` starts; nil for none or an empty `pat`.
func lastStart<C: RandomAccessCollection>(of pat: [UInt8], in hay: C) -> Int? where C.Element == UInt8, C.Index == Int {
    guard !pat.isEmpty, hay.count >= pat.count else { return nil }
    var i = hay.startIndex + hay.count - pat.count
    while i >= hay.startIndex {
        if hay[i] == pat[0] && hay[i..<(i + pat.count)].elementsEqual(pat) { return i - hay.startIndex }
        i -= 1
    }
    return nil
}
