package softphone

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRelayAsteriskToBrowserAcrossCalls(t *testing.T) {
	m := newTestManager(t, 47100, 47109)
	s, _ := m.openSession("agent-1")
	sink := make(sinkChan, 64)
	s.down.setSink(sink)
	ast := newFakeAsterisk(t, "127.0.0.1")

	addr, err := s.AttachCall("call-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:4710") {
		t.Fatalf("relay address %q is not in 127.0.0.1:47100-47109", addr)
	}
	if again, err := s.AttachCall("call-1"); err != nil || again != addr {
		t.Fatalf("attaching the same call again = %q, %v; want %q", again, err, addr)
	}
	if _, err := s.AttachCall("call-2"); !errors.Is(err, ErrCallActive) {
		t.Fatalf("second call while one is attached: %v, want ErrCallActive", err)
	}

	// Not PCMU, not RTP: dropped, never transcoded or passed on.
	p8 := pcmu(11, 1, 1, 0xD5)
	p8.PayloadType = 8
	ast.send(addr, p8)
	ast.sendRaw(addr, []byte("not rtp"))
	for i := range 3 {
		ast.send(addr, pcmu(11, uint16(100+i), uint32(1000+160*i), byte(i)))
	}
	var got []uint16
	var first uint32
	for i := range 3 {
		p := sink.next(t)
		if p.PayloadType != 0 || p.Payload[0] != byte(i) || len(p.Payload) != 160 {
			t.Fatalf("packet %d: PT %d payload[0] %d len %d: want the PCMU payload unchanged", i, p.PayloadType, p.Payload[0], len(p.Payload))
		}
		if i == 0 {
			first = p.Timestamp
		} else if p.Timestamp != first+uint32(160*i) {
			t.Errorf("packet %d: timestamp %d, want %d", i, p.Timestamp, first+uint32(160*i))
		}
		got = append(got, p.SequenceNumber)
	}
	if err := s.DetachCall("call-2"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("detaching a call that is not attached: %v", err)
	}
	if err := s.DetachCall("call-1"); err != nil {
		t.Fatal(err)
	}
	if n := m.ports.inUse(); n != 0 {
		t.Fatalf("%d ports in use after DetachCall", n)
	}

	addr2, err := s.AttachCall("call-2")
	if err != nil {
		t.Fatal(err)
	}
	if addr2 == addr {
		t.Errorf("the next call got the port just freed (%s); want round robin", addr)
	}
	// Late audio of the ended call goes to a closed port and nowhere else.
	ast.send(addr, pcmu(11, 103, 1480, 99))
	ast.send(addr2, pcmu(77, 5000, 0, 42))
	p := sink.next(t)
	if p.Payload[0] != 42 {
		t.Fatalf("got payload %d, want the second call's 42", p.Payload[0])
	}
	if p.SequenceNumber != got[2]+1 || !p.Marker {
		t.Errorf("second call's first packet: seq %d marker %v, want seq %d with marker", p.SequenceNumber, p.Marker, got[2]+1)
	}
	if p.Timestamp-first < 3*160 {
		t.Errorf("second call's timestamp %d does not move on from the first call's (%d)", p.Timestamp, first)
	}
	// 2 dropped (PCMA, garbage), 4 to the browser.
	waitStat(t, s, func(st Stats) bool { return st.DroppedOther == 2 && st.ToBrowser == 4 })
}

