package callflow

import (
	"time"
)

func init() {
	register(&kindSpec{
		kind: KindSchedule, order: 10,
		label: Text{Da: "åbningstider", En: "opening hours"},
		help:  Text{Da: "Går videre efter åbningstiden: åben, lukket eller helligdag.", En: "Branches on opening hours: open, closed or holiday."},
		set:   func(s *Step) bool { return s.Schedule != nil },
		copy:  func(s *Step) { c := *s.Schedule; s.Schedule = &c },
		refs: []refField{{"schedule.schedule", RefSchedule, func(s *Step) *string {
			return (*string)(&s.Schedule.Schedule)
		}}},
		edges: func(s *Step) []edge {
			p := s.Schedule
			return []edge{{"schedule.open", p.Open, true}, {"schedule.closed", p.Closed, true}, {"schedule.holiday", p.Holiday, false}}
		},
		validate: (*validator).scheduleStep,
		run:      func(r *Run, now time.Time, s *Step) (StepID, Action) { return r.schedule(now, s), nil },
	})
}

// ScheduleStep branches on opening hours. Exactly one of Schedule (a saved
// schedule) and Inline is set. Holiday is optional: when set, it is taken
// instead of Closed on days closed all day by a public holiday or a closing
// day (including a special day without hours).
type ScheduleStep struct {
	Schedule ScheduleRef `json:"schedule,omitempty"`
	Inline   *Schedule   `json:"inline,omitempty"`
	Open     StepID      `json:"open"`
	Closed   StepID      `json:"closed"`
	Holiday  StepID      `json:"holiday,omitempty"`
}

func (v *validator) scheduleStep(s *Step) {
	p := s.Schedule
	switch {
	case p.Schedule != "" && p.Inline != nil:
		v.err(s.ID, "schedule.schedule", CodeBadValue, "set either a saved schedule or an inline one, not both")
	case p.Schedule == "" && p.Inline == nil:
		v.err(s.ID, "schedule.schedule", CodeBadValue, "no schedule: name a saved schedule or write one inline")
	case p.Inline != nil:
		v.schedule(s.ID, "schedule.inline.", p.Inline)
	}
}

func (r *Run) schedule(now time.Time, s *Step) StepID {
	p := s.Schedule
	sched, name := p.Inline, "inline"
	if sched == nil {
		name = string(p.Schedule)
		if r.opts.Schedules != nil {
			sched, _ = r.opts.Schedules.Schedule(p.Schedule)
		}
	}
	if sched == nil {
		r.trace(s, "schedule '%s': not found, counted as closed → step '%s'", name, p.Closed)
		return p.Closed
	}
	if sched.Name != "" && p.Inline != nil {
		name = sched.Name
	}
	st := sched.status(now)
	next, branch := p.Closed, "closed"
	switch {
	case st.open:
		next, branch = p.Open, "open"
	case st.allDay && p.Holiday != "":
		next, branch = p.Holiday, "holiday"
	}
	r.trace(s, "schedule '%s' at %s: %s → %s branch, step '%s'", name, now.In(copenhagen).Format("Mon 2006-01-02 15:04"), st.why, branch, next)
	return next
}
