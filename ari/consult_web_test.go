package ari_test

import (
	"context"
	"encoding/binary"
	"errors"
	"github.com/omstil/omstil/internal/g711"
	"github.com/omstil/omstil/internal/tcpproxy"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// browserConsult is a browser agent anna talking to a citizen, with a
// browser colleague bo in the same queue, each with a relay socket of its
// own, on the simulator.
type browserConsult struct {
	t      *testing.T
	pbx    *simAsterisk
	e      *env
	web    *fakeWebRTC
	id     string       // the citizen's channel
	call   queue.CallID // the same, as the call
	relays map[queue.AgentID]*net.UDPConn
	proxy  *tcpproxy.Proxy // between the adapter and the simulator, if any
	via    asterisk
	cfg    ari.RuntimeConfig
	clock  *shiftedClock
	mod    func(*ari.Options)
}

func newBrowserConsult(t *testing.T, mod func(*ari.Options)) *browserConsult {
	t.Helper()
	return newBrowserConsultVia(t, false, mod)
}

// newBrowserConsultVia is newBrowserConsult, with the adapter reaching the
// simulator through a flakyProxy (b.proxy) when proxy is set.
func newBrowserConsultVia(t *testing.T, proxy bool, mod func(*ari.Options)) *browserConsult {
	t.Helper()
	pbx := newSimAsterisk(t)
	t.Cleanup(pbx.close)
	b := &browserConsult{t: t, pbx: pbx, relays: map[queue.AgentID]*net.UDPConn{}}
	var via asterisk = pbx
	if proxy {
		b.proxy = newFlakyProxy(t, strings.TrimPrefix(pbx.srv.URL, "http://"))
		via = proxied{pbx, b.proxy}
	}
	for _, ag := range []queue.AgentID{"anna", "bo"} {
		r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		go drain(r)
		b.relays[ag] = r
	}
	b.web = newFakeWebRTC(b.relays["anna"])
	b.web.relays = b.relays
	cfg := config(q1())
	for _, ag := range []queue.AgentID{"anna", "bo"} {
		cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: ag, Queues: []queue.Membership{{Queue: "q1"}, {Queue: "q2"}}})
		cfg.Devices[ag] = ari.Device{Kind: ari.DeviceWebRTC}
		cfg.AgentOrgs[ag] = "kommune"
	}
	cfg.AgentNames = map[queue.AgentID]string{"anna": "Anna Hansen", "bo": "Bo Jensen"}
	cfg.QueueMedia = map[queue.QueueID]ari.QueueMedia{"q1": {Name: "Borgerservice"}}
	b.via, b.cfg, b.clock, b.mod = via, cfg, newShiftedClock(mondayMorning), mod
	b.start()
	b.e.ready("anna")
	b.id = pbx.placeCall(t, "70102020", "+4512345678")
	b.call = queue.CallID(b.id)
	ring := b.nextRing()
	if ring.Call != b.call || ring.From != "" {
		t.Fatalf("anna's ring %+v", ring)
	}
	if err := b.e.ad.Answer(context.Background(), "anna", b.call); err != nil {
		t.Fatal(err)
	}
	b.e.eventually("anna talks to the citizen", func() bool { return hasEvent(b.e, b.id, ari.CallBridged, "") })
	b.e.ready("bo")
	return b
}

// start runs a (new) adapter on the same simulator, configuration, pages
// and clock: a restart of omstil when one ran before (stop it first).
func (b *browserConsult) start() {
	b.t.Helper()
	b.e = startWith(b.t, b.via, b.clock, b.cfg, func(o *ari.Options) {
		o.WebRTC = b.web
		if b.mod != nil {
			b.mod(o)
		}
	})
}

// drain reads a relay socket until it is closed (Asterisk's RTP to it).
func drain(c *net.UDPConn) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			return
		}
	}
}

