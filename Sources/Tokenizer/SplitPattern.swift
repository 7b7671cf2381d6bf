/// Hand-written scanners for the split regexes of the model families we load.
/// Each one returns, at a position, the length of the leftmost-first match the
/// regex would make there (0: no match), reproducing the regex's alternation
/// order, greedy quantifiers and backtracking. Patterns are recognised by their
/// exact text; anything else is an error rather than a guess.
struct SplitPattern: Equatable {
    enum Kind: Equatable {
        /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// Llama-3 / Qwen2: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}|
        /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` with k = 3 (Llama-3) or 1 (Qwen2, written `\p{N}`).
        case llama3(maxDigits: Int)
    }
    let kind: Kind

    static let gpt2Text = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let qwen2Text =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Text =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex's exact text, or nil when we have none.
    static func recognise(_ pattern: String) -> SplitPattern? {
        switch pattern {
        case gpt2Text: return SplitPattern(kind: .gpt2)
        case qwen2Text: return SplitPattern(kind: .llama3(maxDigits: 1))
        case llama3Text: return SplitPattern(kind: .llama3(maxDigits: 3))
        default: return nil
        }
    }

    /// Length of the match starting at `i` in `s[..<end]` (0 when none). `c` holds the classes of `s`.
    @inline(__always)
    func matchLength(_ s: UnsafeBufferPointer<Unicode.Scalar>, _ c: UnsafeBufferPointer<CharClass>, at i: Int, end: Int) -> Int {
        switch kind {
        case .gpt2: return gpt2Match(s, c, i, end)
        case let .llama3(maxDigits): return llama3Match(s, c, i, end, maxDigits)
        }
    }

    /// Length of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d` at i (0 when none).
    @inline(__always)
    private func contraction(_ s: UnsafeBufferPointer<Unicode.Scalar>, _ i: Int, _ end: Int, ignoreCase: Bool) -> Int {
        guard s[i] == "'", i + 1 < end else { return 0 }
        func fold(_ x: Unicode.Scalar) -> Unicode.Scalar {
            guard ignoreCase else { return x }
            if x.value >= 0x41 && x.value <= 0x5A { return Unicode.Scalar(x.value + 32) ?? x }
            // Unicode case folding maps LATIN SMALL LETTER LONG S to 's'.
            if x.value == 0x17F { return "s" }
            return x
        }
        let a = fold(s[i + 1])
        switch a {
        case "s", "t", "m", "d": return 2
        case "r", "v", "l":
            guard i + 2 < end else { return 0 }
            let b = fold(s[i + 2])
            if (a == "r" || a == "v") && b == "e" { return 3 }
            if a == "l" && b == "l" { return 3 }
            return 0
        default: return 0
        }
    }

    @inline(__always)
    private func run(_ c: UnsafeBufferPointer<CharClass>, from j: Int, _ end: Int, _ cls: CharClass) -> Int {
        var k = j
        while k < end && c[k] == cls { k += 1 }
        return k
    }

    /// `\s+(?!\S)|\s+` given the whitespace run [i, w).
    @inline(__always)
    private func trailingSpace(_ i: Int, _ w: Int, _ end: Int) -> Int {
        if w == end { return w - i }
        if w - i >= 2 { return w - 1 - i }  // leave the last space to prefix the next word
        return w - i
    }

    private func gpt2Match(_ s: UnsafeBufferPointer<Unicode.Scalar>, _ c: UnsafeBufferPointer<CharClass>,
                           _ i: Int, _ end: Int) -> Int {
        let n = contraction(s, i, end, ignoreCase: false)
        if n > 0 { return n }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one optional ASCII space, then a run of one class.
        let j = (s[i] == " " && i + 1 < end && c[i + 1] != .space) ? i + 1 : i
        if c[j] != .space { return run(c, from: j, end, c[j]) - i }
        return trailingSpace(i, run(c, from: i, end, .space), end)
    }

    private func llama3Match(_ s: UnsafeBufferPointer<Unicode.Scalar>, _ c: UnsafeBufferPointer<CharClass>,
                             _ i: Int, _ end: Int, _ maxDigits: Int) -> Int {
        let n = contraction(s, i, end, ignoreCase: true)
        if n > 0 { return n }
        let ci = c[i]
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if ci == .letter { return run(c, from: i, end, .letter) - i }
        let isNewline = s[i] == "\r" || s[i] == "\n"
        if ci != .number && !isNewline && i + 1 < end && c[i + 1] == .letter {
            return run(c, from: i + 1, end, .letter) - i
        }
        // `\p{N}{1,k}`
        if ci == .number {   // at most k: scanning the whole run made long digit strings quadratic
            var k = i + 1
            while k < end && k - i < maxDigits && c[k] == .number { k += 1 }
            return k - i
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let j = (s[i] == " " && i + 1 < end && c[i + 1] == .other) ? i + 1 : i
        if c[j] == .other {
            var k = run(c, from: j, end, .other)
            while k < end && (s[k] == "\r" || s[k] == "\n") { k += 1 }
            return k - i
        }
        // Whitespace run [i, w).
        let w = run(c, from: i, end, .space)
        // `\s*[\r\n]+`: backtracking ends the match just after the run's last line break.
        var k = w - 1
        while k >= i {
            if s[k] == "\r" || s[k] == "\n" { return k + 1 - i }
            k -= 1
        }
        return trailingSpace(i, w, end)
    }
}
