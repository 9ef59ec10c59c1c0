package softphone

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// browser is a pion peer playing the agent's Chrome tab: it offers with the
// same PCMU settings a browser uses, over a test signalling connection.
type browser struct {
	t         testing.TB
	page      *page
	pc        *webrtc.PeerConnection
	mic       *webrtc.TrackLocalStaticRTP
	heard     chan *rtp.Packet // RTP from the server
	msgs      chan Message     // signalling other than answer/offer/candidate
	connected chan struct{}    // the browser's PeerConnection is connected
	media     chan string      // the server's media connection states
	seq       uint16
	ts        uint32
}

func browserAPI(t testing.TB, mime string, pt uint8, rate uint32) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: rate},
		PayloadType:        webrtc.PayloadType(pt),
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// openBrowser connects a page for agent and negotiates PCMU, waiting until
// the media connection is up.
func openBrowser(t testing.TB, m *Manager, agent AgentID) *browser {
	t.Helper()
	b := startBrowser(t, m, agent, browserAPI(t, webrtc.MimeTypePCMU, 0, 8000), webrtc.MimeTypePCMU, 8000)
	if a := b.expect("answer"); a.ID != "o1" {
		t.Errorf("answer id %q, want the offer's o1", a.ID)
	}
	select {
	case <-b.connected:
	case <-time.After(waitFor):
		t.Fatal("the browser's PeerConnection never connected")
	}
	b.waitMedia("connected") // the server's side: DTLS done, SRTP keys ready
	return b
}

func startBrowser(t testing.TB, m *Manager, agent AgentID, api *webrtc.API, mime string, rate uint32) *browser {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	mic, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: rate}, "mic", "browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(mic); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, mic: mic, heard: make(chan *rtp.Packet, 1000), msgs: make(chan Message, 100),
		connected: make(chan struct{}), media: make(chan string, 32), seq: 1, ts: 1}
	b.page = connectPage(t, m, agent)
	once := false
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && !once {
			once = true
			close(b.connected)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				select {
				case b.heard <- p:
				default:
				}
			}
		}()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			b.page.send(Message{Type: "candidate", Candidate: &init})
		}
	})
	go b.pump()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	b.page.send(Message{Type: "offer", ID: "o1", SDP: offer.SDP})
	return b
}

// pump plays the page's JavaScript: SDP and candidates go to the
// PeerConnection, everything else to msgs.
func (b *browser) pump() {
	for {
		var raw []byte
		select {
		case raw = <-b.page.conn.out:
		case <-b.page.conn.closed:
			return
		}
		var m Message
		if err := json.Unmarshal(raw, &m); err != nil {
			b.t.Errorf("server sent %q", raw)
			return
		}
		switch m.Type {
		case "answer":
			if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				b.t.Errorf("browser: set answer: %v", err)
			}
		case "offer":
			if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
				b.t.Errorf("browser: set offer: %v", err)
				continue
			}
			ans, err := b.pc.CreateAnswer(nil)
			if err == nil {
				err = b.pc.SetLocalDescription(ans)
			}
			if err != nil {
				b.t.Errorf("browser: answer: %v", err)
				continue
			}
			b.page.send(Message{Type: "answer", ID: "re", SDP: ans.SDP})
			continue
		case "candidate":
			if m.Candidate != nil {
				if err := b.pc.AddICECandidate(*m.Candidate); err != nil {
					b.t.Errorf("browser: candidate: %v", err)
				}
			}
			continue
		case "media":
			b.media <- m.State
			continue
		}
		b.msgs <- m
	}
}

func (b *browser) expect(typ string) Message {
	b.t.Helper()
	select {
	case m := <-b.msgs:
		if m.Type != typ {
			b.t.Fatalf("got %+v, want a %q message", m, typ)
		}
		return m
	case <-time.After(waitFor):
		b.t.Fatalf("no %q message", typ)
		return Message{}
	}
}

// speak sends n packets of microphone audio, every byte fill.
func (b *browser) speak(n int, fill byte) {
	b.t.Helper()
	for range n {
		p := pcmu(0, b.seq, b.ts, fill)
		b.seq++
		b.ts += 160
		if err := b.mic.WriteRTP(p); err != nil {
			b.t.Fatal(err)
		}
	}
}

// hear waits for the next packet from the server.
func (b *browser) hear() *rtp.Packet {
	b.t.Helper()
	select {
	case p := <-b.heard:
		return p
	case <-time.After(waitFor):
		b.t.Fatal("browser heard nothing")
		return nil
	}
}

// waitMedia waits until the server has reported the given media states in
// that order.
func (b *browser) waitMedia(states ...string) {
	b.t.Helper()
	for _, want := range states {
		for {
			select {
			case got := <-b.media:
				if got != want {
					continue
				}
			case <-time.After(waitFor):
				b.t.Fatalf("the server's media connection never got %q", want)
			}
			break
		}
	}
}

