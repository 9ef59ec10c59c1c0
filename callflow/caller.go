package callflow

import (
	"strings"
)

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

// canonicalNumber writes a Danish 8-digit national number as +45XXXXXXXX;
// other numbers are only cleaned.
func canonicalNumber(n string) string {
	c := cleanNumber(n)
	if len(c) == 8 && allDigits(c) {
		return "+45" + c
	}
	return c
}

// nationalNumber is the number without +45 for Danish numbers.
func nationalNumber(n string) string {
	c := canonicalNumber(n)
	if strings.HasPrefix(c, "+45") {
		return c[3:]
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
		want := canonicalNumber(caller)
		for _, n := range r.Numbers {
			if canonicalNumber(n) == want {
				return true
			}
		}
	case MatchPrefix:
		if isAnonymous(caller) {
			return false
		}
		full, national := canonicalNumber(caller), nationalNumber(caller)
		for _, n := range r.Numbers {
			p := cleanNumber(n)
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