func (b *browserConsult) nextRing() ari.RingInfo {
	b.t.Helper()
	select {
	case r := <-b.web.rings:
		return r
	case <-time.After(10 * time.Second):
		b.t.Fatal("no page was rung")
	}
	return ari.RingInfo{}
}

// consult has anna consult bo and checks bo's page rings as a transfer
// from anna.
func (b *browserConsult) consult() {
	b.t.Helper()
	if err := b.e.ad.Consult(context.Background(), "anna", b.call, ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}); err != nil {
		b.t.Fatalf("consult: %v", err)
	}
	r := b.nextRing()
	if r.Call != b.call || r.From != "anna" || r.FromName != "Anna Hansen" || r.Caller != "+4512345678" || r.Name != "Borgerservice" {
		b.t.Fatalf("bo's ring %+v, want a transfer from Anna Hansen with the citizen's number and the queue", r)
	}
	if !deviceBusy(b.e, "bo") {
		b.t.Fatal("bo is not marked busy while consulted")
	}
	b.e.eventually("the citizen is out of the conversation", func() bool { return bridgeOf(b.t, b.e, b.id) == nil })
	b.e.eventually("anna's page hears bo rings", func() bool { return b.told("anna", ari.ConsultRinging, "") })
}

// answer: bo picks up; its media joins anna's bridge.
func (b *browserConsult) answer() {
	b.t.Helper()
	if err := b.e.ad.Answer(context.Background(), "bo", b.call); err != nil {
		b.t.Fatalf("bo answers: %v", err)
	}
	b.e.eventually("bo's media joins the conversation", func() bool { return hasEvent(b.e, b.id, ari.CallConsultUp, "") })
	b.e.eventually("anna's page hears bo answered", func() bool { return b.told("anna", ari.ConsultUp, "") })
}

// told reports whether agent's page got a consult update in state (and
// reason, when given) about the call.
func (b *browserConsult) told(agent queue.AgentID, state, reason string) bool {
	return b.web.read(func(f *fakeWebRTC) bool {
		return slices.ContainsFunc(f.consults[agent], func(u ari.ConsultUpdate) bool {
			return u.Call == b.call && u.State == state && (reason == "" || u.Reason == reason)
		})
	})
}

func (b *browserConsult) endedFor(agent queue.AgentID, reason string) bool {
	return b.web.read(func(f *fakeWebRTC) bool { return slices.Contains(f.endedBy[agent], reason) })
}

// media returns the id of the externalMedia channel to agent's relay
// ("" when there is none).
func (b *browserConsult) media(agent queue.AgentID) string {
	prefix := "UnicastRTP/" + b.relays[agent].LocalAddr().String() + "-"
	for _, ch := range b.pbx.sim.Channels() {
		if strings.HasPrefix(ch.Name, prefix) {
			return ch.ID
		}
	}
	return ""
}

// backWithAnna checks the consultation is over without a trace: the
// citizen is back in the conversation with anna (and hears her, not the
// music), bo is free, its page told why and its relay detached, and no
// externalMedia channel to bo is left.
func (b *browserConsult) backWithAnna(reason string) {
	b.t.Helper()
	e := b.e
	e.eventually("the citizen is back with anna", func() bool {
		br := bridgeOf(b.t, e, b.id)
		return len(br) == 2 && slices.Contains(br, b.media("anna"))
	})
	e.eventually("the consultation ended: "+reason, func() bool { return hasEvent(e, b.id, ari.CallConsultEnded, reason) })
	e.eventually("anna's page is told", func() bool { return b.told("anna", ari.ConsultEnded, reason) })
	e.eventually("bo's relay is detached and no media channel to it is left", func() bool {
		return b.media("bo") == "" && b.web.read(func(f *fakeWebRTC) bool { _, ok := f.attached["bo"]; return !ok })
	})
	// free again: ready, or already rung for the citizen waiting meanwhile
	if s := agentState(e, "bo"); deviceBusy(e, "bo") || (s != queue.Ready && s != queue.Ringing) {
		b.t.Fatalf("bo: busy %v, state %s; want a free agent", deviceBusy(e, "bo"), s)
	}
	if c, _ := e.call(b.id); c.State != "connected" || c.Agent != "anna" {
		b.t.Fatalf("call %+v, want connected to anna", c)
	}
	b.hears(b.id, "anna", 700)
	e.eventually("no more music for the citizen", func() bool { return !mohOn(b.pbx, b.id) })
}

