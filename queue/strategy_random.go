package queue

import "math/rand/v2"

// StrategyRandom is the name of this strategy in QueueConfig.Strategy.
const StrategyRandom = "random"

func init() {
	register(StrategyInfo{
		Name:  StrategyRandom,
		Label: Text{Da: "Tilfældig", En: "Random"},
		Help: Text{
			Da: "En tilfældig ledig medarbejder får opkaldet.",
			En: "A free agent chosen at random gets the call.",
		},
		New: func(r *rand.Rand) Strategy { return randomStrategy{rng: r} },
	})
}

// randomStrategy picks uniformly at random from the engine's seeded source.
type randomStrategy struct{ rng *rand.Rand }

func (s randomStrategy) Rank(cands []Candidate) {
	// sort first so the outcome depends only on the seed, not on the order
	// the engine happened to collect candidates in.
	sortStable(cands, byOrder)
	s.rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
}
func (randomStrategy) Offered(Candidate) {}
