package staffing

import (
	"errors"
	"fmt"
	"math"
)

// Load is what a queue is offered in one interval and what it must meet.
// Times are in seconds.
type Load struct {
	Rate    float64 // arrivals per second (λ)
	AHT     float64 // average handling time, talk + wrap-up (1/μ)
	Target  float64 // the service goal's answer time t: a call is "in service level" if answered within it
	Patient float64 // mean patience (1/θ), for Erlang A; 0 or +Inf: callers never give up
}

// Offered is the offered load in Erlangs, A = λ·AHT.
func (l Load) Offered() float64 { return l.Rate * l.AHT }

func (l Load) check() error {
	switch {
	case !finite(l.Rate) || l.Rate < 0:
		return fmt.Errorf("staffing: arrival rate %v: %w", l.Rate, ErrInput)
	case !finite(l.AHT) || l.AHT < 0 || (l.AHT == 0 && l.Rate > 0):
		return fmt.Errorf("staffing: handling time %v: %w", l.AHT, ErrInput)
	case !finite(l.Target) || l.Target < 0:
		return fmt.Errorf("staffing: target answer time %v: %w", l.Target, ErrInput)
	case math.IsNaN(l.Patient) || l.Patient < 0:
		return fmt.Errorf("staffing: patience %v: %w", l.Patient, ErrInput)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

var (
	// ErrInput is a negative, NaN or infinite rate or time.
	ErrInput = errors.New("invalid input")
	// ErrUnstable: Erlang C has no steady state with N ≤ A agents (the
	// queue grows without end).
	ErrUnstable = errors.New("unstable: agents must exceed the offered load")
	// ErrUnreachable: no staffing up to MaxAgents meets the goal.
	ErrUnreachable = errors.New("goal not reachable")
)

// MaxAgents bounds the staffing searches.
const MaxAgents = 100000

// Result is how a queue performs with N agents.
type Result struct {
	Agents    int
	PWait     float64 // probability that a call waits at all
	SL        float64 // share of calls answered within the target time
	ASA       float64 // average speed of answer in seconds (Erlang C only; 0 from Erlang A)
	PAbandon  float64 // share of calls that abandon (Erlang A; 0 in Erlang C)
	Occupancy float64 // share of the agents' time spent handling calls
}

// logInvErlangB returns log(1/B(n, a)) where B is Erlang's loss formula,
// by the recursion 1/B(k) = 1 + (k/a)·1/B(k−1), 1/B(0) = 1, kept in
// logarithms so that neither 1/B nor a^n/n! overflow for any n.
func logInvErlangB(n int, a float64) float64 {
	l := 0.0
	la := math.Log(a)
	for k := 1; k <= n; k++ {
		l = logAddExp(0, math.Log(float64(k))-la+l)
	}
	return l
}

// logAddExp is log(e^x + e^y) without overflow.
func logAddExp(x, y float64) float64 {
	if x < y {
		x, y = y, x
	}
	if math.IsInf(y, -1) {
		return x
	}
	return x + math.Log1p(math.Exp(y-x))
}

// erlangCFromLogInvB is C(n, a) = 1 / (1/B·(1−ρ) + ρ), ρ = a/n < 1.
func erlangCFromLogInvB(l float64, n int, a float64) float64 {
	rho := a / float64(n)
	return math.Exp(-logAddExp(l+math.Log1p(-rho), math.Log(rho)))
}

// ErlangC is C(n, a): the probability that a call waits, in an M/M/n queue
// offered a Erlangs (Erlang 1917). It needs n > a.
func ErlangC(n int, a float64) (float64, error) {
	switch {
	case !finite(a) || a < 0 || n < 0:
		return 0, fmt.Errorf("staffing: C(%d, %v): %w", n, a, ErrInput)
	case a == 0:
		return 0, nil
	case float64(n) <= a:
		return 1, fmt.Errorf("staffing: C(%d, %v): %w", n, a, ErrUnstable)
	}
	return erlangCFromLogInvB(logInvErlangB(n, a), n, a), nil
}

// ErlangCResult is the M/M/n queue with n agents:
//
//	PWait = C(n, A)
//	SL    = 1 − C·e^(−(n−A)·t/AHT)
//	ASA   = C·AHT/(n−A)
//	Occupancy = A/n
func ErlangCResult(n int, l Load) (Result, error) {
	if err := l.check(); err != nil {
		return Result{}, err
	}
	a := l.Offered()
	c, err := ErlangC(n, a)
	if err != nil {
		return Result{Agents: n, PWait: 1, Occupancy: 1}, err
	}
	return cResult(n, l, c), nil
}

func cResult(n int, l Load, c float64) Result {
	a := l.Offered()
	if a == 0 {
		return Result{Agents: n, SL: 1}
	}
	d := float64(n) - a
	return Result{Agents: n, PWait: c, SL: 1 - c*math.Exp(-d*l.Target/l.AHT), ASA: c * l.AHT / d, Occupancy: a / float64(n)}
}

// Goal is a queue's service goal: at least SL of the calls answered within
// the load's target time, with the agents busy at most MaxOccupancy of the
// time. Both are shares in (0, 1].
type Goal struct {
	SL           float64
	MaxOccupancy float64
}

func (g Goal) check() error {
	if !(g.SL > 0 && g.SL <= 1) || !(g.MaxOccupancy > 0 && g.MaxOccupancy <= 1) {
		return fmt.Errorf("staffing: goal %v / %v: %w", g.SL, g.MaxOccupancy, ErrInput)
	}
	return nil
}

// AgentsErlangC is the fewest agents that meet the goal by Erlang C, and
// how the queue performs with them. With no arrivals it is 0 agents.
func AgentsErlangC(l Load, g Goal) (Result, error) {
	if err := l.check(); err != nil {
		return Result{}, err
	}
	if err := g.check(); err != nil {
		return Result{}, err
	}
	a := l.Offered()
	if a == 0 {
		return Result{SL: 1}, nil
	}
	// Start at the smallest stable n and carry 1/B(n) along: each step
	// costs one recursion step, not n.
	n := int(math.Floor(a)) + 1
	if n > MaxAgents {
		return Result{}, fmt.Errorf("staffing: %v Erlangs: %w", a, ErrUnreachable)
	}
	lb := logInvErlangB(n, a)
	la := math.Log(a)
	for ; n <= MaxAgents; n++ {
		if n > int(math.Floor(a))+1 {
			lb = logAddExp(0, math.Log(float64(n))-la+lb)
		}
		r := cResult(n, l, erlangCFromLogInvB(lb, n, a))
		if r.SL >= g.SL && r.Occupancy <= g.MaxOccupancy {
			return r, nil
		}
	}
	return Result{}, fmt.Errorf("staffing: %v Erlangs: %w", a, ErrUnreachable)
}
