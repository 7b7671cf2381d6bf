import Foundation

/// How a split keeps the pieces a pattern matches (Hugging Face's SplitDelimiterBehavior).
enum SplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// One stage of the pre-tokenizer pipeline; each stage splits every piece the
/// previous stage produced.
enum PreTokenizerStep: Equatable {
    case split(SplitPattern, SplitBehavior, invert: Bool)
    /// Numbers (general category N*) alone (individual) or as runs.
    case digits(individual: Bool)
    /// Byte-level stage: optional prefix space per piece, optional GPT-2 regex split.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// SentencePiece's space marker (Hugging Face's Metaspace): spaces become `replacement`,
    /// which is put before a piece that lacks it (`prepend`), and pieces may be split before
    /// every marker (the marker joins the piece after it).
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
}

/// When Metaspace puts its marker before a piece: always, only before the piece that
/// starts the input (Hugging Face's "first": not after an added token), or never.
enum PrependScheme: String {
    case always, first, never
}

/// One normaliser of Hugging Face's pipeline, applied in order before splitting.
enum NormalizerStep: Equatable {
    case nfc
    /// Puts the text before a non-empty input (SentencePiece's dummy prefix, "▁").
    case prepend(String)
    /// Replaces every occurrence of a literal string (Llama's " " → "▁").
    case replace(String, with: String)
}

/// Turns normalised text into pre-tokens: the word-like pieces BPE sees.
struct PreTokenizer {
    let normalization: [NormalizerStep]
    let steps: [PreTokenizerStep]

    /// `text` through the normalisers in order.
    static func normalize(_ text: Substring, _ steps: [NormalizerStep]) -> String {
        var s = String(text)
        for step in steps {
            switch step {
            case .nfc: s = nfc(s[...])
            case let .prepend(p): if !s.isEmpty { s = p + s }
            case let .replace(pattern, with):
                if !pattern.isEmpty, s.contains(pattern) { s = s.replacingOccurrences(of: pattern, with: with) }
            }
        }
        return s
    }

    /// The pre-tokens of already-normalised `text` as half-open ranges into its scalars
    /// (which a ByteLevel prefix space or a Metaspace marker may have extended). `atStart`:
    /// the text begins the input (no added token before it), for Metaspace's "first".
    func split(_ text: Substring, atStart: Bool = true) -> (scalars: [Unicode.Scalar], ranges: [Range<Int>]) {
        var scalars = Array(text.unicodeScalars)
        var classes = scalars.map { CharClass.of($0) }
        // Pieces as half-open ranges [a, b) into `scalars`.
        var ranges: [Range<Int>] = [0..<scalars.count]
        for step in steps {
            switch step {
            case let .split(pattern, behavior, invert):
                ranges = Self.split(ranges, scalars, classes, behavior: behavior, invert: invert) {
                    s, c, i, end in pattern.matchLength(s, c, at: i, end: end)
                }
            case let .digits(individual):
                ranges = Self.split(ranges, scalars, classes, behavior: individual ? .isolated : .contiguous,
                                    invert: false) { _, c, i, _ in c[i] == .number ? 1 : 0 }
            case let .byteLevel(addPrefixSpace, useRegex):
                if addPrefixSpace {
                    Self.prefixMarker(" ", firstOnly: false, &ranges, &scalars, &classes)
                }
                if useRegex {
                    let gpt2 = SplitPattern(kind: .gpt2)
                    ranges = Self.split(ranges, scalars, classes, behavior: .isolated, invert: false) {
                        s, c, i, end in gpt2.matchLength(s, c, at: i, end: end)
                    }
                }
            case let .metaspace(replacement, prepend, split):
                let marker = CharClass.of(replacement)
                for i in scalars.indices where scalars[i] == " " {
                    scalars[i] = replacement
                    classes[i] = marker
                }
                if prepend == .always || (prepend == .first && atStart) {
                    Self.prefixMarker(replacement, firstOnly: prepend == .first, &ranges, &scalars, &classes)
                }
                if split {
                    ranges = Self.split(ranges, scalars, classes, behavior: .mergedWithNext, invert: false) {
                        s, _, i, _ in s[i] == replacement ? 1 : 0
                    }
                }
            }
        }
        return (scalars, ranges)
    }

    /// Appends the UTF-8 of each pre-token of already-normalised `text` to `out` (pieces in order).
    func pieces(_ text: Substring, atStart: Bool = true, into out: inout [[UInt8]]) {
        guard !text.isEmpty else { return }
        let (scalars, ranges) = split(text, atStart: atStart)
        for r in ranges {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(r.count)
            for i in r { Self.appendUTF8(scalars[i], to: &bytes) }
            out.append(bytes)
        }
    }

