// Package agente2e tests the agent softphone page end to end: a real
// server, a real softphone.Manager, headless Chromium driven by chromedp,
// and a fake call-handling adapter (FakeControl) with a fake Asterisk RTP
// peer. FakeControl is also used by the server package's signalling tests.
package agente2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/softphone"
)

// Op is one call the bridge made on the adapter.
type Op struct {
	Kind     string // answer, decline, hangup, hold, transfer, dtmf, state, online
	Agent    softphone.AgentID
	Call     softphone.CallID
	On       bool
	Digits   string
	Transfer softphone.Transfer
	State    softphone.AgentState
	Reason   string
}

// FakeControl is a softphone.CallControl that behaves like a small
// adapter: it offers calls to agents, refuses control of a call by an agent
// it was not offered to, attaches and detaches the relay, and pushes the
// connected / hold / ended / state messages a real adapter would.
type FakeControl struct {
	m *softphone.Manager

	// AsteriskAddr, when set, is given to the relay with SetRemote on
	// answer: where the agent's audio goes.
	AsteriskAddr string

	ops chan Op

	mu     sync.Mutex
	owner  map[softphone.CallID]softphone.AgentID
	relays map[softphone.CallID]string
}

// NewFakeControl returns a fake adapter wired to m (SetCallControl).
func NewFakeControl(m *softphone.Manager) *FakeControl {
	f := &FakeControl{m: m, ops: make(chan Op, 1024),
		owner: map[softphone.CallID]softphone.AgentID{}, relays: map[softphone.CallID]string{}}
	m.SetCallControl(f)
	return f
}

// Offer rings call at agent's page as an engine offer would.
func (f *FakeControl) Offer(agent softphone.AgentID, call softphone.CallID, queue, caller string, waited time.Duration) error {
	s, ok := f.m.Session(agent)
	if !ok {
		return fmt.Errorf("agente2e: agent %s has no session", agent)
	}
	f.mu.Lock()
	f.owner[call] = agent
	f.mu.Unlock()
	return s.Notify(softphone.RingMessage(call, queue, caller, waited))
}

// CallerHangup ends call from the citizen's side.
func (f *FakeControl) CallerHangup(call softphone.CallID) error {
	agent, ok := f.take(call)
	if !ok {
		return fmt.Errorf("agente2e: no call %s", call)
	}
	return f.end(agent, call, "caller-hangup")
}

// Relay returns the relay address of an answered call.
func (f *FakeControl) Relay(call softphone.CallID) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.relays[call]
	return a, ok
}

// Next returns the next op of kind, skipping others, or fails t at the
// deadline.
func (f *FakeControl) Next(t testing.TB, kind string, within time.Duration) Op {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case op := <-f.ops:
			if op.Kind == kind {
				return op
			}
		case <-deadline.C:
			t.Fatalf("no %s call on the adapter within %s", kind, within)
			return Op{}
		}
	}
}

func (f *FakeControl) record(op Op) {
	select {
	case f.ops <- op:
	default: // a test that does not read ops does not block the bridge
	}
}

// check refuses control of a call by an agent it is not offered to.
func (f *FakeControl) check(agent softphone.AgentID, call softphone.CallID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if owner, ok := f.owner[call]; !ok || owner != agent {
		return &softphone.ControlError{Code: "not-your-call", Message: "this call is not offered to you"}
	}
	return nil
}

func (f *FakeControl) take(call softphone.CallID) (softphone.AgentID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.owner[call]
	delete(f.owner, call)
	delete(f.relays, call)
	return a, ok
}

func (f *FakeControl) end(agent softphone.AgentID, call softphone.CallID, reason string) error {
	s, ok := f.m.Session(agent)
	if !ok {
		return nil
	}
	if _, attached := s.Call(); attached {
		_ = s.DetachCall(call)
	}
	if err := s.Notify(softphone.EndedMessage(call, reason)); err != nil && err != softphone.ErrNoPage {
		return err
	}
	return nil
}

func (f *FakeControl) notify(agent softphone.AgentID, msg softphone.Message) error {
	s, ok := f.m.Session(agent)
	if !ok {
		return fmt.Errorf("agente2e: agent %s has no session", agent)
	}
	if err := s.Notify(msg); err != nil && err != softphone.ErrNoPage {
		return err
	}
	return nil
}

// Answer attaches the relay, points it at AsteriskAddr and tells the page
// the call is connected.
func (f *FakeControl) Answer(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	f.record(Op{Kind: "answer", Agent: agent, Call: call})
	if err := f.check(agent, call); err != nil {
		return err
	}
	s, ok := f.m.Session(agent)
	if !ok {
		return fmt.Errorf("agente2e: agent %s has no session", agent)
	}
	addr, err := s.AttachCall(call)
	if err != nil {
		return err
	}
	if f.AsteriskAddr != "" {
		if err := s.SetRemote(call, f.AsteriskAddr); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.relays[call] = addr
	f.mu.Unlock()
	return f.notify(agent, softphone.ConnectedMessage(call))
}

// Decline drops the offer.
func (f *FakeControl) Decline(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	f.record(Op{Kind: "decline", Agent: agent, Call: call})
	if err := f.check(agent, call); err != nil {
		return err
	}
	f.take(call)
	return f.notify(agent, softphone.EndedMessage(call, "declined"))
}

// Hangup ends the call from the agent's side.
func (f *FakeControl) Hangup(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	f.record(Op{Kind: "hangup", Agent: agent, Call: call})
	if err := f.check(agent, call); err != nil {
		return err
	}
	f.take(call)
	return f.end(agent, call, "agent-hangup")
}

// Hold confirms the hold state to the page.
func (f *FakeControl) Hold(ctx context.Context, agent softphone.AgentID, call softphone.CallID, on bool) error {
	f.record(Op{Kind: "hold", Agent: agent, Call: call, On: on})
	if err := f.check(agent, call); err != nil {
		return err
	}
	return f.notify(agent, softphone.HoldMessage(call, on))
}

// Transfer: blind, complete and requeue end the agent's call; attended
// and cancel keep it.
func (f *FakeControl) Transfer(ctx context.Context, agent softphone.AgentID, call softphone.CallID, t softphone.Transfer) error {
	f.record(Op{Kind: "transfer", Agent: agent, Call: call, Transfer: t})
	if err := f.check(agent, call); err != nil {
		return err
	}
	switch t.Mode {
	case "blind", "complete", softphone.ModeRequeue:
		f.take(call)
		return f.end(agent, call, "transferred")
	}
	return nil
}

// SendDTMF records the digits.
func (f *FakeControl) SendDTMF(ctx context.Context, agent softphone.AgentID, call softphone.CallID, digits string) error {
	f.record(Op{Kind: "dtmf", Agent: agent, Call: call, Digits: digits})
	return f.check(agent, call)
}

// SetState confirms the state to the page.
func (f *FakeControl) SetState(ctx context.Context, agent softphone.AgentID, state softphone.AgentState, reason string) error {
	f.record(Op{Kind: "state", Agent: agent, State: state, Reason: reason})
	return f.notify(agent, softphone.StateMessage(string(state), reason))
}

// PageOnline records the page's presence.
func (f *FakeControl) PageOnline(agent softphone.AgentID, online bool) {
	f.record(Op{Kind: "online", Agent: agent, On: online})
}
