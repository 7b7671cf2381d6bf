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
}
