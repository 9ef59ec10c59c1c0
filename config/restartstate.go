package config

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/omstil/omstil/queue"
)

// PendingCallback is a callback request whose caller may have been
// released: nothing of it is left in Asterisk, so the call handling keeps
// it here to survive a restart. Number is the citizen's number: personal
// data, deleted with the request.
type PendingCallback struct {
	CallID      string `gorm:"primaryKey"`
	Queue       string
	Number      string
	Dialled     string
	Priority    int
	JoinedAt    time.Time
	RequestedAt time.Time
}

// AgentState is an agent's chosen availability, restored after a restart.
type AgentState struct {
	Agent     string `gorm:"primaryKey"`
	State     string // queue.State's text form: "ready" or "paused"
	Reason    string
	Queues    []string `gorm:"serializer:json"` // nil: all the agent's queues
	UpdatedAt time.Time
}

// SavePendingCallback stores or replaces a pending callback request.
func (s *Store) SavePendingCallback(ctx context.Context, cb PendingCallback) error {
	if cb.CallID == "" || cb.Queue == "" || cb.Number == "" {
		return Invalid("call_id", "a pending callback needs a call, a queue and a number")
	}
	cb.JoinedAt, cb.RequestedAt = cb.JoinedAt.UTC(), cb.RequestedAt.UTC()
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&cb).Error; err != nil {
		return fmt.Errorf("config: save pending callback: %w", err)
	}
	return nil
}

// DeletePendingCallback forgets a request (connected, failed, left).
func (s *Store) DeletePendingCallback(ctx context.Context, call string) error {
	if err := s.db.WithContext(ctx).Where("call_id = ?", call).Delete(&PendingCallback{}).Error; err != nil {
		return fmt.Errorf("config: delete pending callback: %w", err)
	}
	return nil
}

// PendingCallbacks lists the pending requests, oldest join first.
func (s *Store) PendingCallbacks(ctx context.Context) ([]PendingCallback, error) {
	var out []PendingCallback
	if err := s.db.WithContext(ctx).Order("joined_at, call_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: list pending callbacks: %w", err)
	}
	return out, nil
}

// SaveAgentState records an agent's availability; state "" or
// "logged_out" forgets the agent (nothing to restore). States are
// queue.State's text form, which is also what earlier versions stored.
func (s *Store) SaveAgentState(ctx context.Context, st AgentState) error {
	db := s.db.WithContext(ctx)
	state := queue.LoggedOut
	if st.State != "" {
		var err error
		if state, err = queue.ParseState(st.State); err != nil || (state != queue.Ready && state != queue.Paused && state != queue.LoggedOut) {
			return Invalid("state", "%q is not ready, paused or logged_out", st.State)
		}
	}
	if state == queue.LoggedOut {
		if err := db.Where("agent = ?", st.Agent).Delete(&AgentState{}).Error; err != nil {
			return fmt.Errorf("config: forget agent state: %w", err)
		}
		return nil
	}
	st.UpdatedAt = s.now().UTC()
	if err := db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error; err != nil {
		return fmt.Errorf("config: save agent state: %w", err)
	}
	return nil
}

// AgentStates lists the saved availabilities.
func (s *Store) AgentStates(ctx context.Context) ([]AgentState, error) {
	var out []AgentState
	if err := s.db.WithContext(ctx).Order("agent").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: list agent states: %w", err)
	}
	return out, nil
}
