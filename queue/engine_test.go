package queue

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBasicFlow(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", WrapUp: 10 * time.Second})
	h.login("q", "anna")

	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	j := one[CallJoined](t, out)
	if j.Position != 1 || j.Queue != "q" {
		t.Fatalf("joined %+v", j)
	}
	o := one[Offer](t, out)
	if o.Agent != "anna" || o.Timeout != defaultRingTimeout || o.Callback {
		t.Fatalf("offer %+v", o)
	}
	h.wantState("anna", Ringing)

	h.advance(3 * time.Second)
	out = h.do(OfferAnswered{Call: "c1", Agent: "anna"})
	one[Connect](t, out)
	if a := one[Answered](t, out); a.Waited != 3*time.Second {
		t.Fatalf("answered %+v", a)
	}
	h.wantState("anna", OnCall)

	h.advance(time.Minute)
	out = h.do(CallEnded{Call: "c1"})
	if c := one[CallCompleted](t, out); c.Talked != time.Minute || c.Agent != "anna" {
		t.Fatalf("completed %+v", c)
	}
	h.wantState("anna", WrapUp)
	if d, ok := h.e.NextDeadline(); !ok || !d.Equal(h.now.Add(10*time.Second)) {
		t.Fatalf("next deadline %v %v, want end of wrap-up", d, ok)
	}
	h.advance(10 * time.Second)
	h.wantState("anna", Ready)
	if _, gone := h.e.calls["c1"]; gone {
		t.Fatal("call still known after it ended")
	}
}

func TestRingTimeoutRetryDelayAutoPause(t *testing.T) {
	h := newHarness(t, Options{AutoPauseReason: "ikke-svaret"})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyLinear, RingTimeout: 10 * time.Second, RetryDelay: 30 * time.Second, AutoPauseAfter: 2})
	h.agent("a", Membership{Queue: "q", Order: 1})
	h.agent("b", Membership{Queue: "q", Order: 2})
	h.do(AgentLogin{Agent: "a"})
	h.do(AgentLogin{Agent: "b"})

	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
		t.Fatalf("offers %v", got)
	}
	// ring timeout: the engine cancels and goes to b at once.
	out = h.advance(10 * time.Second)
	if c := one[CancelOffer](t, out); c.Agent != "a" || c.Reason != EndTimeout {
		t.Fatalf("cancel %+v", c)
	}
	if got := offers(out); !eqStrings(got, []string{"c1>b"}) {
		t.Fatalf("after timeout offers %v", got)
	}
	h.wantState("a", Ready)
	// b declines: a is still in its retry delay, so nobody rings.
	out = h.do(OfferFailed{Call: "c1", Agent: "b", Reason: FailDeclined})
	if len(offers(out)) != 0 {
		t.Fatalf("offered during retry delay: %v", offers(out))
	}
	// a's delay ends 30 s after its miss.
	out = h.advance(29 * time.Second)
	if len(offers(out)) != 0 {
		t.Fatalf("offered during retry delay: %v", offers(out))
	}
	out = h.advance(time.Second)
	if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
		t.Fatalf("after retry delay offers %v", got)
	}
	// a's second miss in a row pauses a.
	out = h.do(OfferFailed{Call: "c1", Agent: "a", Reason: FailNoAnswer})
	h.wantState("a", Paused)
	if s := only[AgentStateChanged](out)[0]; s.Agent != "a" || s.Reason != "ikke-svaret" || s.To != Paused {
		t.Fatalf("state change %+v", s)
	}
	// b's retry delay ended too: b rings. An answer resets the count: b
	// missed once, answers, misses once: not paused.
	if got := offers(out); !eqStrings(got, []string{"c1>b"}) {
		t.Fatalf("offers %v", got)
	}
	h.do(OfferAnswered{Call: "c1", Agent: "b"})
	h.do(CallEnded{Call: "c1"})
	h.do(CallArrived{Call: "c2", Queue: "q"})
	h.do(OfferFailed{Call: "c2", Agent: "b"})
	h.wantState("b", Ready)
}

func TestAgentLogsOutWhileRinging(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyLinear})
	h.agent("a", Membership{Queue: "q", Order: 1})
	h.agent("b", Membership{Queue: "q", Order: 2})
	h.do(AgentLogin{Agent: "a"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.do(AgentLogin{Agent: "b"})
	out := h.do(AgentLogout{Agent: "a"})
	if c := one[CancelOffer](t, out); c.Agent != "a" || c.Reason != EndAgentLogout {
		t.Fatalf("cancel %+v", c)
	}
	if got := offers(out); !eqStrings(got, []string{"c1>b"}) {
		t.Fatalf("offers %v", got)
	}
	h.wantState("a", LoggedOut)
	// a late answer from a is ignored.
	out = h.do(OfferAnswered{Call: "c1", Agent: "a"})
	one[Ignored](t, out)
	h.wantState("b", Ringing)
}

func TestCallerHangsUpWhileOffered(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyRingAll})
	h.login("q", "a", "b")
	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	if len(offers(out)) != 2 {
		t.Fatalf("ringall offers %v", offers(out))
	}
	h.advance(4 * time.Second)
	out = h.do(CallHungUp{Call: "c1"})
	if n := len(only[CancelOffer](out)); n != 2 {
		t.Fatalf("%d cancels", n)
	}
	if ab := one[Abandoned](t, out); ab.Waited != 4*time.Second || ab.Position != 1 {
		t.Fatalf("abandoned %+v", ab)
	}
	h.wantState("a", Ready)
	h.wantState("b", Ready)
	// no retry delay or missed count for them: it was not their fault.
	if h.e.agents["a"].missed != 0 {
		t.Fatal("caller's hang-up counted as a miss")
	}
	one[Ignored](t, h.do(OfferAnswered{Call: "c1", Agent: "a"}))
}

func TestRingAllFirstAnswerWins(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyRingAll})
	h.login("q", "a", "b", "c")
	h.do(CallArrived{Call: "c1", Queue: "q"})
	out := h.do(OfferAnswered{Call: "c1", Agent: "b"})
	if n := len(only[CancelOffer](out)); n != 2 {
		t.Fatalf("want 2 cancels, got:\n%s", dump(out))
	}
	for _, c := range only[CancelOffer](out) {
		if c.Reason != EndAnsweredElse {
			t.Fatalf("cancel %+v", c)
		}
	}
	one[Connect](t, out)
	h.wantState("b", OnCall)
	h.wantState("a", Ready)
}

