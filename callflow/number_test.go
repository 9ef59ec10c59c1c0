package callflow

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalNumber(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" = refused
	}{
		// A Danish number in every spelling is one number.
		{"+4580808080", "+4580808080"},
		{"80808080", "+4580808080"},
		{"4580808080", "+4580808080"},
		{"004580808080", "+4580808080"},
		{"+45 80 80 80 80", "+4580808080"},
		{"80-80-80-80", "+4580808080"},
		{"(+45) 80.80.80.80", "+4580808080"},
		{" 0045 8080 8080 ", "+4580808080"},
		// Other countries: + or 00, 7–15 digits.
		{"+46812345678", "+46812345678"},
		{"0046 8 123 456 78", "+46812345678"},
		{"+6834002", "+6834002"},                 // Niue: 7 digits
		{"+123456789012345", "+123456789012345"}, // 15 digits: the E.164 maximum
		// Short numbers: extensions and service numbers stay as they are.
		{"1000", "1000"},
		{"114", "114"},
		{"1813", "1813"},
		{"1", "1"},
		{"1234567", "1234567"},
		{"1 000", "1000"},
		{"0800", "0800"},
		// Refused.
		{"", ""},
		{"   ", ""},
		{"+", ""},
		{"00", ""},
		{"+45 8080 808", ""},      // +45 with 7 digits
		{"+45808080801", ""},      // +45 with 9 digits
		{"4580808080 1", ""},      // 11 digits without +
		{"123456789", ""},         // 9 digits: not Danish, not short, no +
		{"+1234567890123456", ""}, // 16 digits
		{"+123456", ""},           // 6 digits after +
		{"+0123456789", ""},       // no country code starts with 0
		{"80ab8080", ""},
		{"+45 80 80 80 8O", ""}, // letter O
		{"++4580808080", ""},
		{"80808080#", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := CanonicalNumber(tt.raw)
			if tt.want == "" {
				if err == nil || !errors.Is(err, ErrNotANumber) {
					t.Fatalf("CanonicalNumber(%q) = %q, %v; want an error wrapping ErrNotANumber", tt.raw, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CanonicalNumber(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
			// The canonical form is its own canonical form.
			if again, err := CanonicalNumber(got); err != nil || again != got {
				t.Errorf("CanonicalNumber(%q) = %q, %v; not idempotent", got, again, err)
			}
		})
	}
}

// A short number is never equal to an E.164 number, whatever the spelling.
func TestCanonicalShortNumberNeverE164(t *testing.T) {
	for _, raw := range []string{"1000", "114", "1813", "1234567"} {
		c, err := CanonicalNumber(raw)
		if err != nil || strings.HasPrefix(c, "+") {
			t.Errorf("%q → %q, %v: want a short number", raw, c, err)
		}
	}
	for _, raw := range []string{"80808080", "+4580808080", "004610000000"} {
		c, err := CanonicalNumber(raw)
		if err != nil || !strings.HasPrefix(c, "+") {
			t.Errorf("%q → %q, %v: want an E.164 number", raw, c, err)
		}
	}
}

// The error does not repeat the number: callers' numbers are personal data.
func TestCanonicalNumberErrorHidesNumber(t *testing.T) {
	_, err := CanonicalNumber("987654321")
	if err == nil {
		t.Fatal("no error")
	}
	if s := err.Error(); strings.Contains(s, "987654321") {
		t.Errorf("error %q repeats the number", s)
	}
}

func TestCanonicalizeNumbers(t *testing.T) {
	rules := []CallerRule{
		{Match: MatchExact, Numbers: []string{"80 80 80 80", "4570101010", "1813", "123456789"}, Next: "x"},
		{Match: MatchPrefix, Numbers: []string{"0046", "+45 30", "80", "12ab"}, Next: "x"},
		{Match: MatchInternal, MaxLength: 4, Next: "x"},
	}
	orig := &CallerStep{Rules: rules, Default: "x"}
	f := &Flow{Start: "c", Steps: []Step{{ID: "c", Kind: KindCaller, Caller: orig}, {ID: "x", Kind: KindHangup}}}
	shared := f.Steps
	f.CanonicalizeNumbers()
	got := f.Steps[0].Caller.Rules
	if want := []string{"+4580808080", "+4570101010", "1813", "123456789"}; !reflect.DeepEqual(got[0].Numbers, want) {
		t.Errorf("exact numbers = %q, want %q", got[0].Numbers, want)
	}
	if want := []string{"+46", "+4530", "80", "12ab"}; !reflect.DeepEqual(got[1].Numbers, want) {
		t.Errorf("prefixes = %q, want %q", got[1].Numbers, want)
	}
	if got[2].MaxLength != 4 || got[0].Next != "x" || f.Steps[0].Caller.Default != "x" {
		t.Errorf("other fields changed: %+v", f.Steps[0].Caller)
	}
	if shared[0].Caller != orig || orig.Rules[0].Numbers[0] != "80 80 80 80" {
		t.Error("CanonicalizeNumbers changed the flow it was given in place")
	}
}
