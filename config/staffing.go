package config

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// StaffingCallKinds are the kinds of a queue's call events that staffing
// reads (package staffing, History.Call).
var StaffingCallKinds = []string{"CallJoined", "Answered", "Abandoned", "Overflowed", "CallCompleted"}

// QueueHistoryReaders receive a queue's history in log order: first every
// call event of the queue, then the state changes of the agents who
// serve it. Caller is never read (it stays empty).
type QueueHistoryReaders struct {
	Call  func(CallEvent) error
	Agent func(CallEvent) error
}

// QueueHistory reads what staffing needs of queue id of org over
// [since, until): the queue's call events of StaffingCallKinds, then the
// AgentStateChanged events of the agents who serve it — the queue's
// members now and every agent who answered one of its calls in the
// window. A queue of another organisation is ErrNotFound. It streams in
// batches, so weeks of a busy queue never sit in memory at once.
func (s *Store) QueueHistory(ctx context.Context, org OrgID, id QueueID, since, until time.Time, r QueueHistoryReaders) (Queue, error) {
	q, err := s.GetQueue(ctx, org, id)
	if err != nil {
		return Queue{}, err
	}
	o, err := s.GetOrg(ctx, org)
	if err != nil {
		return Queue{}, err
	}
	engineQueue := string(EngineQueueID(o.Slug, q.Name))
	since, until = since.UTC(), until.UTC()
	agents := map[string]bool{}
	err = s.eachEvent(ctx, s.db.Where("org_id = ? AND queue = ? AND kind IN ? AND at >= ? AND at < ?",
		org, engineQueue, StaffingCallKinds, since, until), func(e CallEvent) error {
		if e.Kind == "Answered" && e.Agent != "" {
			agents[e.Agent] = true
		}
		return r.Call(e)
	})
	if err != nil {
		return Queue{}, fmt.Errorf("config: read the history of queue %d: %w", id, err)
	}
	ms, err := s.ListMemberships(ctx, org, 0, id)
	if err != nil {
		return Queue{}, err
	}
	for _, m := range ms {
		agents[string(EngineAgentID(m.AgentID))] = true
	}
	list := make([]string, 0, len(agents))
	for a := range agents {
		list = append(list, a)
	}
	sort.Strings(list)
	for len(list) > 0 {
		chunk := list[:min(len(list), 500)]
		list = list[len(chunk):]
		err = s.eachEvent(ctx, s.db.Where("org_id = ? AND kind = ? AND agent IN ? AND at >= ? AND at < ?",
			org, "AgentStateChanged", chunk, since, until), r.Agent)
		if err != nil {
			return Queue{}, fmt.Errorf("config: read the agents of queue %d: %w", id, err)
		}
	}
	return q, nil
}

// eachEvent calls fn for every event the query selects, in log order,
// 5000 at a time, without the caller's number.
func (s *Store) eachEvent(ctx context.Context, where *gorm.DB, fn func(CallEvent) error) error {
	var batch []CallEvent
	var ferr error
	res := where.WithContext(ctx).Model(&CallEvent{}).
		Select("id", "org_id", "at", "call_id", "kind", "queue", "agent", "wait_ms", "data").
		FindInBatches(&batch, 5000, func(*gorm.DB, int) error {
			for _, e := range batch {
				if ferr = fn(e); ferr != nil {
					return ferr
				}
			}
			return nil
		})
	if ferr != nil {
		return ferr
	}
	return res.Error
}
