import Foundation

/// Single-turn chat prompts in the format of a model's chat template. We do not run Jinja:
/// the template (or, without one, the vocabulary's turn tokens) names its family, and the
/// only things read from it are a literal default system message (ChatML) and Llama 3.1's
/// dated system block.
enum ChatFormat: Equatable {
    /// `<|im_start|>role\n…<|im_end|>\n` (Qwen, SmolLM2).
    case chatML
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3).
    case llama3
    /// Llama 3 whose template always opens with a system block that dates itself (Llama 3.1
    /// and later): `Cutting Knowledge Date: {knowledge}\nToday Date: {today}\n\n{system}`.
    /// `today` nil: the template asks `strftime_now("%d %b %Y")`, which transformers
    /// provides, so the rendering date.
    case llama3Dated(knowledge: String, today: String?)
    /// `[INST] <<SYS>>\n…\n<</SYS>>\n\n… [/INST]` (Llama 2 chat).
    case llama2
    /// `[INST] … [/INST]`, a system message before the user's (Mistral).
    case mistral
    /// `<|user|>\n…END\n<|assistant|>\n` with END the template's turn end (Zephyr and
    /// TinyLlama-Chat: the EOS text; Phi-3: `<|end|>`).
    case userAssistant(end: String)
    /// No chat format known: the user's text as it is (base models).
    case plain

    /// The family of `template`; without a template, of the turn tokens the vocabulary has.
    static func detect(template: String?, eosText: String?, has: (String) -> Bool) -> ChatFormat {
        guard let t = template else {
            if has("<|im_start|>") { return .chatML }
            if has("<|start_header_id|>") { return .llama3 }
            return .plain
        }
        if t.contains("<|im_start|>") { return .chatML }
        if t.contains("<|start_header_id|>") { return llama3Dated(template: t) ?? .llama3 }
        if t.contains("<<SYS>>") { return .llama2 }
        if t.contains("[INST]") { return .mistral }
        if t.contains("<|user|>") && t.contains("<|assistant|>") {
            if t.contains("<|end|>") { return .userAssistant(end: "<|end|>") }
            if let eos = eosText { return .userAssistant(end: eos) }
        }
        return has("<|im_start|>") ? .chatML : .plain
    }

    /// The prompt up to where the assistant's reply starts. The BOS a template writes first
    /// is left out: the tokenizer's post-processor (or GGUF add_bos_token) adds it on encoding.
    func prompt(user: String, system: String?) -> String {
        switch self {
        case .chatML:
            let head = system.map { "<|im_start|>system\n\($0)<|im_end|>\n" } ?? ""
            return head + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .llama3:
            return (system.map { Self.llama3Turn("system", $0) } ?? "") + Self.llama3Turn("user", user)
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        case let .llama3Dated(knowledge, today):
            let date = today ?? Self.strftimeToday()
            let head = "Cutting Knowledge Date: \(knowledge)\nToday Date: \(date)\n\n"
            return "<|start_header_id|>system<|end_header_id|>\n\n\(head)\(Self.trim(system ?? ""))<|eot_id|>"
                + Self.llama3Turn("user", user) + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        case .llama2:
            let content = system.map { "<<SYS>>\n\($0)\n<</SYS>>\n\n\(user)" } ?? user
            return "[INST] \(Self.trim(content)) [/INST]"
        case .mistral:
            let content = system.map { "\($0)\n\n\(user)" } ?? user
            return "[INST] \(content) [/INST]"
        case let .userAssistant(end):
            let head = system.map { "<|system|>\n\($0)\(end)\n" } ?? ""
            return head + "<|user|>\n\(user)\(end)\n<|assistant|>\n"
        case .plain:
            return system.map { "\($0)\n\n\(user)" } ?? user
        }
    }

    static func trim(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func llama3Turn(_ role: String, _ text: String) -> String {
        "<|start_header_id|>\(role)<|end_header_id|>\n\n\(trim(text))<|eot_id|>"
    }

    /// Llama 3.1's dated system block, when the template writes one: the literal knowledge
    /// date, and the date it falls back to (`set date_string = "26 Jul 2024"`) unless it
    /// asks `strftime_now` first.
    static func llama3Dated(template t: String) -> ChatFormat? {
        let marker = "Cutting Knowledge Date: "
        guard let r = t.range(of: marker) else { return nil }
        let knowledge = t[r.upperBound...].prefix { $0 != "\\" && $0 != "\n" && $0 != "\"" && $0 != "'" }
        guard !knowledge.isEmpty else { return nil }
        if t.contains("strftime_now") { return .llama3Dated(knowledge: String(knowledge), today: nil) }
        var fallback = "26 Jul 2024"   // the Llama 3.1 template's own default
        if let d = t.range(of: "date_string = \"") {
            let value = t[d.upperBound...].prefix { $0 != "\"" }
            if !value.isEmpty { fallback = String(value) }
        }
        return .llama3Dated(knowledge: String(knowledge), today: fallback)
    }

    /// Today in the local time zone as strftime's "%d %b %Y" in the C locale: "03 Dec 2026".
    static func strftimeToday(_ date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "dd MMM yyyy"
        return f.string(from: date)
    }
}

enum ChatTemplate {
    /// The first literal `<|im_start|>system\n...<|im_end|>` in the template whose
    /// body is plain text (no quote or expression), with `\n` escapes resolved.
    /// Templates that only print a caller-supplied system message give nil.
    static func defaultSystemPrompt(in template: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = template[...]
        while let r = rest.range(of: marker) {
            rest = rest[r.upperBound...]
            var body = rest
            if body.hasPrefix("\\n") {
                body = body.dropFirst(2)
            } else if body.hasPrefix("\n") {
                body = body.dropFirst()
            } else {
                continue
            }
            guard let end = body.range(of: "<|im_end|>") else { continue }
            let literal = body[..<end.lowerBound]
            if literal.isEmpty || literal.contains(where: { "'\"{}+".contains($0) }) { continue }
            return literal.replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }
}

extension BPETokenizer {
    /// A single-turn prompt ending where the assistant's reply starts, in the model's chat
    /// format (`ChatFormat`): for ChatML,
    /// `<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n`.
    /// Without `system`, the model template's default system message is used
    /// when it has one (SmolLM2-Instruct, Qwen2.5), else the system turn is left out (Qwen3).
    public func chatPrompt(user: String, system: String? = nil) -> String {
        chatFormat.prompt(user: user, system: system ?? defaultSystemPrompt)
    }
}
