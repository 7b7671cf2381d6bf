import Foundation

/// BPE tokenizer reproducing Hugging Face `tokenizers` for the byte-level GPT-2 / Llama-3 /
/// Qwen2 / SmolLM2 families and SentencePiece-style vocabularies (Llama 2, Mistral; and
/// llama.cpp's score-merging SPM tokenizer for their GGUF files). Immutable after loading except
/// for an internal word cache (locked), so it can be shared across threads.
public final class BPETokenizer: @unchecked Sendable {
    let model: BPEModel
    /// GGUF SentencePiece vocabularies: merged by score, llama.cpp's way (then `model` is unused).
    let spm: SPMModel?
    let preTokenizer: PreTokenizer
    let decoding: DecodeRules
    /// Added tokens matched in the raw input, then those matched after normalisation.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    /// All added tokens, in file order.
    public let addedTokens: [AddedToken]
    private let addedByContent: [String: Int]
    private let specialIDs: Set<Int>
    /// Bytes of token `id` are tokenBytes[offsets[id]..<offsets[id + 1]]; [vocabSize + 1].
    private let bytesFlat: [UInt8]
    private let offsets: [Int32]
    /// [vocabSize] the byte of each `<0xXX>` token under a ByteFallback decoder, −1 for
    /// other tokens; empty when the decoder has no ByteFallback (runs of byte tokens are
    /// then plain bytes, or spellings).
    private let fallbackBytes: [Int16]

    /// One more than the highest id of the vocabulary or of an added token
    /// (Hugging Face's vocabulary size with added tokens; a model's embedding may be larger).
    public let vocabSize: Int
    public let eosID: Int?
    public let bosID: Int?
    /// Ids that end generation: eos plus `<|im_end|>`, `<|endoftext|>`, `<|eot_id|>` when present.
    public let stopIDs: Set<Int>
    /// The model's chat template (Jinja text), when the files carry one.
    public let chatTemplate: String?
    /// The system message the chat template inserts when none is given, if any.
    public let defaultSystemPrompt: String?
    /// The chat template's family (what `chatPrompt` writes).
    let chatFormat: ChatFormat

    /// From a Hugging Face tokenizer.json and, when given, the tokenizer_config.json
    /// beside it (chat template, bos/eos names). `path` is used in error messages.
    public convenience init(tokenizerJSON: Data, configJSON: Data?, path: String) throws(TokenizerError) {
        let spec = try TokenizerJSONReader.read(tokenizerJSON: tokenizerJSON, configJSON: configJSON, path: path)
        try self.init(spec: spec, path: path)
    }

    /// Loads `tokenizer.json` at `url`, with `tokenizer_config.json` from the same folder when present.
    public convenience init(contentsOf url: URL) throws(TokenizerError) {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let config = try? Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json"))
        try self.init(tokenizerJSON: data, configJSON: config, path: path)
    }