// hears checks that channel ch hears what agent's page says (a tone of hz
// sent as RTP from agent's relay to its externalMedia channel).
func (b *browserConsult) hears(ch string, agent queue.AgentID, hz int) {
	b.t.Helper()
	var to string
	// told by the externalMedia job, maybe after the bridge was made
	b.e.eventually(string(agent)+"'s page is told Asterisk's address", func() bool {
		return b.web.read(func(f *fakeWebRTC) bool { to = f.asterisk[agent]; return to != "" })
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); sendTone(b.relays[agent], to, hz, stop) }()
	defer func() { close(stop); <-done }()
	b.e.eventually(ch+" hears "+string(agent), func() bool { return b.pbx.level(b.t, ch, hz) > 0.3 })
}

// sendTone sends a PCMU tone as RTP (20 ms packets) from c to addr until
// stop is closed.
func sendTone(c *net.UDPConn, addr string, hz int, stop <-chan struct{}) {
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], 0x7e57)
	for n := 0; ; n++ {
		binary.BigEndian.PutUint16(pkt[2:], uint16(n))
		binary.BigEndian.PutUint32(pkt[4:], uint32(n*160))
		for i := range 160 {
			s := 8000 * math.Sin(2*math.Pi*float64(hz)*float64(n*160+i)/8000)
			pkt[12+i] = g711.EncodeUlaw(int16(s))
		}
		if _, err := c.WriteToUDP(pkt, to); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// ulaw encodes a 16-bit sample as G.711 µ-law.

// TestConsultBrowserColleague: a browser agent consults a browser
// colleague. The colleague's page rings as a transfer from the agent, no
// other call is offered to it meanwhile; on answer agent and colleague
// talk while the citizen hears music. Complete hands the citizen over and
// the colleague is the call's agent from then on; every other ending
// (cancel, decline, no answer, the colleague hangs up, the page cannot be
// rung) brings the citizen back to the agent with nothing left over.
func TestConsultBrowserColleague(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer bool
		finish func(b *browserConsult)
		reason string // the consultation's end; "" for complete
	}{
		{"cancel while ringing", false, func(b *browserConsult) {
			if err := b.e.ad.CancelConsult(context.Background(), "anna", b.call); err != nil {
				b.t.Fatal(err)
			}
		}, ari.ConsultCancelled},
		{"cancel while talking", true, func(b *browserConsult) {
			if err := b.e.ad.CancelConsult(context.Background(), "anna", b.call); err != nil {
				b.t.Fatal(err)
			}
		}, ari.ConsultCancelled},
		{"colleague declines", false, func(b *browserConsult) {
			if err := b.e.ad.Decline(context.Background(), "bo", b.call); err != nil {
				b.t.Fatal(err)
			}
		}, ari.ConsultDeclined},
		{"colleague hangs up", true, func(b *browserConsult) {
			if err := b.e.ad.Decline(context.Background(), "bo", b.call); err == nil {
				b.t.Fatal("declining an answered consultation was accepted")
			}
			if err := b.e.ad.Hangup(context.Background(), "bo", b.call); err != nil {
				b.t.Fatal(err)
			}
		}, ari.ConsultTargetHangup},
		{"colleague does not answer", false, func(b *browserConsult) {}, ari.ConsultTimeout},
		{"complete", true, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowserConsult(t, func(o *ari.Options) {
				if tc.reason == ari.ConsultTimeout {
					o.ConsultRing = 1500 * time.Millisecond
				}
			})
			e, ctx := b.e, context.Background()
			b.consult()
			if err := e.ad.CompleteConsult(ctx, "anna", b.call); err == nil {
				t.Fatal("completing before the colleague answered was accepted")
			}
			// a second citizen waits: bo is taken by the consultation.
			second := b.pbx.placeCall(t, "70102020", "+4587654321")
			e.eventually("the second citizen waits", func() bool { c, _ := e.call(second); return c.State == "waiting" })
			if tc.answer {
				b.answer()
				e.eventually("the citizen hears music on hold", func() bool { return mohOn(b.pbx, b.id) })
				b.hears(b.media("bo"), "anna", 700)
				b.hears(b.media("anna"), "bo", 500)
				if l := b.pbx.level(t, b.id, 700); l > 0.05 {
					t.Fatalf("the citizen hears the consultation (level %.2f)", l)
				}
			}
			if c, _ := e.call(second); c.State != "waiting" {
				t.Fatalf("the second call %+v was offered while bo is consulted", c)
			}
			if tc.finish == nil {
				completeToBo(t, b, false)
				return
			}
			tc.finish(b)
			b.backWithAnna(tc.reason)
			if tc.reason != ari.ConsultDeclined {
				e.eventually("bo's page stops ringing or ends the consultation", func() bool { return b.endedFor("bo", tc.reason) })
			}
			// bo is free again: the waiting citizen is offered to it.
			r := b.nextRing()
			if string(r.Call) != second || r.From != "" {
				t.Fatalf("ring %+v, want the second citizen for bo", r)
			}
		})
	}
}

