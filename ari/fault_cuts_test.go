package ari_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/arisim"
	omconfig "github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/queue"
)

// logTee hands every event to the test's sink and to the real call-event
// writer, and the bridged calls to the load driver.
type logTee struct {
	*sink
	w       *telephony.EventWriter
	bridged chan string
	nBridge *atomic.Int64
}

func (l logTee) EngineOutput(o queue.Output) { l.sink.EngineOutput(o); l.w.Engine(o) }

func (l logTee) CallEvent(ev ari.CallEvent) {
	l.sink.CallEvent(ev)
	l.w.Call(ev)
	if ev.Kind == ari.CallBridged {
		l.nBridge.Add(1)
		select {
		case l.bridged <- string(ev.Call):
		default:
			panic("fault test: the bridged channel is full")
		}
	}
}

// TestSocketCutsUnderLoad: the fault test of issue 14 for the ARI socket.
// 200 calls are kept in the service by 20 agents while the event socket
// is cut 100 times (issue: 100 cuts in 10 minutes; here they follow each
// other as fast as the client reconnects, which is harder, not easier).
// While it is down, citizens hang up: some talking, some waiting. At the
// end the citizens still there hang up and the test checks that no call
// was lost (each placed call was answered or abandoned by its citizen,
// exactly once), no agent is left ringing or on a call, and the rows the
// real EventWriter wrote to the store count what the calls did.
func TestSocketCutsUnderLoad(t *testing.T) {
	concurrent, cuts := 200, 100
	sim := newSimAsterisk(t)
	t.Cleanup(sim.close)
	pbx := proxied{sim, newFlakyProxy(t, strings.TrimPrefix(sim.srv.URL, "http://"))}

	st := configtest.SQLite(t, omconfig.Options{})
	def, err := st.DefaultOrg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w, err := telephony.NewEventWriter(st, telephony.NewOrgIndex(def.ID), slog.New(slog.DiscardHandler), telephony.EventLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tee := logTee{sink: &sink{}, w: w, bridged: make(chan string, 100_000), nBridge: &atomic.Int64{}}

	var specs []agentSpec
	for i := 1; i <= 20; i++ {
		specs = append(specs, agentSpec{fmt.Sprintf("k%d", i), agentDial("answer", i), []queue.QueueID{"q1"}})
	}
	cfg := config(q1(func(q *queue.QueueConfig) { q.RingTimeout = 30 * time.Second }), specs...)
	e := startWith(t, pbx, newShiftedClock(mondayMorning), cfg, func(o *ari.Options) { o.Events = tee })
	e.sink = tee.sink
	for _, s := range specs {
		e.ready(s.id)
	}

	var placed []string
	live := map[string]bool{} // citizens placed and not hung up by the test
	place := func() bool {
		ch, err := sim.sim.PlaceCall(arisim.Call{Number: "70102020", CallerID: fmt.Sprintf("+45%08d", len(placed))})
		if errors.Is(err, arisim.ErrAppNotActive) {
			return false // omstil's app is not connected (yet): Asterisk refuses the call, nothing to lose
		}
		if err != nil {
			t.Fatal(err)
		}
		placed = append(placed, ch.ID)
		live[ch.ID] = true
		return true
	}
	hangup := func(id string) {
		if live[id] {
			delete(live, id)
			if err := sim.sim.HangupFarEnd(id, 16); err != nil && !errors.Is(err, arisim.ErrNoChannel) {
				t.Fatal(err)
			}
		}
	}
	// topUp places calls until concurrent are in the service.
	topUp := func() {
		for len(live) < concurrent && place() {
		}
	}
	endTalks := func(n int) {
		for ; n > 0; n-- {
			select {
			case id := <-tee.bridged:
				hangup(id)
			default:
				return
			}
		}
	}
	waitingOne := func() string {
		for _, c := range e.ad.Calls() {
			if c.State == "waiting" && live[string(c.Call)] {
				return string(c.Call)
			}
		}
		return ""
	}

	// progress waits until a call is bridged after the last reconnect:
	// the service works again (and the resync is done). The 100
	// cuts in 10 minutes leave 6 s between cuts; here the next cut comes
	// as soon as calls flow again.
	progress := func() {
		n := tee.nBridge.Load()
		e.eventually("a call is bridged after the reconnect", func() bool {
			endTalks(5)
			topUp()
			return tee.nBridge.Load() > n
		})
	}
	e.eventually("the first calls are placed", func() bool { topUp(); return len(live) == concurrent })
	for cut := 0; cut < cuts; cut++ {
		progress()
		pbx.proxy.SetDown(true)
		e.eventually("the adapter notices the cut", func() bool { return !e.cli.Connected() })
		// meanwhile two talking citizens and one waiting citizen hang up.
		endTalks(2)
		if id := waitingOne(); id != "" {
			hangup(id)
		}
		pbx.proxy.SetDown(false)
		e.eventually("the adapter reconnects", func() bool { return e.cli.Connected() })
	}
	progress()
	endedByOmstil := 0
	e.eventually("omstil knows every citizen still on the line", func() bool {
		// calls omstil ended itself (a conversation whose agent left) are
		// no longer the test's to hang up.
		inSim := map[string]bool{}
		for _, ch := range sim.sim.Channels() {
			inSim[ch.ID] = true
		}
		for id := range live {
			if !inSim[id] {
				delete(live, id)
				endedByOmstil++
			}
		}
		known := 0
		for _, c := range e.ad.Calls() {
			if live[string(c.Call)] {
				known++
			}
		}
		return known == len(live)
	})

	// quiescence: every citizen still there hangs up.
	for id := range live {
		hangup(id)
	}
	e.eventually("omstil has no call left", func() bool { return len(e.ad.Calls()) == 0 })
	// stuck: ringing, on a call or in wrap-up with no call left. An agent
	// whose phone could not be reached (an originate lost in a cut) again
	// and again is paused on purpose (issue 14's bounded retries): counted
	// apart.
	var stuck []string
	paused := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		stuck, paused = stuck[:0], 0
		for _, a := range e.ad.Snapshot().Agents {
			switch a.State {
			case queue.Ready:
			case queue.Paused:
				paused++
			default:
				stuck = append(stuck, fmt.Sprintf("%s %s", a.ID, a.State))
			}
		}
		if len(stuck) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var left []string
			for _, ch := range sim.sim.Channels() {
				left = append(left, ch.Name+" "+ch.State+" "+ch.Dialplan.AppName+" "+ch.Dialplan.AppData)
			}
			t.Fatalf("agents stuck: %v; channels left in Asterisk: %v", stuck, left)
		}
	}

	// every placed call ended once, answered or abandoned.
	finals := map[string][]string{}
	count := map[string]int{}
	for _, o := range e.sink.outputs() {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "queue.")
		count[kind]++
		switch x := o.(type) {
		case queue.Answered:
			finals[string(x.Call)] = append(finals[string(x.Call)], kind)
		case queue.Abandoned:
			finals[string(x.Call)] = append(finals[string(x.Call)], kind)
		case queue.Overflowed:
			finals[string(x.Call)] = append(finals[string(x.Call)], kind)
		case queue.CallLost:
			finals[string(x.Call)] = append(finals[string(x.Call)], kind)
		}
	}
	lost := 0
	for _, id := range placed {
		if f := finals[id]; len(f) != 1 || f[0] == "Overflowed" || f[0] == "CallLost" {
			lost++
			if lost <= 5 {
				t.Errorf("call %s ended %v, want answered or abandoned once", id, f)
			}
		}
	}
	for _, ev := range e.sink.events() {
		count["call."+string(ev.Kind)]++
	}
	if lost > 0 || count["CallJoined"] != len(placed) || count["call.hungup"] != len(placed) || count["CallCompleted"] != count["Answered"] {
		t.Errorf("%d calls placed, %d lost; joined %d, hung up %d, answered %d, completed %d",
			len(placed), lost, count["CallJoined"], count["call.hungup"], count["Answered"], count["CallCompleted"])
	}

	// the event log holds what the calls did.
	w.Close()
	stats := w.Stats()
	rows := map[string]int{}
	var after int64
	for {
		evs, err := st.CallEventsSince(context.Background(), omconfig.CallEventQuery{AfterID: after, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			rows[ev.Kind]++
		}
		after = evs[len(evs)-1].ID
	}
	for _, kind := range []string{"CallJoined", "Answered", "Abandoned", "CallCompleted", "call.arrived", "call.bridged", "call.hungup"} {
		if rows[kind] != count[kind] {
			t.Errorf("event log: %d %s rows, the calls made %d", rows[kind], kind, count[kind])
		}
	}
	if stats.Invalid != 0 || stats.Memory != 0 {
		t.Errorf("event writer: %d set aside, %d still in memory", stats.Invalid, stats.Memory)
	}
	// A call whose bridging failed because the socket was cut under it is
	// hung up by omstil (congestion) after it was answered: reported, see
	// docs/testing.md.
	t.Logf("%d socket cuts with %d calls in the service: %d calls placed, %d answered (%d of them hung up by omstil after a failed bridging), %d abandoned by their citizens, %d lost, %d agents stuck (%d paused as unreachable); event log: %d rows (%d joined, %d answered, %d abandoned, %d completed, %d hung up)",
		cuts, concurrent, len(placed), count["Answered"], endedByOmstil, count["Abandoned"], lost, len(stuck), paused, stats.Written,
		rows["CallJoined"], rows["Answered"], rows["Abandoned"], rows["CallCompleted"], rows["call.hungup"])
}
