package callflow

import "time"

// KindPriority sets the caller's priority for the queue steps that follow.
const KindPriority Kind = "priority"

// MaxPriority is the highest priority a priority step may set.
const MaxPriority = 100

// PriorityStep sets the call's priority, then goes to Next. Every later
// queue step passes the engine the higher of this and its own priority:
// callers who chose "emergency" in a menu, or a caller rule for a hospital's
// number, get ahead of the others. A later priority step replaces the value
// (it may lower it again). It changes nothing on the call itself.
//
// A call adopted after a restart (Resume) has lost the set priority for the
// queue steps it reaches from the overflow branches; the queue it waits in
// keeps the priority it was given.
type PriorityStep struct {
	Priority int    `json:"priority"` // 0–MaxPriority; higher is served first
	Next     StepID `json:"next"`
}

func init() {
	register(&kindSpec{
		kind: KindPriority, order: 45,
		label:    Text{Da: "prioritet", En: "priority"},
		help:     Text{Da: "Sætter opkaldets prioritet i de følgende køer (højere betjenes først).", En: "Sets the call's priority in the queues that follow (higher is served first)."},
		settings: func() any { return new(PriorityStep) },
		edges:    func(s *Step) []edge { return []edge{{"priority.next", s.Settings.(*PriorityStep).Next, true}} },
		validate: func(v *validator, s *Step) {
			if p := s.Settings.(*PriorityStep).Priority; p < 0 || p > MaxPriority {
				v.err(s.ID, "priority.priority", CodeBadValue, "priority %d: want 0–%d", p, MaxPriority)
			}
		},
		run: func(r *Run, _ time.Time, s *Step) (StepID, Action) {
			p := s.Settings.(*PriorityStep)
			r.priority = p.Priority
			r.trace(s, "prioritet sat til %d → step '%s'", p.Priority, p.Next)
			return p.Next, nil
		},
	})
}
