package callflow

import (
	"fmt"
	"time"
)

func init() {
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
}

// CallerStep branches on the caller's number: the first matching rule wins,
// Default when none matches.
type CallerStep struct {
	Rules   []CallerRule `json:"rules"`
	Default StepID       `json:"default"`
}

// Match is how a caller rule compares the caller's number.
type Match string

// Caller rule matches.
const (
	// MatchPrefix: the number starts with one of Numbers. A prefix written
	// internationally (+45…, 0045…) is compared with the full number; one
	// written without it with the national number (the 8 digits of a +45
	// number).
	MatchPrefix Match = "prefix"
	// MatchExact: the number is one of Numbers (+45 optional for 8-digit
	// Danish numbers).
	MatchExact Match = "exact"
	// MatchAnonymous: no caller number (withheld, "anonymous", "unknown").
	MatchAnonymous Match = "anonymous"
	// MatchInternal: an internal extension: digits only, no international
	// prefix, at most MaxLength digits.
	MatchInternal Match = "internal"
)

// CallerRule is one rule of a caller step.
type CallerRule struct {
	Match     Match    `json:"match"`
	Numbers   []string `json:"numbers,omitempty"`   // prefix, exact
	MaxLength int      `json:"maxLength,omitempty"` // internal: 1..7
	Next      StepID   `json:"next"`
}

func (v *validator) caller(s *Step) {
	c := s.Caller
	for i, r := range c.Rules {
		field := fieldIndex("caller.rules", i)
		switch r.Match {
		case MatchPrefix, MatchExact:
			if len(r.Numbers) == 0 {
				v.err(s.ID, field+".numbers", CodeBadValue, "a %s rule needs at least one number", r.Match)
			}
			for j, n := range r.Numbers {
				if r.Match == MatchPrefix && !validPrefix(n) {
					v.err(s.ID, fieldIndex(field+".numbers", j), CodeBadValue, "%q is not a number prefix (1–15 digits, optionally starting with + or 00)", n)
				}
				if _, err := CanonicalNumber(n); r.Match == MatchExact && err != nil {
					v.err(s.ID, fieldIndex(field+".numbers", j), CodeBadValue, "%q is %v", n, err)
				}
			}
		case MatchAnonymous:
		case MatchInternal:
			if r.MaxLength < 1 || r.MaxLength > 7 {
				v.err(s.ID, field+".maxLength", CodeBadValue, "%d: want 1–7 digits (8 would match Danish numbers)", r.MaxLength)
			}
		default:
			v.err(s.ID, field+".match", CodeBadValue, "unknown match %q (want prefix, exact, anonymous or internal)", r.Match)
		}
	}
}

func (r *Run) caller(s *Step) StepID {
	c := s.Caller
	who := MaskNumber(r.call.Caller)
	for i, rule := range c.Rules {
		if rule.match(r.call.Caller) {
			r.trace(s, "caller %s matches rule %d (%s) → step '%s'", who, i+1, describeRule(rule), rule.Next)
			return rule.Next
		}
	}
	r.trace(s, "caller %s matches no rule → default step '%s'", who, c.Default)
	return c.Default
}

func describeRule(rule CallerRule) string {
	switch rule.Match {
	case MatchPrefix, MatchExact:
		return fmt.Sprintf("%s %v", rule.Match, rule.Numbers)
	case MatchInternal:
		return fmt.Sprintf("internal, at most %d digits", rule.MaxLength)
	}
	return string(rule.Match)
}
