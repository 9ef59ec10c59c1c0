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

// TestRESTTransportAuto: RESTAuto asks Asterisk's version after the socket
// is up and, for one that takes REST on the socket (the simulator says
// 22.10.1), sends the calls there; a socket that closes fails the calls in
// flight and the next ones go over HTTP until it is back.
func TestRESTTransportAuto(t *testing.T) {
	sim := arisim.New(arisim.Options{User: "omstil", Password: "pw", Logger: discardLogger()})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	tg := target{name: "simulator", url: srv.URL + "/ari", user: "omstil", pass: "pw", rtpHost: "127.0.0.1"}
	e := newEnv(t, tg, func(c *ariclient.Config) { c.RESTOverWebSocket = ariclient.RESTAuto })
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := e.c.Stats().RESTOnSocket
		if _, err := e.c.Ping(e.ctx()); err != nil {
			t.Fatal(err)
		}
		if e.c.Stats().RESTOnSocket > before {
			break // the version check switched the calls to the socket
		}
		if time.Now().After(deadline) {
			t.Fatal("RESTAuto never sent a call over the socket of a 22.10.1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cz := e.placeCitizen("1010", "4512345610")
	if err := e.c.Answer(e.ctx(), cz.Inbound); err != nil {
		t.Fatalf("answer over the socket: %v", err)
	}
	if _, err := e.c.GetChannel(e.ctx(), "no-such-channel"); !ariclient.IsNotFound(err) {
		t.Fatalf("a 404 over the socket: %v, want IsNotFound", err)
	}
}

func TestRESTOverWebSocketSupported(t *testing.T) {
	for v, want := range map[string]bool{
		"22.10.1": true, "22.2.0": true, "22.1.1": false, "21.7.0": true, "21.6.9": false,
		"20.12.0": true, "20.11.3": false, "23.0.0-rc1": true, "18.26.0": false,
		"certified-20.7-cert2": false, "GIT-master-abc": false, "": false, "22.10.1 (omstil arisim)": true,
	} {
		if got := ariclient.RESTOverWebSocketSupported(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func TestParseRESTTransport(t *testing.T) {
	for name, want := range map[string]ariclient.RESTTransport{"http": ariclient.RESTHTTP, "websocket": ariclient.RESTWebSocket, "auto": ariclient.RESTAuto} {
		if got, err := ariclient.ParseRESTTransport(name); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "WebSocket", "ws"} {
		if _, err := ariclient.ParseRESTTransport(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
