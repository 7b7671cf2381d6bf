// libFuzzer entry point: every parser on the same input. Built together with
// Sources/Checkpoint/*.swift by run_libfuzzer.sh (-sanitize=fuzzer,address), so an
// out-of-bounds read that Swift's -O build would not trap on is caught by ASan.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let file = MappedFile(bytes: bytes, path: "fuzz")
    if let s = try? SafetensorsStore(file: file) {
        for n in s.tensorNames { _ = try? s.require(n).floats() }
    }
    if let g = try? GGUFFile(file: file) {
        for n in g.tensorNames { _ = try? g.require(n).floats() }
        _ = g.strings("tokenizer.ggml.tokens")
    }
    _ = try? TorchCheckpoint.loadStateDict(file: file)
    return 0
}
