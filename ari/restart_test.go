package ari_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/queue"
)

// TestRestartOverflowTakesFlowBranch: a caller waits in q1 (max wait one
// hour); omstil restarts and the hour has passed meanwhile. The adopted
// caller overflows and takes the flow's timeout branch ("optaget", then
// hang-up), instead of being hung up without it.
func TestRestartOverflowTakesFlowBranch(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	cfg := config(q1(func(q *queue.QueueConfig) { q.MaxWait = time.Hour }))
	e := start(t, pbx, clock, cfg)
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("the caller waits", func() bool { c, _ := e.call(id); return c.State == "waiting" })
	e.stop()

	clock.advance(time.Hour + time.Second)
	e2 := start(t, pbx, clock, cfg)
	e2.eventually("the adopted caller takes the timeout branch", func() bool { return slices.Contains(e2.steps(id), "optaget") })
	e2.eventually("the overflow is recorded", func() bool {
		return len(find(e2.sink, func(x queue.Overflowed) bool { return string(x.Call) == id })) > 0
	})
	ov := find(e2.sink, func(x queue.Overflowed) bool { return string(x.Call) == id })
	if len(ov) != 1 || ov[0].Reason != queue.OverflowTimeout {
		t.Fatalf("overflow %+v, want one timeout", ov)
	}
	if !slices.ContainsFunc(e2.sink.events(), func(ev ari.CallEvent) bool {
		return string(ev.Call) == id && ev.Kind == ari.CallAdopted && ev.Step == "kø1"
	}) {
		t.Fatalf("no adoption at step kø1 in %+v", e2.sink.events())
	}
	e2.eventually("the call is hung up after the message", func() bool { _, ok := e2.call(id); return !ok })
}

// memCallbacks is an in-memory ari.CallbackStore.
type memCallbacks struct {
	mu  sync.Mutex
	cbs map[queue.CallID]ari.PendingCallback
}

func newMemCallbacks() *memCallbacks {
	return &memCallbacks{cbs: map[queue.CallID]ari.PendingCallback{}}
}

func (m *memCallbacks) SaveCallback(cb ari.PendingCallback) {
	m.mu.Lock()
	m.cbs[cb.Call] = cb
	m.mu.Unlock()
}

func (m *memCallbacks) DeleteCallback(id queue.CallID) {
	m.mu.Lock()
	delete(m.cbs, id)
	m.mu.Unlock()
}

func (m *memCallbacks) PendingCallbacks(ctx context.Context) ([]ari.PendingCallback, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ari.PendingCallback
	for _, cb := range m.cbs {
		out = append(out, cb)
	}
	return out, nil
}

func (m *memCallbacks) get(id string) (ari.PendingCallback, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cb, ok := m.cbs[queue.CallID(id)]
	return cb, ok
}

// TestRestartKeepsCallbacks: a caller asks for a callback and is released;
// omstil restarts. The request is back in its place (before a caller who
// joined later), is dialled when an agent is ready, and is deleted from the
// store once connected.
func TestRestartKeepsCallbacks(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	store := newMemCallbacks()
	cfg := config(q1(func(q *queue.QueueConfig) { q.Callback = queue.CallbackConfig{Enabled: true} }),
		agentSpec{"c1", pbx.agent("answer", 1), []queue.QueueID{"q1"}})
	withStore := func(o *ari.Options) { o.Callbacks = store }
	e := startWith(t, pbx, clock, cfg, withStore)
	first := pbx.placeCall(t, "70102020", "150")
	e.eventually("the first call waits", func() bool { c, _ := e.call(first); return c.State == "waiting" })
	second := pbx.placeCall(t, "70102020", "+4522222222")
	e.eventually("the second call waits", func() bool { c, _ := e.call(second); return c.State == "waiting" })
	pbx.press(t, first, "*")
	e.eventually("the request is saved", func() bool { _, ok := store.get(first); return ok })
	e.eventually("the first caller is released", func() bool { return !channelListed(t, e, first) })
	saved, _ := store.get(first)
	if saved.Queue != "q1" || saved.Number != "150" || saved.Dialled != "+4570102020" || saved.JoinedAt.IsZero() {
		t.Fatalf("saved %+v", saved)
	}
	e.stop()

	e2 := startWith(t, pbx, clock, cfg, withStore)
	e2.eventually("both are back in q1", func() bool { return len(e2.ad.Snapshot().Queues[0].Waiting) == 2 })
	w := e2.ad.Snapshot().Queues[0].Waiting
	if string(w[0].Call) != first || !w[0].Callback || !w[0].JoinedAt.Equal(saved.JoinedAt) || string(w[1].Call) != second {
		t.Fatalf("waiting = %+v, want the restored callback first, then the second caller", w)
	}
	e2.ready("c1")
	e2.eventually("the citizen is called back and connected", func() bool {
		return len(find(e2.sink, func(x queue.CallbackConnected) bool { return string(x.Call) == first && x.Agent == "c1" })) == 1
	})
	if _, ok := store.get(first); ok {
		t.Fatal("the connected callback is still in the store")
	}
}

