import Foundation
@testable import StepSearch

/// Worlds shared by the strategy tests.
enum Worlds {
    static let correct = [2, 1, 3, 0]

    /// A hidden correct path [2, 1, 3, 0] (every step 0.9) and a trap: choice 0 first looks
    /// best (0.95) but every later step under it scores 0.05. Wrong steps score 0.3.
    /// Correct answer "42", anything else "7". Greedy always takes the trap.
    static func trap(stratified: Bool = true) -> FakePolicy.World {
        var w = FakePolicy.World()
        w.depth = 4
        w.width = 4
        w.stratified = stratified
        w.probabilities = [0.4, 0.2, 0.2, 0.2]
        w.stepScore = { choices in
            if choices[0] == 0 { return choices.count == 1 ? 0.95 : 0.05 }
            return Array(correct.prefix(choices.count)) == choices ? 0.9 : 0.3
        }
        w.answer = { $0 == correct ? "42" : "7" }
        return w
    }

    /// Step scores from a hash of the choices so far: in [0.05, 0.95], no ties in practice.
    static func hashed(depth: Int, width: Int, salt: UInt64, stratified: Bool) -> FakePolicy.World {
        var w = FakePolicy.World()
        w.depth = depth
        w.width = width
        w.stratified = stratified
        w.probabilities = Array(repeating: 1 / Double(width), count: width)
        w.stepScore = { choices in hashScore(choices, salt: salt) }
        w.answer = { choices in String(choices.reduce(0, +) % 3) }
        return w
    }

    static func hashScore(_ choices: [Int], salt: UInt64) -> Double {
        var h = salt
        for c in choices { h = FakeRandom.mix(h ^ UInt64(c + 1)) }
        return 0.05 + 0.9 * Double(h >> 11) / Double(1 << 53)
    }

    /// Parses a trajectory's text back into its choices ("c2 x.\n\n" -> 2).
    static func choices(in text: String) -> [Int] {
        var out: [Int] = []
        var rest = Substring(text)
        while let r = rest.range(of: "c") {
            let after = rest[r.upperBound...]
            if let d = after.first, let v = d.wholeNumberValue { out.append(v) }
            rest = after
        }
        return out
    }
}

