package queue

import (
	"slices"
	"strings"
	"time"
)

// Snapshot is a deep copy of the engine's state for read-only views
// (wallboard, agent page, API). It shares nothing with the engine.
type Snapshot struct {
	At     time.Time
	Queues []QueueSnapshot // by ID
	Agents []AgentSnapshot // by ID
}

// QueueSnapshot is one queue's live state and today's figures.
type QueueSnapshot struct {
	ID      QueueID
	Waiting []WaitingCall // in service order
	// LongestWait of the callers on the line (callback requests excluded).
	LongestWait time.Duration
	Agents      AgentCounts
	// EstimatedWait for a caller joining now (< 0: nobody serves the
	// queue).
	EstimatedWait time.Duration
	// HandleTime is the measured talk + wrap-up per call.
	HandleTime time.Duration

	AnsweredToday   int
	AbandonedToday  int
	OverflowedToday int
	CallbacksToday  int // callbacks connected
	// LostToday: waiting calls Asterisk lost (it shut down or restarted);
	// not abandons, and not in the service level.
	LostToday int
	// ServiceLevelToday is the share of today's callers (answered,
	// abandoned, overflowed) answered within the queue's ServiceLevel; 1
	// when there were none.
	ServiceLevelToday float64
}

// WaitingCall is a call in a queue.
type WaitingCall struct {
	Call     CallID
	Position int
	Priority int
	JoinedAt time.Time
	Waited   time.Duration
	Callback bool // a callback request holding its place
	Ringing  int  // agents ringing for it now
}

// AgentCounts counts a queue's member agents by state (logged-in members
// only, except LoggedOut).
type AgentCounts struct {
	LoggedOut, Ready, Paused, Ringing, OnCall, WrapUp int
}

// AgentSnapshot is one agent's state.
type AgentSnapshot struct {
	ID     AgentID
	State  State
	Reason string // pause reason
	Since  time.Time
	Call   CallID  // call ringing or in conversation
	Queue  QueueID // that call's queue
	// Queues the agent is logged in to.
	Queues     []QueueID
	CallsToday int
	DeviceBusy bool
	// PendingPause / PendingLogout: requested during a call, applied when
	// it ends.
	PendingPause  string
	PendingLogout bool
}

// Snapshot returns a deep copy of the state as of the last step.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{At: e.now}
	for _, q := range e.queues {
		qs := QueueSnapshot{
			ID: q.id, Waiting: make([]WaitingCall, 0, q.waiting.len()),
			EstimatedWait:   e.estimate(q, q.waiting.len()+1),
			HandleTime:      time.Duration(q.aht * float64(time.Second)).Round(time.Second),
			AnsweredToday:   q.st.answered,
			AbandonedToday:  q.st.abandoned,
			OverflowedToday: q.st.overflowed,
			CallbacksToday:  q.st.callbacks,
			LostToday:       q.st.lost,
		}
		for i, c := range q.waiting.all() {
			w := WaitingCall{
				Call: c.id, Position: i + 1, Priority: c.priority, JoinedAt: c.joinedAt,
				Waited: e.now.Sub(c.joinedAt), Callback: c.state == callCallback, Ringing: len(c.offers),
			}
			if !w.Callback && w.Waited > qs.LongestWait {
				qs.LongestWait = w.Waited
			}
			qs.Waiting = append(qs.Waiting, w)
		}
		for _, m := range q.members {
			st := m.agent.state
			if !m.active {
				st = LoggedOut
			}
			switch st {
			case LoggedOut:
				qs.Agents.LoggedOut++
			case Ready:
				qs.Agents.Ready++
			case Paused:
				qs.Agents.Paused++
			case Ringing:
				qs.Agents.Ringing++
			case OnCall:
				qs.Agents.OnCall++
			case WrapUp:
				qs.Agents.WrapUp++
			}
		}
		qs.ServiceLevelToday = 1
		if n := q.st.answered + q.st.abandoned + q.st.overflowed; n > 0 {
			qs.ServiceLevelToday = float64(q.st.withinSL) / float64(n)
		}
		s.Queues = append(s.Queues, qs)
	}
	slices.SortFunc(s.Queues, func(a, b QueueSnapshot) int { return strings.Compare(string(a.ID), string(b.ID)) })
	for _, a := range e.agents {
		as := AgentSnapshot{
			ID: a.id, State: a.state, Reason: a.reason, Since: a.since,
			CallsToday: a.callsToday, DeviceBusy: a.deviceBusy, PendingLogout: a.logoutAfter,
		}
		if a.pauseAfter {
			as.PendingPause = a.pauseReason
		}
		switch {
		case a.offer != nil:
			as.Call, as.Queue = a.offer.call.id, a.offer.call.q.id
		case a.call != nil:
			as.Call, as.Queue = a.call.id, a.call.q.id
		}
		for qid, m := range a.members {
			if m.active {
				as.Queues = append(as.Queues, qid)
			}
		}
		slices.Sort(as.Queues)
		s.Agents = append(s.Agents, as)
	}
	slices.SortFunc(s.Agents, func(a, b AgentSnapshot) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return s
}
