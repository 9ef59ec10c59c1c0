package ariclient_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
)

// Event types Asterisk 22 sends that older Go ARI libraries crash on or
// drop arrive here, raw or typed, and the stream carries on. Simulator
// only: a real Asterisk cannot be made to emit an arbitrary type.
func TestSimUnknownEventTypesSurvive(t *testing.T) {
	sim := arisim.New(arisim.Options{User: "omstil", Password: "pw", Logger: discardLogger()})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	tg := target{name: "simulator", url: srv.URL + "/ari", user: "omstil", pass: "pw", rtpHost: "127.0.0.1"}
	e := newEnv(t, tg, nil)

	ts := time.Now().Format(ariclient.TimeLayout)
	for _, ev := range []arisim.Event{
		{"type": "CallBroadcast", "timestamp": ts, "channel": map[string]any{"id": "x"}, "called": "1000"},
		{"type": "SomethingAsterisk30Adds", "timestamp": ts, "payload": []int{1, 2}},
	} {
		if err := sim.EmitEvent(appMain, ev); err != nil {
			t.Fatalf("EmitEvent: %v", err)
		}
	}
	cz := e.placeCitizen("1010", "4512345610") // the stream still works afterwards
	waitEv(t, e.log, "CallBroadcast", func(ev *ariclient.CallBroadcast) bool { return ev.Called == "1000" })
	u, iU := waitEv(t, e.log, "unknown event", func(ev *ariclient.UnknownEvent) bool { return ev.Type == "SomethingAsterisk30Adds" })
	if u.Err != nil || u.Application != appMain || u.Timestamp.IsZero() {
		t.Errorf("unknown event %+v", u)
	}
	_, iS := waitEv(t, e.log, "StasisStart after the unknown event", forChannel[*ariclient.StasisStart](appMain, cz.Inbound))
	if iS < iU {
		t.Errorf("order lost: StasisStart before the unknown event sent first")
	}
	if st := e.c.Stats(); st.Unknown != 1 || st.DecodeErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}
