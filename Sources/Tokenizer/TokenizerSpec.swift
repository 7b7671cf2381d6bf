/// Everything a BPETokenizer is built from, whichever file it came from.
struct TokenizerSpec {
    /// Model vocabulary: (byte-level spelling, id); a repeated spelling keeps its first id.
    var vocab: [(String, Int32)] = []
    /// Merges in rank order as (left, right) spellings.
    var merges: [(String, String)] = []
    var ignoreMerges = false
    var unknownToken: String?
    /// Characters with no token become their bytes' `<0xXX>` tokens (SentencePiece vocabularies).
    var byteFallback = false
    /// Neighbouring unknown characters become one unknown token.
    var fuseUnknown = false
    /// SentencePiece piece scores by id (GGUF `tokenizer.ggml.scores`): when set, text is
    /// merged by score as llama.cpp's SPM tokenizer does, not by merge rank.
    var scores: [Float]?
    /// llama.cpp's `add_space_prefix`: a space before text that starts the input or follows an added token.
    var addSpacePrefix = true
    var added: [AddedToken] = []
    var normalization: [NormalizerStep] = []
    var steps: [PreTokenizerStep] = []
    var decoding = DecodeRules.byteLevel
    /// Ids the post-processor puts around a single sequence.
    var prefixIDs: [Int] = []
    var suffixIDs: [Int] = []
    var bosID: Int?
    var eosID: Int?
    /// bos/eos given by name (tokenizer_config.json); resolved once the vocabulary is built.
    var bosName: String?
    var eosName: String?
    var chatTemplate: String?

    /// Splits a merges entry written "left right" (GGUF and old tokenizer.json).
    /// The separator is the first space after the first character, as tokens
    /// never start with a raw space in a byte-level vocabulary.
    static func splitMerge(_ line: String) -> (String, String)? {
        let scalars = line.unicodeScalars
        guard let first = scalars.first else { return nil }
        var i = scalars.index(after: scalars.startIndex)
        _ = first
        while i < scalars.endIndex {
            if scalars[i] == " " {
                let left = String(scalars[scalars.startIndex..<i])
                let right = String(scalars[scalars.index(after: i)...])
                guard !right.isEmpty, !right.unicodeScalars.contains(" ") else { return nil }
                return (left, right)
            }
            i = scalars.index(after: i)
        }
        return nil
    }

    /// GGUF `tokenizer.ggml.pre` names of the Llama 3 tokenizer (which also adds a BOS by default).
    static let llama3Pre: Set<String> = ["llama-bpe", "llama3", "llama-v3"]

    /// The pre-tokenizer stages for a GGUF `tokenizer.ggml.pre` name, matching
    /// the Hugging Face tokenizer.json of that model family.
    static func stepsForGGUF(pre: String?, path: String) throws(TokenizerError)
        -> ([NormalizerStep], [PreTokenizerStep], ignoreMerges: Bool)
    {
        let byteLevelOnly = PreTokenizerStep.byteLevel(addPrefixSpace: false, useRegex: false)
        switch pre ?? "default" {
        case "default", "gpt-2", "gpt2":
            return ([], [.byteLevel(addPrefixSpace: false, useRegex: true)], false)
        case "smollm", "starcoder":
            return ([], [.digits(individual: true), .byteLevel(addPrefixSpace: false, useRegex: true)], false)
        case "qwen2", "deepseek-r1-qwen":
            return ([.nfc], [.split(SplitPattern(kind: .llama3(maxDigits: 1)), .isolated, invert: false), byteLevelOnly], false)
        case _ where llama3Pre.contains(pre ?? ""):
            return ([], [.split(SplitPattern(kind: .llama3(maxDigits: 3)), .isolated, invert: false), byteLevelOnly], true)
        case let other:
            throw .unsupported(path: path, what: "GGUF pre-tokenizer '\(other)'")
        }
    }
}
