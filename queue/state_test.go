package queue

import (
	"encoding/json"
	"testing"
)

// Each state has one text form; ParseState reads exactly that form and
// refuses the spellings older code used.
func TestStateTextForm(t *testing.T) {
	want := map[State]string{LoggedOut: "logged_out", Ready: "ready", Paused: "paused",
		Ringing: "ringing", OnCall: "on_call", WrapUp: "wrap_up"}
	for st, name := range want {
		if got := st.String(); got != name {
			t.Errorf("%d.String() = %q, want %q", st, got, name)
		}
		back, err := ParseState(name)
		if err != nil || back != st {
			t.Errorf("ParseState(%q) = %v, %v", name, back, err)
		}
		b, _ := json.Marshal(st)
		var j State
		if err := json.Unmarshal(b, &j); err != nil || j != st || string(b) != `"`+name+`"` {
			t.Errorf("JSON round trip of %v: %s, %v, %v", st, b, j, err)
		}
	}
	for _, bad := range []string{"", "loggedout", "logged-out", "oncall", "wrap-up", "wrapup", "Ready", "busy"} {
		if st, err := ParseState(bad); err == nil {
			t.Errorf("ParseState(%q) = %v, want an error", bad, st)
		}
	}
}
