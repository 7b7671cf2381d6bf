import Foundation
import SprigJSON

/// Reads Hugging Face tokenizer.json (and optionally tokenizer_config.json)
/// into a TokenizerSpec, rejecting every component we do not reproduce exactly.
enum TokenizerJSONReader {
    static func read(tokenizerJSON: Data, configJSON: Data?, path: String) throws(TokenizerError) -> TokenizerSpec {
        let root = try JSON.parse(tokenizerJSON, path: path)
        var spec = TokenizerSpec()
        guard let model = root["model"], model.object != nil else { throw .missingField(path: path, field: "model") }
        try readModel(model, path: path, into: &spec)
        try readAddedTokens(root["added_tokens"], path: path, into: &spec)
        spec.normalization = try readNormalizer(root["normalizer"], path: path)
        spec.steps = try readPreTokenizer(root["pre_tokenizer"], path: path)
        let byteLevel = spec.steps.contains { if case .byteLevel = $0 { return true }; return false }
        try readPostProcessor(root["post_processor"], path: path, into: &spec)
        spec.decoding = try readDecoder(root["decoder"], byteLevel: byteLevel, path: path)
        if let configJSON {
            try readConfig(configJSON, path: path, into: &spec)
        }
        return spec
    }

    private static func typeName(_ v: JSON?) -> String { v?["type"]?.string ?? "?" }

    private static func readModel(_ model: JSON, path: String, into spec: inout TokenizerSpec) throws(TokenizerError) {
        if let type = model["type"]?.string, type != "BPE" { throw .unsupported(path: path, what: "model type '\(type)'") }
        if let dropout = model["dropout"], !dropout.isNull, (dropout.int ?? 1) != 0 {
            throw .unsupported(path: path, what: "BPE dropout")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model[key]?.string, !s.isEmpty { throw .unsupported(path: path, what: "BPE \(key) '\(s)'") }
        }
        spec.byteFallback = model["byte_fallback"]?.bool ?? false
        spec.fuseUnknown = model["fuse_unk"]?.bool ?? false
        spec.ignoreMerges = model["ignore_merges"]?.bool ?? false
        spec.unknownToken = model["unk_token"]?.string
        guard let vocab = model["vocab"]?.object else { throw .missingField(path: path, field: "model.vocab") }
        spec.vocab.reserveCapacity(vocab.count)
        for field in vocab {
            let token = field.key
            guard let id = field.value.int, id >= 0, id < 1 << 30 else {
                throw .badVocabulary(path: path, reason: "id of \(token.debugDescription) is not an integer in [0, 2^30)")
            }
            spec.vocab.append((token, Int32(id)))
        }
        guard let merges = model["merges"]?.array else { throw .missingField(path: path, field: "model.merges") }
        spec.merges.reserveCapacity(merges.count)
        for entry in merges {
            if let line = entry.string {
                guard let pair = TokenizerSpec.splitMerge(line) else { throw .badMerge(path: path, merge: line) }
                spec.merges.append(pair)
            } else if let parts = entry.array, parts.count == 2, let a = parts[0].string, let b = parts[1].string {
                spec.merges.append((a, b))
            } else {
                throw .missingField(path: path, field: "model.merges[\(spec.merges.count)]")
            }
        }
    }

    private static func readAddedTokens(_ value: JSON?, path: String, into spec: inout TokenizerSpec) throws(TokenizerError) {
        guard let list = value?.array else { return }
        for (i, item) in list.enumerated() {
            guard let id = item["id"]?.int, id >= 0, let content = item["content"]?.string else {
                throw .missingField(path: path, field: "added_tokens[\(i)].id/content")
            }
            let special = item["special"]?.bool ?? false
            spec.added.append(AddedToken(
                id: id, content: content, special: special,
                lstrip: item["lstrip"]?.bool ?? false, rstrip: item["rstrip"]?.bool ?? false,
                singleWord: item["single_word"]?.bool ?? false,
                // Hugging Face's default: special tokens match raw text, others normalised text.
                normalized: item["normalized"]?.bool ?? !special))
        }
    }

