package queue

// ringAll rings every eligible agent of the lowest eligible tier at once; the
// first to answer gets the call.
type ringAll struct{}

func (ringAll) Rank(cands []Candidate) {
	sortStable(cands, byOrder)
}
func (ringAll) Offered(Candidate) {}
func (ringAll) ringAll() bool     { return true }
