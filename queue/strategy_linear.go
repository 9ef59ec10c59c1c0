package queue

// linear always tries agents in the fixed membership order.
type linear struct{}

func (linear) Rank(cands []Candidate) { sortStable(cands, byOrder) }
func (linear) Offered(Candidate)      {}