// completeToBo: anna completes (or has completed by hanging up); the
// citizen talks with bo, anna wraps up (her page told "transferred"), and
// bo is the call's agent: the engine has it on the call, its page is told
// it took the call over, and hold and hang-up work for it.
func completeToBo(t *testing.T, b *browserConsult, completed bool) {
	e, ctx := b.e, context.Background()
	boMedia := b.media("bo")
	if !completed {
		if err := e.ad.CompleteConsult(ctx, "anna", b.call); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually("the citizen talks to bo", func() bool {
		br := bridgeOf(t, e, b.id)
		return len(br) == 2 && slices.Contains(br, boMedia)
	})
	e.eventually("anna's media channel is gone", func() bool { return b.media("anna") == "" })
	if c, _ := e.call(b.id); c.State != "connected" || c.Agent != "bo" {
		t.Fatalf("call %+v, want connected to bo", c)
	}
	if s := agentState(e, "bo"); s != queue.OnCall || deviceBusy(e, "bo") {
		t.Fatalf("bo is %s (device busy %v), want on the call", s, deviceBusy(e, "bo"))
	}
	e.eventually("anna's conversation is recorded", func() bool {
		return len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == b.id && x.Agent == "anna" })) == 1
	})
	e.eventually("the pages are told", func() bool {
		return b.endedFor("anna", "transferred") && b.told("bo", ari.ConsultTakenOver, "")
	})
	e.eventually("no more music for the citizen", func() bool { return !mohOn(b.pbx, b.id) })
	b.hears(b.id, "bo", 600)
	b.pbx.inject(t, b.id, 440)
	e.eventually("bo hears the citizen", func() bool { return b.pbx.level(t, boMedia, 440) > 0.3 })
	_ = b.pbx.sim.InjectTone(b.id, "")

	if err := e.ad.Hold(ctx, "bo", b.call, true); err != nil {
		t.Fatalf("bo's hold: %v", err)
	}
	e.eventually("the citizen is on hold", func() bool { return bridgeOf(t, e, b.id) == nil && mohOn(b.pbx, b.id) })
	if err := e.ad.Hold(ctx, "bo", b.call, false); err != nil {
		t.Fatalf("bo's unhold: %v", err)
	}
	e.eventually("the citizen is back with bo", func() bool { return slices.Contains(bridgeOf(t, e, b.id), boMedia) })
	if err := e.ad.Hangup(ctx, "bo", b.call); err != nil {
		t.Fatalf("bo's hang-up: %v", err)
	}
	e.eventually("bo's conversation is recorded and the call is over", func() bool {
		_, live := e.call(b.id)
		return !live && len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == b.id && x.Agent == "bo" })) == 1
	})
	e.eventually("bo's relay is detached and its media channel gone", func() bool {
		return b.media("bo") == "" && b.web.read(func(f *fakeWebRTC) bool { _, ok := f.attached["bo"]; return !ok })
	})
}