func TestFIFOAndPriority(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q"})
	h.agent("a", Membership{Queue: "q"})
	for i, c := range []CallID{"c1", "c2", "c3"} {
		h.advance(time.Second)
		h.do(CallArrived{Call: c, Queue: "q", Priority: []int{0, 0, 5}[i]})
	}
	h.do(CallPriorityChanged{Call: "c2", Priority: 9})
	var got []string
	h.do(AgentLogin{Agent: "a"})
	for range 3 {
		o := one[Offer](t, h.last)
		got = append(got, string(o.Call))
		h.do(OfferAnswered{Call: o.Call, Agent: "a"})
		h.do(CallEnded{Call: o.Call})
	}
	if want := []string{"c2", "c3", "c1"}; !eqStrings(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
}

func TestRestartKeepsOrder(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q"})
	h.agent("a", Membership{Queue: "q"})
	// re-added after a restart in the wrong order, with their first times.
	h.do(CallArrived{Call: "late", Queue: "q", JoinedAt: t0.Add(-time.Minute)})
	h.do(CallArrived{Call: "early", Queue: "q", JoinedAt: t0.Add(-5 * time.Minute)})
	h.do(CallArrived{Call: "new", Queue: "q"})
	s := h.e.Snapshot()
	var order []string
	for _, w := range s.Queues[0].Waiting {
		order = append(order, string(w.Call))
	}
	if want := []string{"early", "late", "new"}; !eqStrings(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if w := s.Queues[0].Waiting[0].Waited; w != 5*time.Minute {
		t.Fatalf("waited %v", w)
	}
	out := h.do(AgentLogin{Agent: "a"})
	if got := offers(out); !eqStrings(got, []string{"early>a"}) {
		t.Fatalf("offers %v", got)
	}
}

func TestAdoptConnected(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", WrapUp: 5 * time.Second})
	h.agent("a", Membership{Queue: "q"})
	out := h.do(AdoptConnected{Call: "c0", Queue: "q", Agent: "a", Since: t0.Add(-2 * time.Minute)})
	h.wantState("a", OnCall)
	if len(only[Answered](out)) != 0 {
		t.Fatal("adoption emitted a second Answered")
	}
	// a is busy: a new call is not offered to it.
	out = h.do(CallArrived{Call: "c1", Queue: "q"})
	if len(offers(out)) != 0 {
		t.Fatalf("offered to an agent on an adopted call: %v", offers(out))
	}
	out = h.do(CallHungUp{Call: "c0"})
	if c := one[CallCompleted](t, out); c.Talked != 2*time.Minute {
		t.Fatalf("completed %+v", c)
	}
	out = h.advance(5 * time.Second)
	if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
		t.Fatalf("offers after wrap-up %v", got)
	}
	// adopting into a queue that no longer exists still marks the agent busy.
	h.agent("b", Membership{Queue: "q"})
	h.do(AdoptConnected{Call: "c9", Queue: "gone", Agent: "b", Since: t0})
	h.wantState("b", OnCall)
	h.do(CallEnded{Call: "c9"})
	h.wantState("b", Ready)
}

func TestEscalationOverWaitTime(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Escalation: []Escalation{{After: 30 * time.Second, MaxTier: 1}, {After: 90 * time.Second, MaxTier: 2}}})
	h.agent("t1", Membership{Queue: "q", Tier: 1})
	h.agent("t2", Membership{Queue: "q", Tier: 2})
	h.do(AgentLogin{Agent: "t1"})
	h.do(AgentLogin{Agent: "t2"})
	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	if len(offers(out)) != 0 {
		t.Fatalf("tier 1 offered before 30 s: %v", offers(out))
	}
	out = h.advance(29 * time.Second)
	if len(offers(out)) != 0 {
		t.Fatalf("offered at 29 s: %v", offers(out))
	}
	out = h.advance(time.Second)
	if got := offers(out); !eqStrings(got, []string{"c1>t1"}) {
		t.Fatalf("at 30 s offers %v", got)
	}
	if at := one[Offer](t, out).At; !at.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("offered at %v, want exactly at the step", at)
	}
	// t1 does not answer; at 90 s tier 2 is reached while nobody else can
	// take it; t1 is free again and preferred (lower tier).
	h.do(OfferFailed{Call: "c1", Agent: "t1"})
	if got := offers(h.last); !eqStrings(got, []string{"c1>t1"}) {
		t.Fatalf("re-offer %v", got)
	}
	h.do(AgentPause{Agent: "t1", Reason: "frokost"})
	if got := offers(h.last); len(got) != 0 {
		t.Fatalf("t2 offered before 90 s: %v", got)
	}
	out = h.advance(60 * time.Second)
	if got := offers(out); !eqStrings(got, []string{"c1>t2"}) {
		t.Fatalf("at 90 s offers %v", got)
	}
}

func TestEscalationDuringOffer(t *testing.T) {
	tests := []struct {
		name     string
		cfg      QueueConfig
		wantAt30 []string
	}{
		{"one offer at a time: tier 2 waits", QueueConfig{MaxParallelOffers: 1}, nil},
		{"two parallel offers: tier 2 joins the ringing", QueueConfig{MaxParallelOffers: 2}, []string{"c1>t2"}},
		{"ringall: tier 2 joins the ringing", QueueConfig{Strategy: StrategyRingAll}, []string{"c1>t2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			cfg := tt.cfg
			cfg.ID = "q"
			cfg.RingTimeout = time.Minute
			cfg.RetryDelay = 5 * time.Second
			cfg.Escalation = []Escalation{{After: 30 * time.Second, MaxTier: 1}}
			h.queue(cfg)
			h.agent("t0", Membership{Queue: "q", Tier: 0})
			h.agent("t2", Membership{Queue: "q", Tier: 1})
			h.do(AgentLogin{Agent: "t0"})
			h.do(AgentLogin{Agent: "t2"})
			out := h.do(CallArrived{Call: "c1", Queue: "q"})
			if got := offers(out); !eqStrings(got, []string{"c1>t0"}) {
				t.Fatalf("first offers %v", got)
			}
			out = h.advance(30 * time.Second)
			if got := offers(out); !eqStrings(got, tt.wantAt30) {
				t.Fatalf("at 30 s offers %v, want %v", got, tt.wantAt30)
			}
			if tt.wantAt30 == nil {
				// when t0's offer ends, tier 2 gets it at once.
				out = h.do(OfferFailed{Call: "c1", Agent: "t0"})
				if got := offers(out); !eqStrings(got, []string{"c1>t2"}) {
					t.Fatalf("after t0 missed: %v", got)
				}
			}
		})
	}
}

