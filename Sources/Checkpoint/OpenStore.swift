#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens what a user pointed at: a folder of safetensors (see `SafetensorsStore`), a GGUF file
/// (recognised by its "GGUF" magic, whatever its extension), or a safetensors file.
/// The file is mapped once and handed to the matching reader.
public func openTensorStore(path: String) throws(CheckpointError) -> any TensorStore {
    var info = stat()
    guard stat(path, &info) == 0 else { throw .fileNotFound(path: path) }
    if (info.st_mode & S_IFMT) == S_IFDIR { return try SafetensorsStore(path: path) }
    let file = try MappedFile(path: path)
    let b = file.bytes
    if b.count >= 4, b[0] == 0x47, b[1] == 0x47, b[2] == 0x55, b[3] == 0x46 { return try GGUFFile(file: file) }
    return try SafetensorsStore(file: file)
}