// TestConsultBrowserColleagueHangups: the citizen or the agent hangs up
// during the consultation. The citizen's hang-up ends everything (both
// pages told, no media channel or relay left, both agents free); the
// agent's hang-up ends the call while the colleague rings and completes
// the transfer once the colleague talks, as on a desk phone.
func TestConsultBrowserColleagueHangups(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  bool
		citizen bool // the citizen hangs up (else anna)
	}{
		{"citizen, while ringing", false, true},
		{"citizen, while talking", true, true},
		{"agent, while ringing", false, false},
		{"agent, while talking", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowserConsult(t, nil)
			e := b.e
			b.consult()
			if tc.answer {
				b.answer()
			}
			if !tc.citizen {
				if err := e.ad.Hangup(context.Background(), "anna", b.call); err != nil {
					t.Fatal(err)
				}
				if tc.answer {
					completeToBo(t, b, true)
					return
				}
			} else {
				b.pbx.hangupCitizen(t, b.id)
			}
			reason := ari.ConsultCallerHangup
			if !tc.citizen {
				reason = ari.ConsultAgentHangup
			}
			e.eventually("the call is over", func() bool { _, live := e.call(b.id); return !live })
			e.eventually("both pages are told", func() bool {
				return b.endedFor("bo", reason) && b.web.read(func(f *fakeWebRTC) bool { return len(f.endedBy["anna"]) > 0 })
			})
			e.eventually("no media channel or relay is left", func() bool {
				return b.media("bo") == "" && b.media("anna") == "" && b.web.read(func(f *fakeWebRTC) bool { return len(f.attached) == 0 })
			})
			e.eventually("bo is free", func() bool { return !deviceBusy(e, "bo") && agentState(e, "bo") == queue.Ready })
			if !hasEvent(e, b.id, ari.CallConsultEnded, reason) {
				t.Fatalf("no consult-ended %q in %+v", reason, e.sink.events())
			}
		})
	}
}

// TestConsultBrowserChoice: a queue's consultation picks its ready
// browser agent; a colleague who is not ready is refused; a colleague
// whose page cannot be rung ends the consultation at once.
func TestConsultBrowserChoice(t *testing.T) {
	ctx := context.Background()
	t.Run("queue", func(t *testing.T) {
		b := newBrowserConsult(t, nil)
		if err := b.e.ad.Consult(ctx, "anna", b.call, ari.ConsultTarget{Kind: ari.ConsultQueue, To: "q2"}); err != nil {
			t.Fatal(err)
		}
		if r := b.nextRing(); r.From != "anna" || r.Call != b.call {
			t.Fatalf("ring %+v, want bo rung as q2's ready agent", r)
		}
		b.answer()
	})
	t.Run("not ready", func(t *testing.T) {
		b := newBrowserConsult(t, nil)
		if err := b.e.ad.SetAgentState(ctx, "bo", queue.Paused, "frokost", nil); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			target ari.ConsultTarget
			reason string
		}{
			{ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}, ari.RefusedNotReady},
			{ari.ConsultTarget{Kind: ari.ConsultQueue, To: "q2"}, ari.RefusedNoFreeAgent},
			{ari.ConsultTarget{Kind: ari.ConsultAgent, To: "anna"}, ari.RefusedSelf},
			{ari.ConsultTarget{Kind: ari.ConsultQueue, To: "nope"}, ari.RefusedUnknown},
		} {
			err := b.e.ad.Consult(ctx, "anna", b.call, tc.target)
			var r *ari.Refusal
			if !errors.Is(err, ari.ErrRefused) || !errors.As(err, &r) || r.Reason != tc.reason {
				t.Fatalf("consulting %+v: %v, want a refusal %q", tc.target, err, tc.reason)
			}
		}
		if c, _ := b.e.call(b.id); c.State != "connected" || !slices.Contains(bridgeOf(t, b.e, b.id), b.media("anna")) {
			t.Fatalf("call %+v: a refused consultation disturbed the conversation", c)
		}
	})
	t.Run("no page", func(t *testing.T) {
		b := newBrowserConsult(t, nil)
		b.web.read(func(f *fakeWebRTC) bool { f.noPage["bo"] = true; return true })
		if err := b.e.ad.Consult(ctx, "anna", b.call, ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}); err != nil {
			t.Fatal(err)
		}
		b.backWithAnna(ari.ConsultUnavailable)
	})
}

