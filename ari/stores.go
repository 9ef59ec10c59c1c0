package ari

import (
	"context"
	"slices"
	"time"

	"github.com/omstil/omstil/queue"
)

// PendingCallback is a callback request whose caller may have been
// released: nothing of it is left in Asterisk, so the adapter keeps it in
// Options.Callbacks to survive a restart.
type PendingCallback struct {
	Call        queue.CallID
	Queue       queue.QueueID
	Number      string // the number to call back: personal data, never log it
	Dialled     string // the municipal number the citizen called
	Priority    int
	JoinedAt    time.Time // when the citizen first joined the queue
	RequestedAt time.Time
}

// CallbackStore keeps pending callback requests across restarts. The
// composition root implements it over a table or the call-event log; tests
// use an in-memory one.
//
// SaveCallback and DeleteCallback are called on the adapter's loop, in
// order, and must not block (buffer and write asynchronously, like
// EventSink). PendingCallbacks is called once, on the first connection to
// Asterisk, from the event goroutine before any event is handled; it may
// block briefly (ctx bounds it). A failed PendingCallbacks is retried on the
// next (re)connect.
type CallbackStore interface {
	// SaveCallback: the engine accepted the request (CallbackQueued).
	SaveCallback(cb PendingCallback)
	// DeleteCallback: the request is over (connected, failed for good, or
	// left its queue).
	DeleteCallback(call queue.CallID)
	// PendingCallbacks lists the saved requests not deleted yet.
	PendingCallbacks(ctx context.Context) ([]PendingCallback, error)
}

// SavedAgentState is an agent's chosen availability: logged in ready or
// paused (with its reason) to Queues (nil: all its queues), or logged out.
type SavedAgentState struct {
	Agent  queue.AgentID
	State  queue.State // queue.Ready, queue.Paused or queue.LoggedOut
	Reason string      // the pause reason
	Queues []queue.QueueID
}

// AgentStateStore keeps agents' ready/paused states across restarts, the
// same way as CallbackStore: SaveAgentState is called on the loop and must
// not block; AgentStates once on the first connection. Ringing, talking and
// wrap-up are not saved (the last ready/paused choice is); a save with
// State queue.LoggedOut means the agent may be forgotten.
type AgentStateStore interface {
	SaveAgentState(s SavedAgentState)
	AgentStates(ctx context.Context) ([]SavedAgentState, error)
}

// restoringReason is the pause reason of agents being restored as ready
// while the calls are adopted (so no call is offered before every saved
// callback is back in its place).
const restoringReason = "restoring"

// storedState is what the stores held at the first connection.
type storedState struct {
	read      bool
	callbacks []PendingCallback
	agents    []SavedAgentState
}

// readStores reads the stores once; it runs on the event goroutine.
func (a *Adapter) readStores(ctx context.Context) storedState {
	var st storedState
	if a.storesRead {
		return st
	}
	if a.opt.Callbacks != nil {
		cbs, err := a.opt.Callbacks.PendingCallbacks(ctx)
		if err != nil {
			a.log.Warn("ari: reading pending callbacks failed; retried on the next connect", "err", err)
			return st
		}
		st.callbacks = cbs
	}
	if a.opt.AgentStates != nil {
		ags, err := a.opt.AgentStates.AgentStates(ctx)
		if err != nil {
			a.log.Warn("ari: reading saved agent states failed; retried on the next connect", "err", err)
			return storedState{}
		}
		st.agents = ags
	}
	a.storesRead = true
	st.read = true
	return st
}

// saveCallback records an accepted callback request.
func (a *Adapter) saveCallback(c *call) {
	if a.opt.Callbacks == nil {
		return
	}
	a.cbSaved[c.id] = true
	a.opt.Callbacks.SaveCallback(PendingCallback{Call: c.id, Queue: c.q, Number: c.caller, Dialled: c.number,
		Priority: c.prio, JoinedAt: c.joined, RequestedAt: a.now()})
}

// forgetCallback deletes a saved request once it is over.
func (a *Adapter) forgetCallback(id queue.CallID) {
	if !a.cbSaved[id] {
		return
	}
	delete(a.cbSaved, id)
	a.opt.Callbacks.DeleteCallback(id)
}

