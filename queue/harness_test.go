package queue

import (
	"fmt"
	"testing"
	"time"
)

// t0 is a Monday morning.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// harness drives an Engine with a fake time and checks its invariants after
// every step.
type harness struct {
	t    testing.TB
	e    *Engine
	now  time.Time
	all  []Output
	last []Output
}

func newHarness(t testing.TB, opt Options) *harness {
	t.Helper()
	opt.Location = time.UTC
	h := &harness{t: t, e: New(opt), now: t0}
	h.e.Advance(t0)
	return h
}

func (h *harness) queue(cfg QueueConfig) {
	h.t.Helper()
	if err := h.e.SetQueue(cfg); err != nil {
		h.t.Fatalf("SetQueue: %v", err)
	}
	h.step(h.e.Advance(h.now))
}

func (h *harness) agent(id AgentID, ms ...Membership) {
	h.t.Helper()
	h.agentCfg(AgentConfig{ID: id, Queues: ms})
}

func (h *harness) agentCfg(cfg AgentConfig) {
	h.t.Helper()
	if err := h.e.SetAgent(cfg); err != nil {
		h.t.Fatalf("SetAgent: %v", err)
	}
	h.step(h.e.Advance(h.now))
}

// login adds agents as members of q and logs them in, ready.
func (h *harness) login(q QueueID, ids ...AgentID) {
	h.t.Helper()
	for _, id := range ids {
		h.agent(id, Membership{Queue: q})
		h.do(AgentLogin{Agent: id})
	}
}

func (h *harness) do(in Input) []Output {
	h.t.Helper()
	return h.step(h.e.Handle(h.now, in))
}

func (h *harness) advance(d time.Duration) []Output {
	h.t.Helper()
	h.now = h.now.Add(d)
	return h.step(h.e.Advance(h.now))
}

func (h *harness) step(out []Output) []Output {
	h.t.Helper()
	for _, o := range out {
		if o.Time().After(h.now) {
			h.t.Fatalf("output %#v is stamped after now %v", o, h.now)
		}
	}
	if err := h.e.check(); err != nil {
		h.t.Fatalf("invariant broken: %v\nlast outputs:\n%s", err, dump(out))
	}
	h.last = out
	h.all = append(h.all, out...)
	return out
}

func (h *harness) state(id AgentID) State { return h.e.agents[id].state }

func (h *harness) wantState(id AgentID, want State) {
	h.t.Helper()
	if got := h.state(id); got != want {
		h.t.Fatalf("agent %s is %v, want %v\nlast outputs:\n%s", id, got, want, dump(h.last))
	}
}

// offers returns the Offer commands in out as "call>agent".
func offers(out []Output) []string {
	var s []string
	for _, o := range out {
		if x, ok := o.(Offer); ok {
			s = append(s, string(x.Call)+">"+string(x.Agent))
		}
	}
	return s
}

func only[T Output](out []Output) []T {
	var r []T
	for _, o := range out {
		if x, ok := o.(T); ok {
			r = append(r, x)
		}
	}
	return r
}

func one[T Output](t testing.TB, out []Output) T {
	t.Helper()
	r := only[T](out)
	if len(r) != 1 {
		var z T
		t.Fatalf("want one %T, got %d in:\n%s", z, len(r), dump(out))
	}
	return r[0]
}

func dump(out []Output) string {
	s := ""
	for _, o := range out {
		s += fmt.Sprintf("  %T %+v\n", o, o)
	}
	return s
}

func eqStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// check verifies the engine's internal consistency.
func (e *Engine) check() error {
	onCall := map[*agent]*call{}
	for id, c := range e.calls {
		if c.id != id || c.gone {
			return fmt.Errorf("call %s: bad map entry", id)
		}
		idx := c.q.waiting.index(c)
		if c.inList() != (idx >= 0) {
			return fmt.Errorf("call %s: state %d but waiting index %d", id, c.state, idx)
		}
		if !c.inList() && len(c.offers) > 0 {
			return fmt.Errorf("call %s: offers while not waiting", id)
		}
		if c.state == callWaiting && !c.q.ringAll && len(c.offers) > c.q.cfg.MaxParallelOffers {
			return fmt.Errorf("call %s: %d offers > max %d", id, len(c.offers), c.q.cfg.MaxParallelOffers)
		}
		if c.state == callWaiting && c.expired && len(c.offers) == 0 {
			return fmt.Errorf("call %s: past max wait with no offer but still waiting", id)
		}
		if c.state == callCallback && len(c.offers) > 1 {
			return fmt.Errorf("callback %s: %d offers", id, len(c.offers))
		}
		for _, a := range c.offers {
			if a.offer == nil || a.offer.call != c || a.state != Ringing {
				return fmt.Errorf("call %s: offered to %s which is %v with offer %v", id, a.id, a.state, a.offer)
			}
		}
		if c.state == callConnected || c.state == callDialing {
			if c.agent == nil || c.agent.call != c || c.agent.state != OnCall {
				return fmt.Errorf("call %s: connected to agent without it", id)
			}
			if other, dup := onCall[c.agent]; dup {
				return fmt.Errorf("agent %s on two calls %s and %s", c.agent.id, other.id, id)
			}
			onCall[c.agent] = c
		}
	}
	for id, a := range e.agents {
		if (a.state == Ringing) != (a.offer != nil) {
			return fmt.Errorf("agent %s: state %v, offer %v", id, a.state, a.offer != nil)
		}
		if (a.state == OnCall) != (a.call != nil) {
			return fmt.Errorf("agent %s: state %v, call %v", id, a.state, a.call != nil)
		}
		if a.offer != nil && a.call != nil {
			return fmt.Errorf("agent %s: ringing while on a call", id)
		}
		if a.offer != nil {
			c := a.offer.call
			if e.calls[c.id] != c || !c.inList() {
				return fmt.Errorf("agent %s: offer for call %s that is not waiting", id, c.id)
			}
		}
		if a.call != nil && e.calls[a.call.id] != a.call {
			return fmt.Errorf("agent %s: on unknown call %s", id, a.call.id)
		}
		if len(a.mlist) != len(a.members) {
			return fmt.Errorf("agent %s: member list %d, map %d", id, len(a.mlist), len(a.members))
		}
		for qid, m := range a.members {
			q := e.queues[qid]
			if q == nil || q.members[id] != m || m.q != q {
				return fmt.Errorf("agent %s: dangling membership of %s", id, qid)
			}
			active := a.state != LoggedOut && (a.loginAll || a.loginSet[qid])
			if m.active != active {
				return fmt.Errorf("agent %s in %s: active %v, want %v", id, qid, m.active, active)
			}
			if (m.readyIdx >= 0) != (active && a.state == Ready) {
				return fmt.Errorf("agent %s in %s: ready index %d, state %v", id, qid, m.readyIdx, a.state)
			}
		}
	}
	for qid, q := range e.queues {
		if len(q.mlist) != len(q.members) {
			return fmt.Errorf("queue %s: member list %d, map %d", qid, len(q.mlist), len(q.members))
		}
		n := 0
		for aid, m := range q.members {
			if e.agents[aid] != m.agent || m.agent.members[qid] != m {
				return fmt.Errorf("queue %s: dangling member %s", qid, aid)
			}
			if m.active {
				n++
			}
		}
		if n != q.activeN {
			return fmt.Errorf("queue %s: activeN %d, counted %d", qid, q.activeN, n)
		}
		for i, m := range q.ready {
			if m.readyIdx != i || m.q != q {
				return fmt.Errorf("queue %s: ready set index broken", qid)
			}
		}
		for i := 1; i < q.waiting.len(); i++ {
			if !before(q.waiting.all()[i-1], q.waiting.all()[i]) {
				return fmt.Errorf("queue %s: waiting list out of order at %d", qid, i)
			}
		}
		for _, c := range q.waiting.all() {
			if e.calls[c.id] != c {
				return fmt.Errorf("queue %s: waiting call %s is not known", qid, c.id)
			}
		}
	}
	// After a step nothing is left undispatched: no ready agent could take
	// an offerable call.
	for qid, q := range e.queues {
		if c := e.firstOfferable(q); c != nil {
			return fmt.Errorf("queue %s: call %s could be offered to a ready agent but is not", qid, c.id)
		}
	}
	return nil
}
