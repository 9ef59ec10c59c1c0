package ari

import (
	"context"
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

// storedState is what the stores held at the first connection.
type storedState struct {
	read      bool
	callbacks []PendingCallback
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
		c := &call{id: cb.Call, number: cb.Dialled, caller: cb.Number, state: stCallback, q: cb.Queue,
			joined: cb.JoinedAt, prio: cb.Priority, since: a.now()}
		if nc, ok := a.cfg.numbers[c.number]; ok {
			c.org = nc.Org
		}
		a.calls[c.id] = c
		a.cbSaved[c.id] = true
		restored[c.id] = c
		a.callEvent(c, CallAdopted, "callback")
		a.handle(queue.CallArrived{Call: c.id, Queue: c.q, Priority: c.prio, Caller: c.caller, JoinedAt: c.joined})
		if a.calls[c.id] == c && !c.gone {
			in := queue.CallbackRequested{Call: c.id, Number: c.caller}
			if why, ig := ignored(a.handle(in), in); ig {
				a.log.Warn("ari: a saved callback request was refused; dropped", "call", c.id, "queue", c.q, "reason", why)
				delete(a.calls, c.id)
				a.forgetCallback(c.id)
				a.handle(queue.CallHungUp{Call: c.id})
			}
		}
	}
	if len(restored) > 0 {
		a.log.Info("ari: restored pending callbacks", "callbacks", len(restored))
	}
	return restored
}
