package callflow

import (
	"fmt"
	"strings"
)

// DialPolicy is what one organisation may dial: the one rule for agents'
// dial strings, flow transfer steps, callbacks and agents' transfers to a
// number. A system administrator sets it per organisation; the
// organisation's own admin works inside it.
//
// A destination is one of:
//   - a phone number (+4512345678, 12345678, 0045 12 34 56 78): allowed
//     when the organisation has a trunk; it goes out through it (NumberDial);
//   - Local/exten@context: allowed when context matches LocalContexts;
//   - TECH/resource: allowed when it matches one of Endpoints.
//
// Anything else is refused: other technologies (Console/, DAHDI/, IAX2/, …)
// unless a pattern names them, and every character Asterisk reads as an
// option or a variable (, & ( ) ^ $ { } spaces …).
//
// Patterns are literal except `*`, which matches any run of characters but
// '/' and '@', and `?`, which matches one such character. So
// "PJSIP/guld-*" allows PJSIP/guld-1001 but not PJSIP/guld-1@faxe-trunk
// (that would dial through the endpoint faxe-trunk): a pattern allows an
// '@' only where it writes one ("PJSIP/*@guld-trunk"). The technology is
// compared without regard to case, as Asterisk does.
//
// The zero DialPolicy allows nothing.
type DialPolicy struct {
	// Endpoints are patterns of TECH/resource dial strings, e.g.
	// "PJSIP/guld-*". Not Local: see LocalContexts.
	Endpoints []string
	// Trunk is the dial string phone numbers go out through, {number}
	// replaced by the number (digits with an optional leading +), e.g.
	// "PJSIP/{number}@guld-trunk". Callbacks use it too.
	Trunk string
	// InstallationTrunk lets numbers go out through the installation-wide
	// trunk (OMSTIL_CALLBACK_ENDPOINT) when Trunk is empty. An upgraded
	// single-organisation installation's default organisation has it.
	InstallationTrunk bool
	// LocalContexts are the dialplan contexts (patterns as Endpoints) that
	// Local/exten@context may enter, e.g. "guld-agents".
	LocalContexts []string
}

// DialError is a destination refused by a DialPolicy (or malformed); its
// message says what the organisation may dial.
type DialError struct {
	Dest   string
	Reason string
}

func (e *DialError) Error() string { return fmt.Sprintf("%q: %s", e.Dest, e.Reason) }

// maxDialLen bounds a destination and a pattern.
const maxDialLen = 200

// IsNumber reports whether dest is a phone number (not a dial string).
func IsNumber(dest string) bool { return validNumber(dest) }

// CanDialNumbers reports whether phone numbers have a trunk to go out by.
func (p DialPolicy) CanDialNumbers() bool { return p.Trunk != "" || p.InstallationTrunk }

// Check returns nil when the organisation may dial dest, or a *DialError
// saying what it may dial.
func (p DialPolicy) Check(dest string) error {
	if IsNumber(dest) {
		if !p.CanDialNumbers() {
			return p.refuse(dest, "phone numbers need a trunk, and none is set for this organisation")
		}
		return nil
	}
	tech, res, err := splitDial(dest)
	if err != nil {
		return p.refuse(dest, err.Error())
	}
	if strings.EqualFold(tech, "Local") {
		exten, ctx, ok := strings.Cut(res, "@")
		if !ok || exten == "" || ctx == "" || strings.ContainsAny(ctx, "@/") || strings.Contains(exten, "/") {
			return p.refuse(dest, "a Local channel is Local/exten@context, without options")
		}
		for _, c := range p.LocalContexts {
			if globMatch(c, ctx) {
				return nil
			}
		}
		return p.refuse(dest, fmt.Sprintf("the context %q is not one this organisation may enter", ctx))
	}
	for _, e := range p.Endpoints {
		pt, pr, ok := strings.Cut(e, "/")
		if ok && strings.EqualFold(pt, tech) && globMatch(pr, res) {
			return nil
		}
	}
	return p.refuse(dest, "not an endpoint this organisation may dial")
}

// NumberDial is the dial string that reaches a phone number through the
// organisation's trunk; installation is the installation-wide trunk
// template, used only when the policy says InstallationTrunk and has no
// Trunk of its own. The number is cleaned (spaces, dashes, brackets
// dropped; 00 becomes +) before it goes into the template.
func (p DialPolicy) NumberDial(number, installation string) (string, error) {
	if !IsNumber(number) {
		return "", p.refuse(number, "not a phone number")
	}
	t := p.Trunk
	if t == "" && p.InstallationTrunk {
		t = installation
	}
	if t == "" {
		return "", p.refuse(number, "phone numbers need a trunk, and none is set for this organisation")
	}
	return strings.ReplaceAll(t, "{number}", cleanNumber(number)), nil
}

