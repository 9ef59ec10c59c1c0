package arisim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-json-experiment/json/jsontext"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	clock *FakeClock
}

// newHarness serves a simulator on a loopback httptest server. With fake
// true it runs on a FakeClock (h.clock), else on real time.
func newHarness(t *testing.T, fake bool, opts Options) *harness {
	t.Helper()
	h := &harness{t: t}
	if fake {
		h.clock = NewFakeClock(t0)
		opts.Clock = h.clock
	}
	h.sim = New(opts)
	checkEvents(t, h.sim)
	h.srv = httptest.NewServer(h.sim.Handler())
	t.Cleanup(func() {
		h.sim.Close()
		h.srv.Close()
	})
	return h
}

func (h *harness) advance(d time.Duration) { h.clock.Advance(d) }

// do sends an authenticated request; body may be nil, a string (sent as
// is) or a value sent as JSON.
func (h *harness) do(method, path string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("omstil", "omstil")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// must sends a request and fails the test unless the status is want.
func (h *harness) must(want int, method, path string, body any) []byte {
	h.t.Helper()
	code, out := h.do(method, path, body)
	if code != want {
		h.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, out)
	}
	return out
}

func (h *harness) channel(method, path string, body any) Channel {
	h.t.Helper()
	var c Channel
	if err := json.Unmarshal(h.must(200, method, path, body), &c); err != nil {
		h.t.Fatal(err)
	}
	return c
}

type evConn struct {
	t    *testing.T
	h    *harness
	app  string
	ws   *websocket.Conn
	evs  chan Event
	raws chan []byte
}

// callInApp places call and waits for its StasisStart on app's socket.
func (h *harness) callInApp(app *evConn, call Call) Channel {
	h.t.Helper()
	ch, err := h.sim.PlaceCall(call)
	if err != nil {
		h.t.Fatal(err)
	}
	app.expect("StasisStart")
	return ch
}

func (h *harness) connect(app string, subscribeAll bool) *evConn {
	h.t.Helper()
	url := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ari/events?api_key=omstil:omstil&app=" + app
	if subscribeAll {
		url += "&subscribeAll=true"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &evConn{t: h.t, h: h, app: strings.Split(app, ",")[0], ws: ws, evs: make(chan Event, 10000), raws: make(chan []byte, 10000)}
	go func() {
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				close(c.evs)
				return
			}
			var ev Event
			_ = json.Unmarshal(b, &ev)
			if !jsontext.Value(b).IsValid() {
				h.t.Errorf("not strictly valid JSON: %s", b)
			}
			c.raws <- b
			c.evs <- ev
		}
	}()
	h.t.Cleanup(func() { ws.Close(websocket.StatusNormalClosure, "") })
	// The socket is registered once the server answers the upgrade; a
	// marker round trip proves the app is held by this socket.
	c.sync()
	return c
}

// next returns the next event; it waits for real network I/O only.
func (c *evConn) next() Event {
	c.t.Helper()
	select {
	case ev, ok := <-c.evs:
		if !ok {
			c.t.Fatal("websocket closed")
		}
		<-c.raws
		return ev
	case <-time.After(5 * time.Second):
		c.t.Fatal("no event within 5 s")
	}
	return nil
}

// expect reads events and checks their types in order.
func (c *evConn) expect(types ...string) []Event {
	c.t.Helper()
	var out []Event
	for _, want := range types {
		ev := c.next()
		if ev.Type() != want {
			c.t.Fatalf("app %s: got event %s, want %s (so far %v): %v", c.app, ev.Type(), want, typesOf(out), ev)
		}
		out = append(out, ev)
	}
	return out
}

// sync proves that no other event is pending: it emits a marker event and
// expects it to be the next one.
func (c *evConn) sync() {
	c.t.Helper()
	if err := c.h.sim.EmitEvent(c.app, Event{"type": "TestMarker"}); err != nil {
		c.t.Fatal(err)
	}
	ev := c.next()
	if ev.Type() != "TestMarker" {
		c.t.Fatalf("app %s: unexpected event %s before marker: %v", c.app, ev.Type(), ev)
	}
}

// collect reads events up to the next marker.
func (c *evConn) collect() []Event {
	c.t.Helper()
	if err := c.h.sim.EmitEvent(c.app, Event{"type": "TestMarker"}); err != nil {
		c.t.Fatal(err)
	}
	var out []Event
	for {
		ev := c.next()
		if ev.Type() == "TestMarker" {
			return out
		}
		out = append(out, ev)
	}
}

func typesOf(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type())
	}
	return out
}

func chanOf(ev Event) map[string]any {
	m, _ := ev["channel"].(map[string]any)
	return m
}

func idOf(ev Event) string {
	s, _ := chanOf(ev)["id"].(string)
	return s
}

func sameTypes(got []string, want ...string) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}