func TestNoEscalationPrefersLowerTier(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyRingAll})
	h.agent("hi", Membership{Queue: "q", Tier: 3})
	h.agent("lo", Membership{Queue: "q", Tier: 0})
	h.do(AgentLogin{Agent: "hi"})
	h.do(AgentLogin{Agent: "lo"})
	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	if got := offers(out); !eqStrings(got, []string{"c1>lo"}) {
		t.Fatalf("offers %v", got)
	}
	// with lo busy, hi takes the next call at once.
	out = h.do(CallArrived{Call: "c2", Queue: "q"})
	if got := offers(out); !eqStrings(got, []string{"c2>hi"}) {
		t.Fatalf("offers %v", got)
	}
}

func TestSkillsAndRelaxation(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Skills: []SkillReq{{"pension", 3}},
		Escalation: []Escalation{{After: time.Minute, MaxTier: 0, RelaxSkills: 2}}})
	h.agentCfg(AgentConfig{ID: "da", Skills: map[string]int{"dansk": 5, "pension": 4}, Queues: []Membership{{Queue: "q"}}})
	h.agentCfg(AgentConfig{ID: "uk", Skills: map[string]int{"ukrainsk": 3, "pension": 1}, Queues: []Membership{{Queue: "q"}}})
	h.do(AgentLogin{Agent: "uk"})
	out := h.do(CallArrived{Call: "c1", Queue: "q", Skills: []SkillReq{{"ukrainsk", 3}}})
	if len(offers(out)) != 0 {
		t.Fatalf("uk lacks pension:3 but was offered: %v", offers(out))
	}
	// da has pension but not ukrainsk.
	out = h.do(AgentLogin{Agent: "da"})
	if len(offers(out)) != 0 {
		t.Fatalf("da lacks ukrainsk but was offered: %v", offers(out))
	}
	// after a minute pension needs only level 1 and ukrainsk level 1: uk
	// may take it, da still may not.
	out = h.advance(time.Minute)
	if got := offers(out); !eqStrings(got, []string{"c1>uk"}) {
		t.Fatalf("after relaxation: %v", got)
	}
	// a plain pension call goes to da at once.
	out = h.do(CallArrived{Call: "c2", Queue: "q"})
	if got := offers(out); !eqStrings(got, []string{"c2>da"}) {
		t.Fatalf("pension call: %v", got)
	}
}

func TestCrossQueueFairness(t *testing.T) {
	tests := []struct {
		name   string
		wA, wB int
		joinA  time.Duration // how long ago the A call joined
		joinB  time.Duration
		prioB  int
		want   string
	}{
		{"equal weights: longest wait wins", 1, 1, 60 * time.Second, 40 * time.Second, 0, "a1"},
		{"weight doubles B's claim", 1, 2, 60 * time.Second, 40 * time.Second, 0, "b1"},
		{"priority beats wait", 1, 1, 60 * time.Second, 1 * time.Second, 1, "b1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.queue(QueueConfig{ID: "A", Weight: tt.wA})
			h.queue(QueueConfig{ID: "B", Weight: tt.wB})
			h.agent("x", Membership{Queue: "A"}, Membership{Queue: "B"})
			h.do(CallArrived{Call: "a1", Queue: "A", JoinedAt: h.now.Add(-tt.joinA)})
			h.do(CallArrived{Call: "b1", Queue: "B", JoinedAt: h.now.Add(-tt.joinB), Priority: tt.prioB})
			out := h.do(AgentLogin{Agent: "x"})
			if got := offers(out); !eqStrings(got, []string{tt.want + ">x"}) {
				t.Fatalf("offers %v, want %s", got, tt.want)
			}
		})
	}
}

func TestTwoQueuesRaceForOneAgent(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "A"})
	h.queue(QueueConfig{ID: "B"})
	h.agent("x", Membership{Queue: "A"}, Membership{Queue: "B"})
	h.do(AgentLogin{Agent: "x"})
	// both queues get a call in the same instant: one offer only.
	out := h.do(CallArrived{Call: "a1", Queue: "A"})
	out = append(out, h.do(CallArrived{Call: "b1", Queue: "B"})...)
	if got := offers(out); !eqStrings(got, []string{"a1>x"}) {
		t.Fatalf("offers %v", got)
	}
	// when x misses, b1 (now the same age) is not starved: a1 and b1 are
	// equal, a1 joined first, so a1 again; after a1 is answered b1 follows.
	h.do(OfferAnswered{Call: "a1", Agent: "x"})
	out = h.do(CallEnded{Call: "a1"})
	if got := offers(out); !eqStrings(got, []string{"b1>x"}) {
		t.Fatalf("offers %v", got)
	}
}

func TestMaxLenAndEmptyPolicies(t *testing.T) {
	t.Run("max length", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", MaxLen: 2})
		h.do(CallArrived{Call: "c1", Queue: "q"})
		h.do(CallArrived{Call: "c2", Queue: "q"})
		out := h.do(CallArrived{Call: "c3", Queue: "q"})
		if o := one[Overflow](t, out); o.Reason != OverflowFull || o.Call != "c3" {
			t.Fatalf("overflow %+v", o)
		}
		if len(only[CallJoined](out)) != 0 {
			t.Fatal("a refused call joined")
		}
	})
	t.Run("join when empty", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", Empty: EmptyJoin})
		one[CallJoined](t, h.do(CallArrived{Call: "c1", Queue: "q"}))
	})
	t.Run("refuse when nobody is logged in", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", Empty: EmptyRefuse})
		h.agent("a", Membership{Queue: "q"})
		if o := one[Overflow](t, h.do(CallArrived{Call: "c1", Queue: "q"})); o.Reason != OverflowNoAgents {
			t.Fatalf("overflow %+v", o)
		}
		// a paused agent is logged in: the caller may wait.
		h.do(AgentLogin{Agent: "a", PauseReason: "møde"})
		one[CallJoined](t, h.do(CallArrived{Call: "c2", Queue: "q"}))
		// refuse does not throw out callers already waiting.
		out := h.do(AgentLogout{Agent: "a"})
		if len(only[Overflow](out)) != 0 {
			t.Fatalf("refuse policy overflowed a waiting caller")
		}
	})
	t.Run("leave when the last agent logs out", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", Empty: EmptyLeave, Callback: CallbackConfig{Enabled: true}})
		h.agent("a", Membership{Queue: "q"})
		h.agent("b", Membership{Queue: "q"})
		h.do(AgentLogin{Agent: "a", PauseReason: "x"})
		h.do(AgentLogin{Agent: "b", PauseReason: "x"})
		h.do(CallArrived{Call: "c1", Queue: "q"})
		h.do(CallArrived{Call: "c2", Queue: "q"})
		h.do(CallbackRequested{Call: "c2", Number: "+4512345678"})
		if out := h.do(AgentLogout{Agent: "a"}); len(only[Overflow](out)) != 0 {
			t.Fatal("overflowed while b is still logged in")
		}
		out := h.do(AgentLogout{Agent: "b"})
		if o := one[Overflow](t, out); o.Reason != OverflowLeaveEmpty || o.Call != "c1" {
			t.Fatalf("overflow %+v", o)
		}
		if _, ok := h.e.calls["c2"]; !ok {
			t.Fatal("callback request was thrown out with the callers")
		}
	})
}

