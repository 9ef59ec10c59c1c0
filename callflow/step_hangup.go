package callflow

import (
	"time"
)

func init() {
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

// HangupStep ends the call. Cause is an ARI hangup reason: normal (default),
// busy, congestion, rejected or unallocated.
type HangupStep struct {
	Cause string `json:"cause,omitempty"`
}

// hangupCauses are the causes a hangup step may name (a subset of ARI's
// DELETE /channels/{id}?reason= values).
var hangupCauses = map[string]bool{
	"normal": true, "busy": true, "congestion": true, "rejected": true, "unallocated": true,
}
