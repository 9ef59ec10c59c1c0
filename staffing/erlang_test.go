package staffing

import (
	"errors"
	"math"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestErlangCTable checks C(N, A) against published values.
//
// Sources:
//   - N=14, A=10: the worked example "Erlang C Formula – Made Simple With
//     an Easy Worked Example" (callcentrehelper.com): 100 calls per
//     30 minutes, AHT 180 s, 80 % in 20 s, at most 85 % occupancy →
//     10 Erlangs, 14 agents.
//   - N=55, A=48: the widely copied step-by-step page "The Erlang-C
//     Formula" (by Mitan Ltd, mitan.co.uk, as far as known): 360 calls per
//     half hour of 4 minutes each, 55 agents, 15 s target.
//   - N=2, A=1: C = 1/3, the textbook M/M/2 value (ρ = 1/2; e.g.
//     Kleinrock, Queueing Systems Vol. 1, §3.5).
//
// What was checked: the inputs of both worked examples as published
// (stored copies of the pages were read); their printed results were not
// in those copies, so the digits below are not copied from them but
// recomputed independently with exact rational arithmetic (Python
// fractions, C = (A^N/N!·N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N!·N/(N−A)),
// not committed), and the agent counts follow from the examples' goals.
// The rows without a source are from the same exact computation.
func TestErlangCTable(t *testing.T) {
	tests := []struct {
		n    int
		a, c float64
	}{
		{14, 10, 0.1741319336},
		{55, 48, 0.2387009364},
		{2, 1, 1.0 / 3},
		{1, 0.5, 0.5}, // M/M/1: C = ρ
		{5, 3, 0.2361516035},
		{10, 8, 0.4091801508},
		{20, 15, 0.1604293874},
		{100, 90, 0.2169404809},
	}
	for _, tc := range tests {
		got, err := ErlangC(tc.n, tc.a)
		if err != nil || !near(got, tc.c, 1e-9) {
			t.Errorf("C(%d, %v) = %.10f, %v; want %.10f", tc.n, tc.a, got, err, tc.c)
		}
	}
}

// TestErlangCWorkedExamples checks service level, ASA and the agents
// needed in the two worked examples (see TestErlangCTable), recomputed
// exactly: 10 Erlangs with 14 agents answer 88.8 % within 20 s (a figure
// of 86.6 % sometimes quoted for this example does not follow from the
// formula), ASA 7.8 s, and 13 agents only 79.6 %, so 14 are needed;
// 48 Erlangs with 55 agents answer 84.6 % within 15 s, ASA 8.2 s.
func TestErlangCWorkedExamples(t *testing.T) {
	tests := []struct {
		name    string
		l       Load
		n       int
		sl, asa float64
	}{
		{"callcentrehelper 14 agents", Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, 14, 0.888350, 7.8359},
		{"callcentrehelper 13 agents", Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, 13, 0.795595, 0},
		{"westbay 55 agents", Load{Rate: 360.0 / 1800, AHT: 240, Target: 15}, 55, 0.845883, 8.1840},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ErlangCResult(tc.n, tc.l)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.SL, tc.sl, 5e-7) || (tc.asa != 0 && !near(r.ASA, tc.asa, 5e-5)) {
				t.Errorf("SL %.6f ASA %.4f, want %.6f %.4f", r.SL, r.ASA, tc.sl, tc.asa)
			}
		})
	}
	r, err := AgentsErlangC(Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, Goal{SL: 0.8, MaxOccupancy: 0.85})
	if err != nil || r.Agents != 14 {
		t.Errorf("agents for 80/20 at 10 Erlangs: %d, %v; want 14", r.Agents, err)
	}
	// Westbay: 80 % in 15 s: 72.5 % with 53 agents, 79.3 % with 54,
	// 84.6 % with 55, so 55.
	r, err = AgentsErlangC(Load{Rate: 360.0 / 1800, AHT: 240, Target: 15}, Goal{SL: 0.8, MaxOccupancy: 1})
	if err != nil || r.Agents != 55 {
		t.Errorf("agents for 80/15 at 48 Erlangs: %d, %v; want 55", r.Agents, err)
	}
	// The occupancy cap binds: 48 Erlangs at most 85 % busy needs
	// ceil(48/0.85) = 57 agents although 55 meet the service level.
	r, err = AgentsErlangC(Load{Rate: 360.0 / 1800, AHT: 240, Target: 15}, Goal{SL: 0.8, MaxOccupancy: 0.85})
	if err != nil || r.Agents != 57 || r.Occupancy > 0.85 {
		t.Errorf("agents with occupancy ≤ 85 %%: %d (%.3f), %v; want 57", r.Agents, r.Occupancy, err)
	}
}

