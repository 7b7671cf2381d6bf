/// Everything that can go wrong while reading a tokenizer. Each message is one
/// line naming the file and the problem.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not well-formed JSON; `offset` is the byte where parsing stopped.
    case invalidJSON(path: String, offset: Int, reason: String)
    /// A required field is absent or has the wrong JSON type.
    case missingField(path: String, field: String)
    /// The tokenizer uses a model, normalizer, pre-tokenizer, decoder or post-processor we do not implement.
    case unsupported(path: String, what: String)
    /// A split regex we do not have a scanner for; tokenising with a guess would silently be wrong.
    case unknownPattern(path: String, pattern: String)
    /// A merge names a token that is not in the vocabulary, or whose concatenation is not.
    case badMerge(path: String, merge: String)
    /// Vocabulary ids are not a permutation of 0..<n, or arrays disagree in length.
    case badVocabulary(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read: \(reason)"
        case let .invalidJSON(path, offset, reason):
            return "\(path): invalid JSON at byte \(offset): \(reason)"
        case let .missingField(path, field):
            return "\(path): missing or mistyped field '\(field)'"
        case let .unsupported(path, what):
            return "\(path): unsupported \(what)"
        case let .unknownPattern(path, pattern):
            return "\(path): no scanner for pre-tokenizer pattern \(pattern.debugDescription)"
        case let .badMerge(path, merge):
            return "\(path): merge \(merge.debugDescription) refers to tokens missing from the vocabulary"
        case let .badVocabulary(path, reason):
            return "\(path): bad vocabulary: \(reason)"
        }
    }
}
