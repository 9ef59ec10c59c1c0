package softphone

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Session is one agent's media bridge. It lives from the agent's first page
// connection until Logout or Close, across page reloads, and holds at most
// one attached call. It is safe for concurrent use.
type Session struct {
	m     *Manager
	agent AgentID
	log   *slog.Logger
	st    counters
	down  *downlink
	cur   atomic.Pointer[relay] // the attached call, read on the media path

	mu       sync.Mutex
	page     *peer
	call     *relay
	closeErr error
	// Replayed to the next page: the agent's state and the call's.
	stateMsg, callMsg, holdMsg, consultMsg *Message
}

func newSession(m *Manager, agent AgentID, seq uint16, ts uint32) *Session {
	s := &Session{m: m, agent: agent, log: m.log.With("agent", string(agent))}
	s.st.delay = &m.delay
	s.down = newDownlink(m.now, &s.st, seq, ts)
	return s
}

// Agent returns the session's agent.
func (s *Session) Agent() AgentID { return s.agent }

// AttachCall opens the relay for call: a UDP socket on a free port of the
// relay range. Give the returned host:port to ARI externalMedia as
// external_host (format=ulaw). Audio flows between the socket and the
// agent's page from now until DetachCall. Attaching the call that is
// already attached returns the same address; another call while one is
// attached is ErrCallActive. A page need not be connected: audio reaches
// the next page that connects.
func (s *Session) AttachCall(call CallID) (relayAddr string, err error) {
	return s.attach(call, "")
}

// attach opens call's relay on a free port, or on exactly at when it is
// not empty.
func (s *Session) attach(call CallID, at string) (relayAddr string, err error) {
	if call == "" {
		return "", fmt.Errorf("softphone: AttachCall: empty call ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeErr != nil {
		return "", s.closeErr
	}
	if s.call != nil {
		if s.call.call == call {
			return s.call.addr, nil
		}
		return "", fmt.Errorf("%w: %s (agent %s has %s)", ErrCallActive, call, s.agent, s.call.call)
	}
	var conn *net.UDPConn
	var port int
	switch mx := s.m.mux; {
	case mx != nil:
		if at != "" && !sameAddr(at, mx.addr) {
			return "", fmt.Errorf("softphone: relay address %s is not the shared relay port %s", at, mx.addr)
		}
	case at == "":
		conn, port, err = s.m.ports.open()
	default:
		conn, port, err = s.m.ports.openAt(at)
	}
	if err != nil {
		return "", err
	}
	s.down.newSource()
	r := newRelay(call, conn, port, s.m.mux, s.down, &s.st, s.m.now, s.log,
		rand.Uint32(), uint16(rand.Uint32()), rand.Uint32())
	s.call = r
	s.cur.Store(r)
	s.log.Info("softphone: call attached", "call", call, "relay", r.addr)
	return r.addr, nil
}

// SetRemote gives the relay of call Asterisk's RTP address, host:port from
// the externalMedia channel's variables UNICASTRTP_LOCAL_ADDRESS and
// UNICASTRTP_LOCAL_PORT. The agent's audio goes there until Asterisk's
// first packet arrives; from then on that packet's source address is used
// (symmetric RTP). Once SetRemote is called, only packets from its IP
// address are accepted as the call's audio.
func (s *Session) SetRemote(call CallID, addr string) error {
	s.mu.Lock()
	r := s.call
	s.mu.Unlock()
	if r == nil || r.call != call {
		return fmt.Errorf("%w: %s", ErrUnknownCall, call)
	}
	return r.setRemote(addr)
}

// DetachCall closes call's relay socket and frees its port; audio stops in
// both directions. ErrUnknownCall if call is not attached.
func (s *Session) DetachCall(call CallID) error {
	s.mu.Lock()
	r := s.call
	if r == nil || r.call != call {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownCall, call)
	}
	s.call = nil
	s.cur.Store(nil)
	s.mu.Unlock()
	s.closeRelay(r)
	s.log.Info("softphone: call detached", "call", call)
	return nil
}

func (s *Session) closeRelay(r *relay) {
	r.close()
	if r.mux == nil {
		s.m.ports.release(r.port)
	}
}

// sameAddr reports whether two host:port strings are the same address.
func sameAddr(a, b string) bool {
	x, err1 := netip.ParseAddrPort(a)
	y, err2 := netip.ParseAddrPort(b)
	return err1 == nil && err2 == nil && x.Addr().Unmap() == y.Addr().Unmap() && x.Port() == y.Port()
}

