package queue

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	// Skills are the agent's skill levels (AgentConfig.Skills) and Needs
	// the skills the call asks for (the queue's, then the call's own). Both
	// are shared with the engine: read them, never change them.
	Skills map[string]int
	Needs  []SkillReq

	m *member
}

// Strategy decides which free agent a queue offers a call to. Each queue gets
// its own instance (so it may keep memory, like round-robin does). The
// engine passes every eligible candidate; the strategy orders them, best
// first; the engine then puts lower tiers first (stable) and offers to as
// many as the queue allows.
type Strategy interface {
	// Rank orders cands in place, most preferred first.
	Rank(cands []Candidate)
	// Offered tells the strategy that c was offered a call.
	Offered(c Candidate)
}

// StrategyFactory makes a Strategy for one queue. rng is the engine's seeded
// random source; strategies must use it, never a global one, so runs repeat.
type StrategyFactory func(rng *rand.Rand) Strategy

// Text is a text for people, in each language of the interface.
type Text struct {
	Da string `json:"da"`
	En string `json:"en"`
}

// StrategyInfo is one entry of the strategy registry: everything the rest
// of omstil knows about a strategy. The configuration's validation, the
// API's OpenAPI enum, GET /api/v1/strategies and the admin page's choice
// all read the registry, so a new strategy is one file in this package
// that calls register from its init (see docs/extending.md).
type StrategyInfo struct {
	// Name is the value of QueueConfig.Strategy (and of a queue's
	// "strategy" in the API): lower case, words joined by "-".
	Name string
	// Label is the short name shown in the admin page's list.
	Label Text
	// Help says in one sentence who gets the call first.
	Help Text
	// New makes the strategy for one queue.
	New StrategyFactory
}

// registry holds every strategy, filled by the init functions of the
// strategy_*.go files before main runs and read-only afterwards.
var registry = map[string]StrategyInfo{}

// register adds a strategy to the registry. It panics on a missing field
// or a name used twice: both are mistakes in the source, found by any test
// of the package.
func register(s StrategyInfo) {
	switch {
	case s.Name == "" || strings.ToLower(s.Name) != s.Name || strings.ContainsAny(s.Name, " _"):
		panic(fmt.Sprintf("queue: strategy name %q: want lower case words joined by -", s.Name))
	case s.New == nil || s.Label.Da == "" || s.Label.En == "" || s.Help.Da == "" || s.Help.En == "":
		panic(fmt.Sprintf("queue: strategy %q needs New and a Danish and English Label and Help", s.Name))
	}
	if _, dup := registry[s.Name]; dup {
		panic(fmt.Sprintf("queue: strategy %q registered twice", s.Name))
	}
	registry[s.Name] = s
}

// DefaultStrategy is the strategy of a queue that names none.
const DefaultStrategy = StrategyLongestIdle

// Strategies returns every registered strategy, the default first, then by
// name.
func Strategies() []StrategyInfo {
	out := make([]StrategyInfo, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b StrategyInfo) int {
		if (a.Name == DefaultStrategy) != (b.Name == DefaultStrategy) {
			if a.Name == DefaultStrategy {
				return -1
			}
			return 1
		}
		return cmpString(a.Name, b.Name)
	})
	return out
}

// StrategyNames returns the names of Strategies, in the same order.
func StrategyNames() []string {
	var names []string
	for _, s := range Strategies() {
		names = append(names, s.Name)
	}
	return names
}

// KnownStrategy reports whether name is a registered strategy.
func KnownStrategy(name string) bool {
	_, ok := registry[name]
	return ok
}

// ringAller is implemented by strategies that ring every eligible agent at
// once instead of MaxParallelOffers.
type ringAller interface{ ringAll() bool }

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
