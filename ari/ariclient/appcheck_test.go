package ariclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// appRegistry plays Asterisk's side of the app check on the fake ARI: a
// new socket registers (activates) the apps; deactivate() is Asterisk
// handling an old socket's late close while the new one stays open.
type appRegistry struct {
	f *fakeARI
	// keepObject: the app stays in GET /applications after deactivation
	// (Asterisk keeps it while channels or device states are subscribed),
	// so only the user-event probe can tell.
	keepObject bool
	noUserEv   bool // the server has no /events/user route (like arisim today)

	active   atomic.Bool
	sockets  atomic.Int32 // upgrades answered (the app is registered before the answer, as in Asterisk)
	accepted atomic.Int32 // sockets the fake holds
	probes   atomic.Int32 // probe events sent back
}

func newAppRegistry(f *fakeARI, keepObject, noUserEv bool) *appRegistry {
	r := &appRegistry{f: f, keepObject: keepObject, noUserEv: noUserEv}
	f.mu.Lock()
	f.onDial = func() { r.sockets.Add(1); r.active.Store(true) }
	f.onConn = func(*fakeConn) { r.accepted.Add(1) }
	f.mu.Unlock()
	f.setAnswer(r.answer)
	return r
}

func (r *appRegistry) deactivate() { r.active.Store(false) }

func (r *appRegistry) answer(w http.ResponseWriter, req *http.Request) {
	notFound := func(msg string) { jsonAnswer(http.StatusNotFound, `{"message":"`+msg+`"}`)(w, req) }
	switch p := req.URL.Path; {
	case req.Method == http.MethodGet && strings.HasPrefix(p, "/ari/applications/"):
		app := strings.TrimPrefix(p, "/ari/applications/")
		if !r.active.Load() && !r.keepObject {
			notFound("Application not found")
			return
		}
		jsonAnswer(http.StatusOK, `{"name":"`+app+`","channel_ids":[],"bridge_ids":[],"endpoint_ids":[],"device_names":[]}`)(w, req)
	case req.Method == http.MethodPost && strings.HasPrefix(p, "/ari/events/user/") && !r.noUserEv:
		name := strings.TrimPrefix(p, "/ari/events/user/")
		app := req.URL.Query().Get("application")
		if !r.active.Load() {
			if !r.keepObject {
				notFound("Application not found")
				return
			}
			w.WriteHeader(http.StatusNoContent) // "Inactive Stasis app missed message"
			return
		}
		r.probes.Add(1)
		w.WriteHeader(http.StatusNoContent)
		// The socket that registered the app may be a moment from being
		// held by the fake.
		for deadline := time.Now().Add(5 * time.Second); r.accepted.Load() < r.sockets.Load() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		msg := `{"type":"ChannelUserevent","eventname":"` + name + `","userevent":{},"application":"` + app + `","timestamp":"2026-11-28T03:24:41.123+0100"}`
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		defer cancel()
		_ = r.f.lastConn().c.Write(ctx, websocket.MessageText, []byte(msg))
	default:
		notFound("Resource not found")
	}
}