    /// Unicode NFC by the standard library's normaliser (Foundation's, on Linux, composed a
    /// supplementary-plane character with a following mark by its low 16 bits: U+20041 U+0300
    /// became 'À'). The standard library leaves unsorted the marks of the three characters
    /// of class 0 that decompose into marks (U+0F73, U+0F75, U+0F81); they never recompose
    /// (composition exclusions), so they are decomposed here first.
    static func nfc(_ text: Substring) -> String {
        // ASCII is already in NFC.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return String(text) }
        var s = String(text)
        if s.unicodeScalars.contains(where: { (0x0F73...0x0F81).contains($0.value) && tibetanVowels[$0.value] != nil }) {
            var scalars = String.UnicodeScalarView()
            for u in s.unicodeScalars {
                if let (a, b) = tibetanVowels[u.value] {
                    scalars.append(Unicode.Scalar(a)!)
                    scalars.append(Unicode.Scalar(b)!)
                } else {
                    scalars.append(u)
                }
            }
            s = String(scalars)
        }
        return String(decoding: s._nfcCodeUnits, as: UTF8.self)
    }

    /// Canonical decompositions of the class-0 characters whose parts are marks (UnicodeData.txt).
    private static let tibetanVowels: [UInt32: (UInt32, UInt32)] = [
        0x0F73: (0x0F71, 0x0F72), 0x0F75: (0x0F71, 0x0F74), 0x0F81: (0x0F71, 0x0F80),
    ]

    @inline(__always)
    static func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        let v = s.value
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// `marker` before every piece that does not start with it, or (`firstOnly`) before the
    /// piece at the start of the text only: Hugging Face's ByteLevel(add_prefix_space) with a
    /// space, Metaspace's prepend with its marker. Rebuilds the scalar buffer.
    static func prefixMarker(_ marker: Unicode.Scalar, firstOnly: Bool, _ ranges: inout [Range<Int>],
                             _ scalars: inout [Unicode.Scalar], _ classes: inout [CharClass]) {
        var newScalars: [Unicode.Scalar] = [], newClasses: [CharClass] = [], newRanges: [Range<Int>] = []
        newScalars.reserveCapacity(scalars.count + ranges.count)
        for r in ranges {
            let start = newScalars.count
            let eligible = !firstOnly || r.lowerBound == 0
            if eligible && (r.isEmpty || scalars[r.lowerBound] != marker) {
                newScalars.append(marker)
                newClasses.append(CharClass.of(marker))
            }
            newScalars.append(contentsOf: scalars[r])
            newClasses.append(contentsOf: classes[r])
            newRanges.append(start..<newScalars.count)
        }
        scalars = newScalars
        classes = newClasses
        ranges = newRanges
    }

    /// Splits each range by a matcher returning the match length at a position
    /// (0: none), then keeps matches and gaps according to `behavior`.
    static func split(_ ranges: [Range<Int>], _ scalars: [Unicode.Scalar], _ classes: [CharClass],
                      behavior: SplitBehavior, invert: Bool,
                      match: (UnsafeBufferPointer<Unicode.Scalar>, UnsafeBufferPointer<CharClass>, Int, Int) -> Int)
        -> [Range<Int>]
    {
        var out: [Range<Int>] = []
        out.reserveCapacity(ranges.count * 4)
        scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                // Segments of one range: (range, isMatch) covering it in order.
                var segments: [(Range<Int>, Bool)] = []
                for r in ranges where !r.isEmpty {
                    segments.removeAll(keepingCapacity: true)
                    var i = r.lowerBound
                    var gapStart = i
                    while i < r.upperBound {
                        let n = match(s, c, i, r.upperBound)
                        if n > 0 {
                            if gapStart < i { segments.append((gapStart..<i, invert)) }
                            segments.append((i..<(i + n), !invert))
                            i += n
                            gapStart = i
                        } else {
                            i += 1
                        }
                    }
                    if gapStart < r.upperBound { segments.append((gapStart..<r.upperBound, invert)) }
                    apply(behavior, segments, into: &out)
                }
            }
        }
        return out
    }

    private static func apply(_ behavior: SplitBehavior, _ segments: [(Range<Int>, Bool)], into out: inout [Range<Int>]) {
        switch behavior {
        case .isolated:
            for (r, _) in segments { out.append(r) }
        case .removed:
            for (r, isMatch) in segments where !isMatch { out.append(r) }
        case .mergedWithPrevious:
            // A match joins the piece before it unless that piece was itself a match.
            let first = out.count
            var previousMatch = false
            for (r, isMatch) in segments {
                if isMatch && !previousMatch, out.count > first, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            // A match joins the piece after it unless that piece is itself a match.
            let first = out.count
            var nextMatch = false
            for (r, isMatch) in segments.reversed() {
                if isMatch && !nextMatch, out.count > first, let last = out.last {
                    out[out.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    out.append(r)
                }
                nextMatch = isMatch
            }
            out[first...].reverse()
        case .contiguous:
            // Neighbouring segments of the same kind join: runs of matches, and with
            // `invert` (where each match is a lone non-match segment) runs of those.
            let first = out.count
            var previousMatch = false
            for (r, isMatch) in segments {
                if isMatch == previousMatch, out.count > first, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        }
    }
}