// Dial is the dial string to originate for dest: a number through the
// trunk (see NumberDial), anything else as it is, once Check allows it.
func (p DialPolicy) Dial(dest, installation string) (string, error) {
	if err := p.Check(dest); err != nil {
		return "", err
	}
	if IsNumber(dest) {
		return p.NumberDial(dest, installation)
	}
	return dest, nil
}

// Allowed describes in words what the policy allows.
func (p DialPolicy) Allowed() string {
	var parts []string
	switch {
	case p.Trunk != "":
		parts = append(parts, "phone numbers (through "+p.Trunk+")")
	case p.InstallationTrunk:
		parts = append(parts, "phone numbers (through the installation's trunk)")
	}
	if len(p.Endpoints) > 0 {
		parts = append(parts, "endpoints matching "+strings.Join(p.Endpoints, ", "))
	}
	if len(p.LocalContexts) > 0 {
		parts = append(parts, "Local/exten@context for the contexts "+strings.Join(p.LocalContexts, ", "))
	}
	if len(parts) == 0 {
		return "this organisation may dial nothing yet: a system administrator sets its trunk and endpoints (omstil org set)"
	}
	return "this organisation may dial " + strings.Join(parts, "; ")
}

func (p DialPolicy) refuse(dest, why string) error {
	return &DialError{Dest: dest, Reason: why + "; " + p.Allowed()}
}

// Validate checks the policy itself: patterns and the trunk are
// well-formed dial strings, the trunk has {number}.
func (p DialPolicy) Validate() error {
	for _, e := range p.Endpoints {
		tech, _, err := splitPattern(e)
		if err != nil {
			return fmt.Errorf("endpoints: %q: %w", e, err)
		}
		if strings.EqualFold(tech, "Local") {
			return fmt.Errorf("endpoints: %q: Local channels are allowed by their context (local_contexts), not by an endpoint pattern", e)
		}
	}
	for _, c := range p.LocalContexts {
		if c == "" || len(c) > 80 || !allChars(c, func(r rune) bool { return isWord(r) || r == '-' || r == '.' || r == '*' || r == '?' }) {
			return fmt.Errorf("local_contexts: %q: a context name (letters, digits, _ - . and the wildcards * ?)", c)
		}
	}
	if p.Trunk != "" {
		if strings.Count(p.Trunk, "{number}") != 1 {
			return fmt.Errorf("trunk: %q: must contain {number} once, e.g. PJSIP/{number}@guld-trunk", p.Trunk)
		}
		if _, _, err := splitDial(strings.ReplaceAll(p.Trunk, "{number}", "+4512345678")); err != nil {
			return fmt.Errorf("trunk: %q: %w", p.Trunk, err)
		}
	}
	return nil
}

// splitDial splits TECH/resource and refuses characters Asterisk would
// read as options, variables or a second destination.
func splitDial(d string) (tech, res string, err error) {
	return split(d, false)
}

func splitPattern(d string) (tech, res string, err error) {
	return split(d, true)
}

func split(d string, pattern bool) (tech, res string, err error) {
	if d == "" || len(d) > maxDialLen {
		return "", "", fmt.Errorf("want TECH/resource of at most %d characters", maxDialLen)
	}
	tech, res, ok := strings.Cut(d, "/")
	if !ok || tech == "" || res == "" || !allChars(tech, isWord) {
		return "", "", fmt.Errorf("want a phone number or TECH/resource such as PJSIP/1001")
	}
	ok = allChars(res, func(r rune) bool {
		return isWord(r) || strings.ContainsRune("+-.#@/", r) || (r == '*') || (pattern && r == '?')
	})
	if !ok {
		return "", "", fmt.Errorf("a dial string may hold only letters, digits and + - _ . # * @ / (no options, variables or spaces)")
	}
	return tech, res, nil
}

func isWord(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

func allChars(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

// globMatch matches s against pattern: `*` any run of characters but '/'
// and '@', `?` one such character, everything else literally.
func globMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			rest := pattern[1:]
			for i := 0; ; i++ {
				if globMatch(rest, s[i:]) {
					return true
				}
				if i == len(s) || s[i] == '/' || s[i] == '@' {
					return false
				}
			}
		case '?':
			if s == "" || s[0] == '/' || s[0] == '@' {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}