func TestRelayBrowserToAsterisk(t *testing.T) {
	m := newTestManager(t, 47110, 47119)
	s, _ := m.openSession("agent-1")
	astA := newFakeAsterisk(t, "127.0.0.1")
	astB := newFakeAsterisk(t, "127.0.0.1")
	addr, err := s.AttachCall("c")
	if err != nil {
		t.Fatal(err)
	}
	r := s.cur.Load()

	// Before SetRemote and before Asterisk sends: nowhere to send.
	r.fromBrowser(pcmu(5, 1, 1, 1))
	if st := s.Stats(); st.ToAsterisk != 0 || st.DroppedNoCall != 1 {
		t.Fatalf("stats %+v: want the packet dropped", st)
	}

	if err := s.SetRemote("c", "not-an-address"); err == nil {
		t.Error("SetRemote accepted a bad address")
	}
	if err := s.SetRemote("other", astA.addr()); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("SetRemote for another call: %v", err)
	}
	if err := s.SetRemote("c", astA.addr()); err != nil {
		t.Fatal(err)
	}
	r.fromBrowser(pcmu(5, 10, 800, 7))
	p, from := astA.recv()
	if from.String() != addr {
		t.Errorf("RTP came from %s, want the relay's own address %s (symmetric RTP)", from, addr)
	}
	if p.Payload[0] != 7 || p.SSRC == 5 {
		t.Errorf("to Asterisk: payload %d ssrc %d; want payload 7 and the relay's own SSRC", p.Payload[0], p.SSRC)
	}
	ssrc, seq := p.SSRC, p.SequenceNumber

	// Asterisk's first packet comes from B (same IP): the source wins.
	astB.send(addr, pcmu(1, 1, 1, 0))
	// Wait until the relay has read it: a foreign packet from A afterwards
	// must be counted as dropped.
	astA.send(addr, pcmu(1, 2, 161, 0))
	waitStat(t, s, func(st Stats) bool { return st.DroppedOther == 1 })

	// A page reload: a new browser SSRC, sequence continues for Asterisk.
	r.muted.Store(true)
	r.fromBrowser(pcmu(6, 30000, 5, 9))
	p, _ = astB.recv()
	if p.SSRC != ssrc || p.SequenceNumber != seq+1 {
		t.Errorf("after the browser's SSRC changed: ssrc %d seq %d, want %d %d", p.SSRC, p.SequenceNumber, ssrc, seq+1)
	}
	if !bytes.Equal(p.Payload, bytes.Repeat([]byte{silencePCMU}, 160)) {
		t.Errorf("muted: payload %v..., want µ-law silence", p.Payload[:4])
	}
	if astA.pending() {
		t.Error("audio still went to SetRemote's address after Asterisk's own source was learned")
	}
}

func TestRelayRemoteIPRestriction(t *testing.T) {
	m := newTestManager(t, 47120, 47129)
	s, _ := m.openSession("agent-1")
	sink := make(sinkChan, 8)
	s.down.setSink(sink)
	intruder := newFakeAsterisk(t, "127.0.0.1")
	ast := newFakeAsterisk(t, "127.0.0.2")
	addr, _ := s.AttachCall("c")
	if err := s.SetRemote("c", ast.addr()); err != nil {
		t.Fatal(err)
	}
	intruder.send(addr, pcmu(1, 1, 1, 66))
	ast.send(addr, pcmu(2, 1, 1, 55))
	if p := sink.next(t); p.Payload[0] != 55 {
		t.Fatalf("got payload %d, want only Asterisk's (55)", p.Payload[0])
	}
	waitStat(t, s, func(st Stats) bool { return st.DroppedOther == 1 })
}

func TestPortRangeExhaustion(t *testing.T) {
	m := newTestManager(t, 47130, 47131)
	a, _ := m.openSession("a")
	b, _ := m.openSession("b")
	c, _ := m.openSession("c")
	if _, err := a.AttachCall("1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachCall("2"); err != nil {
		t.Fatal(err)
	}
	_, err := c.AttachCall("3")
	if !errors.Is(err, ErrNoPorts) || !strings.Contains(err.Error(), "47130-47131") {
		t.Fatalf("third call in a 2-port range: %v; want ErrNoPorts naming the range", err)
	}
	if err := a.DetachCall("1"); err != nil {
		t.Fatal(err)
	}
	addr, err := c.AttachCall("3")
	if err != nil || addr != "127.0.0.1:47130" {
		t.Fatalf("after a port was freed: %q, %v; want 127.0.0.1:47130", addr, err)
	}
	m.Logout("b")
	if n := m.ports.inUse(); n != 1 {
		t.Errorf("after Logout: %d ports in use, want 1", n)
	}
	m.Close()
	m.Close()
	if n := m.ports.inUse(); n != 0 {
		t.Errorf("after Close: %d ports in use, want 0", n)
	}
	if _, err := c.AttachCall("4"); !errors.Is(err, ErrClosed) {
		t.Errorf("AttachCall after Close: %v, want ErrClosed", err)
	}
}

func TestRelayStripsHeaderExtras(t *testing.T) {
	m := newTestManager(t, 47140, 47149)
	s, _ := m.openSession("agent-1")
	sink := make(sinkChan, 8)
	s.down.setSink(sink)
	ast := newFakeAsterisk(t, "127.0.0.1")
	addr, _ := s.AttachCall("c")
	p := pcmu(1, 1, 1, 0x42)
	p.CSRC = []uint32{9, 10}
	if err := p.SetExtension(1, []byte{0xAA}); err != nil {
		t.Fatal(err)
	}
	ast.send(addr, p)
	got := sink.next(t)
	if got.Extension || len(got.Extensions) != 0 || len(got.CSRC) != 0 || got.Padding {
		t.Errorf("forwarded header %+v: want no extension, CSRC or padding", got.Header)
	}
	if !bytes.Equal(got.Payload, p.Payload) {
		t.Error("payload changed")
	}
}

