package arisim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"github.com/omstil/omstil/internal/g711"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestToneGen(t *testing.T) {
	tests := []struct {
		spec   string
		ok     bool
		frames int     // frames to take
		hz     float64 // expected dominant frequency, 0 = expect silence
	}{
		{"440", true, 50, 440},
		{"ring", true, 50, 425}, // first second of 425/1000,0/4000
		{"400/20,0/4000", true, 1, 400},
		{"!350+440", true, 50, 0}, // two tones: neither alone dominates
		{"abc", false, 0, 0},
		{"", false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			g := newToneGen(tc.spec)
			if (g != nil) != tc.ok {
				t.Fatalf("parse ok = %v", g != nil)
			}
			if g == nil {
				return
			}
			var a Audio
			for i := 0; i < tc.frames; i++ {
				f := g.frame()
				if f == nil {
					f = make([]int16, frameSamples)
				}
				a.Samples = append(a.Samples, f...)
			}
			if tc.hz > 0 && a.ToneLevel(tc.hz) < 0.8 {
				t.Fatalf("tone level at %v = %v", tc.hz, a.ToneLevel(tc.hz))
			}
			if tc.hz == 0 && (a.ToneLevel(350) > 0.6 || a.ToneLevel(440) > 0.6 || a.ToneLevel(350) < 0.3) {
				t.Fatalf("dual tone levels %v %v", a.ToneLevel(350), a.ToneLevel(440))
			}
		})
	}
	// the ring cadence pauses after 1 s
	g := newToneGen("ring")
	for i := 0; i < 50; i++ {
		g.frame()
	}
	if f := g.frame(); f != nil {
		t.Fatalf("ring not silent after 1 s")
	}
}

// TestAudioThroughBridge: a tone from one caller is heard by the other
// member of a mixing bridge, not by the caller itself; a holding bridge
// with MOH carries the MOH.
func TestAudioThroughBridge(t *testing.T) {
	h := newHarness(t, true, Options{})
	h.connect("omstil", false)
	a, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "1", ToneHz: 440})
	b, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "2"})
	h.must(200, "POST", "/ari/bridges?bridgeId=mix", nil)
	h.must(204, "POST", "/ari/bridges/mix/addChannel?channel="+a.ID+","+b.ID, nil)
	h.advance(time.Second)
	hb, _ := h.sim.Heard(b.ID)
	if lvl := hb.ToneLevel(440); lvl < 0.8 {
		t.Fatalf("b hears 440 Hz at level %v (rms %v)", lvl, hb.RMS())
	}
	ha, _ := h.sim.Heard(a.ID)
	if ha.RMS() != 0 {
		t.Fatalf("a hears itself: rms %v", ha.RMS())
	}
	// music on hold on a holding bridge
	h.must(200, "POST", "/ari/bridges?bridgeId=hold&type=holding", nil)
	h.must(204, "POST", "/ari/bridges/hold/addChannel?channel="+b.ID, nil)
	h.must(204, "POST", "/ari/bridges/hold/moh", nil)
	h.advance(time.Second)
	hb, _ = h.sim.Heard(b.ID)
	if lvl := hb.ToneLevel(MOHHz); lvl < 0.8 {
		t.Fatalf("b hears MOH at level %v", lvl)
	}
	// a channel playback overrides the bridge
	h.must(201, "POST", "/ari/channels/"+b.ID+"/play?media=sound:x", nil)
	h.advance(time.Second)
	hb, _ = h.sim.Heard(b.ID)
	if lvl := hb.ToneLevel(SoundHz); lvl < 0.8 {
		t.Fatalf("b hears the sound at level %v", lvl)
	}
}

// TestAudioAcrossLocalAndEcho: a tone played on the citizen's ;1 crosses
// the Local pair into the bridge, reaches an Echo() agent and comes back.
func TestAudioAcrossLocalAndEcho(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	test := h.connect("omstil-test", false)
	one := h.channel("POST", "/ari/channels?endpoint=Local/1000@omstil-inbound&app=omstil-test&callerId=12345678", nil)
	h.advance(0)
	two := idOf(omstil.expect("StasisStart")[0])
	h.must(204, "POST", "/ari/channels/"+two+"/answer", nil)
	agent := h.channel("POST", "/ari/channels?endpoint=Local/1001@omstil-test-agents&app=omstil", nil)
	h.advance(0)
	test.collect()
	for {
		ev := omstil.next()
		if ev.Type() == "StasisStart" && idOf(ev) == agent.ID {
			break
		}
	}
	h.must(200, "POST", "/ari/bridges?bridgeId=call", nil)
	h.must(204, "POST", "/ari/bridges/call/addChannel?channel="+two+","+agent.ID, nil)
	h.must(201, "POST", "/ari/channels/"+one.ID+"/play?media=tone:697", nil)
	h.advance(time.Second)
	// what the agent's phone hears: the agent channel's written audio
	ha, _ := h.sim.Heard(agent.ID)
	if lvl := ha.ToneLevel(697); lvl < 0.8 {
		t.Fatalf("agent hears 697 Hz at %v", lvl)
	}
	// the echo comes back through the bridge to ;2, i.e. to the citizen
	h2, _ := h.sim.Heard(two)
	if lvl := h2.ToneLevel(697); lvl < 0.8 {
		t.Fatalf("citizen side hears the echo at %v", lvl)
	}
}

