package ari_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/queue"
)

// fakeWebRTC stands in for the softphone bridge: a UDP socket per call as
// the relay, and a record of what the adapter told the page.
type fakeWebRTC struct {
	mu        sync.Mutex
	rings     chan ari.RingInfo
	relay     *net.UDPConn
	connected string // Asterisk's RTP address
	ended     []string
}

func (f *fakeWebRTC) Ring(agent queue.AgentID, r ari.RingInfo) error {
	f.rings <- r
	return nil
}

func (f *fakeWebRTC) Attach(agent queue.AgentID, call queue.CallID) (string, error) {
	return f.relay.LocalAddr().String(), nil
}

func (f *fakeWebRTC) Connected(agent queue.AgentID, call queue.CallID, addr string) error {
	f.mu.Lock()
	f.connected = addr
	f.mu.Unlock()
	return nil
}

func (f *fakeWebRTC) Ended(agent queue.AgentID, call queue.CallID, reason string) {
	f.mu.Lock()
	f.ended = append(f.ended, reason)
	f.mu.Unlock()
}

// TestWebRTCAgent: a browser agent is rung through the WebRTC interface,
// answers through Adapter.Answer, gets an externalMedia channel whose RTP
// reaches the relay, and hangs up through Adapter.Hangup.
func TestWebRTCAgent(t *testing.T) {
	pbx := newSimAsterisk(t)
	t.Cleanup(pbx.close)
	relay, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	web := &fakeWebRTC{rings: make(chan ari.RingInfo, 4), relay: relay}
	cfg := config(q1())
	cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: "web", Queues: []queue.Membership{{Queue: "q1"}}})
	cfg.Devices["web"] = ari.Device{Kind: ari.DeviceWebRTC}
	cfg.QueueMedia = map[queue.QueueID]ari.QueueMedia{"q1": {Name: "Borgerservice", Ringing: true}}
	e := startWith(t, pbx, newShiftedClock(mondayMorning), cfg, func(o *ari.Options) { o.WebRTC = web })
	e.ready("web")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	var ring ari.RingInfo
	select {
	case ring = <-web.rings:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser was not rung")
	}
	if string(ring.Call) != id || ring.Name != "Borgerservice" || ring.Caller != "+4512345678" {
		t.Fatalf("ring = %+v", ring)
	}
	if err := e.ad.Answer(context.Background(), "web", ring.Call); err != nil {
		t.Fatalf("answer: %v", err)
	}
	e.eventually("the browser's media is bridged with the citizen", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == id })
	})
	web.mu.Lock()
	addr := web.connected
	web.mu.Unlock()
	if addr == "" {
		t.Fatal("Connected was not given Asterisk's RTP address")
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := relay.ReadFromUDP(buf)
	if err != nil || n != 12+160 {
		t.Fatalf("RTP at the relay: %d bytes, %v; want a 172-byte PCMU packet", n, err)
	}
	if err := e.ad.Hangup(context.Background(), "web", ring.Call); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	e.eventually("the conversation is recorded and the citizen hung up", func() bool {
		_, live := e.call(id)
		return !live && len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == id })) == 1
	})
	web.mu.Lock()
	defer web.mu.Unlock()
	if !slices.Contains(web.ended, "agent-hangup") {
		t.Fatalf("Ended reasons %v, want agent-hangup", web.ended)
	}
}

// TestSurprises: unknown event types, events for unknown channels, an
// agent whose endpoint does not exist (originate fails with 500), an
// unknown number and device states; the adapter survives all and keeps
// handling calls.
func TestSurprises(t *testing.T) {
	pbx := newSimAsterisk(t)
	t.Cleanup(pbx.close)
	cfg := config(q1(func(q *queue.QueueConfig) { q.RetryDelay = time.Minute }),
		agentSpec{"ghost", "PJSIP/nobody", []queue.QueueID{"q1"}},
		agentSpec{"desk", "PJSIP/desk1", []queue.QueueID{"q1"}})
	pbx.sim.SetEndpoint("desk1", arisim.EndpointBehavior{Mode: arisim.Answer})
	e := start(t, pbx, newShiftedClock(mondayMorning), cfg)
	for _, ev := range []arisim.Event{
		{"type": "CallBroadcast", "channel": map[string]any{"id": "x"}},
		{"type": "SomethingNew", "field": 1},
		{"type": "StasisEnd", "channel": map[string]any{"id": "nobody.1"}},
		{"type": "ChannelDtmfReceived", "digit": "1", "channel": map[string]any{"id": "nobody.2"}},
		{"type": "PlaybackFinished", "playback": map[string]any{"id": "unknown"}},
		{"type": "DeviceStateChanged", "device_state": map[string]any{"name": "PJSIP/desk1", "state": "INUSE"}},
	} {
		if err := pbx.sim.EmitEvent("omstil", ev); err != nil {
			t.Fatal(err)
		}
	}
	e.ready("ghost")
	e.eventually("desk's device is busy", func() bool {
		for _, a := range e.ad.Snapshot().Agents {
			if a.ID == "desk" {
				return a.DeviceBusy
			}
		}
		return false
	})
	unknown := pbx.placeCall(t, "79999999", "+4512345678")
	e.eventually("the unknown number is told and hung up", func() bool {
		_, live := e.call(unknown)
		return !live && slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool {
			return ev.Kind == ari.CallUnknownNumber && string(ev.Call) == unknown
		})
	})
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("the ghost's offer fails as unavailable", func() bool {
		return len(find(e.sink, func(x queue.OfferEnded) bool { return x.Agent == "ghost" && x.Reason == queue.FailUnavailable })) == 1
	})
	e.ready("desk")
	if err := pbx.sim.EmitEvent("omstil", arisim.Event{"type": "DeviceStateChanged", "device_state": map[string]any{"name": "PJSIP/desk1", "state": "NOT_INUSE"}}); err != nil {
		t.Fatal(err)
	}
	e.eventually("desk takes the call once its device is free", func() bool { c, _ := e.call(id); return c.State == "connected" && c.Agent == "desk" })
}
