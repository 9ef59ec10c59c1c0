package ari_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// The fault tests of issue 14 ("Nothing lost, nothing stuck") that run on
// the adapter alone: Asterisk restarted under load, and the event socket
// cut again and again. docs/testing.md says how to run them at full size
// and on a real Asterisk.

// restartCommands are the environment variables naming a shell command
// that restarts a real Asterisk, by how: "core restart now", or a kill -9
// and a new start.
var restartCommands = map[string]string{"restart": "OMSTIL_TEST_ASTERISK_RESTART", "crash": "OMSTIL_TEST_ASTERISK_CRASH"}

// restartPBX restarts Asterisk: the simulator's Restart ("core restart
// now") or Crash (kill -9, started again), or on a real Asterisk the
// command in restartCommands[how].
func restartPBX(t *testing.T, pbx asterisk, how string) {
	t.Helper()
	switch p := pbx.(type) {
	case *simAsterisk:
		if how == "crash" {
			p.sim.Crash()
		} else {
			p.sim.Restart()
		}
	case *realAsterisk:
		cmd := os.Getenv(restartCommands[how])
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("OMSTIL_TEST_ASTERISK_RESTART: %v: %s", err, out)
		}
		// the test's own far end placed the calls: forget them, they are
		// gone with the restart.
		p.mu.Lock()
		p.placed = nil
		p.mu.Unlock()
	default:
		t.Fatalf("cannot restart %T", pbx)
	}
}

// eventuallyWithin is eventually with its own limit, for what waits on a
// real Asterisk starting again (some 20 s on this machine).
func (e *env) eventuallyWithin(d time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting until %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// faultSize is the size of a fault test: small by default (CI on a
// 2-core machine), OMSTIL_FAULT_FULL=1 for the size the issue names.
func faultSize(small, full int) int {
	if os.Getenv("OMSTIL_FAULT_FULL") != "" {
		return full
	}
	return small
}

// TestAsteriskRestartUnderLoad: agents talk, one agent's phone rings and
// callers wait when Asterisk restarts ("core restart now": it hangs every
// channel up first) or is killed and started again (the calls just
// vanish; omstil learns it from the new startup_time). omstil notices
// that the calls are gone, frees every agent, records the waiting callers
// as lost by the system (CallLost), not as abandoned by the citizens,
// ends the conversations, and takes a new call as soon as Asterisk is
// back.
func TestAsteriskRestartUnderLoad(t *testing.T) {
	for _, how := range []string{"restart", "crash"} {
		t.Run(how, func(t *testing.T) { testAsteriskRestart(t, how) })
	}
}

func testAsteriskRestart(t *testing.T, how string) {
	pbx := newAsterisk(t)
	if _, real := pbx.(*realAsterisk); real && os.Getenv(restartCommands[how]) == "" {
		t.Skipf("on a real Asterisk set %s to a command that restarts it (docs/testing.md)", restartCommands[how])
	}
	talkers, waiters := faultSize(4, 20), faultSize(20, 100)
	var specs []agentSpec
	for i := 1; i <= talkers; i++ {
		specs = append(specs, agentSpec{fmt.Sprintf("k%d", i), pbx.agent("answer", i), []queue.QueueID{"q1"}})
	}
	specs = append(specs, agentSpec{"ringer", pbx.agent("noanswer", 1), []queue.QueueID{"q1"}})
	cfg := config(q1(func(q *queue.QueueConfig) { q.RingTimeout = 10 * time.Minute }), specs...)
	e := start(t, pbx, newShiftedClock(mondayMorning), cfg)
	for i := 1; i <= talkers; i++ {
		e.ready(fmt.Sprintf("k%d", i))
	}
	var placed []string
	for i := 0; i < talkers+1+waiters; i++ {
		placed = append(placed, pbx.placeCall(t, "70102020", fmt.Sprintf("+45%08d", i)))
		if i == talkers-1 {
			// every talker busy before the ringer is ready: it then rings
			// for the next caller.
			e.eventuallyWithin(30*time.Second, "every talker is on a call", func() bool {
				return len(find(e.sink, func(x queue.Answered) bool { return true })) == talkers
			})
			e.ready("ringer")
		}
	}
	e.eventuallyWithin(30*time.Second, "the ringer rings and the rest wait", func() bool {
		w := 0
		for _, c := range e.ad.Calls() {
			if c.State == "waiting" {
				w++
			}
		}
		ok := agentState(e, "ringer") == queue.Ringing && w == waiters
		if !ok && os.Getenv("OMSTIL_TEST_DEBUG") != "" {
			t.Logf("ringer %v, %d waiting", agentState(e, "ringer"), w)
		}
		return ok
	})
	bridged := len(find(e.sink, func(x queue.Answered) bool { return true }))

	info, err := e.cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := info.Status.StartupTime.Time
	restartPBX(t, pbx, how)
	e.eventuallyWithin(60*time.Second, "omstil has no call left", func() bool { return len(e.ad.Calls()) == 0 })
	e.eventuallyWithin(10*time.Second, "every agent is free", func() bool {
		for _, a := range e.ad.Snapshot().Agents {
			if a.State != queue.Ready {
				return false
			}
		}
		return true
	})
	if ab := find(e.sink, func(x queue.Abandoned) bool { return true }); len(ab) != 0 {
		t.Errorf("%d calls recorded as abandoned by the citizen, want 0", len(ab))
	}
	lost := find(e.sink, func(x queue.CallLost) bool { return true })
	completed := find(e.sink, func(x queue.CallCompleted) bool { return true })
	if len(lost) != waiters+1 || len(completed) != bridged {
		t.Errorf("%d calls lost by the system and %d conversations ended, want %d and %d", len(lost), len(completed), waiters+1, bridged)
	}
	var lostEvents, hungup int
	for _, ev := range e.sink.events() {
		switch ev.Kind {
		case ari.CallLost:
			lostEvents++
		case ari.CallHungUp:
			hungup++
		}
	}
	if lostEvents != len(placed) || hungup != 0 {
		t.Errorf("call events: %d lost, %d hung up; want %d lost (every call), 0 hung up", lostEvents, hungup, len(placed))
	}
	t.Logf("Asterisk %s with %d calls (%d talking, 1 ringing, %d waiting): %d lost by the system, %d conversations ended, 0 abandoned",
		how, len(placed), bridged, waiters, len(lost), len(completed))

	// Asterisk is back: a new caller is answered by a free agent (the
	// ringer, whose phone never answers, takes a break).
	e.eventuallyWithin(60*time.Second, "the adapter is connected to the new Asterisk", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := e.cli.Info(ctx)
		if err != nil || info.Status == nil || info.Status.StartupTime.Equal(before) || !e.cli.Connected() {
			return false
		}
		if r, ok := pbx.(*realAsterisk); ok && r.cli.CheckApps(ctx) != nil {
			return false
		}
		return e.cli.CheckApps(ctx) == nil
	})
	if err := e.ad.SetAgentState(context.Background(), "ringer", queue.Paused, "", nil); err != nil {
		t.Fatal(err)
	}
	id := pbx.placeCall(t, "70102020", "+4599999999")
	e.eventuallyWithin(30*time.Second, "a new call is bridged after the restart", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == id })
	})
}
