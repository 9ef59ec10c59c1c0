package queue

import "math/rand/v2"

// StrategyLongestIdle is the name of this strategy in QueueConfig.Strategy.
const StrategyLongestIdle = "longest-idle"

func init() {
	register(StrategyInfo{
		Name:  StrategyLongestIdle,
		Label: Text{Da: "Længst ledig først", En: "Longest idle first"},
		Help: Text{
			Da: "Den medarbejder, hvis seneste opkald (i alle køer) sluttede længst tid siden, får opkaldet først.",
			En: "The agent whose last call (in any queue) ended longest ago gets the call first.",
		},
		New: func(*rand.Rand) Strategy { return longestIdle{} },
	})
}

// longestIdle prefers the agent whose last call (in any queue) ended longest
// ago; agents who have had no call count from their login.
type longestIdle struct{}

func (longestIdle) Rank(cands []Candidate) {
	sortStable(cands, func(a, b Candidate) int {
		if c := a.IdleSince.Compare(b.IdleSince); c != 0 {
			return c
		}
		return byOrder(a, b)
	})
}
func (longestIdle) Offered(Candidate) {}
