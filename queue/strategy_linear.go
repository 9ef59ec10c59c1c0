package queue

import "math/rand/v2"

// StrategyLinear is the name of this strategy in QueueConfig.Strategy.
const StrategyLinear = "linear"

func init() {
	register(StrategyInfo{
		Name:  StrategyLinear,
		Label: Text{Da: "Fast rækkefølge", En: "Fixed order"},
		Help: Text{
			Da: "Medarbejderne prøves altid i den faste rækkefølge fra deres medlemskab af køen.",
			En: "Agents are always tried in the fixed order of their membership of the queue.",
		},
		New: func(*rand.Rand) Strategy { return linear{} },
	})
}

// linear always tries agents in the fixed membership order.
type linear struct{}

func (linear) Rank(cands []Candidate) { sortStable(cands, byOrder) }
func (linear) Offered(Candidate)      {}