// sendCall has Asterisk send n packets of a call, payload bytes fill.
func sendCall(a *fakeAsterisk, to string, ssrc uint32, seq uint16, ts uint32, n int, fill byte) {
	for i := range n {
		a.send(to, pcmu(ssrc, seq+uint16(i), ts+uint32(160*i), fill))
	}
}

func TestBridgeEndToEnd(t *testing.T) {
	m := newTestManager(t, 47300, 47309)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	b := openBrowser(t, m, "anna")
	s, _ := m.Session("anna")

	// Ringing: the microphone is live in the page, but nothing is relayed.
	s.Notify(RingMessage("c1", "Borgerservice", "", 3*time.Second))
	b.expect("ring")
	b.speak(20, 0x11)
	waitStat(t, s, func(st Stats) bool { return st.DroppedNoCall >= 20 })
	if st := s.Stats(); st.ToAsterisk != 0 || st.ToBrowser != 0 {
		t.Fatalf("audio relayed before AttachCall: %+v", st)
	}

	// Answered: the adapter attaches the call and bridges externalMedia.
	b.page.sendJSON(`{"type":"answer","call":"c1"}`)
	b.expect("ack")
	addr, err := s.AttachCall("c1")
	if err != nil {
		t.Fatal(err)
	}
	ast := newFakeAsterisk(t, "127.0.0.1")
	if err := s.SetRemote("c1", ast.addr()); err != nil {
		t.Fatal(err)
	}
	sendCall(ast, addr, 0xA57, 100, 8000, 10, 0x42)
	var last *rtp.Packet
	for i := range 10 {
		p := b.hear()
		if p.PayloadType != 0 || len(p.Payload) != 160 || p.Payload[0] != 0x42 {
			t.Fatalf("browser got PT %d, %d bytes of %#x", p.PayloadType, len(p.Payload), p.Payload[0])
		}
		if last != nil && (p.SequenceNumber != last.SequenceNumber+1 || p.Timestamp != last.Timestamp+160) {
			t.Errorf("packet %d: seq %d ts %d after seq %d ts %d: not continuous", i, p.SequenceNumber, p.Timestamp, last.SequenceNumber, last.Timestamp)
		}
		last = p
	}

	b.speak(10, 0x33)
	var up *rtp.Packet
	for range 10 {
		p, _ := ast.recv()
		if p.Payload[0] != 0x33 || len(p.Payload) != 160 || p.PayloadType != 0 {
			t.Fatalf("Asterisk got PT %d, %d bytes of %#x; want the microphone's 0x33", p.PayloadType, len(p.Payload), p.Payload[0])
		}
		if up != nil && p.SequenceNumber != up.SequenceNumber+1 {
			t.Errorf("to Asterisk: seq %d after %d", p.SequenceNumber, up.SequenceNumber)
		}
		up = p
	}

	b.page.sendJSON(`{"type":"mute","on":true}`)
	b.expect("ack")
	b.speak(1, 0x33)
	if p, _ := ast.recv(); p.Payload[0] != silencePCMU || p.SequenceNumber != up.SequenceNumber+1 {
		t.Errorf("muted: Asterisk got %#x seq %d, want silence with seq %d", p.Payload[0], p.SequenceNumber, up.SequenceNumber+1)
	}

	// The call ends: its port is closed, the microphone goes nowhere.
	if err := s.DetachCall("c1"); err != nil {
		t.Fatal(err)
	}
	dropped := s.Stats().DroppedNoCall
	b.speak(5, 0x33)
	waitStat(t, s, func(st Stats) bool { return st.DroppedNoCall >= dropped+5 })
	if ast.pending() {
		t.Error("Asterisk got audio after DetachCall")
	}

	// ICE restart on the page's request; media goes on over the same track.
	b.page.sendJSON(`{"type":"ice-restart","id":"r"}`)
	b.expect("ack") // the server's offer was answered by the page
	b.waitMedia("connecting", "connected")

	// The next call continues the same outgoing stream, unmuted.
	addr2, err := s.AttachCall("c2")
	if err != nil {
		t.Fatal(err)
	}
	ast2 := newFakeAsterisk(t, "127.0.0.1")
	sendCall(ast2, addr2, 0xB0B, 40000, 123456, 3, 0x55)
	p := b.hear()
	if p.Payload[0] != 0x55 || p.SequenceNumber != last.SequenceNumber+1 || int32(p.Timestamp-last.Timestamp) < 160 {
		t.Errorf("second call's first packet %#x seq %d ts %d; want 0x55, seq %d, ts after %d",
			p.Payload[0], p.SequenceNumber, p.Timestamp, last.SequenceNumber+1, last.Timestamp)
	}
	b.speak(1, 0x77) // Asterisk sent first: its address was learned
	if q, _ := ast2.recv(); q.Payload[0] != 0x77 {
		t.Errorf("second call: Asterisk got %#x, want unmuted 0x77", q.Payload[0])
	}
}