    /// From GGUF metadata arrays: `tokenizer.ggml.tokens`, `.merges` ("a b"),
    /// `.token_type` (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    /// 6 byte), `.pre`, bos/eos ids and `tokenizer.chat_template`. Control tokens
    /// become special added tokens and user-defined ones plain added tokens, as
    /// in the model's tokenizer.json. `addBOS` / `addEOS` (`tokenizer.ggml.add_bos_token`,
    /// `add_eos_token`) put those tokens around an encoding, as llama.cpp does; when the file
    /// does not say, a BOS is added for the Llama 3 pre-tokenizer only (llama.cpp's default,
    /// and what Llama 3's tokenizer.json post-processor does).
    ///
    /// `scores` (`tokenizer.ggml.scores`) marks a SentencePiece vocabulary (`tokenizer.ggml.model`
    /// "llama"): text is merged by piece score as llama.cpp does, with a space before text that
    /// starts the input or follows an added token (`addSpacePrefix`, llama.cpp's default true),
    /// a BOS by default, and the unknown token (type 2) matched in text like a control token.
    public convenience init(ggufTokens: [String], merges: [String], tokenTypes: [Int], pre: String?,
                            bosID: Int?, eosID: Int?, addBOS: Bool? = nil, addEOS: Bool? = nil,
                            scores: [Float]? = nil, addSpacePrefix: Bool? = nil,
                            chatTemplate: String?, path: String) throws(TokenizerError) {
        guard tokenTypes.isEmpty || tokenTypes.count == ggufTokens.count else {
            throw .badVocabulary(path: path, reason: "\(ggufTokens.count) tokens but \(tokenTypes.count) token types")
        }
        if let scores, scores.count != ggufTokens.count {
            throw .badVocabulary(path: path, reason: "\(ggufTokens.count) tokens but \(scores.count) scores")
        }
        var spec = TokenizerSpec()
        guard ggufTokens.count < 1 << 30 else { throw .badVocabulary(path: path, reason: "too many tokens") }
        spec.vocab = ggufTokens.enumerated().map { ($0.element, Int32($0.offset)) }
        spec.merges.reserveCapacity(merges.count)
        for line in merges {
            guard let pair = TokenizerSpec.splitMerge(line) else { throw .badMerge(path: path, merge: line) }
            spec.merges.append(pair)
        }
        let specialTypes: Set<Int> = scores == nil ? [3] : [2, 3]
        for (id, type) in tokenTypes.enumerated() where specialTypes.contains(type) || type == 4 {
            spec.added.append(AddedToken(id: id, content: ggufTokens[id], special: type != 4))
        }
        if let scores {
            spec.scores = scores
            spec.addSpacePrefix = addSpacePrefix ?? true
            spec.decoding = .sentencePiece
        } else {
            let (normalization, steps, ignoreMerges) = try TokenizerSpec.stepsForGGUF(pre: pre, path: path)
            spec.normalization = normalization
            spec.steps = steps
            spec.ignoreMerges = ignoreMerges
        }
        spec.bosID = bosID
        spec.eosID = eosID
        let bosByDefault = scores != nil || TokenizerSpec.llama3Pre.contains(pre ?? "")
        if let b = bosID, addBOS ?? bosByDefault { spec.prefixIDs = [b] }
        if let e = eosID, addEOS ?? false { spec.suffixIDs = [e] }
        spec.chatTemplate = chatTemplate
        try self.init(spec: spec, path: path)
    }