// TestReattachAfterRestart: a restarted omstil takes over a call's relay at
// the address Asterisk still sends to; the call's audio reaches the agent
// and the agent's reaches Asterisk. Addresses outside the range, or taken
// by another call, are refused and change nothing.
func TestReattachAfterRestart(t *testing.T) {
	// The "old process": a relay at some port of the range.
	old := newTestManager(t, 47140, 47149)
	s0, _ := old.openSession("agent-1")
	addr, err := s0.AttachCall("call-1")
	if err != nil {
		t.Fatal(err)
	}
	old.Close() // omstil stops; Asterisk keeps sending to addr

	m := newTestManager(t, 47140, 47149)
	for _, bad := range []string{"127.0.0.1:47150", "10.0.0.1:47141", "nonsense"} {
		if err := m.Reattach("agent-2", "call-9", bad); err == nil {
			t.Errorf("Reattach at %q: want an error", bad)
		}
	}
	if n := m.Stats().Calls; n != 0 {
		t.Fatalf("refused reattaches left %d relay ports in use", n)
	}
	if err := m.Reattach("agent-1", "call-1", addr); err != nil {
		t.Fatalf("Reattach at %s: %v", addr, err)
	}
	if err := m.Reattach("agent-1", "call-1", addr); err != nil {
		t.Fatalf("Reattach again: %v, want no-op", err)
	}
	if err := m.Reattach("agent-3", "call-3", addr); err == nil {
		t.Fatalf("a second call at the same relay address: want an error")
	}
	s, ok := m.Session("agent-1")
	if !ok {
		t.Fatal("Reattach did not create the agent's session")
	}
	if c, ok := s.Call(); !ok || c != "call-1" {
		t.Fatalf("attached call = %q, %v", c, ok)
	}
	checkReattachedAudio(t, s, "call-1", addr)
}

// checkReattachedAudio: once SetRemote names a fake Asterisk, audio flows
// both ways through the relay of call, reattached at addr.
func checkReattachedAudio(t *testing.T, s *Session, call CallID, addr string) {
	t.Helper()
	sink := make(sinkChan, 8)
	s.down.setSink(sink)
	ast := newFakeAsterisk(t, "127.0.0.1")
	if err := s.SetRemote(call, ast.addr()); err != nil {
		t.Fatal(err)
	}
	ast.send(addr, pcmu(5, 1, 160, 0x42))
	if p := sink.next(t); p.Payload[0] != 0x42 {
		t.Fatalf("call audio after the reattach: payload %x", p.Payload[0])
	}
	s.cur.Load().fromBrowser(pcmu(7, 1, 160, 0x17))
	if p, _ := ast.recv(); p.Payload[0] != 0x17 {
		t.Fatalf("agent audio after the reattach: payload %x", p.Payload[0])
	}
}

// TestStatsTotalsOutliveSessions: the packet counts Stats gives are
// totals since the Manager started (exported as Prometheus counters, which
// must never go down): an agent logging out keeps their packets in them,
// and the agent's next session adds to them.
func TestStatsTotalsOutliveSessions(t *testing.T) {
	m := newTestManager(t, 47150, 47159)
	ast := newFakeAsterisk(t, "127.0.0.1")
	relayTo := func(n int) {
		t.Helper()
		s, _ := m.openSession("agent-1")
		sink := make(sinkChan, 64)
		s.down.setSink(sink)
		addr, err := s.AttachCall(CallID(fmt.Sprint("call-", n)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ast.send(addr, pcmu(11, uint16(i), uint32(160*i), byte(i)))
			sink.next(t)
		}
		ast.sendRaw(addr, []byte("not rtp"))
		waitStat(t, s, func(st Stats) bool { return st.DroppedOther == 1 })
	}
	relayTo(3)
	if st := m.Stats(); st.ToBrowser != 3 || st.DroppedOther != 1 {
		t.Fatalf("before logout: %+v, want 3 to the browser and 1 dropped", st)
	}
	m.Logout("agent-1")
	if st := m.Stats(); st.ToBrowser != 3 || st.DroppedOther != 1 || st.Sessions != 0 {
		t.Fatalf("after logout: %+v, want the 3 and 1 kept, no session", st)
	}
	relayTo(2)
	if st := m.Stats(); st.ToBrowser != 5 || st.DroppedOther != 2 {
		t.Fatalf("next session: %+v, want 5 to the browser and 2 dropped in all", st)
	}
}
