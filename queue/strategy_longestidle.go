package queue

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