// restoreCallbacks puts saved requests the loop does not know back in
// their queues with their original place. It returns the calls restored.
func (a *Adapter) restoreCallbacks(cbs []PendingCallback) map[queue.CallID]*call {
	restored := map[queue.CallID]*call{}
	for _, cb := range cbs {
		if cb.Call == "" || a.calls[cb.Call] != nil {
			continue
		}
		c := &call{id: cb.Call, number: dialledNumber(cb.Dialled), caller: cb.Number, state: stCallback, q: cb.Queue,
			joined: cb.JoinedAt, prio: cb.Priority, since: a.now()}
		if nc, ok := a.cfg.numbers[c.number]; ok {
			c.org = nc.Org
		}
		a.calls[c.id] = c
		a.cbSaved[c.id] = true
		restored[c.id] = c
		a.callEvent(c, CallAdopted, "callback")
		a.handle(queue.CallArrived{Call: c.id, Queue: c.q, Priority: c.prio, Caller: c.caller, JoinedAt: c.joined})
		if a.calls[c.id] != c {
			// refused (the queue is gone, or full): nobody can call back.
			a.log.Warn("ari: a saved callback request could not rejoin its queue; dropped", "call", c.id, "queue", c.q)
			a.forgetCallback(c.id)
			delete(restored, c.id)
			continue
		}
		in := queue.CallbackRequested{Call: c.id, Number: c.caller}
		if why, ig := ignored(a.handle(in), in); ig {
			a.log.Warn("ari: a saved callback request was refused; dropped", "call", c.id, "queue", c.q, "reason", why)
			delete(a.calls, c.id)
			delete(restored, c.id)
			a.forgetCallback(c.id)
			a.handle(queue.CallHungUp{Call: c.id})
		}
	}
	if len(restored) > 0 {
		a.log.Info("ari: restored pending callbacks", "callbacks", len(restored))
	}
	return restored
}

// noteAgentState saves an agent's new ready/paused/logged-out state.
func (a *Adapter) noteAgentState(x queue.AgentStateChanged) {
	if x.To == queue.LoggedOut {
		delete(a.loginQueues, x.Agent)
	}
	if a.opt.AgentStates == nil || a.restoringAgents {
		return
	}
	rec := SavedAgentState{Agent: x.Agent, State: x.To, Queues: a.loginQueues[x.Agent]}
	switch x.To {
	case queue.Paused:
		rec.Reason = x.Reason
	case queue.Ready, queue.LoggedOut:
	default:
		return
	}
	if old, ok := a.savedAgents[x.Agent]; ok && old.State == rec.State && old.Reason == rec.Reason && slices.Equal(old.Queues, rec.Queues) {
		return
	}
	a.savedAgents[x.Agent] = rec
	a.opt.AgentStates.SaveAgentState(rec)
}

// loginAgents logs saved agents in again, paused while the calls are
// adopted (ready ones with restoringReason); readyAgents finishes it.
func (a *Adapter) loginAgents(recs []SavedAgentState) []SavedAgentState {
	var done []SavedAgentState
	a.restoringAgents = true
	defer func() { a.restoringAgents = false }()
	for _, r := range recs {
		if !a.cfg.agents[r.Agent] || a.agentState[r.Agent] != queue.LoggedOut {
			continue
		}
		reason := r.Reason
		switch r.State {
		case queue.Ready:
			reason = restoringReason
		case queue.Paused:
		default:
			continue
		}
		if r.Queues != nil {
			a.loginQueues[r.Agent] = slices.Clone(r.Queues)
		}
		if err := a.feed(queue.AgentLogin{Agent: r.Agent, Queues: r.Queues, PauseReason: reason}); err != nil {
			a.log.Warn("ari: restoring an agent's state failed", "agent", r.Agent, "err", err)
			continue
		}
		done = append(done, r)
	}
	return done
}

// readyAgents makes the restored ready agents ready (calls are offered
// from here on) and re-applies pauses of agents adopted mid-call.
func (a *Adapter) readyAgents(recs []SavedAgentState) {
	a.restoringAgents = true
	for _, r := range recs {
		a.savedAgents[r.Agent] = r
		switch {
		case r.State == queue.Ready && a.agentState[r.Agent] == queue.Paused:
			_ = a.feed(queue.AgentReady{Agent: r.Agent})
		case r.State == queue.Paused && a.agentState[r.Agent] != queue.Paused:
			_ = a.feed(queue.AgentPause{Agent: r.Agent, Reason: r.Reason})
		}
	}
	a.restoringAgents = false
	if len(recs) > 0 {
		a.log.Info("ari: restored agent states", "agents", len(recs))
	}
}
