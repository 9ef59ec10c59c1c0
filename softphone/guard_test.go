package softphone

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func connectGuarded(t *testing.T, m *Manager, agent AgentID, opts ...ServeOption) *page {
	t.Helper()
	p := &page{t: t, conn: newPipeConn(), done: make(chan error, 1)}
	go func() { p.done <- m.Serve(context.Background(), agent, p.conn, opts...) }()
	t.Cleanup(p.conn.close)
	return p
}

// guardedOnCall connects agent-1's page with an Authorize check whose
// answer the test sends on verdict (none waiting: allowed), and attaches
// call c1 to the session.
func guardedOnCall(t *testing.T, portMin, portMax int) (*Manager, *fakeControl, *page, chan<- error) {
	t.Helper()
	m := newTestManager(t, portMin, portMax)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	verdict := make(chan error, 1)
	p := connectGuarded(t, m, "agent-1", Authorize(func(context.Context) error {
		select {
		case err := <-verdict:
			return err
		default:
			return nil
		}
	}))
	p.sendJSON(`{"type":"hello","id":"h"}`)
	p.expect("welcome")
	<-ctl.online
	s, _ := m.Session("agent-1")
	if _, err := s.AttachCall("c1"); err != nil {
		t.Fatal(err)
	}
	return m, ctl, p, verdict
}

// TestAuthorizeRefusesOrRevokes: a *ControlError from Authorize refuses
// only that message; any other error revokes the page, which logs the
// agent out and sends its call's citizen back to the queue.
func TestAuthorizeRefusesOrRevokes(t *testing.T) {
	m, ctl, p, verdict := guardedOnCall(t, 47600, 47609)

	verdict <- &ControlError{Code: CodeUnavailable, Message: "cannot check"}
	p.sendJSON(`{"type":"ready","id":"r1"}`)
	if e := p.expect("error"); e.ID != "r1" || e.Code != CodeUnavailable {
		t.Errorf("refused message got %+v", e)
	}
	if got := ctl.last(); got != "" {
		t.Errorf("a refused message reached the adapter: %q", got)
	}
	p.sendJSON(`{"type":"ping","id":"p"}`)
	p.expect("pong")

	verdict <- errors.New("session gone")
	p.sendJSON(`{"type":"ready","id":"r2"}`)
	if e := p.expect("error"); e.ID != "" || e.Code != CodeLoggedOut {
		t.Errorf("revoked page got %+v", e)
	}
	if err := p.ended(); !errors.Is(err, ErrRevoked) {
		t.Errorf("Serve returned %v, want ErrRevoked", err)
	}
	ctl.mu.Lock()
	calls := append([]string(nil), ctl.calls...)
	ctl.mu.Unlock()
	// the citizen goes back to the queue, not cut off.
	want := []string{"state agent-1 logged_out ", "transfer agent-1 c1 requeue  "}
	if len(calls) != len(want) || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("adapter got %q, want %q", calls, want)
	}
	if _, ok := m.Session("agent-1"); ok {
		t.Error("the session outlived the revoked page")
	}
}

// TestRevokeEndsOnlyItsPage: cancelling a replaced tab's context does not
// touch the agent; cancelling the current tab's revokes it.
func TestRevokeEndsOnlyItsPage(t *testing.T) {
	m := newTestManager(t, 47610, 47619)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	old, endOld := context.WithCancelCause(context.Background())
	p1 := connectGuarded(t, m, "agent-1", Revoke(old))
	p1.sendJSON(`{"type":"hello","id":"h"}`)
	p1.expect("welcome")
	cur, endCur := context.WithCancelCause(context.Background())
	p2 := connectGuarded(t, m, "agent-1", Revoke(cur))
	p2.sendJSON(`{"type":"hello","id":"h"}`)
	p2.expect("welcome")
	if e := p1.expect("error"); e.Code != CodeReplaced {
		t.Fatalf("first tab got %+v", e)
	}
	p1.ended()
	endOld(errors.New("old tab's session ended"))
	p2.sendJSON(`{"type":"ping","id":"p"}`)
	p2.expect("pong")
	if got := ctl.last(); got != "" {
		t.Errorf("the replaced tab's revocation reached the adapter: %q", got)
	}

	endCur(errors.New("logged out"))
	if e := p2.expect("error"); e.Code != CodeLoggedOut {
		t.Errorf("current tab got %+v", e)
	}
	if err := p2.ended(); !errors.Is(err, ErrRevoked) {
		t.Errorf("Serve returned %v", err)
	}
	if got := ctl.last(); got != "state agent-1 logged_out " {
		t.Errorf("adapter got %q", got)
	}
}

// TestRevokeHangsUpWhenRequeueRefused: if the citizen cannot go back to
// the queue (the adapter refuses: an attended transfer is going on, the
// queue is gone), the agent's side is hung up, so a user whose login ended
// never stays on the line.
func TestRevokeHangsUpWhenRequeueRefused(t *testing.T) {
	_, ctl, p, verdict := guardedOnCall(t, 47610, 47619)
	ctl.mu.Lock()
	ctl.err = &ControlError{Code: "refused", Message: "a consultation is going on"}
	ctl.mu.Unlock()
	verdict <- errors.New("session gone")
	p.sendJSON(`{"type":"ready","id":"r"}`)
	if e := p.expect("error"); e.Code != CodeLoggedOut {
		t.Errorf("revoked page got %+v", e)
	}
	if err := p.ended(); !errors.Is(err, ErrRevoked) {
		t.Errorf("Serve returned %v, want ErrRevoked", err)
	}
	ctl.mu.Lock()
	calls := append([]string(nil), ctl.calls...)
	ctl.mu.Unlock()
	want := []string{"state agent-1 logged_out ", "transfer agent-1 c1 requeue  ", "hangup agent-1 c1"}
	if !slices.Equal(calls, want) {
		t.Errorf("adapter got %q, want %q", calls, want)
	}
}
