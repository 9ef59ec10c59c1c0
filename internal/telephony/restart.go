package telephony

import (
	"context"
	"log/slog"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// RestartStore keeps what a restarted omstil needs that has no channel in
// Asterisk: pending callback requests and agents' chosen availability. It
// implements ari.CallbackStore and ari.AgentStateStore over the SQL store.
// Saves and deletes come from the adapter's loop and must not block: they
// are queued in order and written by one goroutine.
type RestartStore struct {
	st  *config.Store
	log *slog.Logger
	q   *behind[func(context.Context) error]
}

// NewRestartStore starts the writer; Close flushes and stops it.
func NewRestartStore(st *config.Store, log *slog.Logger) *RestartStore {
	r := &RestartStore{st: st, log: log}
	r.q = newBehind(r.write)
	return r
}

func (r *RestartStore) queue(op func(context.Context) error) { r.q.add(op) }

func (r *RestartStore) write(ops []func(context.Context) error) {
	for _, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := op(ctx); err != nil {
			r.log.Error("restart state: write failed", "err", err)
		}
		cancel()
	}
}

// Close writes what is queued and stops. Safe to call twice.
func (r *RestartStore) Close() { r.q.close() }

// SaveCallback implements ari.CallbackStore.
func (r *RestartStore) SaveCallback(cb ari.PendingCallback) {
	row := config.PendingCallback{CallID: string(cb.Call), Queue: string(cb.Queue), Number: cb.Number, Dialled: cb.Dialled,
		Priority: cb.Priority, JoinedAt: cb.JoinedAt, RequestedAt: cb.RequestedAt}
	r.queue(func(ctx context.Context) error { return r.st.SavePendingCallback(ctx, row) })
}

// DeleteCallback implements ari.CallbackStore.
func (r *RestartStore) DeleteCallback(call queue.CallID) {
	r.queue(func(ctx context.Context) error { return r.st.DeletePendingCallback(ctx, string(call)) })
}

// PendingCallbacks implements ari.CallbackStore. It waits for queued
// writes first, so a list never misses a save made just before.
func (r *RestartStore) PendingCallbacks(ctx context.Context) ([]ari.PendingCallback, error) {
	r.q.flush()
	rows, err := r.st.PendingCallbacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ari.PendingCallback, len(rows))
	for i, c := range rows {
		out[i] = ari.PendingCallback{Call: queue.CallID(c.CallID), Queue: queue.QueueID(c.Queue), Number: c.Number, Dialled: c.Dialled,
			Priority: c.Priority, JoinedAt: c.JoinedAt, RequestedAt: c.RequestedAt}
	}
	return out, nil
}

// SaveAgentState implements ari.AgentStateStore.
func (r *RestartStore) SaveAgentState(s ari.SavedAgentState) {
	// The table holds queue.State's text form; anything but ready or
	// paused is saved as logged out, which forgets the agent.
	row := config.AgentState{Agent: string(s.Agent), Reason: s.Reason, State: queue.LoggedOut.String()}
	if s.State == queue.Ready || s.State == queue.Paused {
		row.State = s.State.String()
	}
	for _, q := range s.Queues {
		row.Queues = append(row.Queues, string(q))
	}
	r.queue(func(ctx context.Context) error { return r.st.SaveAgentState(ctx, row) })
}

// AgentStates implements ari.AgentStateStore.
func (r *RestartStore) AgentStates(ctx context.Context) ([]ari.SavedAgentState, error) {
	r.q.flush()
	rows, err := r.st.AgentStates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ari.SavedAgentState, 0, len(rows))
	for _, a := range rows {
		st, err := queue.ParseState(a.State)
		if err != nil || (st != queue.Ready && st != queue.Paused) {
			r.log.Warn("restart state: agent state not restored", "agent", a.Agent, "state", a.State)
			continue
		}
		s := ari.SavedAgentState{Agent: queue.AgentID(a.Agent), Reason: a.Reason, State: st}
		for _, q := range a.Queues {
			s.Queues = append(s.Queues, queue.QueueID(q))
		}
		out = append(out, s)
	}
	return out, nil
}