// channelListed reports whether Asterisk still lists the channel.
func channelListed(t *testing.T, e *env, id string) bool {
	chans, err := e.cli.ListChannels(context.Background())
	if err != nil {
		t.Fatalf("list channels: %v", err)
	}
	for _, ch := range chans {
		if string(ch.ID) == id {
			return true
		}
	}
	return false
}

// memAgents is an in-memory ari.AgentStateStore.
type memAgents struct {
	mu    sync.Mutex
	saved map[queue.AgentID]ari.SavedAgentState
	saves int
}

func (m *memAgents) SaveAgentState(s ari.SavedAgentState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	if s.State == queue.LoggedOut {
		delete(m.saved, s.Agent)
		return
	}
	m.saved[s.Agent] = s
}

func (m *memAgents) AgentStates(ctx context.Context) ([]ari.SavedAgentState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ari.SavedAgentState
	for _, s := range m.saved {
		out = append(out, s)
	}
	return out, nil
}

func (m *memAgents) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// TestRestartKeepsAgentStates: agents ready, paused with a reason, logged
// in to one queue only, and logged out again are all back in the same
// state after a restart; a caller waiting meanwhile is offered to the
// ready agent once the restore is done, and the restore itself saves
// nothing.
func TestRestartKeepsAgentStates(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	store := &memAgents{saved: map[queue.AgentID]ari.SavedAgentState{}}
	both := []queue.QueueID{"q1", "q2"}
	cfg := config(q1(func(q *queue.QueueConfig) { q.RingTimeout = 30 * time.Second }),
		agentSpec{"p1", pbx.agent("noanswer", 1), []queue.QueueID{"q2"}},
		agentSpec{"p2", pbx.agent("noanswer", 2), both},
		agentSpec{"p3", pbx.agent("noanswer", 3), both},
		agentSpec{"p4", pbx.agent("noanswer", 4), both})
	withStore := func(o *ari.Options) { o.AgentStates = store }
	e := startWith(t, pbx, clock, cfg, withStore)
	ctx := context.Background()
	for _, s := range []struct {
		agent  queue.AgentID
		state  queue.State
		reason string
		queues []queue.QueueID
	}{
		{"p1", queue.Ready, "", nil},
		{"p2", queue.Paused, "frokost", nil},
		{"p3", queue.Ready, "", nil},
		{"p3", queue.LoggedOut, "", nil},
		{"p4", queue.Ready, "", []queue.QueueID{"q2"}},
	} {
		if err := e.ad.SetAgentState(ctx, s.agent, s.state, s.reason, s.queues); err != nil {
			t.Fatalf("%s %s: %v", s.agent, s.state, err)
		}
	}
	want := map[queue.AgentID]queue.AgentSnapshot{
		"p1": {State: queue.Ready, Queues: []queue.QueueID{"q2"}},
		"p2": {State: queue.Paused, Reason: "frokost", Queues: both},
		"p3": {State: queue.LoggedOut},
		"p4": {State: queue.Ready, Queues: []queue.QueueID{"q2"}},
	}
	diff := func(e *env) string {
		for _, a := range e.ad.Snapshot().Agents {
			w := want[a.ID]
			if a.State != w.State || (a.State != queue.LoggedOut && a.Reason != w.Reason) || !slices.Equal(a.Queues, w.Queues) {
				return fmt.Sprintf("%s: %s %q %v, want %s %q %v", a.ID, a.State, a.Reason, a.Queues, w.State, w.Reason, w.Queues)
			}
		}
		return ""
	}
	if d := diff(e); d != "" {
		t.Fatal(d)
	}
	e.stop()
	saves := store.count()

	// a caller for q2 arrives while omstil is down.
	e2 := startWith(t, pbx, clock, cfg, withStore)
	e2.eventually("the agents are restored", func() bool { return diff(e2) == "" })
	if n := store.count(); n != saves {
		t.Errorf("the restore saved %d states", n-saves)
	}
	id := pbx.placeCall(t, "70101010", "+4512345678")
	e2.eventually("the menu plays", func() bool { c, _ := e2.call(id); return c.Step == "menu" })
	pbx.press(t, id, "2")
	e2.eventually("a ready agent of q2 rings", func() bool {
		st1, st4 := agentState(e2, "p1"), agentState(e2, "p4")
		return st1 == queue.Ringing || st4 == queue.Ringing
	})
}

