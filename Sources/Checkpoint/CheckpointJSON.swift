import SprigJSON

extension JSON {
    /// Parses a safetensors header or index file; a syntax error becomes
    /// `CheckpointError.malformed` naming the file, `what` was parsed and the byte offset.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String, what: String) throws(CheckpointError) -> JSON {
        do throws(JSONError) {
            return try JSON.parse(bytes)
        } catch {
            throw .malformed(path: path, what: "\(what) is not valid JSON (\(error.reason) at byte \(error.offset))")
        }
    }
}
