package callflow

import (
	"time"
)

func init() {
	register(&kindSpec{
		kind: KindQueue, order: 50, terminal: true,
		label: Text{Da: "kø", En: "queue"},
		help:  Text{Da: "Sætter opkaldet i en kø.", En: "Puts the call in a queue."},
		set:   func(s *Step) bool { return s.Queue != nil },
		copy:  func(s *Step) { c := *s.Queue; s.Queue = &c },
		refs: []refField{{"queue.queue", RefQueue, func(s *Step) *string {
			return (*string)(&s.Queue.Queue)
		}}},
		edges: func(s *Step) []edge {
			p := s.Queue
			return []edge{{"queue.full", p.Full, false}, {"queue.timeout", p.Timeout, false}, {"queue.noAgents", p.NoAgents, false}}
		},
		validate: (*validator).queue,
		run:      (*Run).queue,
	})
}

// QueueStep puts the call in a queue. The overflow branches are optional;
// when the queue reports an outcome whose branch is unset, the call is hung
// up (cause "busy" for Full and NoAgents, "normal" for Timeout).
type QueueStep struct {
	Queue    QueueRef `json:"queue"`
	Priority int      `json:"priority,omitempty"` // passed to the queue engine, >= 0
	Full     StepID   `json:"full,omitempty"`
	Timeout  StepID   `json:"timeout,omitempty"`
	NoAgents StepID   `json:"noAgents,omitempty"`
}

func (v *validator) queue(s *Step) {
	q := s.Queue
	if q.Queue == "" {
		v.err(s.ID, "queue.queue", CodeBadValue, "no queue")
	}
	if q.Priority < 0 {
		v.err(s.ID, "queue.priority", CodeBadValue, "priority %d: want 0 or more", q.Priority)
	}
}

func (r *Run) queue(_ time.Time, s *Step) (StepID, Action) {
	q := s.Queue
	prio := max(q.Priority, r.priority)
	r.trace(s, "queue '%s' (priority %d)", q.Queue, prio)
	r.phase = phaseQueued
	return "", Enqueue{StepID: s.ID, Queue: q.Queue, Priority: prio}
}

func (r *Run) queueOutcome(now time.Time, o QueueOutcome) Action {
	s := r.cur
	q := s.Queue
	var next StepID
	cause := "busy"
	switch o {
	case QueueFull:
		next = q.Full
	case QueueTimeout:
		next, cause = q.Timeout, "normal"
	case QueueNoAgents:
		next = q.NoAgents
	default:
		return Wait{StepID: s.ID}
	}
	if next == "" {
		r.trace(s, "queue '%s': %s and no %s branch — hang up (%s)", q.Queue, o, o, cause)
		return r.act(Hangup{StepID: s.ID, Cause: cause, Reason: "queue " + o.String()})
	}
	r.trace(s, "queue '%s': %s → step '%s'", q.Queue, o, next)
	return r.enter(now, next)
}
