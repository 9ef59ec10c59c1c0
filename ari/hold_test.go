package ari_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/queue"
)

// inConversation reports whether Asterisk lists ch in one of omstil's
// conversation bridges.
func inConversation(t *testing.T, e *env, ch string) bool {
	t.Helper()
	bs, err := e.cli.ListBridges(context.Background())
	if err != nil {
		t.Fatalf("list bridges: %v", err)
	}
	return slices.ContainsFunc(bs, func(b ariclient.Bridge) bool {
		return slices.Contains(b.Channels, ariclient.ChannelID(ch))
	})
}

// connectCall places a call to 70102020 and waits until agent anna (an
// answering endpoint) is bridged with it; it returns the citizen's channel.
func connectCall(t *testing.T, e *env) string {
	t.Helper()
	e.ready("anna")
	id := e.pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("caller and agent are bridged", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == id })
	})
	return id
}

// TestHold: on hold the citizen leaves the conversation's bridge and hears
// music on hold (330 Hz in the simulator), not the agent, and the agent no
// longer hears the citizen; off hold both hear each other again and the
// music is gone.
func TestHold(t *testing.T) {
	pbx := newAsterisk(t)
	e := start(t, pbx, newShiftedClock(mondayMorning), config(q1(), agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}}))
	id := connectCall(t, e)
	ctx := context.Background()
	if err := e.ad.Hold(ctx, "bo", queue.CallID(id), true); !errors.Is(err, ari.ErrNoSuchCall) {
		t.Fatalf("hold by another agent: %v, want ErrNoSuchCall", err)
	}
	au := pbx.audio()
	var leg string
	if au != nil {
		leg = agentLeg(t, e, "anna")
		au.inject(t, id, 440)
		au.inject(t, leg, 700)
		e.eventually("both hear each other", func() bool { return au.level(t, leg, 440) > 0.3 && au.level(t, id, 700) > 0.3 })
	}

	if err := e.ad.Hold(ctx, "anna", queue.CallID(id), true); err != nil {
		t.Fatalf("hold: %v", err)
	}
	e.eventually("the citizen is out of the bridge", func() bool { return !inConversation(t, e, id) })
	if au != nil {
		e.eventually("the citizen hears only music on hold, the agent not the citizen", func() bool {
			return au.level(t, id, 330) > 0.3 && au.level(t, id, 700) < 0.05 && au.level(t, leg, 440) < 0.05
		})
	} else {
		t.Log("audio check skipped: this PBX harness cannot measure audio")
	}
	if c, _ := e.call(id); c.State != "connected" || c.Agent != "anna" {
		t.Fatalf("call on hold = %+v, want still connected to anna", c)
	}

	if err := e.ad.Hold(ctx, "anna", queue.CallID(id), false); err != nil {
		t.Fatalf("unhold: %v", err)
	}
	e.eventually("the citizen is back in the bridge", func() bool { return inConversation(t, e, id) })
	if au != nil {
		e.eventually("both hear each other again, without music", func() bool {
			return au.level(t, id, 330) < 0.05 && au.level(t, id, 700) > 0.3 && au.level(t, leg, 440) > 0.3
		})
	}
}

// restartOnHold restarts omstil while the citizen of call id, anna's, is
// out of the bridge with music (checked on the simulator) and waits until
// the new adapter has adopted the conversation.
func restartOnHold(t *testing.T, e *env, pbx asterisk, clock *shiftedClock, cfg ari.RuntimeConfig, id string) *env {
	t.Helper()
	if sim, isSim := pbx.(*simAsterisk); isSim {
		e.eventually("the citizen hears music on hold", func() bool { return mohOn(sim, id) })
	}
	e.stop()
	e2 := start(t, pbx, clock, cfg)
	e2.eventually("the conversation is adopted", func() bool { c, _ := e2.call(id); return c.State == "connected" && c.Agent == "anna" })
	return e2
}

// TestHoldAcrossRestart: a citizen on hold when omstil restarts is adopted
// as on hold, so the agent's unhold brings it back into the conversation.
func TestHoldAcrossRestart(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	cfg := config(q1(), agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}})
	e := start(t, pbx, clock, cfg)
	id := connectCall(t, e)
	if err := e.ad.Hold(context.Background(), "anna", queue.CallID(id), true); err != nil {
		t.Fatalf("hold: %v", err)
	}
	e.eventually("the citizen is out of the bridge", func() bool { return !inConversation(t, e, id) })
	e2 := restartOnHold(t, e, pbx, clock, cfg, id)
	if err := e2.ad.Hold(context.Background(), "anna", queue.CallID(id), false); err != nil {
		t.Fatalf("unhold: %v", err)
	}
	e2.eventually("the citizen is back in the bridge", func() bool { return inConversation(t, e2, id) })
	if sim, isSim := pbx.(*simAsterisk); isSim {
		leg := agentLeg(t, e2, "anna")
		sim.inject(t, leg, 700)
		e2.eventually("the citizen hears the agent, without music", func() bool {
			return sim.level(t, id, 700) > 0.3 && sim.level(t, id, 330) < 0.05
		})
	}
}
