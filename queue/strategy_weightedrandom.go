package queue

import (
	"math"
	"math/rand/v2"
)

// weightedRandom picks at random with probability proportional to the
// membership weight (sampling without replacement: key u^(1/w), highest
// first).
type weightedRandom struct{ rng *rand.Rand }

func (s weightedRandom) Rank(cands []Candidate) {
	sortStable(cands, byOrder)
	keys := make(map[AgentID]float64, len(cands))
	for _, c := range cands {
		w := c.Weight
		if w < 1 {
			w = 1
		}
		keys[c.Agent] = math.Log(1-s.rng.Float64()) / float64(w) // log(u)/w, monotone in u^(1/w)
	}
	sortStable(cands, func(a, b Candidate) int {
		ka, kb := keys[a.Agent], keys[b.Agent]
		switch {
		case ka > kb:
			return -1
		case ka < kb:
			return 1
		}
		return 0
	})
}
func (weightedRandom) Offered(Candidate) {}
