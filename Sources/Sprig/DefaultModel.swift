import Foundation

/// The embedded default: the small multiplication policy with its SPRM head that issue 5
/// asks for (good but not perfect, so search has room: hard greedy 0.60, pass@16 0.91),
/// shipped in the repository under `Models/sprig-mult-band`. The stronger policy of the same
/// task (hard greedy 0.97) is `Models/sprig-mult`, one `--model` away.
public enum DefaultModel {
    public static let folderName = "Models/sprig-mult-band"

    /// `SPRIG_DEFAULT_MODEL`, else `Models/sprig-mult-band` found upward from the current
    /// directory or from the executable's folder.
    public static func locate() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["SPRIG_DEFAULT_MODEL"], fm.fileExists(atPath: env) { return env }
        var starts = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        starts.append(exe.deletingLastPathComponent())
        starts.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent(folderName)
                if fm.fileExists(atPath: candidate.appendingPathComponent("config.json").path) { return candidate.path }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }
}
