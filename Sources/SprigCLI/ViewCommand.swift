import ArgumentParser
import Foundation
import Sprig
import StepSearch

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view", abstract: "Draw a search trace as one self-contained HTML file.")

    @Argument(help: "A trace written by `sprig search --trace`.")
    var trace: String

    @Option(name: [.customShort("o"), .long], help: "The HTML file to write.")
    var output: String = "tree.html"

    func run() throws {
        if let problem = CLI.outputProblem(output) { CLI.fail(problem) }
        guard let data = FileManager.default.contents(atPath: trace) else { CLI.fail(SprigError.notFound(trace).description) }
        let decoded: SearchTrace
        do { decoded = try JSONDecoder().decode(SearchTrace.self, from: data) } catch {
            CLI.fail("\(trace): not a Sprig trace (\(error))")
        }
        do { try TraceHTML.render(trace: decoded).write(toFile: output, atomically: true, encoding: .utf8) } catch {
            CLI.fail("\(output): cannot write: \(error.localizedDescription)")
        }
        CLI.progress("wrote \(output) (\(decoded.nodes.count) nodes)")
    }
}
