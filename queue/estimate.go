package queue

import (
	"math"
	"time"
)

// ahtAlpha is the weight of the newest call in the handle-time average
// (about the last 20 calls count).
const ahtAlpha = 0.1

// shareScale is the fixed-point unit for agent shares, so that the sum does
// not depend on map order.
const shareScale = 1 << 20

// estimate returns the expected remaining wait of the caller at pos in q,
// or -1 when nobody serves the queue.
//
// The queue's capacity is its logged-in, unpaused agents, each counted as
// 1/k when it is logged in to k queues that have callers waiting. With n
// such agents and a measured handle time h (talk + wrap-up, moving
// average), agents free up at rate r = n/h. Callers ahead also leave by
// hanging up: the queue measures its abandonment hazard θ (abandons per
// second of waiting, moving average). While k callers are ahead, the line
// moves at r + k·θ, so the caller at position p (beyond the agents free
// right now) waits Σ_{k=0}^{p-1} 1/(r + k·θ) — the Erlang-A expectation.
func (e *Engine) estimate(q *queue, pos int) time.Duration {
	if q.capGen != e.gen {
		q.capGen, q.capUnits = e.gen, e.capacity(q)
	}
	units := q.capUnits
	if units == 0 {
		return -1
	}
	ahead := pos - len(q.ready)
	if ahead <= 0 {
		return 0
	}
	r := float64(units) / shareScale / q.aht // services per second
	theta := 0.0
	if q.abWait > 0 {
		theta = q.abN / q.abWait
	}
	var secs float64
	const exact = 256
	for k := 0; k < ahead && k < exact; k++ {
		secs += 1 / (r + float64(k)*theta)
	}
	if ahead > exact {
		if theta > 0 {
			secs += math.Log((r+(float64(ahead)-0.5)*theta)/(r+(exact-0.5)*theta)) / theta
		} else {
			secs += float64(ahead-exact) / r
		}
	}
	return time.Duration(secs * float64(time.Second)).Round(time.Second)
}

// abDecay weighs the newest caller in the abandonment hazard (about the
// last 50 callers count).
const abDecay = 0.98

// left records a caller leaving the waiting line after waited, by
// abandoning or by being answered, for the abandonment hazard.
func (q *queue) left(waited time.Duration, abandoned bool) {
	q.abWait = q.abWait*abDecay + max(waited.Seconds(), 0)
	q.abN *= abDecay
	if abandoned {
		q.abN++
	}
}

// capacity returns the agents serving q in shareScale units. It is cached
// per q until e.gen moves (any agent state change, and every step).
func (e *Engine) capacity(q *queue) int64 {
	var units int64
	for _, m := range q.mlist {
		if !m.active || m.agent.state == Paused {
			continue
		}
		k := int64(0)
		for _, o := range m.agent.mlist {
			if o.active && (o.q == q || o.q.waiting.len() > 0) {
				k++
			}
		}
		units += shareScale / max(k, 1)
	}
	return units
}
