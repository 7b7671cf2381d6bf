import ArgumentParser
import Foundation
import Sprig

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Turn text into token ids with a model's tokenizer.")

    @Option(name: .long, help: "GGUF file, model folder, or folder with tokenizer.json (default: the embedded model).")
    var model: String?

    @Option(name: .long, help: "Text to tokenize.")
    var text: String?

    @Option(name: .long, help: "File whose contents to tokenize (UTF-8).")
    var textFile: String?

    @Flag(name: .long, help: "Print {\"ids\": [...]}.")
    var json = false

    func validate() throws {
        guard (text == nil) != (textFile == nil) else { throw ValidationError("give exactly one of --text or --text-file") }
    }

    func run() throws {
        let input: String
        if let f = textFile {
            guard let data = FileManager.default.contents(atPath: f) else { throw SprigError.notFound(f) }
            // The standard library's validating decoder keeps a leading byte-order mark (text
            // to tokenize, like --text); Foundation's String(data:encoding:) drops it.
            guard let s = String(validating: data, as: UTF8.self) else { throw SprigError.io(f, "not valid UTF-8") }
            input = s
        } else {
            input = text ?? ""
        }
        let path = try CLI.modelPath(model)
        let tokenizer = try CLI.run { () throws(SprigError) in try LanguageModel.loadTokenizer(path: path) }
        let ids = tokenizer.encode(input)
        if json {
            try CLI.printJSON(["ids": ids])
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