// TestConsultBrowserColleagueSurvivesReconnect: the ARI socket drops while
// a browser colleague's page rings for a consultation (the colleague has
// no channel yet). The resync after the reconnect must not take the
// missing channel for a hang-up: the colleague answers afterwards and
// talks with the agent.
func TestConsultBrowserColleagueSurvivesReconnect(t *testing.T) {
	b := newBrowserConsultVia(t, true, nil)
	b.consult()
	b.proxy.SetDown(true)
	b.e.eventually("the adapter notices the lost socket", func() bool { return !b.e.cli.Connected() })
	b.proxy.SetDown(false)
	b.e.eventually("the adapter is back", func() bool { return b.e.cli.Connected() })
	// the resync is on the loop before the new connection's events: once
	// a call placed now waits, it has run.
	later := b.pbx.placeCall(t, "70102020", "+4587654321")
	b.e.eventually("a later call is queued", func() bool {
		c, _ := b.e.call(later)
		return c.State == "waiting" || c.State == "ringing"
	})
	if hasEvent(b.e, b.id, ari.CallConsultEnded, "") {
		t.Fatalf("the reconnect ended the consultation: %+v", b.e.sink.events())
	}
	b.answer()
	b.hears(b.media("bo"), "anna", 700)
}

// TestRestartDuringBrowserConsultation: omstil restarts while anna
// consults her browser colleague bo (his page ringing, or talking with
// her). The restarted omstil ends the consultation: bo's externalMedia
// channel, if any, is hung up, and the citizen is back with anna, hearing
// her and no music.
func TestRestartDuringBrowserConsultation(t *testing.T) {
	for _, talking := range []bool{false, true} {
		name := "ringing"
		if talking {
			name = "talking"
		}
		t.Run(name, func(t *testing.T) {
			b := newBrowserConsult(t, nil)
			b.consult()
			if talking {
				b.answer()
			}
			annaMedia := b.media("anna")
			b.e.eventually("the citizen hears music on hold", func() bool { return mohOn(b.pbx, b.id) })
			b.e.stop()

			b.start()
			e := b.e
			e.eventually("the conversation is adopted", func() bool { c, _ := e.call(b.id); return c.State == "connected" && c.Agent == "anna" })
			e.eventually("the citizen is back with anna, bo's media gone", func() bool {
				br := bridgeOf(t, e, b.id)
				return len(br) == 2 && slices.Contains(br, annaMedia) && b.media("bo") == ""
			})
			if !hasEvent(e, b.id, ari.CallConsultEnded, ari.ConsultRestart) {
				t.Fatalf("no consult-ended %q in %+v", ari.ConsultRestart, e.sink.events())
			}
			b.hears(b.id, "anna", 700)
			e.eventually("no more music for the citizen", func() bool { return !mohOn(b.pbx, b.id) })
		})
	}
}
