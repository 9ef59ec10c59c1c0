package softphone

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func newSharedManager(t testing.TB, port int) *Manager {
	t.Helper()
	m, err := New(Config{PortMin: port, PortMax: port + 9, LoopbackOnly: true, SharedPort: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestSharedPortKeepsCallsApart: with one relay port for every call, each
// call's audio from Asterisk reaches only its own agent, told apart by
// Asterisk's address for the call; each agent's audio goes only to its
// own call's address; audio from an address no call has, or from a call
// that was detached, reaches nobody.
func TestSharedPortKeepsCallsApart(t *testing.T) {
	m := newSharedManager(t, 47200)
	type agent struct {
		s    *Session
		sink sinkChan
		ast  *fakeAsterisk
		addr string
	}
	agents := make([]*agent, 3)
	for i := range agents {
		s, _ := m.openSession(AgentID([]string{"anna", "bo", "carl"}[i]))
		a := &agent{s: s, sink: make(sinkChan, 16), ast: newFakeAsterisk(t, "127.0.0.1")}
		s.down.setSink(a.sink)
		addr, err := s.AttachCall(CallID("call-" + string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		if addr != "127.0.0.1:47200" {
			t.Fatalf("relay address %s, want the shared 127.0.0.1:47200", addr)
		}
		a.addr = addr
		agents[i] = a
	}
	// Before SetRemote Asterisk's audio has no call: nobody gets it.
	agents[0].ast.send(agents[0].addr, pcmu(1, 1, 160, 0xEE))
	waitFor := func(cond func(Stats) bool) {
		t.Helper()
		waitStat(t, agents[0].s, func(Stats) bool { return cond(m.Stats()) })
	}
	waitFor(func(st Stats) bool { return st.DroppedOther == 1 })

	for i, a := range agents {
		call, _ := a.s.Call()
		if err := a.s.SetRemote(call, a.ast.addr()); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := agents[2].s.SetRemote("call-c", a.ast.addr()); err == nil {
				t.Fatal("two calls were given the same Asterisk address")
			}
		}
	}
	if err := agents[0].s.SetRemote("call-a", "0.0.0.0:4000"); err == nil {
		t.Error("SetRemote accepted an unspecified address on the shared port")
	}
	for round := range 3 {
		for i, a := range agents {
			a.ast.send(a.addr, pcmu(uint32(i+1), uint16(round), uint32(160*round), byte(10*i+round)))
		}
		for i, a := range agents {
			if p := a.sink.next(t); p.Payload[0] != byte(10*i+round) {
				t.Fatalf("round %d: agent %d got payload %d, want its own call's %d", round, i, p.Payload[0], 10*i+round)
			}
		}
	}
	for i, a := range agents {
		a.s.cur.Load().fromBrowser(pcmu(99, 1, 160, byte(100+i)))
	}
	for i, a := range agents {
		p, from := a.ast.recv()
		if p.Payload[0] != byte(100+i) {
			t.Fatalf("call %d: Asterisk got payload %d, want its own agent's %d", i, p.Payload[0], 100+i)
		}
		if from.String() != a.addr {
			t.Errorf("call %d: audio came from %s, want the shared port %s (symmetric RTP)", i, from, a.addr)
		}
	}
	for i, a := range agents {
		if a.ast.pending() {
			t.Errorf("call %d: Asterisk got another agent's audio too", i)
		}
	}
	if st := m.Stats(); st.Calls != 3 {
		t.Errorf("Stats.Calls = %d, want 3 attached calls", st.Calls)
	}

	// Bo's call ends: his call's audio reaches nobody any more, the others
	// go on.
	if err := agents[1].s.DetachCall("call-b"); err != nil {
		t.Fatal(err)
	}
	before := m.Stats().DroppedOther
	agents[1].ast.send(agents[1].addr, pcmu(2, 9, 1440, 0x77))
	agents[0].ast.send(agents[0].addr, pcmu(1, 9, 1440, 0x55))
	if p := agents[0].sink.next(t); p.Payload[0] != 0x55 {
		t.Fatalf("anna got payload %x after bo's call ended", p.Payload[0])
	}
	waitFor(func(st Stats) bool { return st.DroppedOther == before+1 })
	if len(agents[1].sink) != 0 {
		t.Fatal("a detached call's audio reached its agent")
	}
	// the address is free for a new call
	if _, err := agents[1].s.AttachCall("call-b2"); err != nil {
		t.Fatal(err)
	}
	if err := agents[1].s.SetRemote("call-b2", agents[1].ast.addr()); err != nil {
		t.Fatalf("a new call at the address of an ended one: %v", err)
	}
}

// TestSharedPortReattach: after a restart the relay comes back on the
// shared port; another address is refused.
func TestSharedPortReattach(t *testing.T) {
	old := newSharedManager(t, 47210)
	s0, _ := old.openSession("anna")
	addr, err := s0.AttachCall("call-1")
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	m := newSharedManager(t, 47210)
	if err := m.Reattach("anna", "call-1", "127.0.0.1:47211"); err == nil {
		t.Fatal("Reattach at a port that is not the shared one: want an error")
	}
	if err := m.Reattach("anna", "call-1", addr); err != nil {
		t.Fatalf("Reattach at %s: %v", addr, err)
	}
	s, _ := m.Session("anna")
	checkReattachedAudio(t, s, "call-1", addr)
}

// TestSharedPortInUse: a shared port someone else holds is a clear error
// at start.
func TestSharedPortInUse(t *testing.T) {
	newSharedManager(t, 47220)
	if _, err := New(Config{PortMin: 47220, PortMax: 47229, LoopbackOnly: true, SharedPort: true}, nil); err == nil {
		t.Fatal("a second Manager got the same shared port")
	}
}

// lockedBuffer is a log sink goroutines may write to while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSharedPortWarnsOfStrayStream: a steady stream to the shared port
// from an address no call has (Asterisk behind NAT, say) is logged once,
// with the address and what the shared port needs; a few stray packets
// (late audio of an ended call) are counted but not logged.
func TestSharedPortWarnsOfStrayStream(t *testing.T) {
	var logs lockedBuffer
	m, err := New(Config{PortMin: 47230, PortMax: 47239, LoopbackOnly: true, SharedPort: true},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s, _ := m.openSession("anna")
	addr, err := s.AttachCall("call-1")
	if err != nil {
		t.Fatal(err)
	}
	natted, late := newFakeAsterisk(t, "127.0.0.1"), newFakeAsterisk(t, "127.0.0.1")
	for i := range 10 {
		late.send(addr, pcmu(1, uint16(i), uint32(160*i), 0))
	}
	for i := range 2 * strayWarnAfter {
		natted.send(addr, pcmu(2, uint16(i), uint32(160*i), 0))
	}
	waitStat(t, s, func(Stats) bool { return m.Stats().DroppedForeign == 10+2*strayWarnAfter })
	if st := m.Stats(); st.DroppedOther != st.DroppedForeign {
		t.Errorf("DroppedOther %d, DroppedForeign %d: want the same (nothing else was dropped)", st.DroppedOther, st.DroppedForeign)
	}
	out := logs.String()
	if got := strings.Count(out, "no call has"); got != 1 {
		t.Fatalf("%d warnings, want one for the steady stream:\n%s", got, out)
	}
	if !strings.Contains(out, natted.addr()) || !strings.Contains(out, "no NAT") {
		t.Errorf("the warning does not name %s and what the shared port needs:\n%s", natted.addr(), out)
	}
	if strings.Contains(out, late.addr()) {
		t.Errorf("ten late packets were logged:\n%s", out)
	}
}