// TestExternalMediaRTP exercises real UDP: the simulator sends PCMU RTP of
// the bridge audio to external_host and plays RTP it receives into the
// bridge.
func TestExternalMediaRTP(t *testing.T) {
	h := newHarness(t, false, Options{})
	omstil := h.connect("omstil", false)
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	caller, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "12345678", ToneHz: 440})
	omstil.expect("StasisStart")
	var em Channel
	code, body := h.do("POST", "/ari/channels/externalMedia?app=omstil&external_host="+peer.LocalAddr().String()+"&format=ulaw", nil)
	if code != 200 {
		t.Fatalf("externalMedia: %d %s", code, body)
	}
	json.Unmarshal(body, &em)
	port, _ := strconv.Atoi(em.Channelvars["UNICASTRTP_LOCAL_PORT"])
	if em.Channelvars["UNICASTRTP_LOCAL_ADDRESS"] != "127.0.0.1" || port == 0 {
		t.Fatalf("channelvars %v", em.Channelvars)
	}
	var v map[string]string
	json.Unmarshal(h.must(200, "GET", "/ari/channels/"+em.ID+"/variable?variable=UNICASTRTP_LOCAL_PORT", nil), &v)
	if v["value"] != strconv.Itoa(port) {
		t.Fatalf("variable %v", v)
	}
	for {
		ev := omstil.next()
		if ev.Type() == "StasisStart" && idOf(ev) == em.ID {
			break
		}
	}
	h.must(200, "POST", "/ari/bridges?bridgeId=sp", nil)
	h.must(204, "POST", "/ari/bridges/sp/addChannel?channel="+caller.ID+","+em.ID, nil)

	// receive 50 packets (1 s) and check the header fields and the audio
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	var a Audio
	var lastSeq uint16
	var lastTS, ssrc uint32
	for i := 0; i < 60; i++ {
		n, _, err := peer.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		pkt := buf[:n]
		if n != 12+160 || pkt[0] != 0x80 || pkt[1]&0x7f != 0 {
			t.Fatalf("packet %d: len %d header %x", i, n, pkt[:2])
		}
		seq, ts, ss := binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[4:]), binary.BigEndian.Uint32(pkt[8:])
		if i > 0 && (seq != lastSeq+1 || ts != lastTS+160 || ss != ssrc) {
			t.Fatalf("packet %d: seq %d ts %d ssrc %x after %d %d %x", i, seq, ts, ss, lastSeq, lastTS, ssrc)
		}
		lastSeq, lastTS, ssrc = seq, ts, ss
		if i >= 10 { // skip the frames from before the bridge
			for _, b := range pkt[12:] {
				a.Samples = append(a.Samples, g711.DecodeUlaw(b))
			}
		}
	}
	if lvl := a.ToneLevel(440); lvl < 0.8 {
		t.Fatalf("RTP carries 440 Hz at level %v", lvl)
	}

	// send 1000 Hz back; the caller must hear it
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	g := newToneGen("1000")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		pkt := make([]byte, 12+160)
		pkt[0] = 0x80
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		binary.BigEndian.PutUint32(pkt[8:], 0x1234)
		for i, s := range g.frame() {
			pkt[12+i] = g711.EncodeUlaw(s)
		}
		if _, err := peer.WriteToUDP(pkt, dst); err != nil {
			t.Fatal(err)
		}
		if seq >= 60 {
			heard, _ := h.sim.Heard(caller.ID)
			if heard.ToneLevel(1000) > 0.8 {
				break
			}
		}
		select {
		case <-ctx.Done():
			heard, _ := h.sim.Heard(caller.ID)
			t.Fatalf("caller never heard the RTP tone: level %v", heard.ToneLevel(1000))
		case <-tick.C:
		}
	}
	st := h.sim.Stats()
	if st.RTPSent < 60 || st.RTPReceived < 60 {
		t.Fatalf("stats %+v", st)
	}
	h.must(204, "DELETE", "/ari/channels/"+em.ID, nil)
	if got := typesOf(omstil.collect()); got[len(got)-1] != "ChannelDestroyed" {
		t.Fatalf("externalMedia hangup events %v", got)
	}
}

func TestExternalMediaErrors(t *testing.T) {
	h := newHarness(t, true, Options{})
	tests := []struct {
		query string
		want  int
		msg   string
	}{
		{"external_host=127.0.0.1:9&format=ulaw", 400, "app cannot be empty"},
		{"app=omstil&format=ulaw", 400, "external_host is required for all but websocket server connections"},
		{"app=omstil&external_host=nohost&format=ulaw", 400, "external_host must be <host>:<port> for all transports other than websocket"},
		{"app=omstil&external_host=127.0.0.1:9", 400, "format cannot be empty"},
		{"app=omstil&external_host=127.0.0.1:9&format=ulaw&transport=tcp", 400, "transport must be 'udp' for rtp encapsulation"},
		{"app=omstil&external_host=127.0.0.1:9&format=ulaw&direction=in", 400, "Invalid direction specified"},
	}
	for _, tc := range tests {
		t.Run(tc.msg, func(t *testing.T) {
			code, body := h.do("POST", "/ari/channels/externalMedia?"+tc.query, nil)
			var m map[string]string
			json.Unmarshal(body, &m)
			if code != tc.want || m["message"] != tc.msg {
				t.Fatalf("got %d %s", code, body)
			}
		})
	}
}
