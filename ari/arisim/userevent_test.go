package arisim

import "testing"

// TestUserEvent: POST /events/user/{eventName} delivers a ChannelUserevent
// (eventname, userevent = the variables plus eventname, the sources'
// snapshots) to the app's socket and answers 204; errors as Asterisk's
// resource_events.c words them.
func TestUserEvent(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	ch := h.callInApp(omstil, Call{Number: "1000", CallerID: "12345678"})

	h.must(204, "POST", "/ari/events/user/probe-1?application=omstil&source=channel:"+ch.ID, map[string]any{"variables": map[string]any{"k": "v"}})
	ev := omstil.expect("ChannelUserevent")[0]
	user, _ := ev["userevent"].(map[string]any)
	if ev["eventname"] != "probe-1" || user["eventname"] != "probe-1" || user["k"] != "v" || chanOf(ev)["id"] != ch.ID || ev["application"] != "omstil" {
		t.Fatalf("user event %v", ev)
	}
	if !tsRe.MatchString(ev["timestamp"].(string)) {
		t.Fatalf("timestamp %v", ev["timestamp"])
	}

	for _, c := range []struct {
		path string
		code int
	}{
		{"/ari/events/user/x", 400},
		{"/ari/events/user/x?application=nobody", 404},
		{"/ari/events/user/x?application=omstil&source=channel:nope", 422},
		{"/ari/events/user/x?application=omstil&source=bridge:nope", 422},
		{"/ari/events/user/x?application=omstil&source=carrier:pigeon", 400},
	} {
		if code, body := h.do("POST", c.path, nil); code != c.code {
			t.Errorf("POST %s: %d %s, want %d", c.path, code, body, c.code)
		}
	}
	// A refused request sends nothing: the next event on the socket is
	// this one.
	h.must(204, "POST", "/ari/events/user/probe-2?application=omstil", nil)
	if ev := omstil.expect("ChannelUserevent")[0]; ev["eventname"] != "probe-2" || ev["channel"] != nil {
		t.Fatalf("second user event %v", ev)
	}
}
