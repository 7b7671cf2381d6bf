import Foundation

/// ChatML prompts (`<|im_start|>role\n...<|im_end|>\n`), the format of Qwen and
/// SmolLM2. We do not run Jinja: the only thing read from a model's template is
/// the literal default system message it inserts when the conversation has none.
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
    /// A single-turn ChatML prompt ending with the assistant header:
    /// `<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n`.
    /// Without `system`, the model template's default system message is used
    /// when it has one (SmolLM2-Instruct, Qwen2.5), else the system turn is left out (Qwen3).
    public func chatPrompt(user: String, system: String? = nil) -> String {
        var prompt = ""
        if let system = system ?? defaultSystemPrompt {
            prompt += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        prompt += "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        return prompt
    }
}
