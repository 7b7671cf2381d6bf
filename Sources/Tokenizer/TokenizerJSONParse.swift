import Foundation
import SprigJSON

extension JSON {
    /// Parses tokenizer.json or tokenizer_config.json; a syntax error becomes
    /// `TokenizerError.invalidJSON` with the file and the byte where parsing stopped.
    static func parse(_ data: Data, path: String) throws(TokenizerError) -> JSON {
        let result: Result<JSON, JSONError> = data.withUnsafeBytes { raw in
            do throws(JSONError) {
                return .success(try JSON.parse(raw))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let e): throw .invalidJSON(path: path, offset: e.offset, reason: e.reason)
        }
    }
}
