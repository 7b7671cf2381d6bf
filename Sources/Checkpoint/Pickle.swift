/// A deliberately tiny, *safe* pickle interpreter for `torch.save` state dicts. It never
/// imports or calls anything: the few globals a state dict uses are recognised by name
/// and rebuilt as plain values; any other global or opcode is an error.
enum Pickle {
    final class Dict { var items: [(Value, Value)] = [] }
    final class List { var items: [Value] = [] }

    /// A `torch.*Storage` persistent reference: ('storage', type, key, location, numel).
    struct Storage { let typeName: String; let key: String; let numel: Int }
    /// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
    struct Tensor { let storage: Storage; let offset: Int; let size: [Int]; let stride: [Int] }

    indirect enum Value {
        case none, bool(Bool), int(Int), float(Double), string(String)
        case tuple([Value]), list(List), dict(Dict)
        case global(module: String, name: String)
        case storage(Storage), tensor(Tensor)

        var intValue: Int? { if case .int(let i) = self { return i }; return nil }
        var intTuple: [Int]? {
            guard case .tuple(let items) = self else { return nil }
            var out: [Int] = []
            for v in items { guard let i = v.intValue else { return nil }; out.append(i) }
            return out
        }
    }

    /// Globals a state dict needs; everything else is refused before it is ever "called".
    static func allowed(module: String, name: String) -> Bool {
        switch (module, name) {
        case ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
             ("torch._utils", "_rebuild_parameter"), ("builtins", "dict"):
            return true
        case ("torch", _): return name.hasSuffix("Storage") && name.count < 40
        default: return false
        }
    }

