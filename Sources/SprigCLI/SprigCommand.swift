import ArgumentParser
import Foundation
import Kernels
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

    /// OpenBLAS picks its kernels when the library loads, and under some hypervisors it
    /// misreads the CPU as a generic SSE core ("Prescott": sgemm ~3× slower). Sprig is
    /// built for AVX2/FMA anyway, so the CLI restarts itself once with
    /// OPENBLAS_CORETYPE=Haswell in that case. A user's own setting is left alone.
    static func selectBLASKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, !BLAS.hasFastGemm else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv only returns on failure: carry on with the generic kernels.
    }

    /// ArgumentParser's own `main`, except that errors are one line on stderr
    /// (`error: ...`) instead of a message followed by the usage screen.
    static func main() {
        selectBLASKernels()
        BLAS.singleThreaded   // stop OpenBLAS's spinning server threads before any work
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