func TestErlangCEdges(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		l       Load
		wantErr error
		pwait   float64
		sl      float64
	}{
		{"no arrivals", 0, Load{Rate: 0, AHT: 180, Target: 20}, nil, 0, 1},
		{"no arrivals, no handling time", 3, Load{Target: 20}, nil, 0, 1},
		{"N below A", 9, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, ErrUnstable, 1, 0},
		{"N equal to A", 10, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, ErrUnstable, 1, 0},
		{"no agents", 0, Load{Rate: 1, AHT: 1, Target: 20}, ErrUnstable, 1, 0},
		{"target 0: SL = 1 − C", 14, Load{Rate: 100.0 / 1800, AHT: 180}, nil, 0.1741319336, 1 - 0.1741319336},
		{"huge N", 5000, Load{Rate: 1, AHT: 10, Target: 20}, nil, 0, 1},
		{"negative rate", 5, Load{Rate: -1, AHT: 10}, ErrInput, 0, 0},
		{"NaN handling time", 5, Load{Rate: 1, AHT: math.NaN()}, ErrInput, 0, 0},
		{"arrivals without handling time", 5, Load{Rate: 1}, ErrInput, 0, 0},
		{"infinite target", 5, Load{Rate: 1, AHT: 1, Target: math.Inf(1)}, ErrInput, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ErlangCResult(tc.n, tc.l)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !near(r.PWait, tc.pwait, 1e-9) || !near(r.SL, tc.sl, 1e-9) || math.IsNaN(r.ASA) || math.IsNaN(r.Occupancy) {
				t.Errorf("got %+v, want PWait %v SL %v", r, tc.pwait, tc.sl)
			}
		})
	}
}

func TestAgentsEdges(t *testing.T) {
	goal := Goal{SL: 0.8, MaxOccupancy: 0.85}
	tests := []struct {
		name    string
		l       Load
		g       Goal
		agents  int
		wantErr error
	}{
		{"no arrivals need nobody", Load{AHT: 180, Target: 20}, goal, 0, nil},
		{"tiny load needs one", Load{Rate: 1.0 / 3600, AHT: 60, Target: 20}, goal, 1, nil},
		{"occupancy 100 % allowed", Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}, Goal{SL: 0.8, MaxOccupancy: 1}, 14, nil},
		{"bad goal", Load{Rate: 1, AHT: 1}, Goal{SL: 1.2, MaxOccupancy: 0.8}, 0, ErrInput},
		{"zero occupancy", Load{Rate: 1, AHT: 1}, Goal{SL: 0.8}, 0, ErrInput},
		{"beyond MaxAgents", Load{Rate: 200, AHT: 1000, Target: 20}, goal, 0, ErrUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []func(Load, Goal) (Result, error){AgentsErlangC, AgentsErlangA} {
				r, err := f(tc.l, tc.g)
				if !errors.Is(err, tc.wantErr) || (err == nil && r.Agents != tc.agents) {
					t.Errorf("%d agents, %v; want %d, %v", r.Agents, err, tc.agents, tc.wantErr)
				}
			}
		})
	}
}

// TestErlangCLargeN: hundreds of agents, where A^N/N! alone overflows a
// float64, still give a probability, and the needed agents grow with the
// load like A + β√A (square-root staffing, Halfin & Whitt 1981).
func TestErlangCLargeN(t *testing.T) {
	for _, a := range []float64{100, 250, 400} {
		l := Load{Rate: a / 180, AHT: 180, Target: 20}
		r, err := AgentsErlangC(l, Goal{SL: 0.8, MaxOccupancy: 1})
		if err != nil {
			t.Fatal(err)
		}
		beta := (float64(r.Agents) - a) / math.Sqrt(a)
		if beta < 0.2 || beta > 1.5 || r.SL < 0.8 || r.PWait <= 0 || r.PWait >= 1 {
			t.Errorf("A=%v: %d agents (β %.2f), %+v", a, r.Agents, beta, r)
		}
		prev, err := ErlangCResult(r.Agents-1, l)
		if err != nil || prev.SL >= 0.8 {
			t.Errorf("A=%v: %d agents would do: %+v %v", a, r.Agents-1, prev, err)
		}
	}
}

func BenchmarkErlangC(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		l := Load{Rate: float64(n) * 0.9 / 180, AHT: 180, Target: 20}
		b.Run(itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ErlangCResult(n, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAgentsErlangC(b *testing.B) {
	for _, a := range []float64{10, 100, 450} {
		l := Load{Rate: a / 180, AHT: 180, Target: 20}
		b.Run(itoa(int(a)), func(b *testing.B) {
			for b.Loop() {
				if _, err := AgentsErlangC(l, Goal{SL: 0.8, MaxOccupancy: 0.9}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