func TestMaxWait(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", MaxWait: time.Minute, RingTimeout: 20 * time.Second})
	h.agent("a", Membership{Queue: "q"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	out := h.advance(time.Minute)
	if o := one[Overflow](t, out); o.Reason != OverflowTimeout {
		t.Fatalf("overflow %+v", o)
	}
	if ov := one[Overflowed](t, out); ov.Waited != time.Minute {
		t.Fatalf("overflowed %+v", ov)
	}

	// a ringing offer may finish: answered in time means no overflow.
	h.do(CallArrived{Call: "c2", Queue: "q"})
	h.advance(50 * time.Second)
	h.do(AgentLogin{Agent: "a"})
	out = h.advance(15 * time.Second)
	if len(only[Overflow](out)) != 0 {
		t.Fatal("overflowed during an offer")
	}
	one[Connect](t, h.do(OfferAnswered{Call: "c2", Agent: "a"}))
	h.do(CallEnded{Call: "c2"})

	// not answered: overflow when the offer ends.
	h.do(AgentPause{Agent: "a", Reason: "x"})
	h.do(CallArrived{Call: "c3", Queue: "q"})
	h.advance(50 * time.Second)
	h.do(AgentReady{Agent: "a"})
	h.advance(10 * time.Second)
	out = h.advance(10 * time.Second)
	if o := one[Overflow](t, out); o.Call != "c3" || o.Reason != OverflowTimeout {
		t.Fatalf("overflow %+v", o)
	}
	h.wantState("a", Ready)
	// restart past max wait: overflow at once.
	out = h.do(CallArrived{Call: "c4", Queue: "q", JoinedAt: h.now.Add(-2 * time.Minute)})
	one[CallJoined](t, out)
	one[Overflow](t, out)
}

func TestWrapUpOverridePauseAndLogoutDuringCall(t *testing.T) {
	five := 5 * time.Second
	zero := time.Duration(0)
	h := newHarness(t, Options{PauseReasons: []string{"frokost"}})
	h.queue(QueueConfig{ID: "q", WrapUp: 30 * time.Second})
	h.agentCfg(AgentConfig{ID: "fast", WrapUp: &five, Queues: []Membership{{Queue: "q"}}})
	h.agentCfg(AgentConfig{ID: "none", WrapUp: &zero, Queues: []Membership{{Queue: "q"}}})
	h.agent("std", Membership{Queue: "q"})
	tests := []struct {
		agent AgentID
		wrap  time.Duration
	}{{"fast", 5 * time.Second}, {"none", 0}, {"std", 30 * time.Second}}
	for _, tt := range tests {
		h.do(AgentLogin{Agent: tt.agent})
		h.do(CallArrived{Call: CallID("c-" + tt.agent), Queue: "q"})
		h.do(OfferAnswered{Call: CallID("c-" + tt.agent), Agent: tt.agent})
		h.do(CallEnded{Call: CallID("c-" + tt.agent)})
		if tt.wrap == 0 {
			h.wantState(tt.agent, Ready)
		} else {
			h.wantState(tt.agent, WrapUp)
			h.advance(tt.wrap - time.Nanosecond)
			h.wantState(tt.agent, WrapUp)
			h.advance(time.Nanosecond)
			h.wantState(tt.agent, Ready)
		}
		h.do(AgentLogout{Agent: tt.agent})
	}

	// pause during a call: after wrap-up the agent is paused, not ready.
	h.do(AgentLogin{Agent: "std"})
	h.do(CallArrived{Call: "p1", Queue: "q"})
	h.do(OfferAnswered{Call: "p1", Agent: "std"})
	one[Ignored](t, h.do(AgentPause{Agent: "std", Reason: "kaffe"}))
	h.do(AgentPause{Agent: "std", Reason: "frokost"})
	h.wantState("std", OnCall)
	if s := h.e.Snapshot().Agents[2]; s.PendingPause != "frokost" {
		t.Fatalf("snapshot %+v", s)
	}
	h.do(CallEnded{Call: "p1"})
	h.wantState("std", WrapUp)
	h.advance(30 * time.Second)
	h.wantState("std", Paused)
	if r := h.e.agents["std"].reason; r != "frokost" {
		t.Fatalf("reason %q", r)
	}
	// ready during wrap-up ends it early.
	h.do(AgentReady{Agent: "std"})
	h.do(CallArrived{Call: "p2", Queue: "q"})
	h.do(OfferAnswered{Call: "p2", Agent: "std"})
	h.do(CallEnded{Call: "p2"})
	h.do(AgentReady{Agent: "std"})
	h.wantState("std", Ready)
	// logout during a call: logged out when it ends, no wrap-up.
	h.do(CallArrived{Call: "p3", Queue: "q"})
	h.do(OfferAnswered{Call: "p3", Agent: "std"})
	h.do(AgentLogout{Agent: "std"})
	h.wantState("std", OnCall)
	h.do(CallEnded{Call: "p3"})
	h.wantState("std", LoggedOut)
}

func TestDeviceBusyAndRingInUse(t *testing.T) {
	for _, ringInUse := range []bool{false, true} {
		h := newHarness(t, Options{})
		h.queue(QueueConfig{ID: "q", RingInUse: ringInUse})
		h.login("q", "a")
		h.do(AgentDeviceBusy{Agent: "a"})
		out := h.do(CallArrived{Call: "c1", Queue: "q"})
		if got := len(offers(out)) == 1; got != ringInUse {
			t.Fatalf("ringInUse=%v: offers %v", ringInUse, offers(out))
		}
		if !ringInUse {
			out = h.do(AgentDeviceFree{Agent: "a"})
			if got := offers(out); !eqStrings(got, []string{"c1>a"}) {
				t.Fatalf("after device free: %v", got)
			}
		}
	}
}

func TestAgentNeverOfferedTwoCalls(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "A", Strategy: StrategyRingAll, RingInUse: true})
	h.queue(QueueConfig{ID: "B", Strategy: StrategyRingAll, RingInUse: true})
	h.agent("x", Membership{Queue: "A"}, Membership{Queue: "B"})
	h.do(AgentLogin{Agent: "x"})
	h.do(CallArrived{Call: "a1", Queue: "A"})
	out := h.do(CallArrived{Call: "b1", Queue: "B"})
	if len(offers(out)) != 0 {
		t.Fatalf("ringing agent offered a second call: %v", offers(out))
	}
	h.do(OfferAnswered{Call: "a1", Agent: "x"})
	if len(offers(h.last)) != 0 {
		t.Fatalf("agent on a call offered another: %v", offers(h.last))
	}
}

