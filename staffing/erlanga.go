package staffing

import (
	"errors"
	"fmt"
	"math"
)

// maxTailTerms bounds the sum over queue lengths in ErlangAResult. The
// terms grow while nμ + kθ < λ and fall geometrically after, so the sum
// is long only when an overloaded queue (n agents for more than n
// Erlangs) meets callers of enormous patience: its queue settles around
// k* = (λ − nμ)/θ callers. Beyond maxTailTerms/2 such callers
// ErlangAResult reports ErrUnreachable at once: half a million callers
// ahead are not answered within any target.
const maxTailTerms = 1_000_000

// ErlangAResult is the M/M/n+M queue (Erlang A, Palm 1943): Poisson
// arrivals at rate λ, n agents with exponential handling times of mean
// AHT = 1/μ, callers who hang up after an exponential patience of mean
// 1/θ if not answered by then. Without patience (Patient 0 or +Inf) it is
// ErlangCResult.
//
// The queue is a birth–death process. With x = nμ/θ and y = λ/θ the
// stationary probabilities are π_j = π_n·n!/j!·A^(j−n) for j ≤ n and
// π_{n+k} = π_n·r_k with r_k = ∏_{i=1..k} y/(x+i) for k ≥ 0, so
// (Garnett, Mandelbaum & Reiman 2002, §3; Mandelbaum & Zeltyn 2007)
//
//	1/π_n = 1/B(n, A) − 1 + Σ_k r_k
//	P(wait)    = π_n·Σ_k r_k
//	P(abandon) = π_n·Σ_k r_k·(k+1)/(x+k+1)
//
// A caller who finds k others waiting is answered if the k ahead of it
// and then one agent move on before its own patience runs out: each step
// is a race between rate nμ + mθ (m still ahead) and θ, so it is answered
// with probability x/(x+k+1), and, if answered, after a sum of
// exponentials with rates θ(x+1), …, θ(x+1+k). That sum S has
// P(S ≤ t) = I_p(k+1, x+1), the regularised incomplete beta function at
// p = 1 − e^(−θt) (it is the (k+1)-th order statistic of x+1+k
// exponentials of rate θ, extended to real x through the beta function).
// So the service level, the share of all calls answered within t, is
//
//	SL = P(no wait) + π_n·Σ_k r_k·x/(x+k+1)·I_p(k+1, x+1)
//
// with I_p(a+1, b) = I_p(a, b) − Γ(a+b)/(Γ(a+1)Γ(b))·p^a·(1−p)^b. Every
// sum runs in logarithms, so nothing overflows for hundreds of agents.
func ErlangAResult(n int, l Load) (Result, error) {
	if err := l.check(); err != nil {
		return Result{}, err
	}
	if l.Patient == 0 || math.IsInf(l.Patient, 1) {
		return ErlangCResult(n, l)
	}
	if n < 0 {
		return Result{}, fmt.Errorf("staffing: %d agents: %w", n, ErrInput)
	}
	a := l.Offered()
	if a == 0 {
		return Result{Agents: n, SL: 1}, nil
	}
	if n == 0 {
		return Result{Agents: 0, PWait: 1, PAbandon: 1}, nil
	}
	mu, theta := 1/l.AHT, 1/l.Patient
	if kstar := (l.Rate - float64(n)*mu) / theta; kstar > maxTailTerms/2 {
		return Result{}, fmt.Errorf("staffing: Erlang A with %d agents, %v Erlangs and patience %v s: a queue of %.0f: %w", n, a, l.Patient, kstar, ErrUnreachable)
	}
	x := float64(n) * mu / theta
	ly := math.Log(l.Rate / theta)

	// Pass 1: log Σ r_k, stopping once the remaining terms are below
	// 1e-17 of the sum (bounded by a geometric series).
	logT, lr := 0.0, 0.0
	kmax := 0
	for k := 1; ; k++ {
		if k > maxTailTerms {
			return Result{}, fmt.Errorf("staffing: Erlang A with patience %v s: %w", l.Patient, ErrUnreachable)
		}
		ratio := l.Rate / (theta * (x + float64(k)))
		lr += ly - math.Log(x+float64(k))
		logT = logAddExp(logT, lr)
		if ratio < 1 && lr-math.Log1p(-ratio)-logT < -39 {
			kmax = k
			break
		}
	}
	lInvB := logInvErlangB(n, a)
	// log(1/B − 1); 1/B ≥ 1.
	logBelow := math.Inf(-1)
	if lInvB > 0 {
		logBelow = lInvB + math.Log(-math.Expm1(-lInvB))
	}
	logZ := logAddExp(logBelow, logT)
	pWait := math.Exp(logT - logZ)

	// Pass 2: abandonment and the answered-within-t sum.
	p := -math.Expm1(-theta * l.Target) // 1 − e^(−θt)
	b := x + 1
	// G = 1 − I_p(k+1, b) = (1−p)^b + Σ_{a=1..k} term_a
	lq := -theta * l.Target // log(1−p)
	logTerm := math.Log(p) + b*lq + math.Log(b)
	g := math.Exp(b * lq)
	var ab, sl float64
	lr = 0
	for k := 0; k <= kmax; k++ {
		if k > 0 {
			lr += ly - math.Log(x+float64(k))
			g += math.Exp(logTerm)
			logTerm += math.Log(p) + math.Log((float64(k)+b)/float64(k+1))
		}
		w := math.Exp(lr - logZ) // π_{n+k}
		kk := float64(k)
		ab += w * (kk + 1) / (x + kk + 1)
		sl += w * x / (x + kk + 1) * math.Max(0, 1-g)
	}
	pAb := math.Min(1, ab)
	res := Result{Agents: n, PWait: pWait, PAbandon: pAb, SL: math.Min(1, (1-pWait)+sl)}
	res.Occupancy = math.Min(1, a*(1-pAb)/float64(n))
	return res, nil
}

