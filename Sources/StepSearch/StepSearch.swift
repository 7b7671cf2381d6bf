// StepSearch: test-time search over a reasoning LM, with no model dependency.
//
// Strategies (`SingleTrajectory` greedy/sample, `BestOfN`, `BeamSearch`, `MCTS`) talk to a
// `SearchPolicy` (root / fork / release / batched extend / canGrow) and charge every generated
// token to ONE `TokenBudget`. A run returns a `SearchResult` with a `SearchTrace` whose node
// token counts sum to `tokensUsed`. Presets live in Configs/*.json (`SearchConfig`).
//
// Typical use (the facade):
//   let config = try SearchConfig.load(contentsOf: url)
//   let context = config.makeContext(question: q, isCancelled: { sigint.isSet })
//   let result = try config.makeStrategy().run(policy: modelPolicy, context: context)
