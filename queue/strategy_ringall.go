package queue

import "math/rand/v2"

// StrategyRingAll is the name of this strategy in QueueConfig.Strategy.
const StrategyRingAll = "ringall"

func init() {
	register(StrategyInfo{
		Name:  StrategyRingAll,
		Label: Text{Da: "Ring hos alle", En: "Ring all"},
		Help: Text{
			Da: "Det ringer hos alle ledige medarbejdere på én gang; den første, der svarer, får opkaldet.",
			En: "Every free agent rings at once; the first to answer gets the call.",
		},
		New: func(*rand.Rand) Strategy { return ringAll{} },
	})
}

// ringAll rings every eligible agent of the lowest eligible tier at once; the
// first to answer gets the call.
type ringAll struct{}

func (ringAll) Rank(cands []Candidate) {
	sortStable(cands, byOrder)
}
func (ringAll) Offered(Candidate) {}
func (ringAll) ringAll() bool     { return true }