// TestSavedCallbackForGoneQueue: a saved request whose queue no longer
// exists is dropped from the store instead of being kept forever; one for
// an existing queue is restored.
func TestSavedCallbackForGoneQueue(t *testing.T) {
	pbx := newAsterisk(t)
	store := newMemCallbacks()
	joined := mondayMorning.Add(-time.Minute)
	store.SaveCallback(ari.PendingCallback{Call: "old-1", Queue: "nedlagt", Number: "150", Dialled: "70102020", JoinedAt: joined})
	store.SaveCallback(ari.PendingCallback{Call: "old-2", Queue: "q1", Number: "151", Dialled: "70102020", JoinedAt: joined})
	cfg := config(q1(func(q *queue.QueueConfig) { q.Callback = queue.CallbackConfig{Enabled: true} }))
	e := startWith(t, pbx, newShiftedClock(mondayMorning), cfg, func(o *ari.Options) { o.Callbacks = store })
	e.eventually("the request for the gone queue is dropped", func() bool { _, ok := store.get("old-1"); return !ok })
	e.eventually("the other is waiting as a callback", func() bool { c, ok := e.call("old-2"); return ok && c.State == "callback" })
	if _, ok := store.get("old-2"); !ok {
		t.Fatal("the restored request was deleted from the store")
	}
	if _, ok := e.call("old-1"); ok {
		t.Fatal("the dropped request is still a live call")
	}
}

// TestRestartDuringConsultation: anna consults bo (his phone rings, or he
// talks with anna) and omstil restarts. The restarted omstil cannot carry
// the consultation on (its ring time and state are gone), so it ends it:
// bo's leg is hung up, the citizen, who was on hold, is back in the
// conversation with anna without the music, and OMSTIL_CALL no longer
// names the leg; anna can consult again.
func TestRestartDuringConsultation(t *testing.T) {
	for _, tc := range []struct {
		name string
		bo   string // how bo's phone behaves
		up   bool   // bo answered before the restart
	}{
		{"colleague talking", "answer", true},
		{"colleague ringing", "noanswer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := newAsterisk(t)
			clock := newShiftedClock(mondayMorning)
			cfg := config(q1(),
				agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}},
				agentSpec{"bo", pbx.agent(tc.bo, 2), []queue.QueueID{"q2"}})
			e := start(t, pbx, clock, cfg)
			id := connectCall(t, e)
			annaLeg := bridgeOf(t, e, id)
			e.ready("bo")
			ctx := context.Background()
			if err := e.ad.Consult(ctx, "anna", queue.CallID(id), ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}); err != nil {
				t.Fatal(err)
			}
			e.eventually("the citizen is out of the conversation", func() bool { return bridgeOf(t, e, id) == nil })
			e.eventually("the consultation's leg is on the citizen's channel", func() bool {
				v, err := e.cli.GetVar(ctx, ariclient.ChannelID(id), "OMSTIL_CALL")
				return err == nil && strings.Contains(v, "c=")
			})
			if tc.up {
				e.eventually("bo answers", func() bool { return hasEvent(e, id, ari.CallConsultUp, "") })
			}
			e2 := restartOnHold(t, e, pbx, clock, cfg, id)
			e2.eventually("the citizen is back with anna, bo's leg gone", func() bool { return slices.Equal(bridgeOf(t, e2, id), annaLeg) })
			if !hasEvent(e2, id, ari.CallConsultEnded, ari.ConsultRestart) {
				t.Fatalf("no consult-ended %q in %+v", ari.ConsultRestart, e2.sink.events())
			}
			e2.eventually("OMSTIL_CALL forgets the leg", func() bool {
				v, err := e2.cli.GetVar(ctx, ariclient.ChannelID(id), "OMSTIL_CALL")
				return err == nil && v != "" && !strings.Contains(v, "c=")
			})
			e2.eventually("no leg of bo is left", func() bool {
				chans, err := e2.cli.ListChannels(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// only anna's leg (and its Local ;2 half) is omstil's
				return !slices.ContainsFunc(chans, func(ch ariclient.Channel) bool {
					return strings.HasPrefix(string(ch.ID), "omstil-") && !slices.Contains(annaLeg, strings.TrimSuffix(string(ch.ID), ";2"))
				})
			})
			if sim, isSim := pbx.(*simAsterisk); isSim {
				leg := agentLeg(t, e2, "anna")
				sim.inject(t, leg, 700)
				e2.eventually("the citizen hears anna, without music", func() bool {
					return sim.level(t, id, 700) > 0.3 && sim.level(t, id, 330) < 0.05
				})
			}
			// anna goes on as usual: she can consult bo again.
			e2.ready("bo")
			if err := e2.ad.Consult(ctx, "anna", queue.CallID(id), ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}); err != nil {
				t.Fatalf("consulting again after the restart: %v", err)
			}
			if err := e2.ad.CancelConsult(ctx, "anna", queue.CallID(id)); err != nil {
				t.Fatal(err)
			}
			e2.eventually("the citizen is back with anna", func() bool { return slices.Equal(bridgeOf(t, e2, id), annaLeg) })
		})
	}
}
