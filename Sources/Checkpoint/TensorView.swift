/// Element encodings Sprig reads. Q4_0, Q4_1 and Q8_0 (blocks of 32) are computed in as
/// stored; Q5_0, Q5_1 and the k-quants Q2_K … Q6_K (blocks of 256, `KQuants`) and the
/// half-precision floats are expanded to f32 at load.
public enum TensorType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q4_0, q4_1, q8_0
    case q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K

    /// Weights per block (1 for plain floats).
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0, .q5_0, .q5_1: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block: q4_0 = f16 d + 16 nibble bytes; q4_1 = f16 d, f16 m + 16; q8_0 = f16 d + 32 int8;
    /// the others as in `KQuants`.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        case .q5_0: return 22
        case .q5_1: return 24
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    /// Bytes holding `elements` weights; nil when `elements` is not a whole number of blocks or overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        return Checked.mul(elements / blockElements, blockBytes)
    }
}

/// A tensor's raw bytes inside a mapped file, plus what is needed to decode them.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    /// Row-major, outermost first (PyTorch order).
    public let shape: [Int]
    /// Raw bytes inside the mapping; for quantized types the block stream, rows of `shape.last` weights.
    public let data: UnsafeRawBufferPointer
    /// Keeps the mapping (and so `data`) alive.
    public let file: MappedFile

    /// Callers (the parsers) have already checked `data.count == type.byteCount(elements: product(shape))`.
    init(name: String, type: TensorType, shape: [Int], data: UnsafeRawBufferPointer, file: MappedFile) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
        self.file = file
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// All weights as f32, row-major.
    public func floats() throws(CheckpointError) -> [Float] {
        let n = elementCount
        return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            if let base = buf.baseAddress { dequantize(into: base) }
            initialized = n
        }
    }

    /// Writes `elementCount` f32 weights, row-major, to `out`.
    public func dequantize(into out: UnsafeMutablePointer<Float>) {
        let n = elementCount
        guard n > 0, let src = data.baseAddress else { return }
        precondition(data.count == type.byteCount(elements: n), "TensorView \(name): byte size checked at parse time")
        Self.decode(type, src, n, out)
    }

    /// Elements per row (`shape.last`; 1 for a scalar).
    public var rowLength: Int { shape.last ?? 1 }
    /// Rows (`elementCount / rowLength`).
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }

    /// Writes rows [rows.lowerBound, rows.upperBound) as f32 to `out` (count: rows.count * rowLength),
    /// e.g. a few token-embedding rows without decoding the whole table. Rows are whole blocks
    /// (GGUF quantized rows are multiples of 32 weights; checked at parse time).
    public func dequantize(rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "TensorView \(name): rows \(rows) of \(rowCount)")
        guard !rows.isEmpty, let src = data.baseAddress,
              let rowBytes = type.byteCount(elements: rowLength) else { return }
        Self.decode(type, src + rows.lowerBound * rowBytes, rows.count * rowLength, out)
    }

    /// Decodes `n` weights (a whole number of blocks) starting at `src`.
    static func decode(_ type: TensorType, _ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            // Unaligned-safe copy: safetensors offsets need not be 4-byte aligned.
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: n * 4)
        case .f16:
            for i in 0..<n { out[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<n {
                out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q4_0:
            for b in 0..<(n / 32) {
                let blk = src + b * 18
                let d = halfToFloat(blk.loadUnaligned(as: UInt16.self))
                let o = out + b * 32
                for j in 0..<16 {
                    let q = blk.load(fromByteOffset: 2 + j, as: UInt8.self)
                    o[j] = Float(Int(q & 0x0F) - 8) * d
                    o[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<(n / 32) {
                let blk = src + b * 20
                let d = halfToFloat(blk.loadUnaligned(as: UInt16.self))
                let m = halfToFloat(blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                let o = out + b * 32
                for j in 0..<16 {
                    let q = blk.load(fromByteOffset: 4 + j, as: UInt8.self)
                    o[j] = Float(q & 0x0F) * d + m
                    o[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q8_0:
            for b in 0..<(n / 32) {
                let blk = src + b * 34
                let d = halfToFloat(blk.loadUnaligned(as: UInt16.self))
                let o = out + b * 32
                for j in 0..<32 { o[j] = Float(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        case .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            let bytes = type.blockBytes, per = type.blockElements
            for b in 0..<(n / per) {
                let blk = src + b * bytes, o = out + b * per
                switch type {
                case .q5_0: KQuants.q5(blk, hasMin: false, o)
                case .q5_1: KQuants.q5(blk, hasMin: true, o)
                case .q2_K: KQuants.q2K(blk, o)
                case .q3_K: KQuants.q3K(blk, o)
                case .q4_K: KQuants.q45K(blk, fifthBit: false, o)
                case .q5_K: KQuants.q45K(blk, fifthBit: true, o)
                default: KQuants.q6K(blk, o)
                }
            }
        }
    }
}

/// IEEE half (binary16) bits to Float, including subnormals, infinities and NaN.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    if exp == 0 {
        // Zero or subnormal: mant * 2^-24, exact in Float.
        let v = Float(mant) * 5.960_464_5e-8
        return sign != 0 ? -v : v
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// Where tensors come from: a safetensors file/folder or a GGUF file.
public protocol TensorStore: AnyObject {
    /// The file or folder this store was opened from.
    var path: String { get }
    /// Names of the tensors `tensor(_:)` can return (supported element types only), sorted.
    var tensorNames: [String] { get }
    /// The named tensor, or nil when it is absent or of an unsupported type (see `require`).
    func tensor(_ name: String) -> TensorView?
    /// The named tensor, or a typed error saying why not (`missingTensor`, `unsupportedType`).
    func require(_ name: String) throws(CheckpointError) -> TensorView
}

extension TensorStore {
    public func require(_ name: String) throws(CheckpointError) -> TensorView {
        guard let t = tensor(name) else { throw .missingTensor(path: path, name: name) }
        return t
    }
}
