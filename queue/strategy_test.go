package queue

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func cands(specs ...Candidate) []Candidate { return append([]Candidate(nil), specs...) }

func agentsOf(cs []Candidate) []string {
	var s []string
	for _, c := range cs {
		s = append(s, string(c.Agent))
	}
	return s
}

func TestStrategyRank(t *testing.T) {
	base := []Candidate{
		{Agent: "a", Order: 3, IdleSince: t0.Add(3 * time.Minute), CallsToday: 5},
		{Agent: "b", Order: 1, IdleSince: t0.Add(1 * time.Minute), CallsToday: 9},
		{Agent: "c", Order: 2, IdleSince: t0.Add(2 * time.Minute), CallsToday: 1},
	}
	tests := []struct {
		name string
		s    Strategy
		want []string
	}{
		{"ringall keeps membership order", ringAll{}, []string{"b", "c", "a"}},
		{"linear", linear{}, []string{"b", "c", "a"}},
		{"longest idle", longestIdle{}, []string{"b", "c", "a"}},
		{"fewest calls", fewestCalls{}, []string{"c", "a", "b"}},
		{"round robin after order 1", &roundRobin{last: 1}, []string{"c", "a", "b"}},
		{"round robin after order 3 wraps", &roundRobin{last: 3}, []string{"b", "c", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := cands(base...)
			tt.s.Rank(cs)
			if got := agentsOf(cs); !eqStrings(got, tt.want) {
				t.Fatalf("rank %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoundRobinRemembers(t *testing.T) {
	rr := &roundRobin{last: -1 << 62}
	var got []string
	for range 5 {
		cs := cands(Candidate{Agent: "x", Order: 1}, Candidate{Agent: "y", Order: 2}, Candidate{Agent: "z", Order: 3})
		rr.Rank(cs)
		got = append(got, string(cs[0].Agent))
		rr.Offered(cs[0])
	}
	if want := []string{"x", "y", "z", "x", "y"}; !eqStrings(got, want) {
		t.Fatalf("round robin %v, want %v", got, want)
	}
}

func TestRandomStrategiesAreSeededAndFair(t *testing.T) {
	const n = 30000
	count := func(s Strategy) map[AgentID]int {
		c := map[AgentID]int{}
		for range n {
			cs := cands(Candidate{Agent: "a", Weight: 1}, Candidate{Agent: "b", Weight: 2}, Candidate{Agent: "c", Weight: 7})
			s.Rank(cs)
			c[cs[0].Agent]++
		}
		return c
	}
	r := count(randomStrategy{rng: rand.New(rand.NewPCG(1, 2))})
	for _, id := range []AgentID{"a", "b", "c"} {
		if f := float64(r[id]) / n; f < 0.31 || f > 0.36 {
			t.Errorf("random: %s first %.3f of the time, want ~1/3", id, f)
		}
	}
	w := count(weightedRandom{rng: rand.New(rand.NewPCG(1, 2))})
	for id, want := range map[AgentID]float64{"a": 0.1, "b": 0.2, "c": 0.7} {
		if f := float64(w[id]) / n; f < want-0.02 || f > want+0.02 {
			t.Errorf("weighted: %s first %.3f of the time, want %.2f", id, f, want)
		}
	}
	// the same seed gives the same sequence.
	if a, b := count(randomStrategy{rng: rand.New(rand.NewPCG(7, 7))}), count(randomStrategy{rng: rand.New(rand.NewPCG(7, 7))}); a["a"] != b["a"] || a["b"] != b["b"] {
		t.Fatal("random strategy is not repeatable from its seed")
	}
}

// A custom strategy is one type registered from its file's init; this one
// exists only in the test binary.
type lastFirst struct{}

func (lastFirst) Rank(cs []Candidate) {
	sortStable(cs, func(a, b Candidate) int { return -byOrder(a, b) })
}
func (lastFirst) Offered(Candidate) {}

func init() {
	register(StrategyInfo{
		Name: "last-first", Label: Text{Da: "Sidste først", En: "Last first"},
		Help: Text{Da: "Kun til test.", En: "Test only."},
		New:  func(*rand.Rand) Strategy { return lastFirst{} },
	})
}

func TestCustomStrategy(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: "last-first"})
	h.agent("a", Membership{Queue: "q", Order: 1})
	h.agent("b", Membership{Queue: "q", Order: 2})
	h.do(AgentLogin{Agent: "a"})
	h.do(AgentLogin{Agent: "b"})
	if got := offers(h.do(CallArrived{Call: "c", Queue: "q"})); !eqStrings(got, []string{"c>b"}) {
		t.Fatalf("offers %v", got)
	}
}

func TestRegistry(t *testing.T) {
	names := StrategyNames()
	if len(names) == 0 || names[0] != DefaultStrategy {
		t.Fatalf("names %v: want the default %q first", names, DefaultStrategy)
	}
	for _, n := range []string{StrategyRingAll, StrategyLongestIdle, StrategyRoundRobin, StrategyFewestCalls,
		StrategyLinear, StrategyRandom, StrategyWeightedRandom} {
		if !KnownStrategy(n) || !slices.Contains(names, n) {
			t.Errorf("built-in %q is not registered", n)
		}
	}
	if KnownStrategy("fastest") {
		t.Error("an unregistered name is known")
	}
	// every registered strategy runs in a queue.
	for _, s := range Strategies() {
		if err := New(Options{}).SetQueue(QueueConfig{ID: "q", Strategy: s.Name}); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	if err := New(Options{}).SetQueue(QueueConfig{ID: "q", Strategy: "fastest"}); err == nil || !strings.Contains(err.Error(), `unknown strategy "fastest"`) {
		t.Errorf("unknown strategy: %v", err)
	}
}

func TestRegisterRefusesMistakes(t *testing.T) {
	ok := StrategyInfo{Name: "x-y", Label: Text{Da: "a", En: "b"}, Help: Text{Da: "c", En: "d"},
		New: func(*rand.Rand) Strategy { return linear{} }}
	tests := []struct {
		name string
		edit func(*StrategyInfo)
	}{
		{"taken name", func(s *StrategyInfo) { s.Name = StrategyLinear }},
		{"upper case", func(s *StrategyInfo) { s.Name = "Most" }},
		{"no name", func(s *StrategyInfo) { s.Name = "" }},
		{"no factory", func(s *StrategyInfo) { s.New = nil }},
		{"no English help", func(s *StrategyInfo) { s.Help.En = "" }},
		{"no Danish label", func(s *StrategyInfo) { s.Label.Da = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			defer func() {
				if recover() == nil {
					t.Fatal("registered")
				}
				if _, in := registry["x-y"]; in {
					t.Fatal("the mistaken entry is in the registry")
				}
			}()
			register(s)
		})
	}
}
