package queue

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
