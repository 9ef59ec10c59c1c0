package staffing

import (
	"errors"
	"math"
	"testing"
)

// TestErlangAValues checks Erlang A against an independent numeric
// computation, not a published table: a Python script (not committed)
// that takes the birth–death chain truncated at 400 waiting callers,
// gets P(abandon) from the conservation law θ·E[queue] = λ·P(abandon),
// and the service level by uniformisation of the tagged caller's chain
// (k ahead → k−1 at nμ+kθ, abandon at θ) — so neither the incomplete
// beta function nor the (k+1)/(x+k+1) form used here. The patience 1e7 s
// row reproduces the Erlang C worked example (0.174130, 0.888352).
func TestErlangAValues(t *testing.T) {
	tests := []struct {
		n                  int
		l                  Load
		pw, pab, sl, occup float64
	}{
		{14, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 120}, 0.12697634, 0.02283929, 0.93272958, 0.69797194},
		{12, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 60}, 0.24042611, 0.07590180, 0.86030066, 0.77008184},
		{9, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 300}, 0.73454863, 0.16326196, 0.36624855, 0.92970894}, // fewer agents than Erlangs
		{3, Load{Rate: 1.0 / 60, AHT: 120, Target: 30, Patient: 45}, 0.27962331, 0.14833902, 0.81131466, 0.56777399},
		{5, Load{Rate: 0.1, AHT: 30, Target: 10, Patient: 10}, 0.15679866, 0.06925715, 0.92129551, 0.55844571},
		{14, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 1e7}, 0.17413032, 0.00000078, 0.88835168, 0.71428515},
	}
	for _, tc := range tests {
		r, err := ErlangAResult(tc.n, tc.l)
		if err != nil {
			t.Fatal(err)
		}
		if !near(r.PWait, tc.pw, 1e-7) || !near(r.PAbandon, tc.pab, 1e-7) || !near(r.SL, tc.sl, 1e-7) || !near(r.Occupancy, tc.occup, 1e-7) {
			t.Errorf("n=%d %+v:\n got  %+v\n want PWait %.8f PAbandon %.8f SL %.8f Occupancy %.8f", tc.n, tc.l, r, tc.pw, tc.pab, tc.sl, tc.occup)
		}
	}
}

// TestErlangATendsToErlangC: as patience grows without bound, Erlang A
// becomes Erlang C (Garnett, Mandelbaum & Reiman 2002, §3).
func TestErlangATendsToErlangC(t *testing.T) {
	for _, tc := range []struct {
		n int
		l Load
	}{
		{14, Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}},
		{55, Load{Rate: 360.0 / 1800, AHT: 240, Target: 15}},
		{480, Load{Rate: 450.0 / 300, AHT: 300, Target: 30}},
	} {
		c, err := ErlangCResult(tc.n, tc.l)
		if err != nil {
			t.Fatal(err)
		}
		prevGap := math.Inf(1)
		for _, patience := range []float64{1e3, 1e5, 1e7, 1e9} {
			l := tc.l
			l.Patient = patience
			a, err := ErlangAResult(tc.n, l)
			if err != nil {
				t.Fatal(err)
			}
			gap := math.Abs(a.SL-c.SL) + math.Abs(a.PWait-c.PWait)
			if gap > prevGap+1e-12 {
				t.Errorf("n=%d patience %v: gap to Erlang C grew to %g from %g", tc.n, patience, gap, prevGap)
			}
			prevGap = gap
		}
		if prevGap > 1e-5 {
			t.Errorf("n=%d: patience 1e9 s is %g from Erlang C", tc.n, prevGap)
		}
		l := tc.l
		l.Patient = math.Inf(1)
		if a, err := ErlangAResult(tc.n, l); err != nil || a != c {
			t.Errorf("infinite patience: %+v %v, want Erlang C %+v", a, err, c)
		}
	}
}

// TestErlangAMonotone: more agents → more answered in time, fewer
// abandon, lower occupancy; more patience → fewer abandon; more load →
// more abandon. Also when there are fewer agents than Erlangs, where
// Erlang C has no answer.
func TestErlangAMonotone(t *testing.T) {
	base := Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 90}
	var prev Result
	for n := 1; n <= 25; n++ {
		r, err := ErlangAResult(n, base)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []float64{r.PWait, r.PAbandon, r.SL, r.Occupancy} {
			if math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("n=%d: %+v out of [0, 1]", n, r)
			}
		}
		if n > 1 && (r.SL < prev.SL || r.PAbandon > prev.PAbandon || r.PWait > prev.PWait || r.Occupancy > prev.Occupancy+1e-12) {
			t.Errorf("n=%d: %+v not better than n=%d: %+v", n, r, n-1, prev)
		}
		prev = r
	}
	prev = Result{PAbandon: 1}
	for _, patience := range []float64{5, 30, 120, 600, 3600} {
		l := base
		l.Patient = patience
		r, err := ErlangAResult(10, l)
		if err != nil {
			t.Fatal(err)
		}
		if r.PAbandon >= prev.PAbandon {
			t.Errorf("patience %v: abandonment %v not below %v", patience, r.PAbandon, prev.PAbandon)
		}
		prev = r
	}
	prev = Result{}
	for _, rate := range []float64{0.01, 0.05, 0.1, 0.2} {
		l := base
		l.Rate = rate
		r, err := ErlangAResult(10, l)
		if err != nil {
			t.Fatal(err)
		}
		if r.PAbandon <= prev.PAbandon {
			t.Errorf("rate %v: abandonment %v not above %v", rate, r.PAbandon, prev.PAbandon)
		}
		prev = r
	}
}