    private static func readNormalizer(_ value: JSON?, path: String) throws(TokenizerError) -> [NormalizerStep] {
        guard let value, !value.isNull else { return [] }
        switch typeName(value) {
        case "NFC": return [.nfc]
        case "Prepend":
            guard let p = value["prepend"]?.string else { throw .missingField(path: path, field: "normalizer.prepend") }
            return [.prepend(p)]
        case "Replace":
            guard let pattern = value["pattern"]?["String"]?.string else {
                throw .unsupported(path: path, what: "Replace normalizer without a String pattern")
            }
            guard let content = value["content"]?.string else { throw .missingField(path: path, field: "normalizer.content") }
            return [.replace(pattern, with: content)]
        case "Sequence":
            var steps: [NormalizerStep] = []
            for inner in value["normalizers"]?.array ?? [] { steps += try readNormalizer(inner, path: path) }
            return steps
        case let other: throw .unsupported(path: path, what: "normalizer '\(other)'")
        }
    }

    private static func readPreTokenizer(_ value: JSON?, path: String) throws(TokenizerError) -> [PreTokenizerStep] {
        guard let value, !value.isNull else { return [] }
        switch typeName(value) {
        case "Sequence":
            var steps: [PreTokenizerStep] = []
            for inner in value["pretokenizers"]?.array ?? [] { steps += try readPreTokenizer(inner, path: path) }
            return steps
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: value["add_prefix_space"]?.bool ?? true,
                               useRegex: value["use_regex"]?.bool ?? true)]
        case "Digits":
            return [.digits(individual: value["individual_digits"]?.bool ?? false)]
        case "Metaspace":
            let replacement = try marker(value, path: path)
            // Older files say add_prefix_space instead of prepend_scheme.
            let scheme: PrependScheme
            if let name = value["prepend_scheme"]?.string {
                guard let s = PrependScheme(rawValue: name) else {
                    throw .unsupported(path: path, what: "Metaspace prepend_scheme '\(name)'")
                }
                scheme = s
            } else {
                scheme = value["add_prefix_space"]?.bool ?? true ? .always : .never
            }
            return [.metaspace(replacement: replacement, prepend: scheme, split: value["split"]?.bool ?? true)]
        case "Split":
            guard let pattern = value["pattern"]?["Regex"]?.string else {
                throw .unsupported(path: path, what: "Split pre-tokenizer without a Regex pattern")
            }
            guard let scanner = SplitPattern.recognise(pattern) else { throw .unknownPattern(path: path, pattern: pattern) }
            let behaviorName = value["behavior"]?.string ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw .unsupported(path: path, what: "Split behavior '\(behaviorName)'")
            }
            return [.split(scanner, behavior, invert: value["invert"]?.bool ?? false)]
        case let other:
            throw .unsupported(path: path, what: "pre-tokenizer '\(other)'")
        }
    }

    private static func readPostProcessor(_ value: JSON?, path: String, into spec: inout TokenizerSpec) throws(TokenizerError) {
        guard let value, !value.isNull else { return }
        switch typeName(value) {
        case "ByteLevel":
            return  // adjusts offsets only
        case "Sequence":
            for inner in value["processors"]?.array ?? [] { try readPostProcessor(inner, path: path, into: &spec) }
        case "TemplateProcessing":
            guard let single = value["single"]?.array else { throw .missingField(path: path, field: "post_processor.single") }
            let specials = value["special_tokens"]
            var seenSequence = false
            for item in single {
                if item["Sequence"] != nil {
                    seenSequence = true
                } else if let name = item["SpecialToken"]?["id"]?.string {
                    guard let ids = specials?[name]?["ids"]?.array else {
                        throw .missingField(path: path, field: "post_processor.special_tokens.\(name).ids")
                    }
                    for v in ids {
                        guard let id = v.int else { throw .missingField(path: path, field: "post_processor.special_tokens.\(name).ids") }
                        if seenSequence { spec.suffixIDs.append(id) } else { spec.prefixIDs.append(id) }
                    }
                } else {
                    throw .unsupported(path: path, what: "TemplateProcessing item")
                }
            }
        case let other:
            throw .unsupported(path: path, what: "post-processor '\(other)'")
        }
    }

    /// Metaspace's one-character `replacement`.
    private static func marker(_ value: JSON, path: String) throws(TokenizerError) -> Unicode.Scalar {
        let scalars = Array((value["replacement"]?.string ?? "\u{2581}").unicodeScalars)
        guard scalars.count == 1 else { throw .unsupported(path: path, what: "Metaspace replacement of \(scalars.count) characters") }
        return scalars[0]
    }

    /// The decoder of a byte-level vocabulary is ByteLevel (or none); a vocabulary of
    /// characters needs one of SentencePiece's: Metaspace, or Replace(marker → " "),
    /// ByteFallback, Fuse and Strip(" ", n, 0), in that order.
    private static func readDecoder(_ value: JSON?, byteLevel: Bool, path: String) throws(TokenizerError) -> DecodeRules {
        let kind = value.flatMap { $0.isNull ? nil : typeName($0) }
        if byteLevel {
            guard kind == nil || kind == "ByteLevel" else { throw .unsupported(path: path, what: "decoder '\(kind ?? "")'") }
            return .byteLevel
        }
        guard let value, let kind else {
            throw .unsupported(path: path, what: "pre-tokenizer without a ByteLevel stage and no decoder")
        }
        if kind == "ByteLevel" { throw .unsupported(path: path, what: "ByteLevel decoder without a ByteLevel pre-tokenizer") }
        var rules = DecodeRules(byteLevel: false, marker: nil, byteFallback: false, stripLeadingSpaces: 0,
                                dropFirstTokenSpaces: false)
        if kind == "Metaspace" {
            rules.marker = try marker(value, path: path)
            let scheme = value["prepend_scheme"]?.string ?? (value["add_prefix_space"]?.bool ?? true ? "always" : "never")
            rules.dropFirstTokenSpaces = scheme != "never"
            return rules
        }
        let parts = kind == "Sequence" ? value["decoders"]?.array ?? [] : [value]
        var stage = 0  // the order Replace, ByteFallback, Fuse, Strip
        for part in parts {
            let name = typeName(part)
            let order = ["Replace": 1, "ByteFallback": 2, "Fuse": 3, "Strip": 4][name] ?? 0
            guard order > stage else { throw .unsupported(path: path, what: "decoder '\(name)' in this place") }
            stage = order
            switch name {
            case "Replace":
                let pattern = Array((part["pattern"]?["String"]?.string ?? "").unicodeScalars)
                guard pattern.count == 1, part["content"]?.string == " " else {
                    throw .unsupported(path: path, what: "Replace decoder other than a marker to a space")
                }
                rules.marker = pattern[0]
            case "ByteFallback":
                rules.byteFallback = true
            case "Strip":
                guard part["content"]?.string == " ", (part["stop"]?.int ?? 0) == 0, let start = part["start"]?.int, start >= 0 else {
                    throw .unsupported(path: path, what: "Strip decoder other than leading spaces")
                }
                rules.stripLeadingSpaces = start
            default:
                break  // Fuse: joining is what decoding to one text does anyway
            }
        }
        return rules
    }

    /// tokenizer_config.json: chat template and bos/eos names.
    private static func readConfig(_ data: Data, path: String, into spec: inout TokenizerSpec) throws(TokenizerError) {
        let configPath = (path as NSString).deletingLastPathComponent + "/tokenizer_config.json"
        let config = try JSON.parse(data, path: configPath)
        if let template = config["chat_template"]?.string {
            spec.chatTemplate = template
        } else if let templates = config["chat_template"]?.array {
            // Named templates: [{"name": "default", "template": "..."}, ...]
            spec.chatTemplate = templates.first { $0["name"]?.string == "default" }?["template"]?.string
        }
        func tokenName(_ v: JSON?) -> String? { v?.string ?? v?["content"]?.string }
        spec.bosName = tokenName(config["bos_token"])
        spec.eosName = tokenName(config["eos_token"])
    }
}
