package ari_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/queue"
)

// fakeWebRTC stands in for the softphone bridge: a UDP socket as the
// relay (one per agent in relays, else relay), and a record of what the
// adapter told the pages.
type fakeWebRTC struct {
	mu        sync.Mutex
	rings     chan ari.RingInfo
	relay     *net.UDPConn
	relays    map[queue.AgentID]*net.UDPConn
	connected string // Asterisk's RTP address (the last one)
	ended     []string
	// per agent: Asterisk's RTP address, the attached call (as
	// softphone.Session: Ended detaches it), Ended reasons, consult notes
	asterisk map[queue.AgentID]string
	attached map[queue.AgentID]queue.CallID
	endedBy  map[queue.AgentID][]string
	consults map[queue.AgentID][]ari.ConsultUpdate
	noPage   map[queue.AgentID]bool // Ring fails: no page connected
	tries    map[queue.AgentID]int  // Ring calls, also failed ones
	// Reattach calls, "agent call relay"
	reattached []string
}

func newFakeWebRTC(relay *net.UDPConn) *fakeWebRTC {
	return &fakeWebRTC{rings: make(chan ari.RingInfo, 16), relay: relay, relays: map[queue.AgentID]*net.UDPConn{},
		asterisk: map[queue.AgentID]string{}, attached: map[queue.AgentID]queue.CallID{},
		endedBy: map[queue.AgentID][]string{}, consults: map[queue.AgentID][]ari.ConsultUpdate{}, noPage: map[queue.AgentID]bool{},
		tries: map[queue.AgentID]int{}}
}

func (f *fakeWebRTC) Ring(agent queue.AgentID, r ari.RingInfo) error {
	f.mu.Lock()
	no := f.noPage[agent]
	f.tries[agent]++
	f.mu.Unlock()
	if no {
		return errors.New("fake: no page")
	}
	f.rings <- r
	return nil
}

func (f *fakeWebRTC) Attach(agent queue.AgentID, call queue.CallID) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.attached[agent]; ok && c != call {
		return "", fmt.Errorf("fake: %s has %s attached", agent, c)
	}
	f.attached[agent] = call
	if r := f.relays[agent]; r != nil {
		return r.LocalAddr().String(), nil
	}
	return f.relay.LocalAddr().String(), nil
}

func (f *fakeWebRTC) Connected(agent queue.AgentID, call queue.CallID, addr string) error {
	f.mu.Lock()
	f.connected = addr
	f.asterisk[agent] = addr
	f.mu.Unlock()
	return nil
}

func (f *fakeWebRTC) Ended(agent queue.AgentID, call queue.CallID, reason string) {
	f.mu.Lock()
	f.ended = append(f.ended, reason)
	f.endedBy[agent] = append(f.endedBy[agent], reason)
	if f.attached[agent] == call {
		delete(f.attached, agent)
	}
	f.mu.Unlock()
}

func (f *fakeWebRTC) Reattach(agent queue.AgentID, call queue.CallID, relayAddr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reattached = append(f.reattached, fmt.Sprintf("%s %s %s", agent, call, relayAddr))
	f.attached[agent] = call
	return nil
}

func (f *fakeWebRTC) Consult(agent queue.AgentID, u ari.ConsultUpdate) {
	f.mu.Lock()
	f.consults[agent] = append(f.consults[agent], u)
	f.mu.Unlock()
}

// read returns what f recorded, under its lock.
func (f *fakeWebRTC) read(fn func(f *fakeWebRTC) bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn(f)
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
	web := newFakeWebRTC(relay)
	cfg := config(q1())
	cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: "web", Queues: []queue.Membership{{Queue: "q1"}}})
	cfg.Devices["web"] = ari.Device{Kind: ari.DeviceWebRTC}
	cfg.AgentOrgs["web"] = "kommune"
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
	// Connected follows externalMedia's answer, which may come after the
	// channel's StasisStart and so after the bridge.
	e.eventually("Connected is given Asterisk's RTP address", func() bool {
		return web.read(func(f *fakeWebRTC) bool { return f.connected != "" })
	})
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

// TestRestartBrowserConversation: omstil restarts while a browser agent
// talks with a citizen. The new process opens the agent's relay again on
// the address the conversation's externalMedia channel still sends to,
// tells it Asterisk's RTP address, and the agent can go on and hang up.
func TestRestartBrowserConversation(t *testing.T) {
	b := newBrowserConsult(t, nil)
	annaRelay := b.relays["anna"].LocalAddr().String()
	// The page is told Asterisk's address by the externalMedia job once
	// the REST call returns, which may be after the channel entered the
	// app and was bridged (the bridge is what newBrowserConsult waits for).
	b.e.eventually("anna's relay is told Asterisk's address", func() bool {
		return b.web.read(func(f *fakeWebRTC) bool { return f.asterisk["anna"] != "" })
	})
	b.web.mu.Lock()
	astAddr := b.web.asterisk["anna"]
	b.web.asterisk["anna"] = ""
	b.web.mu.Unlock()
	b.e.stop()

	b.start()
	e := b.e
	e.eventually("the conversation is adopted", func() bool { c, _ := e.call(b.id); return c.State == "connected" && c.Agent == "anna" })
	want := fmt.Sprintf("anna %s %s", b.id, annaRelay)
	e.eventually("anna's relay is reopened where Asterisk sends and given Asterisk's address", func() bool {
		return b.web.read(func(f *fakeWebRTC) bool {
			return slices.Contains(f.reattached, want) && f.asterisk["anna"] == astAddr
		})
	})
	if n := b.web.read(func(f *fakeWebRTC) bool { return len(f.reattached) == 1 }); !n {
		t.Fatalf("Reattach calls %v, want exactly %q", b.web.reattached, want)
	}
	b.hears(b.id, "anna", 700)
	if err := e.ad.Hangup(context.Background(), "anna", b.call); err != nil {
		t.Fatalf("anna hangs up after the restart: %v", err)
	}
	e.eventually("the conversation is recorded", func() bool {
		_, live := e.call(b.id)
		return !live && len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == b.id })) == 1
	})
}