func TestPauseReasons(t *testing.T) {
	h := newHarness(t, Options{PauseReasons: []string{"frokost", "møde"}})
	h.queue(QueueConfig{ID: "q"})
	h.login("q", "a")
	one[Ignored](t, h.do(AgentPause{Agent: "a", Reason: "ferie"}))
	h.wantState("a", Ready)
	s := one[AgentStateChanged](t, h.do(AgentPause{Agent: "a", Reason: "møde"}))
	if s.From != Ready || s.To != Paused || s.Reason != "møde" {
		t.Fatalf("state change %+v", s)
	}
	// changing the reason while paused is a state change too.
	s = one[AgentStateChanged](t, h.do(AgentPause{Agent: "a", Reason: "frokost"}))
	if s.From != Paused || s.Reason != "frokost" {
		t.Fatalf("state change %+v", s)
	}
	one[Ignored](t, h.do(AgentLogin{Agent: "a", PauseReason: "ferie"}))
	// pause while ringing withdraws the offer.
	h.do(AgentReady{Agent: "a"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	out := h.do(AgentPause{Agent: "a", Reason: "frokost"})
	if c := one[CancelOffer](t, out); c.Reason != EndAgentPause {
		t.Fatalf("cancel %+v", c)
	}
}

func TestAnnouncements(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", HandleTime: 2 * time.Minute, Announce: Announcements{
		OnJoin: true, Every: 30 * time.Second,
		Custom: []CustomAnnouncement{{Prompt: "skriv-til-os", Every: 45 * time.Second}},
	}})
	h.agent("a", Membership{Queue: "q"})
	h.agent("b", Membership{Queue: "q"})
	h.do(AgentLogin{Agent: "a", PauseReason: "x"})
	h.do(AgentLogin{Agent: "b", PauseReason: "x"})
	h.do(AgentReady{Agent: "a"})
	h.do(CallArrived{Call: "busy", Queue: "q"})
	h.do(OfferAnswered{Call: "busy", Agent: "a"})

	out := h.do(CallArrived{Call: "c1", Queue: "q"})
	an := one[Announce](t, out)
	// one agent serving (b is paused), 2 min per call, first in line: 2 min.
	if an.Kind != AnnounceJoin || an.Position != 1 || an.EstimatedWait != 2*time.Minute {
		t.Fatalf("join announcement %+v", an)
	}
	out = h.do(CallArrived{Call: "c2", Queue: "q"})
	if an := one[Announce](t, out); an.Position != 2 || an.EstimatedWait != 4*time.Minute {
		t.Fatalf("second caller %+v", an)
	}
	out = h.advance(30 * time.Second)
	if n := len(only[Announce](out)); n != 2 {
		t.Fatalf("want 2 periodic announcements, got:\n%s", dump(out))
	}
	out = h.advance(15 * time.Second)
	for _, an := range only[Announce](out) {
		if an.Kind != AnnounceCustom || an.Prompt != "skriv-til-os" {
			t.Fatalf("custom %+v", an)
		}
	}
	if n := len(only[Announce](out)); n != 2 {
		t.Fatalf("want 2 custom announcements, got %d", n)
	}

	// a caller who is offered at once hears no join announcement.
	h.do(AgentReady{Agent: "b"})
	h.do(OfferAnswered{Call: "c1", Agent: "b"})
	h.do(CallHungUp{Call: "c2"})
	h.do(CallEnded{Call: "c1"})
	out = h.do(CallArrived{Call: "c3", Queue: "q"})
	if len(only[Announce](out)) != 0 || len(offers(out)) != 1 {
		t.Fatalf("want an offer and no announcement:\n%s", dump(out))
	}
	// and nothing periodic while ringing.
	out = h.advance(14 * time.Second)
	if len(only[Announce](out)) != 0 {
		t.Fatalf("announced to a ringing caller:\n%s", dump(out))
	}
}

