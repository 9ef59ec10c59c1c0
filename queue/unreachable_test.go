package queue

import (
	"testing"
	"time"
)

// unreachableDelay is the back-off after the n-th unreachable offer in a
// row (n from 1).
func unreachableDelay(n int) time.Duration { return UnreachableBackoff << (n - 1) }

// failUnreachable makes a's ringing offer for call fail as unavailable
// and checks that a is not offered anything until the back-off has
// passed; it returns the outputs of the step in which the back-off ended.
func failUnreachable(t *testing.T, h *harness, call CallID, a AgentID, n int) []Output {
	t.Helper()
	out := h.do(OfferFailed{Call: call, Agent: a, Reason: FailUnavailable})
	for _, o := range only[Offer](out) {
		if o.Agent == a {
			t.Fatalf("failure %d: %s offered again at once:\n%s", n, a, dump(out))
		}
	}
	if n == UnreachableAfter {
		return out
	}
	h.wantState(a, Ready)
	d := unreachableDelay(n)
	if next, ok := h.e.NextDeadline(); !ok || next.After(h.now.Add(d)) {
		t.Fatalf("failure %d: next deadline %v %v, want by the end of the %v back-off", n, next, ok, d)
	}
	out = h.advance(d - time.Millisecond)
	for _, o := range only[Offer](out) {
		if o.Agent == a {
			t.Fatalf("failure %d: %s offered %v into a %v back-off", n, a, d-time.Millisecond, d)
		}
	}
	return h.advance(time.Millisecond)
}

// TestUnreachableAgentIsPaused: an agent whose offers fail as unavailable
// (the browser agent made ready with no page open, issue 14) in a queue
// with the default RetryDelay and AutoPauseAfter (0: none) is not offered
// the waiting call again without pause: it backs off 2 s, 4 s, 8 s and at
// the fourth failure is paused with UnreachableReason, which the
// organisation's pause-reason list need not name; the live feed shows it.
// Made ready again, it gets the same number of tries.
func TestUnreachableAgentIsPaused(t *testing.T) {
	h := newHarness(t, Options{PauseReasons: []string{"frokost"}})
	h.queue(QueueConfig{ID: "q"})
	h.login("q", "a")
	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
		t.Fatalf("offers %v", got)
	}
	for n := 1; n < UnreachableAfter; n++ {
		out = failUnreachable(t, h, "c1", "a", n)
		if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
			t.Fatalf("after back-off %d: offers %v, want c1>a", n, got)
		}
	}
	out = failUnreachable(t, h, "c1", "a", UnreachableAfter)
	h.wantState("a", Paused)
	s := one[AgentStateChanged](t, out)
	if s.Agent != "a" || s.To != Paused || s.Reason != UnreachableReason || s.Call != "c1" {
		t.Fatalf("state change %+v", s)
	}
	var snap AgentSnapshot
	for _, x := range h.e.Snapshot().Agents {
		if x.ID == "a" {
			snap = x
		}
	}
	if snap.State != Paused || snap.Reason != UnreachableReason {
		t.Fatalf("snapshot shows %s (%q), want paused (%q)", snap.State, snap.Reason, UnreachableReason)
	}
	// bounded: an hour later the call still waits and nobody was offered it.
	if out := h.advance(time.Hour); len(offers(out)) != 0 {
		t.Fatalf("offers while paused: %v", offers(out))
	}
	if _, ok := h.e.calls["c1"]; !ok {
		t.Fatal("c1 no longer waits")
	}
	n := 0
	for _, o := range only[Offer](h.all) {
		if o.Agent == "a" {
			n++
		}
	}
	if n != UnreachableAfter {
		t.Fatalf("%d offers to a, want %d", n, UnreachableAfter)
	}
}

