package queue

import "time"

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
// average), an agent frees up every h/n on average, so the caller at
// position p (beyond the agents free right now) waits about p·h/n.
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
	n := float64(units) / shareScale
	secs := float64(ahead) * q.aht / n
	return time.Duration(secs * float64(time.Second)).Round(time.Second)
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
