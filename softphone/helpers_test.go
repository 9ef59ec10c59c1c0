package softphone

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// waitFor bounds every wait for real network I/O or a goroutine's reply.
const waitFor = 10 * time.Second

func newTestManager(t testing.TB, portMin, portMax int) *Manager {
	t.Helper()
	m, err := New(Config{PortMin: portMin, PortMax: portMax, LoopbackOnly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// fakeAsterisk is the test's stand-in for an externalMedia channel's RTP
// socket.
type fakeAsterisk struct {
	t    testing.TB
	conn *net.UDPConn
}

func newFakeAsterisk(t testing.TB, ip string) *fakeAsterisk {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakeAsterisk{t: t, conn: conn}
}

func (a *fakeAsterisk) addr() string { return a.conn.LocalAddr().String() }

func (a *fakeAsterisk) send(to string, p *rtp.Packet) {
	a.t.Helper()
	b, err := p.Marshal()
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.conn.WriteToUDPAddrPort(b, netip.MustParseAddrPort(to)); err != nil {
		a.t.Fatal(err)
	}
}

func (a *fakeAsterisk) sendRaw(to string, b []byte) {
	a.t.Helper()
	if _, err := a.conn.WriteToUDPAddrPort(b, netip.MustParseAddrPort(to)); err != nil {
		a.t.Fatal(err)
	}
}

// recv waits (network I/O) for one RTP packet.
func (a *fakeAsterisk) recv() (*rtp.Packet, netip.AddrPort) {
	a.t.Helper()
	buf := make([]byte, 1500)
	a.conn.SetReadDeadline(time.Now().Add(waitFor))
	n, from, err := a.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		a.t.Fatalf("fake Asterisk %s: no RTP: %v", a.addr(), err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		a.t.Fatal(err)
	}
	return &p, from
}

// pending reports whether a datagram is already waiting, without waiting
// for one.
func (a *fakeAsterisk) pending() bool {
	buf := make([]byte, 1500)
	a.conn.SetReadDeadline(time.Now())
	_, _, err := a.conn.ReadFromUDPAddrPort(buf)
	return err == nil
}

func pcmu(ssrc uint32, seq uint16, ts uint32, fill byte) *rtp.Packet {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = fill
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
}

// sinkChan is an rtpWriter standing in for the browser track.
type sinkChan chan *rtp.Packet

func (s sinkChan) WriteRTP(p *rtp.Packet) error {
	s <- p.Clone()
	return nil
}

func (s sinkChan) next(t testing.TB) *rtp.Packet {
	t.Helper()
	select {
	case p := <-s:
		return p
	case <-time.After(waitFor):
		t.Fatal("no packet reached the browser side")
		return nil
	}
}

// pipeConn is a MessageConn for tests; the test plays the page.
type pipeConn struct {
	in     chan []byte // page → server
	out    chan []byte // server → page
	closed chan struct{}
	once   sync.Once
}

func newPipeConn() *pipeConn {
	return &pipeConn{in: make(chan []byte, 16), out: make(chan []byte, 256), closed: make(chan struct{})}
}

func (c *pipeConn) ReadMessage(ctx context.Context) ([]byte, error) {
	select {
	case b := <-c.in:
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-c.closed:
		return nil, io.EOF
	}
}

func (c *pipeConn) WriteMessage(ctx context.Context, b []byte) error {
	select {
	case c.out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return io.ErrClosedPipe
	}
}

func (c *pipeConn) close() { c.once.Do(func() { close(c.closed) }) }

// page drives one signalling connection from the test.
type page struct {
	t       testing.TB
	conn    *pipeConn
	done    chan error // Serve's result
	welcome Message    // the answer to the first hello
}

func connectPage(t testing.TB, m *Manager, agent AgentID) *page {
	t.Helper()
	p := &page{t: t, conn: newPipeConn(), done: make(chan error, 1)}
	go func() { p.done <- m.Serve(context.Background(), agent, p.conn) }()
	t.Cleanup(p.conn.close)
	p.sendJSON(`{"type":"hello","id":"h"}`)
	p.welcome = p.expect("welcome")
	return p
}

func (p *page) sendJSON(s string) { p.conn.in <- []byte(s) }

func (p *page) send(m Message) {
	b, err := json.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.conn.in <- b
}

// next returns the next message from the server.
func (p *page) next() Message {
	p.t.Helper()
	select {
	case b := <-p.conn.out:
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Fatalf("server sent %q: %v", b, err)
		}
		return m
	case <-time.After(waitFor):
		p.t.Fatal("no message from the server")
		return Message{}
	}
}

// expect returns the next message that is not a trickled candidate or a
// media state change, failing unless it has type typ.
func (p *page) expect(typ string) Message {
	p.t.Helper()
	for {
		m := p.next()
		if m.Type == "candidate" || m.Type == "media" {
			continue
		}
		if m.Type != typ {
			p.t.Fatalf("got %+v, want a %q message", m, typ)
		}
		return m
	}
}

// ended waits for Serve to return.
func (p *page) ended() error {
	p.t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(waitFor):
		p.t.Fatal("Serve did not return")
		return nil
	}
}

// fakeControl records the call-control requests.
type fakeControl struct {
	mu     sync.Mutex
	calls  []string
	err    error
	online chan bool
}

func newFakeControl() *fakeControl { return &fakeControl{online: make(chan bool, 16)} }

func (f *fakeControl) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeControl) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeControl) Answer(_ context.Context, a AgentID, c CallID) error {
	return f.record("answer " + string(a) + " " + string(c))
}
func (f *fakeControl) Decline(_ context.Context, a AgentID, c CallID) error {
	return f.record("decline " + string(a) + " " + string(c))
}
func (f *fakeControl) Hangup(_ context.Context, a AgentID, c CallID) error {
	return f.record("hangup " + string(a) + " " + string(c))
}
func (f *fakeControl) Hold(_ context.Context, a AgentID, c CallID, on bool) error {
	s := "hold " + string(a) + " " + string(c) + " off"
	if on {
		s = "hold " + string(a) + " " + string(c) + " on"
	}
	return f.record(s)
}
func (f *fakeControl) Transfer(_ context.Context, a AgentID, c CallID, t Transfer) error {
	return f.record("transfer " + string(a) + " " + string(c) + " " + t.Mode + " " + t.Kind + " " + t.To)
}
func (f *fakeControl) SendDTMF(_ context.Context, a AgentID, c CallID, d string) error {
	return f.record("dtmf " + string(a) + " " + string(c) + " " + d)
}
func (f *fakeControl) SetState(_ context.Context, a AgentID, s AgentState, reason string) error {
	return f.record("state " + string(a) + " " + string(s) + " " + reason)
}
func (f *fakeControl) PageOnline(a AgentID, online bool) { f.online <- online }

var errBoom = errors.New("ari: POST /channels/x/answer: 500 internal")

// waitStat polls a session's counters (they move on real network I/O).
func waitStat(t testing.TB, s *Session, ok func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !ok(s.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("counters never got there: %+v", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}
