package callflow

import (
	"strings"
	"time"
)

func init() {
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
}

// Menu defaults.
const (
	DefaultMenuTimeoutSeconds = 5
	DefaultMenuAttempts       = 3
)

// MenuStep plays an announcement and waits for one DTMF key.
//
// A key in Options goes to that step. An invalid key or no key within the
// timeout is a failed attempt: after Attempts failed attempts the call goes
// to Exhausted (hangup when unset); before that, to Invalid / NoInput when
// set, otherwise the menu is played again. Failed attempts are counted per
// menu for the whole call and reset by a valid choice.
type MenuStep struct {
	Announcement   AnnouncementRef   `json:"announcement"`
	Options        map[string]StepID `json:"options"`
	TimeoutSeconds int               `json:"timeoutSeconds,omitempty"` // 0: DefaultMenuTimeoutSeconds
	Attempts       int               `json:"attempts,omitempty"`       // 0: DefaultMenuAttempts
	Invalid        StepID            `json:"invalid,omitempty"`
	NoInput        StepID            `json:"noInput,omitempty"`
	Exhausted      StepID            `json:"exhausted,omitempty"`
}

func (m *MenuStep) timeoutSeconds() int {
	if m.TimeoutSeconds <= 0 {
		return DefaultMenuTimeoutSeconds
	}
	return m.TimeoutSeconds
}

func (m *MenuStep) attempts() int {
	if m.Attempts <= 0 {
		return DefaultMenuAttempts
	}
	return m.Attempts
}

// menuKeys are the DTMF keys a menu option may use.
const menuKeys = "0123456789*#"

func (v *validator) menu(s *Step) {
	m := s.Menu
	v.announcement(s.ID, "menu.announcement", m.Announcement)
	if len(m.Options) == 0 {
		v.err(s.ID, "menu.options", CodeMissingBranch, "a menu needs at least one option")
	}
	for _, k := range sortedKeys(m.Options) {
		if len(k) != 1 || !strings.Contains(menuKeys, k) {
			v.err(s.ID, "menu.options["+k+"]", CodeBadDigit, "key %q: want one of 0-9, * or #", k)
		}
	}
	if m.TimeoutSeconds < 0 || m.TimeoutSeconds > 60 {
		v.err(s.ID, "menu.timeoutSeconds", CodeBadValue, "%d: want 1–60 seconds (0 for the default %d)", m.TimeoutSeconds, DefaultMenuTimeoutSeconds)
	}
	if m.Attempts < 0 || m.Attempts > 10 {
		v.err(s.ID, "menu.attempts", CodeBadValue, "%d: want 1–10 (0 for the default %d)", m.Attempts, DefaultMenuAttempts)
	}
	if m.Exhausted == "" {
		v.add(s.ID, "menu.exhausted", SeverityWarning, CodeMissingBranch, "no step after %d failed attempts: the call is hung up", m.attempts())
	}
}

func (r *Run) choose(now time.Time, key string) Action {
	s := r.cur
	if next, ok := s.Menu.Options[key]; ok && len(key) == 1 {
		delete(r.failures, s.ID)
		r.trace(s, "menu: caller pressed %s → step '%s'", key, next)
		return r.enter(now, next)
	}
	r.trace(s, "menu: invalid key %q (attempt %d of %d)", key, r.failures[s.ID]+1, s.Menu.attempts())
	return r.failed(now, s.Menu.Invalid, "invalid-key branch")
}

// failed counts a failed menu attempt and goes on: Exhausted when the
// attempts are used up, else the branch, else the menu again.
func (r *Run) failed(now time.Time, branch StepID, label string) Action {
	s := r.cur
	m := s.Menu
	if r.failures == nil {
		r.failures = map[StepID]int{}
	}
	r.failures[s.ID]++
	switch {
	case r.failures[s.ID] >= m.attempts():
		delete(r.failures, s.ID)
		if m.Exhausted == "" {
			r.trace(s, "menu: no valid choice after %d attempts and no exhausted branch — hang up", m.attempts())
			return r.act(Hangup{StepID: s.ID, Cause: "normal", Reason: "menu attempts exhausted"})
		}
		r.trace(s, "menu: no valid choice after %d attempts → step '%s'", m.attempts(), m.Exhausted)
		return r.enter(now, m.Exhausted)
	case branch != "":
		r.trace(s, "menu: %s → step '%s'", label, branch)
		return r.enter(now, branch)
	default:
		r.trace(s, "menu: play again")
		return r.enter(now, s.ID)
	}
}
