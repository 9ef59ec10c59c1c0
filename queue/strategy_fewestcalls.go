package queue

import "math/rand/v2"

// StrategyFewestCalls is the name of this strategy in QueueConfig.Strategy.
const StrategyFewestCalls = "fewest-calls"

func init() {
	register(StrategyInfo{
		Name:  StrategyFewestCalls,
		Label: Text{Da: "Færrest opkald i dag", En: "Fewest calls today"},
		Help: Text{
			Da: "Den ledige medarbejder, der har besvaret færrest opkald i dag (i alle køer), får opkaldet først.",
			En: "The free agent who has answered the fewest calls today (in any queue) gets the call first.",
		},
		New: func(*rand.Rand) Strategy { return fewestCalls{} },
	})
}

// fewestCalls prefers the agent who has answered the fewest calls today (in
// any queue).
type fewestCalls struct{}

func (fewestCalls) Rank(cands []Candidate) {
	sortStable(cands, func(a, b Candidate) int {
		if a.CallsToday != b.CallsToday {
			return cmpInt(a.CallsToday, b.CallsToday)
		}
		return byOrder(a, b)
	})
}
func (fewestCalls) Offered(Candidate) {}