func TestAgentsErlangA(t *testing.T) {
	goal := Goal{SL: 0.8, MaxOccupancy: 0.85}
	l := Load{Rate: 100.0 / 1800, AHT: 180, Target: 20, Patient: 120}
	a, err := AgentsErlangA(l, goal)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := AgentsErlangC(l, goal)
	below, _ := ErlangAResult(a.Agents-1, l)
	if a.Agents > c.Agents || a.SL < 0.8 || a.Occupancy > 0.85 || below.SL >= 0.8 && below.Occupancy <= 0.85 {
		t.Errorf("Erlang A %+v (one less: %+v), Erlang C %d", a, below, c.Agents)
	}
	// Callers who give up within the target count against the service
	// level: with a 2 s patience and 95 % in 120 s, Erlang C (everybody
	// waits, and nearly all within 120 s) asks for 13 agents, but Erlang A
	// for 15, because nearly every caller who waits at all hangs up.
	l = Load{Rate: 100.0 / 1800, AHT: 180, Target: 120, Patient: 2}
	g95 := Goal{SL: 0.95, MaxOccupancy: 1}
	c, _ = AgentsErlangC(l, g95)
	a, err = AgentsErlangA(l, g95)
	below, _ = ErlangAResult(a.Agents-1, l)
	if err != nil || c.Agents != 13 || a.Agents != 15 || a.SL < 0.95 || below.SL >= 0.95 {
		t.Errorf("impatient callers: Erlang A %+v %v (one less: SL %v), Erlang C %d", a, err, below.SL, c.Agents)
	}
}

// TestAgentsErlangAVeryPatient: with a patience a million times the
// handling time Erlang A asks for what Erlang C asks for, and the search
// never sums the endless queue of an overloaded staffing (below SL·A
// agents no staffing can meet the goal; there the sum gives up).
func TestAgentsErlangAVeryPatient(t *testing.T) {
	for _, a := range []float64{10, 100, 400} {
		l := Load{Rate: a / 180, AHT: 180, Target: 20, Patient: 180e6}
		g := Goal{SL: 0.8, MaxOccupancy: 0.9}
		ra, err := AgentsErlangA(l, g)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := AgentsErlangC(l, g)
		if ra.Agents != rc.Agents {
			t.Errorf("A=%v: Erlang A %d agents, Erlang C %d", a, ra.Agents, rc.Agents)
		}
	}
	if _, err := ErlangAResult(5, Load{Rate: 10.0 / 180, AHT: 180, Target: 20, Patient: 1e12}); !errors.Is(err, ErrUnreachable) {
		t.Errorf("overloaded with endless patience: %v, want ErrUnreachable", err)
	}
}

// TestErlangALargeN: 500 agents and an overloaded queue with long
// patience stay finite (no overflow of A^N/N! or of the queue sum).
func TestErlangALargeN(t *testing.T) {
	for _, tc := range []struct {
		n int
		l Load
	}{
		{500, Load{Rate: 480.0 / 300, AHT: 300, Target: 20, Patient: 60}},
		{500, Load{Rate: 600.0 / 300, AHT: 300, Target: 20, Patient: 3600}},
		{300, Load{Rate: 10.0 / 300, AHT: 300, Target: 20, Patient: 60}},
	} {
		r, err := ErlangAResult(tc.n, tc.l)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []float64{r.PWait, r.PAbandon, r.SL, r.Occupancy} {
			if math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("n=%d %+v: %+v", tc.n, tc.l, r)
			}
		}
	}
	// Overloaded by 100 Erlangs: about a sixth must abandon
	// (λ·P(abandon) ≥ λ − nμ).
	r, _ := ErlangAResult(500, Load{Rate: 600.0 / 300, AHT: 300, Target: 20, Patient: 3600})
	if r.PAbandon < 100.0/600 {
		t.Errorf("overloaded: abandonment %v below 1/6", r.PAbandon)
	}
}

func BenchmarkErlangA(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		l := Load{Rate: float64(n) * 0.95 / 180, AHT: 180, Target: 20, Patient: 120}
		b.Run(itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ErlangAResult(n, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAgentsErlangA(b *testing.B) {
	for _, a := range []float64{10, 100, 450} {
		l := Load{Rate: a / 180, AHT: 180, Target: 20, Patient: 120}
		b.Run(itoa(int(a)), func(b *testing.B) {
			for b.Loop() {
				if _, err := AgentsErlangA(l, Goal{SL: 0.8, MaxOccupancy: 0.9}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
