/// Everything that can go wrong reading a checkpoint a user pointed Sprig at.
/// Every message is one line naming the file and the problem.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file or folder at `path`.
    case fileNotFound(path: String)
    /// The OS refused: not a regular file, permission denied, mmap failed...
    case io(path: String, what: String)
    /// The file ends before `what` is complete.
    case truncated(path: String, what: String)
    /// The bytes are not what the format says they must be.
    case malformed(path: String, what: String)
    /// A well-formed feature this reader does not implement (format version, zip compression, ...).
    case unsupported(path: String, what: String)
    /// A tensor is stored in an element type Sprig cannot use (e.g. "q4_K", "I64").
    case unsupportedType(path: String, tensor: String, typeName: String)
    /// A tensor's bytes lie (partly) outside the file or its data section, or its size disagrees with its shape.
    case outOfRange(path: String, tensor: String)
    /// The checkpoint has no tensor with that name.
    case missingTensor(path: String, name: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file or folder"
        case .io(let path, let what): return "\(path): cannot read: \(what)"
        case .truncated(let path, let what): return "\(path): file is truncated: \(what)"
        case .malformed(let path, let what): return "\(path): malformed checkpoint: \(what)"
        case .unsupported(let path, let what): return "\(path): unsupported: \(what)"
        case .unsupportedType(let path, let tensor, let typeName):
            return "\(path): tensor '\(tensor)' has unsupported element type \(typeName)"
        case .outOfRange(let path, let tensor):
            return "\(path): tensor '\(tensor)' data lies outside the file or disagrees with its shape"
        case .missingTensor(let path, let name): return "\(path): no tensor named '\(name)'"
        }
    }
}
