import Foundation

/// Every error StepSearch throws itself (policy errors pass through unchanged).
public enum StepSearchError: Error, CustomStringConvertible, Equatable {
    /// A config field has a value no search can run with.
    case invalidConfig(file: String, message: String)
    /// `strategy` names no known strategy.
    case unknownStrategy(file: String, name: String)
    /// The config file cannot be read or is not valid JSON of the expected shape.
    case unreadableConfig(file: String, reason: String)
    /// The policy broke the `SearchPolicy` contract (wrong chunk count, uncharged tokens...).
    case policyContract(String)
    /// `SearchContext.budget` had already been charged before the run started.
    case budgetNotFresh(used: Int)

    public var description: String {
        switch self {
        case .invalidConfig(let file, let message):
            return "\(file): invalid search config: \(message)"
        case .unknownStrategy(let file, let name):
            let known = StrategyKind.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(file): unknown strategy '\(name)' (expected one of \(known))"
        case .unreadableConfig(let file, let reason):
            return "\(file): cannot read search config: \(reason)"
        case .policyContract(let message):
            return "search policy broke its contract: \(message)"
        case .budgetNotFresh(let used):
            return "search budget already has \(used) tokens charged; give each run a fresh TokenBudget"
        }
    }
}

enum Preflight {
    static func check(_ context: SearchContext) throws {
        let used = context.budget.used
        guard used == 0 else { throw StepSearchError.budgetNotFresh(used: used) }
    }

    static func checkChunks(_ chunks: [Chunk], branches: Int, maxTokens: Int) throws {
        guard chunks.count == branches else {
            throw StepSearchError.policyContract("extend of \(branches) branches returned \(chunks.count) chunks")
        }
        for c in chunks where c.tokens.count > maxTokens {
            throw StepSearchError.policyContract("a chunk of \(c.tokens.count) tokens exceeds maxTokens \(maxTokens)")
        }
    }
}
