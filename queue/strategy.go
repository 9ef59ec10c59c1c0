package queue

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Candidate is a free agent that may take a call, as a Strategy sees it.
type Candidate struct {
	Agent      AgentID
	Tier       int       // membership tier in this queue
	Order      int       // membership order in this queue (linear, round-robin)
	Weight     int       // membership weight (weighted random)
	IdleSince  time.Time // end of the agent's last call in any queue, or login
	CallsToday int       // calls answered today in any queue

	m *member
}

// Strategy decides which free agent a queue offers a call to. Each queue gets
// its own instance (so it may keep memory, like round-robin does). The
// engine passes every eligible candidate; the strategy orders them, best
// first; the engine then puts lower tiers first (stable) and offers to as
// many as the queue allows. A new strategy is one file: a type implementing
// this interface and its factory, registered through Options.Strategies (or
// in builtinStrategies for the built-in ones).
type Strategy interface {
	// Rank orders cands in place, most preferred first.
	Rank(cands []Candidate)
	// Offered tells the strategy that c was offered a call.
	Offered(c Candidate)
}

// StrategyFactory makes a Strategy for one queue. rng is the engine's seeded
// random source; strategies must use it, never a global one, so runs repeat.
type StrategyFactory func(rng *rand.Rand) Strategy

// ringAller is implemented by strategies that ring every eligible agent at
// once instead of MaxParallelOffers.
type ringAller interface{ ringAll() bool }

func builtinStrategies() map[string]StrategyFactory {
	return map[string]StrategyFactory{
		StrategyRingAll:        func(*rand.Rand) Strategy { return ringAll{} },
		StrategyLongestIdle:    func(*rand.Rand) Strategy { return longestIdle{} },
		StrategyRoundRobin:     func(*rand.Rand) Strategy { return &roundRobin{last: -1 << 62} },
		StrategyFewestCalls:    func(*rand.Rand) Strategy { return fewestCalls{} },
		StrategyLinear:         func(*rand.Rand) Strategy { return linear{} },
		StrategyRandom:         func(r *rand.Rand) Strategy { return randomStrategy{rng: r} },
		StrategyWeightedRandom: func(r *rand.Rand) Strategy { return weightedRandom{rng: r} },
	}
}

// byOrder compares by membership order, then agent id.
func byOrder(a, b Candidate) int {
	if a.Order != b.Order {
		return cmpInt(a.Order, b.Order)
	}
	return cmpString(string(a.Agent), string(b.Agent))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortByTier puts lower tiers first, keeping the strategy's order within a
// tier.
func sortByTier(cands []Candidate) {
	slices.SortStableFunc(cands, func(a, b Candidate) int { return cmpInt(a.Tier, b.Tier) })
}

func sortStable(cands []Candidate, cmp func(a, b Candidate) int) { slices.SortStableFunc(cands, cmp) }
