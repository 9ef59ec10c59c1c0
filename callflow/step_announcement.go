package callflow

import (
	"time"
)

func init() {
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
}

// AnnouncementStep plays an announcement, then goes to Next.
type AnnouncementStep struct {
	Announcement AnnouncementRef `json:"announcement"`
	Next         StepID          `json:"next"`
}
