package queue

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
