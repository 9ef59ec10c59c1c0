package ari_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

func q1(mod ...func(*queue.QueueConfig)) []queue.QueueConfig {
	a := queue.QueueConfig{ID: "q1", RingTimeout: 5 * time.Second}
	b := queue.QueueConfig{ID: "q2", RingTimeout: 5 * time.Second, Empty: queue.EmptyRefuse}
	for _, m := range mod {
		m(&a)
	}
	return []queue.QueueConfig{a, b}
}

func TestRouting(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		want []callflow.StepID
	}{
		{"open", mondayMorning, []callflow.StepID{"åbent", "menu"}},
		{"closed", mondayEvening, []callflow.StepID{"åbent", "lukket", "slut"}},
		{"holiday", christmasDay, []callflow.StepID{"åbent", "helligdag", "slut"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := newAsterisk(t)
			e := start(t, pbx, newShiftedClock(tc.at), config(q1()))
			id := pbx.placeCall(t, "70101010", "+4512345678")
			e.eventually("the flow reaches its last expected step", func() bool {
				return slices.Equal(e.steps(id), tc.want)
			})
			if tc.name != "open" {
				e.eventually("the call is hung up", func() bool { _, ok := e.call(id); return !ok })
			}
		})
	}
}

// TestMenuQueueAgentBridged: the caller picks 1, waits in q1, the agent is
// rung, answers and both are bridged; audio crosses the bridge both ways.
func TestMenuQueueAgentBridged(t *testing.T) {
	pbx := newAsterisk(t)
	e := start(t, pbx, newShiftedClock(mondayMorning), config(q1(), agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}}))
	id := pbx.placeCall(t, "70101010", "+4512345678")
	e.eventually("the menu plays", func() bool { c, _ := e.call(id); return c.Step == "menu" })
	pbx.press(t, id, "1")
	e.eventually("the call waits in q1", func() bool { c, _ := e.call(id); return c.State == "waiting" && c.Queue == "q1" })
	e.ready("anna")
	e.eventually("caller and agent are bridged", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == id })
	})
	c, _ := e.call(id)
	if c.State != "connected" || c.Agent != "anna" {
		t.Fatalf("call = %+v, want connected to anna", c)
	}
	if got := find(e.sink, func(x queue.Answered) bool { return string(x.Call) == id && x.Agent == "anna" }); len(got) != 1 {
		t.Fatalf("Answered events = %v", got)
	}
	if au := pbx.audio(); au != nil {
		leg := agentLeg(t, e, "anna")
		au.inject(t, id, 440)
		e.eventually("the agent hears the citizen's 440 Hz", func() bool { return au.level(t, leg, 440) > 0.3 })
		au.inject(t, leg, 700)
		e.eventually("the citizen hears the agent's 700 Hz", func() bool { return au.level(t, id, 700) > 0.3 })
	} else {
		t.Log("audio check skipped: this PBX harness cannot measure audio")
	}
	// the citizen hangs up: the agent's leg is hung up and the agent goes to wrap-up.
	pbx.hangupCitizen(t, id)
	e.eventually("the conversation is recorded", func() bool {
		return len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == id })) == 1
	})
	e.eventually("the agent is free again", func() bool { return agentState(e, "anna") != queue.OnCall })
}

// agentLeg finds the channel id of the agent's leg from the Offered/bridge
// state: the adapter originates it with an id of its own.
func agentLeg(t *testing.T, e *env, agent string) string {
	t.Helper()
	sim, ok := e.pbx.(*simAsterisk)
	if !ok {
		t.Fatal("agentLeg needs the simulator")
	}
	for _, ch := range sim.sim.Channels() {
		if ch.Dialplan.AppName == "Stasis" && len(ch.Dialplan.AppData) > 0 &&
			ch.Dialplan.AppData == "omstil,agent,"+findCallOf(e, agent)+","+agent {
			return ch.ID
		}
	}
	t.Fatalf("no leg for agent %s", agent)
	return ""
}

func findCallOf(e *env, agent string) string {
	for _, a := range e.ad.Snapshot().Agents {
		if string(a.ID) == agent {
			return string(a.Call)
		}
	}
	return ""
}

func agentState(e *env, agent string) queue.State {
	for _, a := range e.ad.Snapshot().Agents {
		if string(a.ID) == agent {
			return a.State
		}
	}
	return queue.LoggedOut
}