    init(spec: TokenizerSpec, path: String) throws(TokenizerError) {
        // Spelling of every id: vocabulary first, added tokens override (as HF's id_to_token does).
        var maxID = -1
        var table = SpellingTable(capacity: spec.vocab.count)
        for (token, id) in spec.vocab {
            maxID = max(maxID, Int(id))
            table.insert(token, id: id)
        }
        for t in spec.added { maxID = max(maxID, t.id) }
        guard maxID < 1 << 30 else { throw .badVocabulary(path: path, reason: "id \(maxID) too large") }
        var spellings = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in spec.vocab.reversed() { spellings[Int(id)] = token }
        for t in spec.added { spellings[t.id] = t.content }

        var flat: [UInt8] = []
        flat.reserveCapacity(spellings.count * 6)
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(spellings.count + 1)
        for s in spellings {
            // HF's ByteLevel decoder maps every character back to its byte, or keeps the UTF-8
            // of the whole token when one character has no byte; SentencePiece's reads "▁" as
            // a space and `<0xXX>` as its byte.
            if let s { flat += spec.decoding.bytes(of: s) }
            offsets.append(Int32(flat.count))
        }
        bytesFlat = flat
        self.offsets = offsets
        fallbackBytes = spec.decoding.byteFallback && !spec.decoding.byteLevel
            ? spellings.map { s in s.flatMap { spec.decoding.byteToken($0) }.map(Int16.init) ?? -1 } : []
        vocabSize = maxID + 1

        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let spelling = String(Unicode.Scalar(ByteLevel.byteToScalar[b]) ?? "?")
            byteIDs[b] = table.lookup(spelling) ?? -1
        }
        var mergeTable: [UInt64: BPEModel.Merge] = [:]
        mergeTable.reserveCapacity(spec.merges.count)
        var joined: [UInt8] = []
        for (rank, (a, b)) in spec.merges.enumerated() {
            joined.removeAll(keepingCapacity: true)
            joined += a.utf8
            joined += b.utf8
            guard let ia = table.lookup(a), let ib = table.lookup(b), let ir = table.lookup(joined) else {
                throw .badMerge(path: path, merge: "\(a) \(b)")
            }
            let key = BPEModel.pairKey(ia, ib)
            // A repeated pair keeps its first (lowest) rank.
            if mergeTable[key] == nil { mergeTable[key] = BPEModel.Merge(rank: Int32(rank), result: ir) }
        }
        let fallback = (0..<256).map { table.lookup(DecodeRules.byteTokenSpelling(UInt8($0))) ?? -1 }
        let byteLevel = spec.steps.contains { if case .byteLevel = $0 { return true }; return false }
        let characters = byteLevel ? nil : BPEModel.CharacterSymbols(byteTokens: spec.byteFallback ? fallback : nil,
                                                                     fuseUnknown: spec.fuseUnknown)
        let unknownID = spec.unknownToken.flatMap { table.lookup($0) }
        model = BPEModel(byteIDs: byteIDs, merges: mergeTable, vocab: table, ignoreMerges: spec.ignoreMerges,
                         unknownID: unknownID, characters: characters)
        spm = spec.scores.map { SPMModel(vocab: table, scores: $0, byteTokens: fallback, unknownID: unknownID,
                                         addSpacePrefix: spec.addSpacePrefix) }
        preTokenizer = PreTokenizer(normalization: spec.normalization, steps: spec.steps)
        decoding = spec.decoding
        rawMatcher = AddedTokenMatcher(spec.added.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(spec.added.filter { $0.normalized })
        prefixIDs = spec.prefixIDs
        suffixIDs = spec.suffixIDs
        addedTokens = spec.added
        var byContent: [String: Int] = [:]
        for t in spec.added where byContent[t.content] == nil { byContent[t.content] = t.id }
        addedByContent = byContent
        specialIDs = Set(spec.added.filter(\.special).map(\.id))

        func resolve(_ name: String?) -> Int? {
            guard let name else { return nil }
            return byContent[name] ?? table.lookup(name).map(Int.init)
        }
        bosID = spec.bosID ?? resolve(spec.bosName)
        eosID = spec.eosID ?? resolve(spec.eosName)
        var stops = Set<Int>()
        if let e = eosID { stops.insert(e) }
        for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"] {
            if let id = byContent[name] { stops.insert(id) }
        }
        stopIDs = stops
        chatTemplate = spec.chatTemplate
        defaultSystemPrompt = spec.chatTemplate.flatMap(ChatTemplate.defaultSystemPrompt)
        let eosText = eosID.flatMap { id in spellings.indices.contains(id) ? spellings[id] : nil }
        chatFormat = ChatFormat.detect(template: spec.chatTemplate, eosText: eosText) { byContent[$0] != nil }
    }

    /// Token ids of `text`. Added tokens written in the text (`<|im_start|>`,
    /// `<think>`) become their ids; the post-processor's own tokens (e.g. a BOS
    /// for Llama-3) are added; Qwen and SmolLM2 add none.
    public func encode(_ text: String) -> [Int] {
        encode(text, addSpecialTokens: true)
    }

    /// `addSpecialTokens: false` leaves out the post-processor's tokens (Hugging
    /// Face's `add_special_tokens=False`); added tokens in the text still match.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids = addSpecialTokens ? prefixIDs : []
        encodeBody(text, into: &ids)
        if addSpecialTokens { ids += suffixIDs }
        return ids
    }

    private func encodeBody(_ text: String, into ids: inout [Int]) {
        var rawSegments: [Segment] = []
        rawMatcher.split(text[...], into: &rawSegments)
        if let spm {
            encodeSPM(rawSegments, spm, into: &ids)
            return
        }
        var words: [[UInt8]] = []
        var wordIDs: [Int32] = []
        var atStart = true  // no added token yet (Metaspace's prepend scheme "first")
        for segment in rawSegments {
            switch segment {
            case let .token(id):
                ids.append(id)
                atStart = false
            case let .text(piece):
                let normalized = preTokenizer.normalization.isEmpty ? String(piece)
                    : PreTokenizer.normalize(piece, preTokenizer.normalization)
                var segments: [Segment] = []
                normalizedMatcher.split(normalized[...], into: &segments)
                for inner in segments {
                    switch inner {
                    case let .token(id):
                        ids.append(id)
                        atStart = false
                    case let .text(t):
                        words.removeAll(keepingCapacity: true)
                        preTokenizer.pieces(t, atStart: atStart, into: &words)
                        atStart = false
                        for w in words {
                            wordIDs.removeAll(keepingCapacity: true)
                            model.encode(word: w, into: &wordIDs)
                            for id in wordIDs { ids.append(Int(id)) }
                        }
                    }
                }
            }
        }
    }

    /// llama.cpp's SPM path: each text fragment (after a space when it starts the input or
    /// follows an added token) with spaces as "▁", merged by score.
    private func encodeSPM(_ segments: [Segment], _ spm: SPMModel, into ids: inout [Int]) {
        var afterToken = true
        var bytes: [UInt8] = [], out: [Int32] = []
        for segment in segments {
            switch segment {
            case let .token(id):
                ids.append(id)
                afterToken = true
            case let .text(piece):
                bytes.removeAll(keepingCapacity: true)
                if spm.addSpacePrefix && afterToken { PreTokenizer.appendUTF8(spaceMarker, to: &bytes) }
                for u in piece.unicodeScalars {
                    PreTokenizer.appendUTF8(u == " " ? spaceMarker : u, to: &bytes)
                }
                out.removeAll(keepingCapacity: true)
                spm.encode(bytes, into: &out)
                for id in out { ids.append(Int(id)) }
                afterToken = false
            }
        }
    }

    /// Text of `ids`; bytes that are not valid UTF-8 become U+FFFD (one per
    /// maximal invalid subsequence, like Rust's from_utf8_lossy), except under a ByteFallback
    /// decoder: there a run of `<0xXX>` tokens that is not valid UTF-8 becomes one U+FFFD per
    /// token, as Hugging Face's decoder writes it. Unknown ids are skipped.
    /// SentencePiece decoders drop the leading space their encoder put in (see `DecodeRules`).
    public func decode(_ ids: [Int]) -> String {
        decode(ids, skipSpecialTokens: false)
    }

    /// `skipSpecialTokens: true` drops special (control) tokens such as `<|im_end|>`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var first = true
        var run: [UInt8] = []   // consecutive byte-fallback tokens' bytes
        for id in ids where !(skipSpecialTokens && specialIDs.contains(id)) {
            if let b = fallbackByte(id) {
                run.append(b)
                first = false
                continue
            }
            Self.appendByteRun(&run, to: &bytes)
            if first && decoding.dropFirstTokenSpaces {
                bytes += tokenBytes(id).filter { $0 != 0x20 }
            } else {
                appendBytes(id, to: &bytes)
            }
            first = false
        }
        Self.appendByteRun(&run, to: &bytes)
        let strip = min(decoding.stripLeadingSpaces, bytes.prefix { $0 == 0x20 }.count)
        return String(decoding: bytes[strip...], as: UTF8.self)
    }

    /// The byte `id` stands for under a ByteFallback decoder (a `<0xXX>` token), else nil.
    @inline(__always)
    func fallbackByte(_ id: Int) -> UInt8? {
        guard id >= 0, id < fallbackBytes.count, fallbackBytes[id] >= 0 else { return nil }
        return UInt8(fallbackBytes[id])
    }

    /// Whether runs of byte tokens are decoded as runs (a ByteFallback decoder).
    var decodesByteRuns: Bool { !fallbackBytes.isEmpty }

    /// Hugging Face's ByteFallback: a run of byte tokens is its bytes when they are valid
    /// UTF-8, else one U+FFFD per token (a valid character inside an invalid run goes too).
    /// Appends the run to `out` and empties it.
    static func appendByteRun(_ run: inout [UInt8], to out: inout [UInt8]) {
        guard !run.isEmpty else { return }
        if isValidUTF8(run) {
            out += run
        } else {
            for _ in run { out += [0xEF, 0xBF, 0xBD] }
        }
        run.removeAll(keepingCapacity: true)
    }

    /// Whether `bytes` are well-formed UTF-8 (parsed in place, nothing allocated).
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var parser = Unicode.UTF8.ForwardParser()
        var it = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Raw bytes of one token (added tokens: their UTF-8 text); empty for unknown ids.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        var out: [UInt8] = []
        appendBytes(id, to: &out)
        return out
    }

    /// The bytes of every id in `ids`, appended in order (unknown ids add nothing).
    func appendBytes(of ids: ArraySlice<Int>, to out: inout [UInt8]) {
        bytesFlat.withUnsafeBufferPointer { flat in
            offsets.withUnsafeBufferPointer { off in
                for id in ids where id >= 0 && id < vocabSize {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: flat[Int(off[id])..<Int(off[id + 1])]))
                }
            }
        }
    }

    @inline(__always)
    func appendBytes(_ id: Int, to out: inout [UInt8]) {
        guard id >= 0, id < vocabSize else { return }
        out += bytesFlat[Int(offsets[id])..<Int(offsets[id + 1])]
    }

    /// Id of an added token by its text (`<think>`, `<|im_end|>`), else of a
    /// vocabulary entry by its byte-level spelling (`Ġthe`).
    public func id(of token: String) -> Int? {
        if let id = addedByContent[token] { return id }
        return model.vocab.lookup(token).map(Int.init)
    }

    /// Whether `id` is a special (control) added token.
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }
}
