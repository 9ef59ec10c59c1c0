package telephony

import (
	"context"
	"log/slog"
	"sync"
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
	st   *config.Store
	log  *slog.Logger
	mu   sync.Mutex
	ops  []func(context.Context) error
	wmu  sync.Mutex // one flush at a time, so writes keep their order
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// NewRestartStore starts the writer; Close flushes and stops it.
func NewRestartStore(st *config.Store, log *slog.Logger) *RestartStore {
	r := &RestartStore{st: st, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *RestartStore) queue(op func(context.Context) error) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *RestartStore) loop() {
	defer close(r.done)
	for {
		select {
		case <-r.kick:
		case <-r.quit:
			r.flush()
			return
		}
		r.flush()
	}
}

func (r *RestartStore) flush() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	ops := r.ops
	r.ops = nil
	r.mu.Unlock()
	for _, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := op(ctx); err != nil {
			r.log.Error("restart state: write failed", "err", err)
		}
		cancel()
	}
}

// Close writes what is queued and stops. Safe to call twice.
func (r *RestartStore) Close() {
	r.once.Do(func() { close(r.quit) })
	<-r.done
}

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
	r.flush()
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
	row := config.AgentState{Agent: string(s.Agent), Reason: s.Reason}
	switch s.State {
	case queue.Ready:
		row.State = "ready"
	case queue.Paused:
		row.State = "paused"
	default:
		row.State = "logged_out"
	}
	for _, q := range s.Queues {
		row.Queues = append(row.Queues, string(q))
	}
	r.queue(func(ctx context.Context) error { return r.st.SaveAgentState(ctx, row) })
}

// AgentStates implements ari.AgentStateStore.
func (r *RestartStore) AgentStates(ctx context.Context) ([]ari.SavedAgentState, error) {
	r.flush()
	rows, err := r.st.AgentStates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ari.SavedAgentState, 0, len(rows))
	for _, a := range rows {
		s := ari.SavedAgentState{Agent: queue.AgentID(a.Agent), Reason: a.Reason, State: queue.Paused}
		if a.State == "ready" {
			s.State = queue.Ready
		}
		for _, q := range a.Queues {
			s.Queues = append(s.Queues, queue.QueueID(q))
		}
		out = append(out, s)
	}
	return out, nil
}