func TestAnnounceOnlyIfBetter(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", HandleTime: 3 * time.Minute, Announce: Announcements{
		OnJoin: true, Every: time.Minute, OnlyIfBetter: true, Granularity: time.Minute}})
	h.agent("a", Membership{Queue: "q"})
	h.agent("b", Membership{Queue: "q"})
	h.do(AgentLogin{Agent: "a", PauseReason: "x"})
	h.do(AgentLogin{Agent: "b", PauseReason: "x"})
	h.do(AgentReady{Agent: "a"})
	h.do(CallArrived{Call: "busy", Queue: "q"})
	h.do(OfferAnswered{Call: "busy", Agent: "a"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	out := h.do(CallArrived{Call: "me", Queue: "q"})
	if an := one[Announce](t, out); an.Position != 2 || an.EstimatedWait != 6*time.Minute {
		t.Fatalf("join %+v", an)
	}
	// nothing changed: nothing said.
	out = h.advance(time.Minute)
	for _, an := range only[Announce](out) {
		if an.Call == "me" {
			t.Fatalf("announced without improvement: %+v", an)
		}
	}
	// b logs in: the wait halves, the position stays: only the wait is said.
	h.do(AgentReady{Agent: "b"}) // b takes c1: position and wait improve
	h.do(OfferFailed{Call: "c1", Agent: "b"})
	h.do(AgentPause{Agent: "b", Reason: "x"})
	h.do(AgentLogin{Agent: "b", PauseReason: ""}) // already logged in: no state change
	h.do(AgentReady{Agent: "b"})
	// b is ready again and gets c1 (retry delay 0).
	h.do(OfferAnswered{Call: "c1", Agent: "b"})
	out = h.advance(time.Minute)
	var mine []Announce
	for _, an := range only[Announce](out) {
		if an.Call == "me" {
			mine = append(mine, an)
		}
	}
	if len(mine) != 1 || mine[0].Position != 1 {
		t.Fatalf("want position 1 said, got %+v", mine)
	}
	// the wait: 1 ahead × 3 min / 2 agents = 1.5 min, better than 6 min.
	if mine[0].EstimatedWait != 90*time.Second {
		t.Fatalf("wait %v", mine[0].EstimatedWait)
	}
	// a paused agent makes the wait worse: nothing is said.
	h.do(AgentPause{Agent: "b", Reason: "x"}) // pending: b is on a call
	h.do(CallEnded{Call: "c1"})
	out = h.advance(time.Minute)
	for _, an := range only[Announce](out) {
		if an.Call == "me" {
			t.Fatalf("worse news announced: %+v", an)
		}
	}
}

func TestCallbackKeepsPlace(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Callback: CallbackConfig{Enabled: true, Attempts: 2, RetryDelay: time.Minute}})
	h.agent("a", Membership{Queue: "q"})
	h.do(AgentLogin{Agent: "a", PauseReason: "x"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.advance(time.Second)
	h.do(CallArrived{Call: "c2", Queue: "q"})
	h.advance(time.Second)
	h.do(CallArrived{Call: "c3", Queue: "q"})
	out := h.do(CallbackRequested{Call: "c2", Number: "+4520304050"})
	if q := one[CallbackQueued](t, out); q.Position != 2 {
		t.Fatalf("queued %+v", q)
	}
	// the caller's channel goes away: not an abandon.
	one[Ignored](t, h.do(CallHungUp{Call: "c2"}))
	s := h.e.Snapshot().Queues[0]
	if s.Waiting[1].Call != "c2" || !s.Waiting[1].Callback {
		t.Fatalf("waiting %+v", s.Waiting)
	}
	if s.LongestWait != 2*time.Second {
		t.Fatalf("longest wait %v", s.LongestWait)
	}
	// c1 first, then the callback (agent first), then c3.
	h.do(AgentReady{Agent: "a"})
	h.do(OfferAnswered{Call: "c1", Agent: "a"})
	out = h.do(CallEnded{Call: "c1"})
	o := one[Offer](t, out)
	if o.Call != "c2" || !o.Callback {
		t.Fatalf("offer %+v", o)
	}
	out = h.do(OfferAnswered{Call: "c2", Agent: "a"})
	d := one[DialCallback](t, out)
	if d.Number != "+4520304050" || d.Agent != "a" || d.Attempt != 1 {
		t.Fatalf("dial %+v", d)
	}
	if len(only[Connect](out)) != 0 || len(only[Answered](out)) != 0 {
		t.Fatal("callback connected before the citizen answered")
	}
	h.wantState("a", OnCall)
	// the citizen does not answer: a is free, the request keeps its place
	// but waits a minute; c3 goes first meanwhile.
	out = h.do(CallbackResult{Call: "c2", Answered: false})
	if f := one[CallbackFailed](t, out); f.Final || f.Attempt != 1 {
		t.Fatalf("failed %+v", f)
	}
	if got := offers(out); !eqStrings(got, []string{"c3>a"}) {
		t.Fatalf("offers %v", got)
	}
	h.do(OfferAnswered{Call: "c3", Agent: "a"})
	h.do(CallEnded{Call: "c3"})
	if s := h.e.Snapshot().Queues[0]; len(s.Waiting) != 1 || s.Waiting[0].Call != "c2" {
		t.Fatalf("waiting %+v", s.Waiting)
	}
	out = h.advance(time.Minute)
	if got := offers(out); !eqStrings(got, []string{"c2>a"}) {
		t.Fatalf("retry offers %v", got)
	}
	h.do(OfferAnswered{Call: "c2", Agent: "a"})
	out = h.do(CallbackResult{Call: "c2", Answered: false})
	if f := one[CallbackFailed](t, out); !f.Final || f.Attempt != 2 {
		t.Fatalf("final %+v", f)
	}
	if _, ok := h.e.calls["c2"]; ok {
		t.Fatal("request kept after the last attempt")
	}

	// a connected callback is a conversation like any other.
	h.do(CallArrived{Call: "c4", Queue: "q"})
	h.do(AgentPause{Agent: "a", Reason: "x"})
	h.do(CallbackRequested{Call: "c4", Number: "+4511111111"})
	h.do(AgentReady{Agent: "a"})
	h.do(OfferAnswered{Call: "c4", Agent: "a"})
	out = h.do(CallbackResult{Call: "c4", Answered: true})
	one[CallbackConnected](t, out)
	one[CallCompleted](t, h.do(CallHungUp{Call: "c4"}))
	if s := h.e.Snapshot().Queues[0]; s.CallbacksToday != 1 {
		t.Fatalf("callbacks today %d", s.CallbacksToday)
	}
}

func TestCallbackAtFrontWhileAllPaused(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Callback: CallbackConfig{Enabled: true}})
	h.agent("a", Membership{Queue: "q"})
	h.agent("b", Membership{Queue: "q"})
	h.do(AgentLogin{Agent: "a", PauseReason: "x"})
	h.do(AgentLogin{Agent: "b", PauseReason: "x"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.do(CallArrived{Call: "c2", Queue: "q"})
	out := h.do(CallbackRequested{Call: "c1", Number: "+4500000001"})
	if len(offers(out)) != 0 || len(only[DialCallback](out)) != 0 {
		t.Fatalf("callback acted on while everyone is paused:\n%s", dump(out))
	}
	// hours pass: the request neither times out nor moves.
	h.advance(3 * time.Hour)
	if s := h.e.Snapshot().Queues[0]; s.Waiting[0].Call != "c1" {
		t.Fatalf("waiting %+v", s.Waiting)
	}
	// an agent comes back: the agent is offered the callback first.
	out = h.do(AgentReady{Agent: "b"})
	if o := one[Offer](t, out); o.Call != "c1" || !o.Callback {
		t.Fatalf("offer %+v", o)
	}
	// the agent misses it: it goes to the next free agent, not dialled.
	h.do(AgentReady{Agent: "a"})
	out = h.do(OfferFailed{Call: "c1", Agent: "b"})
	if len(only[DialCallback](out)) != 0 {
		t.Fatal("dialled without an agent")
	}
}

func TestCallbackRefused(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q"})
	h.do(CallArrived{Call: "c1", Queue: "q"})
	if ig := one[Ignored](t, h.do(CallbackRequested{Call: "c1", Number: "+4512"})); !strings.Contains(ig.Reason, "not enabled") {
		t.Fatalf("ignored %+v", ig)
	}
	one[Abandoned](t, h.do(CallHungUp{Call: "c1"}))
}

func TestStrategiesThroughEngine(t *testing.T) {
	tests := []struct {
		strategy string
		want     []string // agents offered for 4 successive calls
	}{
		{StrategyLinear, []string{"a", "a", "a", "a"}},
		{StrategyRoundRobin, []string{"a", "b", "c", "a"}},
		{StrategyLongestIdle, []string{"c", "b", "a", "c"}},
		{StrategyFewestCalls, []string{"a", "b", "c", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.queue(QueueConfig{ID: "q", Strategy: tt.strategy})
			// c logged in first: longest idle.
			for i, id := range []AgentID{"c", "b", "a"} {
				h.agent(id, Membership{Queue: "q", Order: 2 - i})
				h.do(AgentLogin{Agent: id})
				h.advance(time.Second)
			}
			var got []string
			for i := range 4 {
				call := CallID("c" + string(rune('1'+i)))
				o := one[Offer](t, h.do(CallArrived{Call: call, Queue: "q"}))
				got = append(got, string(o.Agent))
				h.advance(time.Second)
				h.do(OfferAnswered{Call: call, Agent: o.Agent})
				h.advance(time.Second)
				h.do(CallEnded{Call: call})
			}
			if !eqStrings(got, tt.want) {
				t.Fatalf("offered %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		name string
		cfg  QueueConfig
		want string
	}{
		{"no id", QueueConfig{}, "queue id is empty"},
		{"strategy", QueueConfig{ID: "q", Strategy: "fifo"}, `unknown strategy "fifo"`},
		{"weight", QueueConfig{ID: "q", Weight: 5000}, "weight 5000"},
		{"ring timeout", QueueConfig{ID: "q", RingTimeout: -time.Second}, "ring timeout"},
		{"escalation order", QueueConfig{ID: "q", Escalation: []Escalation{{After: time.Minute, MaxTier: 1}, {After: 30 * time.Second, MaxTier: 2}}}, "must be later"},
		{"escalation narrows", QueueConfig{ID: "q", Escalation: []Escalation{{After: time.Minute, MaxTier: 2}, {After: 2 * time.Minute, MaxTier: 1}}}, "narrows"},
		{"announce period", QueueConfig{ID: "q", Announce: Announcements{Every: time.Millisecond}}, "announcement period"},
		{"custom prompt", QueueConfig{ID: "q", Announce: Announcements{Custom: []CustomAnnouncement{{Every: time.Minute}}}}, "no prompt"},
		{"skill", QueueConfig{ID: "q", Skills: []SkillReq{{"dansk", 0}}}, "skill requirement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.SetQueue(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	// several problems are reported together.
	err := e.SetQueue(QueueConfig{ID: "q", MaxLen: -1, MaxWait: -1})
	if err == nil || !strings.Contains(err.Error(), "max length") || !strings.Contains(err.Error(), "max wait") {
		t.Fatalf("joined error %v", err)
	}
	w := -time.Second
	for _, cfg := range []AgentConfig{
		{},
		{ID: "a", WrapUp: &w},
		{ID: "a", Queues: []Membership{{Queue: "q"}, {Queue: "q"}}},
		{ID: "a", Queues: []Membership{{Queue: "q", Tier: -1}}},
	} {
		if err := e.SetAgent(cfg); err == nil {
			t.Errorf("SetAgent(%+v) accepted", cfg)
		}
	}
	if len(e.queues) != 0 || len(e.agents) != 0 {
		t.Fatal("invalid config was stored")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(e.SetQueue(QueueConfig{Weight: -1}), &joined) {
		t.Fatal("errors are not joined")
	}
}

func TestReconfiguration(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "A"})
	h.queue(QueueConfig{ID: "B", Callback: CallbackConfig{Enabled: true}})
	h.agent("x", Membership{Queue: "A"}, Membership{Queue: "B"})
	h.do(AgentLogin{Agent: "x"})
	h.do(CallArrived{Call: "a1", Queue: "A"})
	h.wantState("x", Ringing)

	// x leaves queue A while ringing for a1: the offer is withdrawn.
	if err := h.e.SetAgent(AgentConfig{ID: "x", Queues: []Membership{{Queue: "B"}}}); err != nil {
		t.Fatal(err)
	}
	if d, ok := h.e.NextDeadline(); !ok || !d.Equal(h.now) {
		t.Fatalf("next deadline %v %v, want now", d, ok)
	}
	out := h.step(h.e.Advance(h.now))
	if c := one[CancelOffer](t, out); c.Reason != EndReconfigured {
		t.Fatalf("cancel %+v", c)
	}
	h.wantState("x", Ready)

	// queue B is removed: callers overflow, callback requests fail.
	h.do(AgentPause{Agent: "x", Reason: "x"})
	h.do(CallArrived{Call: "b1", Queue: "B"})
	h.do(CallArrived{Call: "b2", Queue: "B"})
	h.do(CallbackRequested{Call: "b2", Number: "+45"})
	h.e.RemoveQueue("B")
	out = h.step(h.e.Advance(h.now))
	if o := one[Overflow](t, out); o.Call != "b1" || o.Reason != OverflowRemoved {
		t.Fatalf("overflow %+v", o)
	}
	if f := one[CallbackFailed](t, out); f.Call != "b2" || !f.Final {
		t.Fatalf("callback failed %+v", f)
	}
	one[Reject](t, h.do(CallArrived{Call: "b3", Queue: "B"}))
	// re-adding B links x again from its kept membership.
	h.queue(QueueConfig{ID: "B"})
	h.do(AgentReady{Agent: "x"})
	if got := offers(h.do(CallArrived{Call: "b4", Queue: "B"})); !eqStrings(got, []string{"b4>x"}) {
		t.Fatalf("offers %v", got)
	}
	// removing a ringing agent withdraws its offer.
	h.e.RemoveAgent("x")
	out = h.step(h.e.Advance(h.now))
	one[CancelOffer](t, out)
	if s := one[AgentStateChanged](t, out); s.To != LoggedOut || s.Reason != "removed" {
		t.Fatalf("state %+v", s)
	}
	one[Ignored](t, h.do(AgentLogin{Agent: "x"}))
}

func TestRejects(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q"})
	one[Reject](t, h.do(CallArrived{Call: "c1", Queue: "nope"}))
	h.do(CallArrived{Call: "c1", Queue: "q"})
	one[Reject](t, h.do(CallArrived{Call: "c1", Queue: "q"}))
	one[Reject](t, h.do(CallArrived{Queue: "q"}))
	for _, in := range []Input{
		CallHungUp{Call: "x"}, CallEnded{Call: "c1"}, CallbackResult{Call: "c1"},
		OfferAnswered{Call: "c1", Agent: "nobody"}, AgentReady{Agent: "nobody"},
		CallPriorityChanged{Call: "x"},
	} {
		one[Ignored](t, h.do(in))
	}
}

func TestSnapshotAndDayStatistics(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", ServiceLevel: 20 * time.Second})
	h.agent("a", Membership{Queue: "q"})
	h.agent("b", Membership{Queue: "q"})
	h.do(AgentLogin{Agent: "a"})
	h.do(AgentLogin{Agent: "b", PauseReason: "møde"})
	// answered in 10 s, answered in 30 s, abandoned.
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.advance(10 * time.Second)
	h.do(OfferAnswered{Call: "c1", Agent: "a"})
	h.do(CallArrived{Call: "c2", Queue: "q"})
	h.do(CallArrived{Call: "c3", Queue: "q"})
	h.advance(30 * time.Second)
	h.do(CallHungUp{Call: "c3"})
	h.do(CallEnded{Call: "c1"})
	h.do(OfferAnswered{Call: "c2", Agent: "a"})
	h.do(CallArrived{Call: "c4", Queue: "q"})
	h.advance(5 * time.Second)

	s := h.e.Snapshot()
	q := s.Queues[0]
	if q.AnsweredToday != 2 || q.AbandonedToday != 1 {
		t.Fatalf("today %+v", q)
	}
	if q.ServiceLevelToday != 1.0/3 {
		t.Fatalf("service level %v", q.ServiceLevelToday)
	}
	if len(q.Waiting) != 1 || q.Waiting[0].Call != "c4" || q.LongestWait != 5*time.Second {
		t.Fatalf("waiting %+v longest %v", q.Waiting, q.LongestWait)
	}
	if q.Agents != (AgentCounts{OnCall: 1, Paused: 1}) {
		t.Fatalf("agents %+v", q.Agents)
	}
	a := s.Agents[0]
	if a.ID != "a" || a.State != OnCall || a.Call != "c2" || a.CallsToday != 2 || a.Queues[0] != "q" {
		t.Fatalf("agent %+v", a)
	}
	if b := s.Agents[1]; b.State != Paused || b.Reason != "møde" {
		t.Fatalf("agent %+v", b)
	}
	// the snapshot is a copy.
	s.Queues[0].Waiting[0].Call = "changed"
	if h.e.Snapshot().Queues[0].Waiting[0].Call != "c4" {
		t.Fatal("snapshot shares memory with the engine")
	}
	// at midnight the day's figures start over.
	h.now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	h.step(h.e.Advance(h.now))
	q = h.e.Snapshot().Queues[0]
	if q.AnsweredToday != 0 || q.AbandonedToday != 0 || q.ServiceLevelToday != 1 || h.e.agents["a"].callsToday != 0 {
		t.Fatalf("after midnight %+v", q)
	}
}

func TestEstimateSharesAgentsBetweenQueues(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "A", HandleTime: time.Minute})
	h.queue(QueueConfig{ID: "B", HandleTime: time.Minute})
	h.agent("x", Membership{Queue: "A"}, Membership{Queue: "B"})
	h.agent("y", Membership{Queue: "A"})
	h.do(AgentLogin{Agent: "x", PauseReason: "p"})
	h.do(AgentLogin{Agent: "y", PauseReason: "p"})
	if est := h.e.estimate(h.e.queues["A"], 1); est != -1 {
		t.Fatalf("with all paused: %v, want unknown", est)
	}
	h.do(AgentReady{Agent: "x"})
	h.do(AgentReady{Agent: "y"})
	h.do(CallArrived{Call: "a0", Queue: "A"})
	h.do(CallArrived{Call: "a1", Queue: "A"})
	h.do(CallArrived{Call: "a2", Queue: "A"})
	// both busy; 2 agents on A alone: position 3 waits 3 × 60 s / 2.
	if est := h.e.estimate(h.e.queues["A"], 3); est != 90*time.Second {
		t.Fatalf("estimate %v", est)
	}
	// B gets a caller: x now serves two queues with callers: A has 1.5.
	h.do(CallArrived{Call: "b1", Queue: "B"})
	if est := h.e.estimate(h.e.queues["A"], 3); est != 120*time.Second {
		t.Fatalf("estimate with shared agent %v", est)
	}
}

func TestHandleTimeIsMeasured(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", HandleTime: 100 * time.Second, WrapUp: 20 * time.Second})
	h.login("q", "a")
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.do(OfferAnswered{Call: "c1", Agent: "a"})
	h.advance(180 * time.Second)
	h.do(CallEnded{Call: "c1"})
	// sample 180 s talk + 20 s wrap-up = 200 s; average moves by alpha.
	if got, want := h.e.queues["q"].aht, 100+ahtAlpha*100; got != want {
		t.Fatalf("handle time %v, want %v", got, want)
	}
	if s := h.e.Snapshot().Queues[0]; s.HandleTime != 110*time.Second {
		t.Fatalf("snapshot handle time %v", s.HandleTime)
	}
}

// A call Asterisk lost (it restarted) while ringing two agents ends in
// CallLost, not Abandoned: the agents are free, and the day's abandons
// and service level do not count it.
func TestCallLostByTheSystem(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyRingAll})
	h.login("q", "a", "b")
	h.do(CallArrived{Call: "c1", Queue: "q"})
	h.advance(4 * time.Second)
	out := h.do(CallHungUp{Call: "c1", Lost: true})
	if n := len(only[CancelOffer](out)); n != 2 {
		t.Fatalf("%d cancels", n)
	}
	if n := len(only[Abandoned](out)); n != 0 {
		t.Fatalf("%d abandons for a lost call", n)
	}
	if l := one[CallLost](t, out); l.Waited != 4*time.Second || l.Position != 1 || l.Queue != "q" {
		t.Fatalf("lost %+v", l)
	}
	h.wantState("a", Ready)
	h.wantState("b", Ready)
	qs := h.e.Snapshot().Queues[0]
	if qs.AbandonedToday != 0 || qs.LostToday != 1 || qs.ServiceLevelToday != 1 {
		t.Fatalf("today: %d abandoned, %d lost, service level %v", qs.AbandonedToday, qs.LostToday, qs.ServiceLevelToday)
	}
}