// TestRingTimeoutNextAgent: the first agent never answers; after the ring
// timeout the call goes to the next agent, who answers.
//
// The ring timeout runs on a fake clock moved by the test: with a real
// 300 ms timer, a loaded machine could take longer than that to bring the
// second agent's answer to the loop, its offer timed out too and the
// retry delay (a minute) kept the call waiting past the test's deadline.
func TestRingTimeoutNextAgent(t *testing.T) {
	pbx := newAsterisk(t)
	const ring = 30 * time.Second
	qs := q1(func(q *queue.QueueConfig) {
		q.Strategy = queue.StrategyLinear
		q.RetryDelay = time.Minute
		q.RingTimeout = ring
	})
	cfg := config(qs,
		agentSpec{"a1", pbx.agent("noanswer", 1), []queue.QueueID{"q1"}},
		agentSpec{"a2", pbx.agent("answer", 2), []queue.QueueID{"q1"}})
	cfg.Agents[0].Queues[0].Order = 1
	cfg.Agents[1].Queues[0].Order = 2
	clock := queue.NewFakeClock(mondayMorning)
	e := start(t, pbx, clock, cfg)
	e.ready("a1")
	e.ready("a2")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("a1 is offered the call", func() bool {
		return len(find(e.sink, func(x queue.Offered) bool { return string(x.Call) == id && x.Agent == "a1" })) == 1
	})
	if c, _ := e.call(id); c.State == "connected" {
		t.Fatalf("call %+v connected before a1's ring timeout", c)
	}
	// the offer's deadline is fixed: the loop's timer fires whether it
	// was armed before or after this.
	clock.Advance(ring)
	e.eventually("a2 answers", func() bool { c, _ := e.call(id); return c.State == "connected" && c.Agent == "a2" })
	ended := find(e.sink, func(x queue.OfferEnded) bool { return x.Agent == "a1" })
	if len(ended) != 1 || ended[0].Reason != queue.EndTimeout {
		t.Fatalf("a1's offer ended %+v, want one timeout", ended)
	}
	if omstilLegs(e) >= 0 {
		e.eventually("a1's leg is hung up, a2's stays", func() bool { return omstilLegs(e) == 1 })
	}
}

// omstilLegs counts the legs the adapter originated (their ids start with
// "omstil-"; a Local leg's ;2 half, "<id>;2", is part of its leg); only
// the simulator is inspected.
func omstilLegs(e *env) int {
	sim, ok := e.pbx.(*simAsterisk)
	if !ok {
		return -1
	}
	n := 0
	for _, ch := range sim.sim.Channels() {
		if strings.HasPrefix(ch.ID, "omstil-") && !strings.HasSuffix(ch.ID, ";2") {
			n++
		}
	}
	return n
}

// TestBusyAgentsOverflow: every agent is busy or congested, the queue's max
// wait passes and the call takes the flow's timeout branch.
func TestBusyAgentsOverflow(t *testing.T) {
	pbx := newAsterisk(t)
	qs := q1(func(q *queue.QueueConfig) { q.MaxWait = 800 * time.Millisecond; q.RetryDelay = time.Minute })
	e := start(t, pbx, newShiftedClock(mondayMorning), config(qs,
		agentSpec{"b1", pbx.agent("busy", 1), []queue.QueueID{"q1"}},
		agentSpec{"b2", pbx.agent("congestion", 2), []queue.QueueID{"q1"}}))
	e.ready("b1")
	e.ready("b2")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("the call overflows to the busy message", func() bool {
		return slices.Contains(e.steps(id), "optaget")
	})
	reasons := map[queue.AgentID]queue.FailReason{}
	for _, x := range find(e.sink, func(x queue.OfferEnded) bool { return string(x.Call) == id }) {
		reasons[x.Agent] = x.Reason
	}
	if reasons["b1"] != queue.FailBusy || reasons["b2"] != queue.FailUnavailable {
		t.Fatalf("offer outcomes %v, want b1 busy and b2 unavailable", reasons)
	}
	ov := find(e.sink, func(x queue.Overflowed) bool { return string(x.Call) == id })
	if len(ov) != 1 || ov[0].Reason != queue.OverflowTimeout {
		t.Fatalf("overflow %+v, want one timeout", ov)
	}
	e.eventually("the call is hung up after the message", func() bool { _, ok := e.call(id); return !ok })
}

// TestNoAgentsOverflow: q2 refuses callers when nobody is logged in.
func TestNoAgentsOverflow(t *testing.T) {
	pbx := newAsterisk(t)
	e := start(t, pbx, newShiftedClock(mondayMorning), config(q1()))
	id := pbx.placeCall(t, "70101010", "+4512345678")
	e.eventually("the menu plays", func() bool { c, _ := e.call(id); return c.Step == "menu" })
	pbx.press(t, id, "2")
	e.eventually("the call takes the no-agents branch", func() bool { return slices.Contains(e.steps(id), "optaget") })
}