// waitUntil polls cond (the client works on real sockets) until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Asterisk deactivates the app while the socket stays open: the client
// notices, closes the socket, redials (which registers the app again),
// tells the handler and OnConnect as on any reconnect, and then stays put.
func TestAppCheckReopensLostApp(t *testing.T) {
	for _, tt := range []struct {
		name       string
		keepObject bool
		noUserEv   bool
	}{
		{"app gone from GET /applications", false, false},
		{"app still listed, user event not delivered", true, false},
		{"app gone, server without user events", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeARI(t)
			reg := newAppRegistry(f, tt.keepObject, tt.noUserEv)
			var hooks []bool
			var mu sync.Mutex
			c := f.client(t, func(cfg *Config) {
				cfg.AppCheckFirst, cfg.AppCheckInterval, cfg.AppCheckTimeout = 2*time.Millisecond, 5*time.Millisecond, 500*time.Millisecond
				cfg.OnConnect = func(_ context.Context, re bool) { mu.Lock(); hooks = append(hooks, re); mu.Unlock() }
			})
			col := newCollector()
			runClient(t, c, col.handle)
			col.waitN(t, 1)
			waitUntil(t, "three good checks", func() bool { return c.Stats().AppChecks >= 3 })

			reg.deactivate()
			evs := col.waitN(t, 3)
			d, ok := evs[1].(*Disconnected)
			if !ok || !errors.Is(d.Err, ErrAppLost) {
				t.Fatalf("events %v; want Disconnected with ErrAppLost, got %#v", types(evs), evs[1])
			}
			if cn, ok := evs[2].(*Connected); !ok || !cn.Reconnected {
				t.Fatalf("events %v; want Connected(reconnected) third", types(evs))
			}
			waitUntil(t, "the fake to hold the new socket", func() bool { return reg.accepted.Load() == 2 })
			if !reg.active.Load() || reg.sockets.Load() != 2 {
				t.Errorf("after the redial: app active %v, sockets %d; want true, 2", reg.active.Load(), reg.sockets.Load())
			}
			// The app is back: later checks pass and nothing redials.
			checks := c.Stats().AppChecks
			waitUntil(t, "three more checks", func() bool { return c.Stats().AppChecks >= checks+3 })
			st := c.Stats()
			if st.AppLost != 1 || st.Connects != 2 || reg.sockets.Load() != 2 {
				t.Errorf("stats %+v, sockets %d; want AppLost 1, Connects 2", st, reg.sockets.Load())
			}
			if tt.noUserEv && st.Probes != 0 || !tt.noUserEv && st.Probes == 0 {
				t.Errorf("probes %d with user events %v", st.Probes, !tt.noUserEv)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hooks) != 2 || hooks[0] || !hooks[1] {
				t.Errorf("OnConnect calls %v; want [false true]", hooks)
			}
			for _, ev := range col.snapshot() {
				if _, ok := ev.(*ChannelUserevent); ok {
					t.Errorf("a probe event reached the handler")
				}
			}
		})
	}
}

// With the app fine the check runs, consumes its own probes (and other
// clients'), passes other user events on and never redials.
func TestAppCheckQuietWhenAppFine(t *testing.T) {
	f := newFakeARI(t)
	reg := newAppRegistry(f, true, false)
	c := f.client(t, func(cfg *Config) {
		cfg.AppCheckFirst, cfg.AppCheckInterval, cfg.AppCheckTimeout = time.Millisecond, 2*time.Millisecond, 5*time.Second
	})
	col := newCollector()
	runClient(t, c, col.handle)
	col.waitN(t, 1)
	waitUntil(t, "20 checks", func() bool { return c.Stats().AppChecks >= 20 })
	fc := f.lastConn()
	fc.send(t, evJSON("ChannelUserevent", map[string]any{"eventname": probePrefix + "0123456789ab-7", "userevent": map[string]any{}}))
	fc.send(t, evJSON("ChannelUserevent", map[string]any{"eventname": "CallerPressedStar", "userevent": map[string]any{}}))
	evs := col.waitN(t, 2)
	st := c.Stats()
	if st.Connects != 1 || st.AppLost != 0 || reg.sockets.Load() != 1 {
		t.Errorf("stats %+v; want one connection, nothing lost", st)
	}
	// The checks go on meanwhile: at a given moment a probe may be sent
	// and not read back yet.
	waitUntil(t, "every probe sent (and the other client's) consumed", func() bool {
		return int64(c.Stats().Probes) == int64(reg.probes.Load())+1
	})
	if len(evs) != 2 {
		t.Fatalf("events %v", types(evs))
	}
	if u, ok := evs[1].(*ChannelUserevent); !ok || u.EventName != "CallerPressedStar" {
		t.Errorf("second event %#v; want the dialplan's user event", evs[1])
	}
}