// TestUnreachableReadyAgain: an agent paused as unreachable and made ready
// again (its page has opened) is offered the waiting call at once, not
// after a back-off, and has a full set of tries.
func TestUnreachableReadyAgain(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q"})
	h.login("q", "a")
	h.do(CallArrived{Call: "c1", Queue: "q"})
	for n := 1; n <= UnreachableAfter; n++ {
		failUnreachable(t, h, "c1", "a", n)
	}
	h.wantState("a", Paused)
	if got := offers(h.do(AgentReady{Agent: "a"})); !eqStrings(got, []string{"c1>a"}) {
		t.Fatalf("after ready: offers %v, want c1>a at once", got)
	}
	for n := 1; n < UnreachableAfter; n++ {
		failUnreachable(t, h, "c1", "a", n)
	}
	h.wantState("a", Ringing)
}

// TestUnreachableCallMovesOn: while an unreachable agent backs off, the
// call rings the next agent at once, and the back-off holds for the
// following call too.
func TestUnreachableCallMovesOn(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyLinear})
	h.agent("a", Membership{Queue: "q", Order: 1})
	h.agent("b", Membership{Queue: "q", Order: 2})
	h.do(AgentLogin{Agent: "a"})
	h.do(AgentLogin{Agent: "b"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	out := h.do(OfferFailed{Call: "c1", Agent: "a", Reason: FailUnavailable})
	if got := offers(out); !eqStrings(got, []string{"c1>b"}) {
		t.Fatalf("offers %v, want c1>b at once", got)
	}
	h.do(OfferAnswered{Call: "c1", Agent: "b"})
	if got := offers(h.do(CallArrived{Call: "c2", Queue: "q"})); len(got) != 0 {
		t.Fatalf("c2 offered during a's back-off: %v", got)
	}
	if got := offers(h.advance(UnreachableBackoff)); !eqStrings(got, []string{"c2>a"}) {
		t.Fatalf("after the back-off: offers %v, want c2>a", got)
	}
}

// TestUnreachableCountResets: a sign that the device is there, or a new
// start, begins the count again; unreachable offers in a queue with a
// longer RetryDelay wait that delay.
func TestUnreachableCountResets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset func(h *harness) // with c1 ringing a
	}{
		{"answered", func(h *harness) {
			h.do(OfferAnswered{Call: "c1", Agent: "a"})
			h.do(CallEnded{Call: "c1"})
			h.do(CallArrived{Call: "c1", Queue: "q"})
		}},
		{"rang unanswered", func(h *harness) {
			h.do(OfferFailed{Call: "c1", Agent: "a", Reason: FailNoAnswer})
		}},
		{"busy", func(h *harness) {
			h.do(OfferFailed{Call: "c1", Agent: "a", Reason: FailBusy})
		}},
		{"ring timeout", func(h *harness) { h.advance(defaultRingTimeout) }},
		{"paused and ready", func(h *harness) {
			h.do(AgentPause{Agent: "a", Reason: "frokost"})
			h.do(AgentReady{Agent: "a"})
		}},
		{"logged out and in", func(h *harness) {
			h.do(AgentLogout{Agent: "a"})
			h.do(AgentLogin{Agent: "a"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.queue(QueueConfig{ID: "q"})
			h.login("q", "a")
			h.do(CallArrived{Call: "c1", Queue: "q"})
			for n := 1; n < UnreachableAfter; n++ {
				failUnreachable(t, h, "c1", "a", n)
			}
			h.wantState("a", Ringing)
			tc.reset(h)
			h.wantState("a", Ringing) // offered again at once
			for n := 1; n < UnreachableAfter; n++ {
				failUnreachable(t, h, "c1", "a", n)
			}
			h.wantState("a", Ringing)
		})
	}
	t.Run("retry delay is longer", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", RetryDelay: 30 * time.Second})
		h.login("q", "a")
		h.do(CallArrived{Call: "c1", Queue: "q"})
		h.do(OfferFailed{Call: "c1", Agent: "a", Reason: FailUnavailable})
		if got := offers(h.advance(29 * time.Second)); len(got) != 0 {
			t.Fatalf("offered within the retry delay: %v", got)
		}
		if got := offers(h.advance(time.Second)); !eqStrings(got, []string{"c1>a"}) {
			t.Fatalf("after the retry delay: %v", got)
		}
	})
}
