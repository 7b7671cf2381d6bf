import Foundation
import StepSearch

/// How questions become prompts for a model, read from `sprig.json` in the model
/// folder when present; otherwise the model's own chat template is used.
public struct TaskFormat: Codable, Sendable {
    /// A known task whose questions Sprig canonicalises (e.g. "multiplication").
    public var task: String?
    /// With `{question}` (or `{a}`, `{b}` for arithmetic tasks) placeholders.
    public var promptTemplate: String?
    /// Text the model is trained to generate first (e.g. "<think>\n"); appended to the prompt.
    public var generationPrefix: String?
    public var stepPatterns: [String]?
    public var sampling: SamplingDefaults?
    /// "reversed": the model writes its final answer least significant digit first
    /// (Models/sprig-mult*); Sprig reads it back. Nil: as written.
    public var answerDigits: String?
    /// Multiplication: the operand sizes the policy was trained on, as [aMin, aMax, bMin, bMax]
    /// digit ranges of the first and second number; questions outside them are mapped onto
    /// them (`MultiplicationQuestion`). Nil: shown as asked.
    public var operandDigits: [[Int]]?

    public struct SamplingDefaults: Codable, Sendable {
        public var temperature: Double?
        public var topP: Double?
        enum CodingKeys: String, CodingKey { case temperature, topP = "top_p" }
    }

    enum CodingKeys: String, CodingKey {
        case task, sampling
        case promptTemplate = "prompt_template", generationPrefix = "generation_prefix", stepPatterns = "step_patterns"
        case answerDigits = "answer_digits", operandDigits = "operand_digits"
    }

    public static let chat = TaskFormat(task: nil, promptTemplate: nil, generationPrefix: nil, stepPatterns: nil, sampling: nil)

    /// How the final answer is read from a trajectory of this model.
    public var answerExtractor: FinalAnswerExtractor { FinalAnswerExtractor(reversedDigits: answerDigits == "reversed") }

    /// The problem a multiplication model is shown for `question` (nil for other tasks or
    /// when the question has no two numbers to multiply).
    public func multiplication(for question: String) -> MultiplicationQuestion? {
        task == "multiplication" ? MultiplicationQuestion(question: question, cells: operandDigits) : nil
    }

    /// How the answer to `question` is read: the model's reading, then, for a multiplication
    /// shown scaled, swapped or without its signs, mapped back to the question's answer.
    public func extractor(for question: String) -> AnswerExtractor {
        guard let m = multiplication(for: question) else { return answerExtractor }
        return MultiplicationAnswerExtractor(base: answerExtractor, question: m)
    }

    /// `sprig.json` beside the model, or nil when the path is a file or has none.
    public static func load(modelPath: String) throws(SprigError) -> TaskFormat? {
        let url = URL(fileURLWithPath: modelPath).appendingPathComponent("sprig.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(TaskFormat.self, from: data) } catch {
            throw .io(url.path, "not a valid sprig.json: \(error)")
        }
    }

    /// Turns a user's question into the prompt text the model expects.
    public func prompt(for question: String, chatPrompt: (String) -> String) throws(SprigError) -> String {
        let q = question.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !q.isEmpty else { throw .invalidArgument("the question is empty") }
        var text: String
        if task == "multiplication" {
            guard let m = multiplication(for: q) else {
                let why = MultiplicationQuestion.problem(in: q) ?? "it is not a product of two numbers"
                throw .invalidArgument("this model answers multiplication questions such as \"What is 4821 * 37?\" (two numbers of at most 9 digits); \"\(q.count > 80 ? q.prefix(77) + "..." : q)\": \(why)")
            }
            text = Self.fill(Self.fill(promptTemplate ?? "{question}", "a", m.a), "b", m.b)
                .replacingOccurrences(of: "{question}", with: "What is \(m.a) * \(m.b)?")
        } else if let t = promptTemplate {
            text = t.replacingOccurrences(of: "{question}", with: q)
        } else {
            text = chatPrompt(q)
        }
        return text + (generationPrefix ?? "")
    }

    /// Replaces `{name}` with `value` and `{name:revN}` with its digits least significant
    /// first, zero-padded on the right to N digits (never cut: a longer number is written whole).
    static func fill(_ template: String, _ name: String, _ value: Int) -> String {
        var out = template.replacingOccurrences(of: "{\(name)}", with: String(value))
        let open = "{\(name):rev"
        while let r = out.range(of: open), let close = out[r.upperBound...].firstIndex(of: "}") {
            let width = Int(out[r.upperBound..<close]) ?? 0
            var digits = String(String(value).reversed())
            if digits.count < width { digits += String(repeating: "0", count: width - digits.count) }
            out.replaceSubrange(r.lowerBound...close, with: digits)
        }
        return out
    }
}
