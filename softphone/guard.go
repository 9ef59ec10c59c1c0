package softphone

import (
	"context"
	"errors"
	"fmt"
)

// ServeOption adds the server's checks to one page connection (Serve).
type ServeOption func(*serveOptions)

type serveOptions struct {
	authorize func(ctx context.Context) error
	revoked   context.Context
}

// Authorize makes Serve call check before it handles each message from
// the page: the server's question whether the login the connection was
// opened with still holds. An error of type *ControlError refuses only
// that message (the page gets it as an error answering the message; use
// it when the check cannot be made just now); any other error ends the
// page as Revoke does, and the message is not handled.
func Authorize(check func(ctx context.Context) error) ServeOption {
	return func(o *serveOptions) { o.authorize = check }
}

// Revoke ends the page once ctx is done, with context.Cause(ctx) as the
// reason: the server cancels it when the login behind the connection
// ended (logout, deactivation, a lower role, expiry). Give a context that
// is cancelled for that reason only, not when the request ends.
//
// A revoked page that is its agent's current page logs the agent out as
// the page's logout message does (SetState logged-out: a ringing offer
// goes back to the queue), returns the citizen of the attached call to its
// queue at the place it had (ModeRequeue; hung up only when that is
// refused), and ends the agent's session as Logout does. The page is told
// error{code:"logged-out"} and Serve returns an error wrapping
// ErrRevoked.
func Revoke(ctx context.Context) ServeOption {
	return func(o *serveOptions) { o.revoked = ctx }
}

// ErrRevoked ends Serve when the server refused the page's login
// (Authorize or Revoke).
var ErrRevoked = errors.New("softphone: the page's login has ended")

// authorize runs the server's check before a message is handled; it
// reports whether the message may be handled.
func (p *peer) authorize(m *Message) bool {
	if p.opts.authorize == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(p.ctx, controlTimeout)
	defer cancel()
	err := p.opts.authorize(ctx)
	if err == nil {
		return true
	}
	var ce *ControlError
	if errors.As(err, &ce) {
		p.send(Message{Type: "error", ID: m.ID, Code: ce.Code, Message: ce.Message, Reason: ce.Reason})
		return false
	}
	p.revoke(err)
	return false
}

// watchRevoke revokes the page once the server's revocation context is
// done; it returns when the page ends.
func (p *peer) watchRevoke() {
	if p.opts.revoked == nil {
		return
	}
	select {
	case <-p.opts.revoked.Done():
		if p.ctx.Err() == nil {
			p.revoke(context.Cause(p.opts.revoked))
		}
	case <-p.ctx.Done():
	}
}

// revoke ends the page because its login no longer holds; see Revoke.
// Only the first call acts; a concurrent one waits until it is done.
func (p *peer) revoke(cause error) {
	p.revokeOnce.Do(func() {
		current := p.active.Load()
		p.s.log.Info("softphone: the page's login has ended; closing it", "current", current, "why", cause)
		p.finish(fmt.Errorf("%w: %w", ErrRevoked, cause), &Message{Type: "error", Code: CodeLoggedOut, Message: "your login has ended"})
		// Only now, with the page told why: the read loop stops on it.
		p.revoked.Store(true)
		if current {
			p.s.m.revoke(p.s)
		}
	})
}

// revoke logs the agent of s out of call handling, hands its attached
// call's citizen back to the queue and ends s (Logout), so that an agent
// whose login ended is offered no more calls and keeps no citizen on the
// line, and the citizen is not cut off.
func (m *Manager) revoke(s *Session) {
	if c := m.callControl(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
		defer cancel()
		if err := c.SetState(ctx, s.agent, StateLoggedOut, ""); err != nil {
			s.log.Warn("softphone: logging out an agent whose login ended failed", "err", err)
		}
		if call, ok := s.Call(); ok {
			err := c.Transfer(ctx, s.agent, call, Transfer{Mode: ModeRequeue})
			if err != nil {
				s.log.Info("softphone: the citizen of an agent whose login ended could not go back to the queue; hanging up", "call", call, "err", err)
				err = c.Hangup(ctx, s.agent, call)
			}
			if err != nil {
				s.log.Warn("softphone: hanging up the call of an agent whose login ended failed", "call", call, "err", err)
			}
		}
	}
	m.mu.Lock()
	current := m.sessions[s.agent] == s
	m.mu.Unlock()
	if current {
		m.Logout(s.agent)
	}
}
