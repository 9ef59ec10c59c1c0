package queue

import (
	"math"
	"math/rand/v2"
)

// StrategyWeightedRandom is the name of this strategy in QueueConfig.Strategy.
const StrategyWeightedRandom = "weighted-random"

func init() {
	register(StrategyInfo{
		Name:  StrategyWeightedRandom,
		Label: Text{Da: "Tilfældig med vægt", En: "Weighted random"},
		Help: Text{
			Da: "En tilfældig ledig medarbejder får opkaldet, med en chance der vokser med medlemskabets vægt.",
			En: "A free agent chosen at random gets the call, with a chance that grows with the membership's weight.",
		},
		New: func(r *rand.Rand) Strategy { return weightedRandom{rng: r} },
	})
}

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