// AgentsErlangA is the fewest agents that meet the goal by Erlang A, and
// how the queue performs with them. The search starts from AgentsErlangC
// (abandonment shortens the queue, so that is usually enough; but callers
// who hang up within the target time count against the service level, so
// very impatient callers can need more), doubles until the goal is met and
// bisects below, as the service level grows and the occupancy falls with n.
func AgentsErlangA(l Load, g Goal) (Result, error) {
	if l.Patient == 0 || math.IsInf(l.Patient, 1) {
		return AgentsErlangC(l, g)
	}
	c, err := AgentsErlangC(l, g)
	if err != nil {
		return Result{}, err
	}
	if c.Agents == 0 {
		return c, nil
	}
	// A queue too small for its load sheds at least the excess:
	// λ·P(abandon) ≥ λ − nμ, so SL ≤ n/A, and no n below SL·A can meet
	// the goal. Starting there also keeps the sum short: below it, a long
	// patience makes the queue of an overloaded system very long.
	a := l.Offered()
	lo := max(0, int(math.Ceil(g.SL*a))-1) // fails
	meets := func(n int) (Result, bool, error) {
		r, err := ErlangAResult(n, l)
		if errors.Is(err, ErrUnreachable) {
			return r, false, nil // an overloaded queue of very patient callers: far from the goal
		}
		return r, err == nil && r.SL >= g.SL && r.Occupancy <= g.MaxOccupancy, err
	}
	hi := max(c.Agents, lo+1) // tried
	best, ok, err := meets(hi)
	for ; !ok; best, ok, err = meets(hi) {
		if err != nil {
			return Result{}, err
		}
		if hi >= MaxAgents {
			return Result{}, fmt.Errorf("staffing: Erlang A: %w", ErrUnreachable)
		}
		lo, hi = hi, min(2*hi, MaxAgents)
	}
	for hi-lo > 1 {
		m := lo + (hi-lo)/2
		r, ok, err := meets(m)
		if err != nil {
			return Result{}, err
		}
		if ok {
			hi, best = m, r
		} else {
			lo = m
		}
	}
	return best, nil
}
