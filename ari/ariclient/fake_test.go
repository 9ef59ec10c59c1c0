package ariclient

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeARI is a minimal ARI server for unit tests: it checks basic auth,
// records REST requests, answers them with a test-supplied function and
// hands every accepted /events WebSocket to the test.
type fakeARI struct {
	t          testing.TB
	srv        *httptest.Server
	user, pass string

	mu     sync.Mutex
	reqs   []recordedReq
	answer func(w http.ResponseWriter, r *http.Request) // REST answer; default 204
	noRead bool                                         // accepted sockets do not read (pings go unanswered)
	onConn func(*fakeConn)                              // called for every accepted socket
	onDial func()                                       // called before a socket upgrade is answered
	last   *fakeConn                                    // the socket accepted last

	conns chan *fakeConn
}

type recordedReq struct {
	Method, Path, Query, Body, Auth string
}

type fakeConn struct {
	c     *websocket.Conn
	query string
	done  chan struct{}
	once  sync.Once
}

func (fc *fakeConn) send(t testing.TB, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fc.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("fake ARI: write: %v", err)
	}
}

// drop closes the socket abruptly, as a crashing Asterisk would.
func (fc *fakeConn) drop() { fc.once.Do(func() { close(fc.done) }) }

func newFakeARI(t testing.TB) *fakeARI {
	t.Helper()
	f := &fakeARI{t: t, user: "omstil", pass: "s3cret-pw", conns: make(chan *fakeConn, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeARI) serve(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != f.user || p != f.pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message": "Authentication required"}`)
		return
	}
	if r.URL.Path == "/ari/events" {
		f.mu.Lock()
		onDial := f.onDial
		f.mu.Unlock()
		if onDial != nil {
			onDial()
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"ari"}})
		if err != nil {
			return
		}
		fc := &fakeConn{c: c, query: r.URL.RawQuery, done: make(chan struct{})}
		ctx := r.Context()
		f.mu.Lock()
		noRead, onConn := f.noRead, f.onConn
		f.last = fc
		f.mu.Unlock()
		if onConn != nil {
			onConn(fc)
		}
		if !noRead {
			ctx = c.CloseRead(ctx)
		}
		f.conns <- fc
		select {
		case <-fc.done:
		case <-ctx.Done():
		}
		c.CloseNow()
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recordedReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Auth: r.Header.Get("Authorization")})
	answer := f.answer
	f.mu.Unlock()
	if answer == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	answer(w, r)
}

func (f *fakeARI) setAnswer(a func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// lastConn is the socket accepted last (nil before the first).
func (f *fakeARI) lastConn() *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeARI) lastReq() recordedReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		f.t.Fatal("fake ARI: no request recorded")
	}
	return f.reqs[len(f.reqs)-1]
}

// nextConn waits for the client to open a socket.
func (f *fakeARI) nextConn(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case fc := <-f.conns:
		return fc
	case <-time.After(10 * time.Second):
		t.Fatal("fake ARI: client did not connect within 10s")
		return nil
	}
}

func (f *fakeARI) config() Config {
	return Config{
		URL: f.srv.URL + "/ari", User: f.user, Password: f.pass,
		Apps: []string{"omstil", "omstil-test"}, Timeout: 2 * time.Second,
		Logger:     testLogger(),
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		// The fake answers every REST call with 204 by default, which the
		// app check would take for a lost app; tests of the check turn it on.
		AppCheckInterval: -1,
	}
}

func (f *fakeARI) client(t *testing.T, mod func(*Config)) *Client {
	t.Helper()
	cfg := f.config()
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// jsonAnswer returns an answer function writing status and body.
func jsonAnswer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// evJSON builds an ARI event message of type typ with extra fields.
func evJSON(typ string, fields map[string]any) string {
	m := map[string]any{
		"type":        typ,
		"application": "omstil",
		"timestamp":   "2026-11-28T03:24:41.123+0100",
		"asterisk_id": "00:11:22:33:44:55",
	}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// collector is a Handler that records events and lets tests wait for them.
type collector struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

func (c *collector) handle(_ context.Context, ev Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// waitN waits until at least n events arrived.
func (c *collector) waitN(t *testing.T, n int) []Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if evs := c.snapshot(); len(evs) >= n {
			return evs
		}
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("got %d events, want %d: %v", len(c.snapshot()), n, types(c.snapshot()))
		}
	}
}

func types(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType()
	}
	return out
}

// runClient starts c.Run in the background; the returned function stops it
// and returns Run's error.
func runClient(t *testing.T, c *Client, h Handler) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx, h) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}