// Call returns the attached call, if any.
func (s *Session) Call() (CallID, bool) {
	if r := s.cur.Load(); r != nil {
		return r.call, true
	}
	return "", false
}

// notifyTypes are the messages the adapter may push.
var notifyTypes = map[string]bool{"ring": true, "connected": true, "ended": true, "hold": true, "state": true, "consult": true}

// Notify pushes a call or state message to the agent's page: ring,
// connected, ended, hold, consult or state (build them with RingMessage and
// the other constructors). The latest state message, and the current
// call's latest ring/connected, hold and consult, are kept and replayed to
// a page that connects later (a reload), until ended. ErrNoPage when no
// page is connected.
func (s *Session) Notify(msg Message) error {
	if !notifyTypes[msg.Type] {
		return fmt.Errorf("softphone: Notify: %q is not a message the adapter sends", msg.Type)
	}
	keep := msg
	s.mu.Lock()
	switch msg.Type {
	case "ring", "connected":
		s.callMsg = &keep
		if msg.Type == "ring" {
			s.holdMsg, s.consultMsg = nil, nil
		}
	case "hold":
		s.holdMsg = &keep
	case "consult":
		s.consultMsg = &keep
	case "ended":
		s.callMsg, s.holdMsg, s.consultMsg = nil, nil, nil
	case "state":
		s.stateMsg = &keep
	}
	p, closed := s.page, s.closeErr
	s.mu.Unlock()
	if closed != nil {
		return closed
	}
	if p == nil {
		return ErrNoPage
	}
	return p.send(msg)
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	st := Stats{Sessions: 1}
	if s.page != nil {
		st.Pages = 1
	}
	if s.call != nil {
		st.Calls = 1
	}
	s.mu.Unlock()
	st.ToBrowser = s.st.toBrowser.Load()
	st.ToAsterisk = s.st.toAsterisk.Load()
	st.DroppedNoCall = s.st.droppedNoCall.Load()
	st.DroppedNoPage = s.st.droppedNoPage.Load()
	st.DroppedForeign = s.st.droppedForeign.Load()
	st.DroppedOther = st.DroppedForeign + s.st.droppedBad.Load()
	return st
}

// serve runs one page connection; see Manager.Serve.
func (s *Session) serve(ctx context.Context, conn MessageConn, o serveOptions) error {
	p := newPeer(ctx, s, conn)
	p.opts = o
	s.mu.Lock()
	if s.closeErr != nil {
		err := s.closeErr
		s.mu.Unlock()
		return err
	}
	old := s.page
	s.page = p
	p.active.Store(true)
	s.down.setSink(nil)
	s.mu.Unlock()
	if old != nil {
		old.active.Store(false)
		old.finish(ErrReplaced, &Message{Type: "error", Code: CodeReplaced, Message: "replaced by another tab"})
		s.log.Info("softphone: page replaced by another tab")
	} else if c := s.m.callControl(); c != nil {
		c.PageOnline(s.agent, true)
	}

	err := p.run()

	s.mu.Lock()
	current := s.page == p
	if current {
		s.page = nil
		s.down.setSink(nil)
	}
	closed := s.closeErr != nil
	s.mu.Unlock()
	p.active.Store(false)
	p.closePC()
	if current && !closed {
		if c := s.m.callControl(); c != nil {
			c.PageOnline(s.agent, false)
		}
	}
	return err
}

// setSinkFor points the downlink at p's track if p is the current page.
func (s *Session) setSinkFor(p *peer, w rtpWriter) {
	s.mu.Lock()
	if s.page == p {
		s.down.setSink(w)
	}
	s.mu.Unlock()
}

// welcome is the reply to hello, followed by the kept messages.
func (s *Session) welcome() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := Message{Type: "welcome", ICEServers: s.m.cfg.ICEServers}
	if s.call != nil {
		w.Call = s.call.call
		w.Muted = s.call.muted.Load()
	}
	out := []Message{w}
	for _, m := range []*Message{s.stateMsg, s.callMsg, s.holdMsg, s.consultMsg} {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// close ends the session for good.
func (s *Session) close(cause error, code, text string) {
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return
	}
	s.closeErr = cause
	p, r := s.page, s.call
	s.call = nil
	s.cur.Store(nil)
	s.down.setSink(nil)
	s.mu.Unlock()
	if r != nil {
		s.closeRelay(r)
	}
	if p != nil {
		p.active.Store(false)
		p.finish(cause, &Message{Type: "error", Code: code, Message: text})
	}
}
