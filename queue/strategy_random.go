package queue

import "math/rand/v2"

// randomStrategy picks uniformly at random from the engine's seeded source.
type randomStrategy struct{ rng *rand.Rand }

func (s randomStrategy) Rank(cands []Candidate) {
	// sort first so the outcome depends only on the seed, not on the order
	// the engine happened to collect candidates in.
	sortStable(cands, byOrder)
	s.rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
}
func (randomStrategy) Offered(Candidate) {}
