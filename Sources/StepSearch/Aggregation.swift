import Foundation

/// How the SPRM step scores of a (partial) trajectory become one score.
/// Every step score is clamped below at `ScoreAggregation.floor` (1e-10, as the released
/// MetaStone code does) before aggregation; a trajectory with no steps scores 0.
public enum ScoreAggregation: String, Codable, Sendable, CaseIterable {
    /// (Π s_i)^(1/n), computed as exp(mean log s_i): the paper's Eq. 5 and the default.
    case geometricMean
    case arithmeticMean
    case minimum
    case last
    case product

    public static let floor = 1e-10

    /// The aggregate of `scores` (the same arithmetic as folding them into `PathStats`).
    public func aggregate(_ scores: [Double]) -> Double {
        var stats = PathStats()
        for s in scores { stats.append(s) }
        return stats.score(self)
    }
}

/// Running sums over a path's step scores, so a child's path score costs O(its own steps).
public struct PathStats: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var logSum = 0.0
    public private(set) var sum = 0.0
    public private(set) var minimum = Double.infinity
    public private(set) var last = 0.0

    public init() {}

    public mutating func append(_ raw: Double) {
        // NaN from a broken head counts as the floor, not as a poison value.
        let s = raw.isNaN ? ScoreAggregation.floor : Swift.max(raw, ScoreAggregation.floor)
        count += 1
        logSum += Foundation.log(s)
        sum += s
        minimum = Swift.min(minimum, s)
        last = s
    }

    public func appending(_ scores: [Double]) -> PathStats {
        var copy = self
        for s in scores { copy.append(s) }
        return copy
    }

    public func score(_ aggregation: ScoreAggregation) -> Double {
        guard count > 0 else { return 0 }
        switch aggregation {
        case .geometricMean: return Foundation.exp(logSum / Double(count))
        case .arithmeticMean: return sum / Double(count)
        case .minimum: return minimum
        case .last: return last
        case .product: return Foundation.exp(logSum)
        }
    }
}
