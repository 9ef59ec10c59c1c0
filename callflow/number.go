package callflow

import (
	"errors"
	"fmt"
	"strings"
)

// Phone numbers have one canonical form, in which omstil stores and
// compares them: inbound numbers (unique in the installation), the number
// a call arrives on from Asterisk, caller rules and the caller's number.
// CanonicalNumber owns the rule; every other package asks it.
//
//   - Separators are dropped: spaces, dashes, dots and parentheses.
//   - A leading 00 (the international prefix) becomes +.
//   - An international number is + and 7–15 digits (E.164 allows at most
//     15), not starting with 0. A +45 (Danish) number has exactly 8 digits
//     after the 45.
//   - 8 digits are a Danish national number: +45 and the 8 digits.
//   - 10 digits starting with 45 are a Danish number written without its
//     +: + and the 10 digits.
//   - 1–7 digits are a short number: an internal extension or a service
//     number (1000, 114, 1813). It stays as it is, digits without a +, so
//     it can never be equal to an E.164 number. Danish public numbers all
//     have 8 digits, so no spelling of one is a short number.
//
// Anything else (9 digits, 11–15 digits without + or 00, letters) is
// refused: omstil cannot tell which number was meant.
//
// Examples: "80 80 80 80", "4580808080", "004580808080" and "+45 80-80-80-80"
// are all "+4580808080"; "1813" is "1813"; "0046 8 123 456 78" is
// "+46812345678".

// Number lengths of the canonical forms.
const (
	maxShort = 7  // digits of the longest short number
	minE164  = 7  // digits after + of the shortest E.164 number accepted
	maxE164  = 15 // digits after + of the longest E.164 number (ITU-T E.164)
)

// ErrNotANumber is what CanonicalNumber's errors wrap.
var ErrNotANumber = errors.New("not a phone number")

// CanonicalNumber returns raw in the canonical form (see above), or an
// error wrapping ErrNotANumber that says what is wrong without repeating
// raw (a caller's number is personal data).
func CanonicalNumber(raw string) (string, error) {
	c := cleanNumber(raw)
	if c == "" {
		return "", fmt.Errorf("%w: empty", ErrNotANumber)
	}
	if d, ok := strings.CutPrefix(c, "+"); ok {
		if !allDigits(d) {
			return "", fmt.Errorf("%w: want digits after + (or 00)", ErrNotANumber)
		}
		switch {
		case strings.HasPrefix(d, "0"):
			return "", fmt.Errorf("%w: no country code starts with 0", ErrNotANumber)
		case strings.HasPrefix(d, "45") && len(d) != 10:
			return "", fmt.Errorf("%w: a Danish number (+45) has 8 digits after 45, not %d", ErrNotANumber, len(d)-2)
		case len(d) < minE164 || len(d) > maxE164:
			return "", fmt.Errorf("%w: an international number has %d–%d digits after + (or 00), not %d", ErrNotANumber, minE164, maxE164, len(d))
		}
		return c, nil
	}
	if !allDigits(c) {
		return "", fmt.Errorf("%w: want digits, optionally starting with + or 00", ErrNotANumber)
	}
	switch {
	case len(c) == 8:
		return "+45" + c, nil
	case len(c) == 10 && strings.HasPrefix(c, "45"):
		return "+" + c, nil
	case len(c) <= maxShort:
		return c, nil
	}
	return "", fmt.Errorf("%w: %d digits: want a Danish number (8 digits), a short number (at most %d digits) or an international number starting with + or 00", ErrNotANumber, len(c), maxShort)
}

// comparableNumber is a number as compared at run time: its canonical form,
// or, for a number CanonicalNumber refuses (an odd caller ID from a
// trunk), the number cleaned of separators, which then only equals itself.
func comparableNumber(n string) string {
	if c, err := CanonicalNumber(n); err == nil {
		return c
	}
	return cleanNumber(n)
}

// canonicalPrefix is a caller rule's prefix as compared: cleaned, a
// leading 00 written as +. A prefix with + is compared with the caller's
// canonical number, one without with its national number.
func canonicalPrefix(p string) string { return cleanNumber(p) }

// validPrefix accepts a prefix: 1–15 digits, optionally after + or 00.
func validPrefix(p string) bool {
	d := strings.TrimPrefix(canonicalPrefix(p), "+")
	return len(d) >= 1 && len(d) <= maxE164 && allDigits(d)
}

// cleanNumber drops separators and turns a leading 00 into +.
func cleanNumber(n string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(n) {
		switch r {
		case ' ', '-', '(', ')', '.':
			continue
		}
		b.WriteRune(r)
	}
	c := b.String()
	if strings.HasPrefix(c, "00") {
		c = "+" + c[2:]
	}
	return c
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// CanonicalizeNumbers rewrites the numbers of f's caller rules in the form
// they are compared in: an exact rule's numbers by CanonicalNumber, a
// prefix cleaned with 00 written as +. The store calls it before saving, so
// a saved flow shows what is compared. A number that is not valid stays as
// it is, for Validate to report. f's steps are copied, not changed in
// place, so a flow shared with others is safe to pass.
func (f *Flow) CanonicalizeNumbers() {
	steps := make([]Step, len(f.Steps))
	copy(steps, f.Steps)
	for i := range steps {
		cs := steps[i].Caller
		if cs == nil {
			continue
		}
		c := *cs
		c.Rules = make([]CallerRule, len(cs.Rules))
		for j, r := range cs.Rules {
			if len(r.Numbers) > 0 {
				nums := make([]string, len(r.Numbers))
				for k, n := range r.Numbers {
					nums[k] = n
					switch r.Match {
					case MatchExact:
						if cn, err := CanonicalNumber(n); err == nil {
							nums[k] = cn
						}
					case MatchPrefix:
						if validPrefix(n) {
							nums[k] = canonicalPrefix(n)
						}
					}
				}
				r.Numbers = nums
			}
			c.Rules[j] = r
		}
		steps[i].Caller = &c
	}
	f.Steps = steps
}