// TestHangupWhileWaitingAndRinging: abandoned while waiting, and while an
// agent rings (the offer is cancelled, the agent's leg hung up, the agent
// freed).
func TestHangupWhileWaitingAndRinging(t *testing.T) {
	pbx := newAsterisk(t)
	qs := q1(func(q *queue.QueueConfig) { q.RingTimeout = 30 * time.Second })
	e := start(t, pbx, newShiftedClock(mondayMorning), config(qs, agentSpec{"r1", pbx.agent("noanswer", 1), []queue.QueueID{"q1"}}))

	waiting := pbx.placeCall(t, "70102020", "+4511111111")
	e.eventually("the first call waits", func() bool { c, _ := e.call(waiting); return c.State == "waiting" })
	pbx.hangupCitizen(t, waiting)
	e.eventually("it is abandoned", func() bool {
		return len(find(e.sink, func(x queue.Abandoned) bool { return string(x.Call) == waiting })) == 1
	})

	e.ready("r1")
	ringing := pbx.placeCall(t, "70102020", "+4522222222")
	e.eventually("r1 rings", func() bool { return agentState(e, "r1") == queue.Ringing })
	pbx.hangupCitizen(t, ringing)
	e.eventually("the ringing call is abandoned", func() bool {
		return len(find(e.sink, func(x queue.Abandoned) bool { return string(x.Call) == ringing })) == 1
	})
	e.eventually("r1 is ready again", func() bool { return agentState(e, "r1") == queue.Ready })
	ended := find(e.sink, func(x queue.OfferEnded) bool { return string(x.Call) == ringing })
	if len(ended) != 1 || ended[0].Reason != queue.EndCallerGone {
		t.Fatalf("offer ended %+v, want caller-hungup", ended)
	}
	if omstilLegs(e) >= 0 {
		e.eventually("the agent's leg is gone", func() bool { return omstilLegs(e) == 0 })
	}
}

// TestCallbackKeepsPlace: the first of two waiting callers asks for a
// callback; the request keeps position 1, the caller is released, and when
// an agent is free the citizen is dialled back and bridged with the agent.
func TestCallbackKeepsPlace(t *testing.T) {
	pbx := newAsterisk(t)
	qs := q1(func(q *queue.QueueConfig) { q.Callback = queue.CallbackConfig{Enabled: true} })
	e := start(t, pbx, newShiftedClock(mondayMorning), config(qs, agentSpec{"c1", pbx.agent("answer", 1), []queue.QueueID{"q1"}}))
	// the callback number is a test agent extension that answers.
	first := pbx.placeCall(t, "70102020", "150")
	e.eventually("the first call waits", func() bool { c, _ := e.call(first); return c.State == "waiting" })
	second := pbx.placeCall(t, "70102020", "+4522222222")
	e.eventually("the second call waits", func() bool { c, _ := e.call(second); return c.State == "waiting" })
	pbx.press(t, first, "*")
	e.eventually("the callback request is queued", func() bool {
		return len(find(e.sink, func(x queue.CallbackQueued) bool { return string(x.Call) == first && x.Position == 1 })) == 1
	})
	e.eventually("the first caller is released", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallHungUp && string(ev.Call) == first }) ||
			func() bool { c, ok := e.call(first); return ok && c.State == "callback" }()
	})
	w := e.ad.Snapshot().Queues[0].Waiting
	if len(w) != 2 || string(w[0].Call) != first || !w[0].Callback || string(w[1].Call) != second {
		t.Fatalf("waiting = %+v, want the callback first, then the second caller", w)
	}
	e.ready("c1")
	e.eventually("the citizen is called back and connected", func() bool {
		return len(find(e.sink, func(x queue.CallbackConnected) bool { return string(x.Call) == first && x.Agent == "c1" })) == 1
	})
	e.eventually("the callback is bridged", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == first })
	})
	if c, _ := e.call(second); c.State != "waiting" || c.Position != 1 {
		t.Fatalf("second call = %+v, want waiting at position 1", c)
	}
}

// TestRestartKeepsCallers: omstil stops while 50 callers wait and 5 talk;
// a new adapter finds every waiting caller in the same order with the
// original join time, adopts the conversations and records them when they
// end. The resync reads OMSTIL_CALL from the channel list
// ("channelvars = OMSTIL_CALL" in ari.conf), without a GetVar per channel.
func TestRestartKeepsCallers(t *testing.T) {
	pbx := newAsterisk(t)
	restartKeepsCallers(t, pbx)
	if sim, ok := pbx.(*simAsterisk); ok {
		if n := sim.sim.Stats().VarReads; n != 0 {
			t.Fatalf("%d GetVar requests, want none: the channel list carries OMSTIL_CALL", n)
		}
	}
}

