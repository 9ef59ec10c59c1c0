package callflow

import "time"

// The built-in step kinds' table entries. Their settings, validation and
// run are in flow.go, validate.go and run.go; a new kind keeps all of its
// own in one file instead (see step_priority.go).
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
	register(&kindSpec{
		kind: KindMenu, order: 20,
		label: Text{Da: "menu", En: "menu"},
		help:  Text{Da: "Afspiller en besked og venter på ét tastetryk.", En: "Plays an announcement and waits for one key."},
		set:   func(s *Step) bool { return s.Menu != nil },
		copy:  func(s *Step) { c := *s.Menu; s.Menu = &c },
		refs: []refField{{"menu.announcement", RefAnnouncement, func(s *Step) *string {
			return (*string)(&s.Menu.Announcement)
		}}},
		edges: func(s *Step) []edge {
			p := s.Menu
			var es []edge
			for _, k := range sortedKeys(p.Options) {
				es = append(es, edge{"menu.options[" + k + "]", p.Options[k], true})
			}
			return append(es, edge{"menu.invalid", p.Invalid, false}, edge{"menu.noInput", p.NoInput, false},
				edge{"menu.exhausted", p.Exhausted, false})
		},
		validate: (*validator).menu,
		run: func(r *Run, _ time.Time, s *Step) (StepID, Action) {
			m := s.Menu
			r.trace(s, "menu: play '%s' and wait up to %ds for a key (attempt %d of %d)", m.Announcement, m.timeoutSeconds(), r.failures[s.ID]+1, m.attempts())
			r.phase = phasePrompting
			return "", Play{StepID: s.ID, Announcement: m.Announcement, Interruptible: true}
		},
	})
	register(&kindSpec{
		kind: KindAnnouncement, order: 30,
		label: Text{Da: "besked", En: "announcement"},
		help:  Text{Da: "Afspiller en besked og går videre.", En: "Plays an announcement, then goes on."},
		set:   func(s *Step) bool { return s.Announcement != nil },
		copy:  func(s *Step) { c := *s.Announcement; s.Announcement = &c },
		refs: []refField{{"announcement.announcement", RefAnnouncement, func(s *Step) *string {
			return (*string)(&s.Announcement.Announcement)
		}}},
		edges: func(s *Step) []edge { return []edge{{"announcement.next", s.Announcement.Next, true}} },
		run: func(r *Run, _ time.Time, s *Step) (StepID, Action) {
			a := s.Announcement
			r.trace(s, "announcement: play '%s', then step '%s'", a.Announcement, a.Next)
			r.phase = phasePlaying
			return "", Play{StepID: s.ID, Announcement: a.Announcement}
		},
	})
	register(&kindSpec{
		kind: KindCaller, order: 40,
		label: Text{Da: "hvem ringer", En: "caller"},
		help:  Text{Da: "Går videre efter opkalderens nummer.", En: "Branches on the caller's number."},
		set:   func(s *Step) bool { return s.Caller != nil },
		edges: func(s *Step) []edge {
			var es []edge
			for i, r := range s.Caller.Rules {
				es = append(es, edge{fieldIndex("caller.rules", i) + ".next", r.Next, true})
			}
			return append(es, edge{"caller.default", s.Caller.Default, true})
		},
		validate: (*validator).caller,
		run:      func(r *Run, _ time.Time, s *Step) (StepID, Action) { return r.caller(s), nil },
	})
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
	register(&kindSpec{
		kind: KindTransfer, order: 60, terminal: true,
		label:    Text{Da: "omstil", En: "transfer"},
		help:     Text{Da: "Viderestiller til et nummer; forløbet slutter.", En: "Transfers to a number; the flow ends."},
		set:      func(s *Step) bool { return s.Transfer != nil },
		validate: (*validator).transfer,
		run: func(r *Run, _ time.Time, s *Step) (StepID, Action) {
			r.trace(s, "transfer to %s", s.Transfer.Destination)
			return "", Transfer{StepID: s.ID, Destination: s.Transfer.Destination}
		},
	})
	register(&kindSpec{
		kind: KindHangup, order: 70, terminal: true, settingsOptional: true,
		label: Text{Da: "læg på", En: "hang up"},
		help:  Text{Da: "Afslutter opkaldet.", En: "Ends the call."},
		set:   func(s *Step) bool { return s.Hangup != nil },
		validate: func(v *validator, s *Step) {
			if s.Hangup != nil && s.Hangup.Cause != "" && !hangupCauses[s.Hangup.Cause] {
				v.err(s.ID, "hangup.cause", CodeBadValue, "unknown cause %q (want normal, busy, congestion, rejected or unallocated)", s.Hangup.Cause)
			}
		},
		run: func(r *Run, _ time.Time, s *Step) (StepID, Action) {
			cause := "normal"
			if s.Hangup != nil && s.Hangup.Cause != "" {
				cause = s.Hangup.Cause
			}
			r.trace(s, "hang up (%s)", cause)
			return "", Hangup{StepID: s.ID, Cause: cause, Reason: "hangup step"}
		},
	})
}