// A check that cannot tell (ARI answers 500, or times out) does not count
// as a lost app.
func TestAppCheckInconclusiveKeepsSocket(t *testing.T) {
	f := newFakeARI(t)
	var n atomic.Int32
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"message":"Internal Server Error"}`)
	})
	c := f.client(t, func(cfg *Config) {
		cfg.AppCheckFirst, cfg.AppCheckInterval = time.Millisecond, 2*time.Millisecond
	})
	col := newCollector()
	runClient(t, c, col.handle)
	col.waitN(t, 1)
	waitUntil(t, "10 checks", func() bool { return c.Stats().AppChecks >= 10 })
	if st := c.Stats(); st.Connects != 1 || st.AppLost != 0 {
		t.Errorf("stats %+v", st)
	}
}

// AppCheckInterval < 0 turns the check off.
func TestAppCheckOff(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil) // the fake's config has it off
	col := newCollector()
	runClient(t, c, col.handle)
	fc := f.nextConn(t)
	col.waitN(t, 1)
	fc.send(t, evJSON("StasisEnd", map[string]any{"channel": map[string]any{"id": "c1"}}))
	col.waitN(t, 2)
	if st := c.Stats(); st.AppChecks != 0 || st.RESTCalls != 0 {
		t.Errorf("stats %+v; want no checks", st)
	}
}

// restOnSocket makes reg's fake answer RESTRequest messages on the event
// socket as Asterisk 22.10.1 does: through the socket's first app
// (res/ari/ari_websocket_requests.c send_rest_response →
// ari_websocket_send_event, which drops a message for an app that
// stasis_app_event_allowed no longer finds). While the app is active a
// request gets its RESTResponse (the same answer as over HTTP); once the
// app is gone every answer is dropped and the caller times out.
func (r *appRegistry) restOnSocket(t *testing.T) {
	r.f.mu.Lock()
	r.f.noRead = true // read here instead
	onConn := r.f.onConn
	r.f.onConn = func(fc *fakeConn) {
		onConn(fc)
		go func() {
			for {
				_, msg, err := fc.c.Read(context.Background())
				if err != nil {
					return
				}
				var req restRequest
				if err := json.Unmarshal(msg, &req); err != nil || req.Type != "RESTRequest" {
					t.Errorf("fake ARI: socket message %q is not a RESTRequest", msg)
					continue
				}
				if !r.active.Load() {
					continue // dropped with the app
				}
				hreq := httptest.NewRequest(req.Method, "/ari/"+req.URI, strings.NewReader(req.MessageBody))
				rec := httptest.NewRecorder()
				r.answer(rec, hreq)
				resp, _ := json.Marshal(map[string]any{
					"type": "RESTResponse", "transaction_id": req.TransactionID, "request_id": req.RequestID,
					"status_code": rec.Code, "reason_phrase": http.StatusText(rec.Code), "uri": req.URI,
					"message_body": rec.Body.String(),
				})
				if err := fc.c.Write(context.Background(), websocket.MessageText, resp); err != nil {
					return
				}
			}
		}()
	}
	r.f.mu.Unlock()
}

// REST over the event socket: once Asterisk lost the app, it answers no
// REST call on that socket (see restOnSocket), so a check sent on the
// socket could only time out ("cannot tell") and the socket stayed open
// and deaf for good (TestContract/RESTOverWebSocket on Asterisk 22.10.1:
// "apps not active within 15s: GET /applications/omstil: context
// deadline exceeded"). The check goes over HTTP, finds the app gone and
// re-opens the socket; REST calls on the new socket are answered again.
func TestAppCheckReopensLostAppRESTOverSocket(t *testing.T) {
	f := newFakeARI(t)
	reg := newAppRegistry(f, false, false)
	reg.restOnSocket(t)
	c := f.client(t, func(cfg *Config) {
		cfg.RESTOverWebSocket = RESTWebSocket
		cfg.AppCheckFirst, cfg.AppCheckInterval, cfg.AppCheckTimeout = 2*time.Millisecond, 5*time.Millisecond, 500*time.Millisecond
		cfg.Timeout = 500 * time.Millisecond
	})
	col := newCollector()
	runClient(t, c, col.handle)
	col.waitN(t, 1)
	waitUntil(t, "REST over the socket answered", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.GetApplication(ctx, "omstil")
		return err == nil && c.Stats().RESTOnSocket > 0
	})

	reg.deactivate()
	evs := col.waitN(t, 3)
	if d, ok := evs[1].(*Disconnected); !ok || !errors.Is(d.Err, ErrAppLost) {
		t.Fatalf("events %v; want Disconnected with ErrAppLost second", types(evs))
	}
	if cn, ok := evs[2].(*Connected); !ok || !cn.Reconnected {
		t.Fatalf("events %v; want Connected(reconnected) third", types(evs))
	}
	waitUntil(t, "the fake to hold the new socket", func() bool { return reg.accepted.Load() == 2 })
	onSocket := c.Stats().RESTOnSocket
	waitUntil(t, "a REST call answered on the new socket", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.GetApplication(ctx, "omstil")
		return err == nil && c.Stats().RESTOnSocket > onSocket
	})
	if st := c.Stats(); st.AppLost != 1 || st.Connects != 2 {
		t.Errorf("stats %+v; want AppLost 1, Connects 2", st)
	}
}