// TestRestartKeepsCallersGetVar: the same against an Asterisk whose
// ari.conf has no "channelvars" line (simulator only: a real Asterisk has
// its one ari.conf): the resync falls back to GetVar for every unknown
// citizen.
func TestRestartKeepsCallersGetVar(t *testing.T) {
	opts := simOptions()
	opts.ChannelVars = nil
	pbx := newSimAsteriskWith(t, opts)
	t.Cleanup(pbx.close)
	restartKeepsCallers(t, pbx)
	// 50 waiting callers and 5 citizens in conversations.
	if n := pbx.sim.Stats().VarReads; n < 55 {
		t.Fatalf("%d GetVar requests, want one per unknown citizen (55)", n)
	}
}

func restartKeepsCallers(t *testing.T, pbx asterisk) {
	clock := newShiftedClock(mondayMorning)
	var agents []agentSpec
	for i := 1; i <= 5; i++ {
		agents = append(agents, agentSpec{fmt.Sprintf("t%d", i), pbx.agent("answer", i), []queue.QueueID{"q1"}})
	}
	cfg := config(q1(), agents...)
	e := start(t, pbx, clock, cfg)
	for _, a := range agents {
		e.ready(a.id)
	}
	var talking []string
	for i := 0; i < 5; i++ {
		id := pbx.placeCall(t, "70102020", fmt.Sprintf("+45300000%02d", i))
		e.eventually("a conversation starts", func() bool { c, _ := e.call(id); return c.State == "connected" })
		talking = append(talking, id)
	}
	for i := 0; i < 50; i++ {
		id := pbx.placeCall(t, "70102020", fmt.Sprintf("+45400000%02d", i))
		e.eventually("the caller waits", func() bool { c, _ := e.call(id); return c.State == "waiting" })
	}
	before := e.ad.Snapshot().Queues[0].Waiting
	if len(before) != 50 {
		t.Fatalf("%d waiting before the restart, want 50", len(before))
	}
	e.stop()

	e2 := start(t, pbx, clock, cfg)
	e2.eventually("50 callers wait again", func() bool { return len(e2.ad.Snapshot().Queues[0].Waiting) == 50 })
	after := e2.ad.Snapshot().Queues[0].Waiting
	for i := range before {
		if before[i].Call != after[i].Call || !before[i].JoinedAt.Truncate(time.Millisecond).Equal(after[i].JoinedAt) {
			t.Fatalf("place %d: before %s joined %v, after %s joined %v", i+1, before[i].Call, before[i].JoinedAt, after[i].Call, after[i].JoinedAt)
		}
	}
	snap := e2.ad.Snapshot()
	onCall := map[string]bool{}
	for _, a := range snap.Agents {
		if a.State == queue.OnCall {
			onCall[string(a.Call)] = true
		}
	}
	for _, id := range talking {
		if !onCall[id] {
			t.Fatalf("conversation %s not adopted; agents %+v", id, snap.Agents)
		}
	}
	pbx.hangupCitizen(t, talking[0])
	e2.eventually("the adopted conversation is recorded when it ends", func() bool {
		return len(find(e2.sink, func(x queue.CallCompleted) bool { return string(x.Call) == talking[0] })) == 1
	})
	// its agent (wrap-up 0) takes the first waiting caller.
	e2.eventually("the first waiting caller is answered", func() bool {
		return len(find(e2.sink, func(x queue.Answered) bool { return x.Call == before[0].Call })) == 1
	})
}

// TestDrainLeavesNewCalls: after Drain a new call is left alone in Stasis;
// the next adapter adopts it and starts its flow.
func TestDrainLeavesNewCalls(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	cfg := config(q1())
	e := start(t, pbx, clock, cfg)
	if err := e.ad.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := pbx.placeCall(t, "70102020", "+4512345678")
	// on a real Asterisk the citizen reaches Stasis() a moment after the
	// originate; stopping before that would leave it without an app
	// ("Stasis app 'omstil' doesn't exist") and no adapter could adopt it.
	e.eventually("the citizen is in Stasis", func() bool {
		chans, err := e.cli.ListChannels(t.Context())
		if err != nil {
			t.Fatalf("list channels: %v", err)
		}
		return slices.ContainsFunc(chans, func(ch ariclient.Channel) bool {
			app, _, ok := ch.Dialplan.StasisApp()
			return string(ch.ID) == id && ok && app == "omstil"
		})
	})
	if sim, ok := pbx.(*simAsterisk); ok {
		// the citizen is in Stasis but nobody answers it.
		for _, ch := range sim.sim.Channels() {
			if ch.ID == id && (ch.Dialplan.AppName != "Stasis" || ch.State == "Up") {
				t.Fatalf("citizen %+v, want in Stasis and not answered", ch)
			}
		}
	}
	if _, ok := e.call(id); ok {
		t.Fatal("a draining adapter took a new call")
	}
	e.stop()
	e2 := start(t, pbx, clock, cfg)
	e2.eventually("the next adapter queues the call", func() bool { c, _ := e2.call(id); return c.State == "waiting" })
}
