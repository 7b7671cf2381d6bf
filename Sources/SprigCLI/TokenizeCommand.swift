import ArgumentParser
import Foundation
import Sprig

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Turn text into token ids with a model's tokenizer.")

    @Option(name: .long, help: "GGUF file, model folder, or folder with tokenizer.json.")
    var model: String

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
            guard let s = String(data: data, encoding: .utf8) else { throw SprigError.io(f, "not valid UTF-8") }
            input = s
        } else {
            input = text ?? ""
        }
        let tokenizer = try CLI.run { () throws(SprigError) in try LanguageModel.loadTokenizer(path: model) }
        let ids = tokenizer.encode(input)
        if json {
            try CLI.printJSON(["ids": ids])
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
