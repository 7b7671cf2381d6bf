import ArgumentParser
import Sprig

@main
struct SprigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sprig",
        abstract: "Step-level tree search for reasoning language models.",
        subcommands: [
            SearchCommand.self, SweepCommand.self, GenerateCommand.self, TokenizeCommand.self, LogitsCommand.self,
            BenchCommand.self, ViewCommand.self, TrainSPRMCommand.self,
        ])

    /// ArgumentParser's own `main`, except that errors are one line on stderr
    /// (`error: ...`) instead of a message followed by the usage screen.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = self.message(for: error)
            // Help, --version and bare exit codes (already reported) keep ArgumentParser's handling.
            if code == .success || message.isEmpty { exit(withError: error) }
            let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
            CLI.progress("error: \(line)")
            exit(withError: code)
        }
    }
}
