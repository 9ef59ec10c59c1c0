package queue

import "math/rand/v2"

// StrategyRoundRobin is the name of this strategy in QueueConfig.Strategy.
const StrategyRoundRobin = "round-robin"

func init() {
	register(StrategyInfo{
		Name:  StrategyRoundRobin,
		Label: Text{Da: "På skift", En: "Round robin"},
		Help: Text{
			Da: "Opkaldet går til den næste medarbejder efter den, der fik det seneste, i medlemskabets rækkefølge.",
			En: "The call goes to the agent after the one offered the last call, in membership order.",
		},
		New: func(*rand.Rand) Strategy { return &roundRobin{last: -1 << 62} },
	})
}

// roundRobin ("rrmemory") offers to the agent after the one offered last, in
// membership order, wrapping around.
type roundRobin struct {
	last int // Order of the agent offered last
}

func (r *roundRobin) Rank(cands []Candidate) {
	sortStable(cands, func(a, b Candidate) int {
		// agents after the last one come first, then the wrap-around.
		aw, bw := a.Order <= r.last, b.Order <= r.last
		if aw != bw {
			if aw {
				return 1
			}
			return -1
		}
		return byOrder(a, b)
	})
}

func (r *roundRobin) Offered(c Candidate) { r.last = c.Order }
