package callflow

import (
	"strings"
)

// nationalNumber is the caller's comparable number without +45 for Danish
// numbers.
func nationalNumber(caller string) string {
	c := comparableNumber(caller)
	if strings.HasPrefix(c, "+45") {
		return c[3:]
	}
	return c
}

// isAnonymous reports a withheld caller number.
func isAnonymous(caller string) bool {
	c := strings.ToLower(strings.TrimSpace(caller))
	switch c {
	case "", "anonymous", "unknown", "restricted", "private", "unavailable":
		return true
	}
	return !strings.ContainsAny(c, "0123456789")
}

// match reports whether the rule matches the caller number.
func (r *CallerRule) match(caller string) bool {
	switch r.Match {
	case MatchAnonymous:
		return isAnonymous(caller)
	case MatchInternal:
		c := cleanNumber(caller)
		return allDigits(c) && len(c) <= r.MaxLength
	case MatchExact:
		if isAnonymous(caller) {
			return false
		}
		want := comparableNumber(caller)
		for _, n := range r.Numbers {
			if c, err := CanonicalNumber(n); err == nil && c == want {
				return true
			}
		}
	case MatchPrefix:
		if isAnonymous(caller) {
			return false
		}
		full, national := comparableNumber(caller), nationalNumber(caller)
		for _, n := range r.Numbers {
			p := canonicalPrefix(n)
			if p == "" {
				continue
			}
			if strings.HasPrefix(p, "+") {
				if strings.HasPrefix(full, p) {
					return true
				}
			} else if strings.HasPrefix(national, p) {
				return true
			}
		}
	}
	return false
}

// MaskNumber shows a phone number as personal data may be shown in logs and
// the dry-run: only its last two digits ("…78"), or "anonymous".
func MaskNumber(n string) string {
	if isAnonymous(n) {
		return "anonymous"
	}
	c := cleanNumber(n)
	if len(c) <= 2 {
		return "…"
	}
	return "…" + c[len(c)-2:]
}