func TestBridgeReloadKeepsCall(t *testing.T) {
	m := newTestManager(t, 47310, 47319)
	b1 := openBrowser(t, m, "bo")
	s, _ := m.Session("bo")
	addr, err := s.AttachCall("c1")
	if err != nil {
		t.Fatal(err)
	}
	ast := newFakeAsterisk(t, "127.0.0.1")
	sendCall(ast, addr, 1, 10, 10, 1, 0x01)
	b1.hear()
	b1.speak(1, 0x0A)
	if p, _ := ast.recv(); p.Payload[0] != 0x0A {
		t.Fatalf("before reload: Asterisk got %#x", p.Payload[0])
	}

	// Reload: a new page and PeerConnection for the same agent.
	b2 := openBrowser(t, m, "bo")
	if e := b1.expect("error"); e.Code != CodeReplaced {
		t.Errorf("old page got %+v", e)
	}
	if b2.page.welcome.Call != "c1" {
		t.Errorf("new page's welcome %+v does not name the call", b2.page.welcome)
	}
	if again, _ := s.AttachCall("c1"); again != addr {
		t.Fatalf("relay moved from %s to %s", addr, again)
	}
	sendCall(ast, addr, 1, 11, 170, 3, 0x02)
	if p := b2.hear(); p.Payload[0] != 0x02 {
		t.Errorf("after reload the new page heard %#x", p.Payload[0])
	}
	b2.speak(1, 0x0B)
	if p, _ := ast.recv(); p.Payload[0] != 0x0B {
		t.Errorf("after reload Asterisk got %#x, want the new page's 0x0B", p.Payload[0])
	}
	// The old PeerConnection is closed by the server.
	b1.speak(1, 0x0A)
	for ast.pending() {
		t.Error("the replaced page's audio reached Asterisk")
	}
}

func TestBridgeTwoAgentsIsolated(t *testing.T) {
	m := newTestManager(t, 47320, 47329)
	a := openBrowser(t, m, "anna")
	b := openBrowser(t, m, "bo")
	sa, _ := m.Session("anna")
	sb, _ := m.Session("bo")
	addrA, err := sa.AttachCall("ca")
	if err != nil {
		t.Fatal(err)
	}
	addrB, err := sb.AttachCall("cb")
	if err != nil {
		t.Fatal(err)
	}
	astA := newFakeAsterisk(t, "127.0.0.1")
	astB := newFakeAsterisk(t, "127.0.0.1")
	const n = 20
	sendCall(astA, addrA, 1, 1, 1, n, 0xA1)
	sendCall(astB, addrB, 2, 1, 1, n, 0xB2)
	for range n {
		if p := a.hear(); p.Payload[0] != 0xA1 {
			t.Fatalf("anna heard %#x", p.Payload[0])
		}
		if p := b.hear(); p.Payload[0] != 0xB2 {
			t.Fatalf("bo heard %#x", p.Payload[0])
		}
	}
	a.speak(n, 0x0A)
	b.speak(n, 0x0B)
	for range n {
		if p, _ := astA.recv(); p.Payload[0] != 0x0A {
			t.Fatalf("anna's call got %#x", p.Payload[0])
		}
		if p, _ := astB.recv(); p.Payload[0] != 0x0B {
			t.Fatalf("bo's call got %#x", p.Payload[0])
		}
	}
	// The relay counts a packet after the track write returns, which may
	// be just after the page has it: wait for the count, then compare.
	waitStat(t, sa, func(st Stats) bool { return st.ToBrowser >= n })
	waitStat(t, sb, func(st Stats) bool { return st.ToBrowser >= n })
	if sa.Stats().ToBrowser != n || sb.Stats().ToBrowser != n {
		t.Errorf("stats anna %+v bo %+v", sa.Stats(), sb.Stats())
	}
}

func TestBridgeRefusesOfferWithoutPCMU(t *testing.T) {
	m := newTestManager(t, 47330, 47339)
	b := startBrowser(t, m, "anna", browserAPI(t, webrtc.MimeTypeOpus, 111, 48000), webrtc.MimeTypeOpus, 48000)
	e := b.expect("error")
	if e.Code != CodeNoPCMU || e.ID != "o1" {
		t.Fatalf("offer with Opus only: %+v, want error no-pcmu for o1", e)
	}
	// The page may try again with PCMU on the same connection.
	b.page.sendJSON(`{"type":"ping"}`)
	b.expect("pong")
}
