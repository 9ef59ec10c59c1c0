package ari_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// TestPageGonePausesReadyAgent: a browser agent whose page is gone for
// PageGone (60 s by default) is paused with reason "page closed" when
// ready; a page back in time, a desk-phone agent and an agent in a call
// are not touched (the agent in a call is paused when the call ends).
func TestPageGonePausesReadyAgent(t *testing.T) {
	pbx := newSimAsterisk(t)
	t.Cleanup(pbx.close)
	relay, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	web := newFakeWebRTC(relay)
	cfg := config(q1(), agentSpec{"desk", pbx.agent("answer", 1), []queue.QueueID{"q2"}})
	for _, id := range []queue.AgentID{"w1", "w2", "w3", "talk"} {
		qs := []queue.Membership{{Queue: "q2"}}
		if id == "talk" {
			qs = []queue.Membership{{Queue: "q1"}}
		}
		cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: id, Queues: qs})
		cfg.Devices[id] = ari.Device{Kind: ari.DeviceWebRTC}
		cfg.AgentOrgs[id] = "kommune"
	}
	clock := queue.NewFakeClock(mondayMorning)
	e := startWith(t, pbx, clock, cfg, func(o *ari.Options) { o.WebRTC = web })
	for _, a := range []string{"w1", "w2", "w3", "desk", "talk"} {
		e.ready(a)
	}
	// "talk" answers a call in the browser.
	id := pbx.placeCall(t, "70102020", "+4512345678")
	var ring ari.RingInfo
	select {
	case ring = <-web.rings:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser was not rung")
	}
	if err := e.ad.Answer(context.Background(), "talk", ring.Call); err != nil {
		t.Fatal(err)
	}
	e.eventually("talk is in the call", func() bool { c, _ := e.call(id); return c.State == "connected" })

	for _, a := range []queue.AgentID{"w1", "w2", "desk", "talk"} {
		e.ad.PageOnline(a, false)
	}
	e.ad.PageOnline("w2", true) // a reload
	e.ad.Snapshot()             // a round trip through the loop: the PageOnline calls are handled
	clock.Advance(59 * time.Second)
	e.ad.PageOnline("w3", false)
	if st := agentState(e, "w1"); st != queue.Ready {
		t.Fatalf("w1 %s after 59 s, want still ready", st)
	}
	clock.Advance(2 * time.Second)
	e.eventually("w1 is paused", func() bool { return agentState(e, "w1") == queue.Paused })
	// w1's deadline was handled in that tick: the others are as they were.
	want := map[queue.AgentID]queue.State{"w1": queue.Paused, "w2": queue.Ready, "w3": queue.Ready, "desk": queue.Ready, "talk": queue.OnCall}
	for _, a := range e.ad.Snapshot().Agents {
		if a.State != want[a.ID] {
			t.Errorf("%s: %s, want %s", a.ID, a.State, want[a.ID])
		}
		if a.ID == "w1" && a.Reason != ari.PageClosedReason {
			t.Errorf("w1 paused with %q, want %q", a.Reason, ari.PageClosedReason)
		}
	}
	clock.Advance(time.Minute)
	e.eventually("w3 is paused a minute after its page went", func() bool { return agentState(e, "w3") == queue.Paused })
	if st := agentState(e, "talk"); st != queue.OnCall {
		t.Fatalf("talk %s, want still on the call", st)
	}
	// the call ends: talk would be ready, but its page is gone.
	if err := e.ad.Hangup(context.Background(), "talk", ring.Call); err != nil {
		t.Fatal(err)
	}
	e.eventually("talk is paused after the call", func() bool { return agentState(e, "talk") == queue.Paused })
}
