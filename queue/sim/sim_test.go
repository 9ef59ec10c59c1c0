package sim

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// scenarios are days a municipal switchboard could have.
var scenarios = []struct {
	name string
	cfg  Config
}{
	{"quiet: 12 agents, 80 calls/h", Config{Agents: 12, Hours: 7, CallsPerHour: 80, MeanTalk: 4 * time.Minute, WrapUp: 30 * time.Second, MeanPatience: 5 * time.Minute, AnswerDelay: 3 * time.Second}},
	{"busy: 12 agents, 140 calls/h", Config{Agents: 12, Hours: 7, CallsPerHour: 140, MeanTalk: 4 * time.Minute, WrapUp: 30 * time.Second, MeanPatience: 5 * time.Minute, AnswerDelay: 3 * time.Second}},
	{"morning peak: 12 agents, 110 calls/h, 1.6x 9-11", Config{Agents: 12, Hours: 7, CallsPerHour: 110, Profile: []float64{1, 1.6, 1.6, 1, 0.8, 0.7, 0.6}, MeanTalk: 4 * time.Minute, WrapUp: 30 * time.Second, MeanPatience: 5 * time.Minute, AnswerDelay: 3 * time.Second}},
	{"overloaded: 8 agents, 140 calls/h", Config{Agents: 8, Hours: 7, CallsPerHour: 140, MeanTalk: 4 * time.Minute, WrapUp: 30 * time.Second, MeanPatience: 5 * time.Minute, AnswerDelay: 3 * time.Second}},
	{"patient callers: 12 agents, 140 calls/h", Config{Agents: 12, Hours: 7, CallsPerHour: 140, MeanTalk: 4 * time.Minute, WrapUp: 30 * time.Second, AnswerDelay: 3 * time.Second}},
}

// TestDay runs every scenario over several seeds and prints the figures
// that docs/queue-engine.md quotes (go test ./queue/sim -v -run TestDay).
func TestDay(t *testing.T) {
	const seeds = 10
	fmt.Println("| scenario | calls/day | service level (30 s) | abandoned | mean wait | join estimate MAE | app_queue-style MAE | periodic MAE |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, sc := range scenarios {
		var sum Result
		var sl, ab float64
		for seed := range seeds {
			cfg := sc.cfg
			cfg.Seed = uint64(seed + 1)
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.ServiceLevel < 0 || r.ServiceLevel > 1 || r.Answered == 0 {
				t.Fatalf("%s seed %d: %v", sc.name, seed, r)
			}
			sum.Calls += r.Calls
			sl += r.ServiceLevel
			ab += r.AbandonRate
			sum.MeanWait += r.MeanWait
			sum.JoinMAE += r.JoinMAE
			sum.BaselineMAE += r.BaselineMAE
			sum.PeriodicMAE += r.PeriodicMAE
		}
		fmt.Printf("| %s | %d | %.1f %% | %.1f %% | %v | %v | %v | %v |\n", sc.name, sum.Calls/seeds,
			100*sl/seeds, 100*ab/seeds, (sum.MeanWait / seeds).Round(time.Second),
			(sum.JoinMAE / seeds).Round(time.Second), (sum.BaselineMAE / seeds).Round(time.Second),
			(sum.PeriodicMAE / seeds).Round(time.Second))
	}
}

func TestRunIsDeterministic(t *testing.T) {
	cfg := scenarios[1].cfg
	cfg.Seed = 7
	a, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(cfg)
	if a != b {
		t.Fatalf("two runs with one seed differ:\n%v\n%v", a, b)
	}
}

// TestErlangC checks the engine and the simulation against queueing theory:
// without abandonment or wrap-up, with Poisson arrivals and exponential
// talk, the share of callers answered within 30 s must match Erlang C.
func TestErlangC(t *testing.T) {
	cfg := Config{Agents: 10, Hours: 200, CallsPerHour: 120, MeanTalk: 4 * time.Minute, Seed: 3}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := erlangCServiceLevel(cfg.Agents, cfg.CallsPerHour/3600, 1/cfg.MeanTalk.Seconds(), 30)
	if d := r.ServiceLevel - want; d > 0.02 || d < -0.02 {
		t.Fatalf("service level %.3f, Erlang C says %.3f", r.ServiceLevel, want)
	}
	t.Logf("service level %.3f, Erlang C %.3f", r.ServiceLevel, want)
}

// erlangCServiceLevel: P(wait <= t) for an M/M/c queue.
func erlangCServiceLevel(c int, lambda, mu, t float64) float64 {
	a := lambda / mu
	// Erlang B by recursion, then C.
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	pw := float64(c) * b / (float64(c) - a*(1-b))
	return 1 - pw*expNeg((float64(c)*mu-lambda)*t)
}

func expNeg(x float64) float64 { return math.Exp(-x) }
