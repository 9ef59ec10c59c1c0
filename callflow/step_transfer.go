package callflow

import (
	"strings"
	"time"
	"unicode"
)

func init() {
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
}

// TransferStep hands the call to an external number (+4512345678,
// 12345678) or an Asterisk dial string (PJSIP/1001,
// PJSIP/+4512345678@trunk). The flow ends there.
type TransferStep struct {
	Destination string `json:"destination"`
}

func (v *validator) transfer(s *Step) {
	d := s.Transfer.Destination
	if !validDestination(d) {
		v.err(s.ID, "transfer.destination", CodeBadValue, "%q: want a phone number (+4512345678) or a dial string (PJSIP/1001, PJSIP/+4512345678@trunk)", d)
		return
	}
	if v.lookup == nil {
		return
	}
	if p, ok := v.lookup.DialPolicy(); ok {
		if err := p.Check(d); err != nil {
			v.err(s.ID, "transfer.destination", CodeNotAllowed, "%s", err.Error())
		}
	}
}

// validDestination accepts a phone number or TECH/resource without spaces.
func validDestination(d string) bool {
	if validNumber(d) {
		return true
	}
	tech, res, ok := strings.Cut(d, "/")
	if !ok || tech == "" || res == "" || len(d) > 200 {
		return false
	}
	for _, r := range tech {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')) {
			return false
		}
	}
	for _, r := range res {
		if r <= ' ' || r >= unicode.MaxASCII || r == ',' || r == '&' {
			return false
		}
	}
	return true
}

// validNumber accepts digits with an optional leading + (or 00), spaces and
// dashes allowed as separators.
func validNumber(n string) bool {
	c := cleanNumber(n)
	c = strings.TrimPrefix(c, "+")
	if c == "" || len(c) > 20 {
		return false
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
