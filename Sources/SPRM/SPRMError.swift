/// Everything that can go wrong loading, saving or training an SPRM head.
/// Every message is one line naming the file (or input) and the problem.
public enum SPRMError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No head at `path` (a folder without `score_module.pt` / `sprm.safetensors`, or no such file).
    case notFound(path: String)
    /// The underlying checkpoint reader failed (truncated zip, bad pickle, bad header, ...).
    case checkpoint(path: String, message: String)
    /// A required tensor is absent (`key` includes any prefix that was searched).
    case missingKey(path: String, key: String)
    /// A tensor's shape disagrees with the head layout.
    case badShape(path: String, key: String, shape: [Int], expected: String)
    /// Several prefixes hold a complete head and none is unprefixed.
    case ambiguous(path: String, prefixes: [String])
    /// Writing a file failed.
    case io(path: String, what: String)
    /// Training input that cannot be used (empty set, wrong feature width, ...).
    case invalidInput(what: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no SPRM head (expected a .safetensors / .pt file, or a folder holding score_module.pt or sprm.safetensors)"
        case .checkpoint(let path, let message):
            return message.hasPrefix(path) ? "SPRM head: \(message)" : "\(path): SPRM head: \(message)"
        case .missingKey(let path, let key): return "\(path): SPRM head tensor '\(key)' is missing"
        case .badShape(let path, let key, let shape, let expected):
            return "\(path): SPRM head tensor '\(key)' has shape \(shape), expected \(expected)"
        case .ambiguous(let path, let prefixes):
            return "\(path): several SPRM heads in one file (prefixes \(prefixes)); keep one"
        case .io(let path, let what): return "\(path): cannot write: \(what)"
        case .invalidInput(let what): return "SPRM training input: \(what)"
        }
    }
}