    /// Runs `bytes` and returns the value at STOP.
    static func load(_ bytes: UnsafeRawBufferPointer, path: String, entry: String) throws(CheckpointError) -> Value {
        var r = ByteReader(bytes, path: path)
        var stack: [Value] = []
        var marks: [Int] = []
        var memo: [Int: Value] = [:]
        func bad(_ what: String) -> CheckpointError { .malformed(path: path, what: "\(entry): \(what)") }
        func pop() throws(CheckpointError) -> Value {
            guard let v = stack.popLast() else { throw bad("pickle stack underflow") }
            return v
        }
        func top() throws(CheckpointError) -> Value {
            guard let v = stack.last else { throw bad("pickle stack underflow") }
            return v
        }
        func popMark() throws(CheckpointError) -> [Value] {
            guard let m = marks.popLast(), m <= stack.count else { throw bad("pickle MARK missing") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        func text(_ n: Int) throws(CheckpointError) -> String { try r.string(n, "\(entry) string") }
        func line() throws(CheckpointError) -> String {
            var bytes: [UInt8] = []
            while true {
                let b = try r.u8("\(entry) GLOBAL line")
                if b == 0x0A { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(b)
                if bytes.count > 256 { throw bad("GLOBAL name too long") }
            }
        }
        func global(_ module: String, _ name: String) throws(CheckpointError) -> Value {
            guard allowed(module: module, name: name) else {
                throw .unsupported(path: path, what: "\(entry) references \(module).\(name), which a plain state dict does not use (save model.state_dict())")
            }
            return .global(module: module, name: name)
        }

        while true {
            let op = try r.u8("\(entry) pickle opcode")
            switch op {
            case 0x80: // PROTO
                let v = try r.u8("\(entry) PROTO")
                guard v <= 5 else { throw .unsupported(path: path, what: "\(entry): pickle protocol \(v)") }
            case 0x95: try r.skip(8, "\(entry) FRAME") // FRAME: only a read-ahead hint
            case 0x2E: return try pop() // STOP
            case 0x28: marks.append(stack.count) // MARK
            case 0x7D: stack.append(.dict(Dict())) // EMPTY_DICT
            case 0x5D: stack.append(.list(List())) // EMPTY_LIST
            case 0x29: stack.append(.tuple([])) // EMPTY_TUPLE
            case 0x4E: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: try r.u32("\(entry) BININT"))))) // BININT
            case 0x4B: stack.append(.int(Int(try r.u8("\(entry) BININT1")))) // BININT1
            case 0x4D: stack.append(.int(Int(try r.u16("\(entry) BININT2")))) // BININT2
            case 0x8A: // LONG1: n-byte little-endian two's complement
                let n = Int(try r.u8("\(entry) LONG1"))
                guard n <= 8 else { throw bad("integer wider than 64 bits") }
                let raw = try r.slice(n, "\(entry) LONG1")
                var v: UInt64 = 0
                for (k, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
                if n > 0, n < 8, raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) } // sign-extend
                stack.append(.int(Int(Int64(bitPattern: v))))
            case 0x47: // BINFLOAT: 8-byte big-endian double
                stack.append(.float(Double(bitPattern: (try r.u64("\(entry) BINFLOAT")).byteSwapped)))
            case 0x58: // BINUNICODE
                let n = Int(try r.u32("\(entry) BINUNICODE"))
                stack.append(.string(try text(n)))
            case 0x8C: stack.append(.string(try text(Int(try r.u8("\(entry) SHORT_BINUNICODE"))))) // SHORT_BINUNICODE
            case 0x8D: // BINUNICODE8
                guard let n = Checked.int(try r.u64("\(entry) BINUNICODE8")) else { throw bad("string too long") }
                stack.append(.string(try text(n)))
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line()
                stack.append(try global(module, try line()))
            case 0x93: // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw bad("STACK_GLOBAL needs two strings")
                }
                stack.append(try global(module, name))
            case 0x71: memo[Int(try r.u8("\(entry) BINPUT"))] = try top() // BINPUT
            case 0x72: memo[Int(try r.u32("\(entry) LONG_BINPUT"))] = try top() // LONG_BINPUT
            case 0x94: memo[memo.count] = try top() // MEMOIZE
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let k = op == 0x68 ? Int(try r.u8("\(entry) BINGET")) : Int(try r.u32("\(entry) LONG_BINGET"))
                guard let v = memo[k] else { throw bad("memo slot \(k) is empty") }
                stack.append(v)
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popMark() // POP_MARK
            case 0x74: stack.append(.tuple(try popMark())) // TUPLE
            case 0x85: stack.append(.tuple([try pop()])) // TUPLE1
            case 0x86: // TUPLE2
                let b = try pop(); let a = try pop()
                stack.append(.tuple([a, b]))
            case 0x87: // TUPLE3
                let c = try pop(); let b = try pop(); let a = try pop()
                stack.append(.tuple([a, b, c]))
            case 0x61: // APPEND
                let v = try pop()
                guard case .list(let l) = try top() else { throw bad("APPEND on a non-list") }
                l.items.append(v)
            case 0x65: // APPENDS
                let vs = try popMark()
                guard case .list(let l) = try top() else { throw bad("APPENDS on a non-list") }
                l.items.append(contentsOf: vs)
            case 0x73: // SETITEM
                let v = try pop(); let k = try pop()
                guard case .dict(let d) = try top() else { throw bad("SETITEM on a non-dict") }
                d.items.append((k, v))
            case 0x75: // SETITEMS
                let vs = try popMark()
                guard vs.count % 2 == 0, case .dict(let d) = try top() else { throw bad("SETITEMS needs a dict and key/value pairs") }
                for k in stride(from: 0, to: vs.count, by: 2) { d.items.append((vs[k], vs[k + 1])) }
            case 0x62: // BUILD: only OrderedDict's attribute dict (`_metadata`), which is ignored
                _ = try pop()
                guard case .dict = try top() else { throw bad("BUILD on something other than a dict") }
            case 0x51: // BINPERSID
                stack.append(try persistent(try pop(), bad))
            case 0x52: // REDUCE
                let args = try pop()
                let callable = try pop()
                stack.append(try reduce(callable, args, bad))
            default:
                throw .unsupported(path: path, what: "\(entry): pickle opcode 0x\(String(op, radix: 16)) is not used by state dicts")
            }
        }

    }

    private static func persistent(_ pid: Value, _ bad: (String) -> CheckpointError) throws(CheckpointError) -> Value {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0],
              case .global("torch", let typeName) = t[1], case .string(let key) = t[2],
              let numel = t[4].intValue, numel >= 0 else {
            throw bad("persistent id is not ('storage', type, key, location, numel)")
        }
        return .storage(Storage(typeName: typeName, key: key, numel: numel))
    }

    private static func reduce(_ callable: Value, _ args: Value, _ bad: (String) -> CheckpointError) throws(CheckpointError) -> Value {
        guard case .global(let module, let name) = callable, case .tuple(let a) = args else {
            throw bad("REDUCE needs a known global and an argument tuple")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"):
            guard a.isEmpty else { throw bad("\(name) with arguments") }
            return .dict(Dict())
        case ("torch._utils", "_rebuild_tensor_v2"):
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard a.count >= 4, case .storage(let s) = a[0], let offset = a[1].intValue,
                  let size = a[2].intTuple, let stride = a[3].intTuple, size.count == stride.count else {
                throw bad("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)")
            }
            return .tensor(Tensor(storage: s, offset: offset, size: size, stride: stride))
        case ("torch._utils", "_rebuild_parameter"):
            guard let t = a.first, case .tensor = t else { throw bad("_rebuild_parameter without a tensor") }
            return t
        default:
            throw bad("\(module).\(name) cannot be called")
        }
    }
}
