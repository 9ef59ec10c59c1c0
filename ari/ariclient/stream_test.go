package ariclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestRunSocketURLAndAuth(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, func(cfg *Config) { cfg.SubscribeAll = true })
	col := newCollector()
	runClient(t, c, col.handle)
	fc := f.nextConn(t)
	q, _ := url.ParseQuery(fc.query)
	if q.Get("app") != "omstil,omstil-test" || q.Get("subscribeAll") != "true" || q.Has("api_key") {
		t.Fatalf("events query %q", fc.query)
	}
	evs := col.waitN(t, 1)
	if cn, ok := evs[0].(*Connected); !ok || cn.Reconnected {
		t.Fatalf("first event %#v, want Connected{Reconnected:false}", evs[0])
	}
	if !c.Connected() {
		t.Fatal("Connected() false while connected")
	}
}

func TestRunUnknownAndBrokenEventsAreDelivered(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	col := newCollector()
	runClient(t, c, col.handle)
	fc := f.nextConn(t)
	msgs := []string{
		evJSON("CallBroadcast", map[string]any{"channel": map[string]any{"id": "c0"}}),
		evJSON("ChannelFromTheFuture", map[string]any{"x": 1}),
		`not json at all`,
		evJSON("ChannelDestroyed", map[string]any{"cause": "bad", "channel": map[string]any{"id": "c1"}}),
		evJSON("StasisStart", map[string]any{"args": []string{"1000"}, "channel": map[string]any{"id": "c2"}}),
	}
	for _, m := range msgs {
		fc.send(t, m)
	}
	evs := col.waitN(t, 1+len(msgs))[1:]
	if _, ok := evs[0].(*CallBroadcast); !ok {
		t.Errorf("0: %T", evs[0])
	}
	if u, ok := evs[1].(*UnknownEvent); !ok || u.Type != "ChannelFromTheFuture" || string(u.Raw) != msgs[1] {
		t.Errorf("1: %#v", evs[1])
	}
	if u, ok := evs[2].(*UnknownEvent); !ok || u.Err == nil {
		t.Errorf("2: %#v", evs[2])
	}
	if u, ok := evs[3].(*UnknownEvent); !ok || u.Type != "ChannelDestroyed" || u.Err == nil {
		t.Errorf("3: %#v", evs[3])
	}
	if s, ok := evs[4].(*StasisStart); !ok || s.Channel.ID != "c2" {
		t.Errorf("4: %#v", evs[4])
	}
	st := c.Stats()
	if st.Received != 5 || st.Unknown != 1 || st.DecodeErrors != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A handler that blocks must not stop the socket from being read (Asterisk
// disconnects a client that does not read) and must lose nothing: all
// events arrive afterwards, in order.
func TestRunSlowHandlerKeepsOrderAndLosesNothing(t *testing.T) {
	const n = 5000
	f := newFakeARI(t)
	c := f.client(t, nil)
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	h := func(ctx context.Context, ev Event) {
		if _, ok := ev.(*Connected); ok {
			return
		}
		<-gate // blocked until the test has seen every event read off the socket
		e := ev.(*ChannelDtmfReceived)
		mu.Lock()
		got = append(got, string(e.Channel.ID))
		if len(got) == n {
			close(done)
		}
		mu.Unlock()
	}
	runClient(t, c, h)
	fc := f.nextConn(t)
	for i := range n {
		fc.send(t, evJSON("ChannelDtmfReceived", map[string]any{"digit": "1", "duration_ms": 100, "channel": map[string]any{"id": fmt.Sprint(i)}}))
	}
	// Poll the counters (real socket I/O) until the reader has read all.
	deadline := time.Now().Add(10 * time.Second)
	// Received counts a message before it is queued, so wait for the
	// queue: all but the one the handler holds.
	for st := c.Stats(); st.Received < n || st.QueueDepth < n-1; st = c.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("reader read %d of %d events, queued %d, while the handler was blocked", st.Received, n, st.QueueDepth)
		}
		time.Sleep(time.Millisecond) // polling real network I/O, not waiting for a goroutine
	}
	if st := c.Stats(); st.MaxQueue < n-1 {
		t.Errorf("MaxQueue %d, want ≥ %d (events should have queued)", st.MaxQueue, n-1)
	}
	close(gate)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("handler saw %d of %d events", len(got), n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, id := range got {
		if id != fmt.Sprint(i) {
			t.Fatalf("event %d has id %s: out of order", i, id)
		}
	}
	st := c.Stats()
	if st.Delivered != n+1 || st.QueueDepth != 0 {
		t.Errorf("stats %+v, want Delivered %d, QueueDepth 0", st, n+1)
	}
}

// After the socket drops, the client redials, calls OnConnect(reconnected)
// before any event of the new connection, and the stream shows
// Connected, events, Disconnected, Connected, events.
func TestRunReconnectCallsHookBeforeEvents(t *testing.T) {
	f := newFakeARI(t)
	var mu sync.Mutex
	var trace []string
	add := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	c := f.client(t, func(cfg *Config) {
		cfg.OnConnect = func(ctx context.Context, reconnected bool) { add(fmt.Sprintf("hook(%v)", reconnected)) }
	})
	col := newCollector()
	runClient(t, c, func(ctx context.Context, ev Event) {
		switch e := ev.(type) {
		case *Connected:
			add(fmt.Sprintf("Connected(%v)", e.Reconnected))
		case *Disconnected:
			add("Disconnected")
			if e.Err == nil {
				t.Error("Disconnected without Err")
			}
		case *StasisEnd:
			add("StasisEnd " + string(e.Channel.ID))
		}
		col.handle(ctx, ev)
	})
	fc := f.nextConn(t)
	fc.send(t, evJSON("StasisEnd", map[string]any{"channel": map[string]any{"id": "a"}}))
	col.waitN(t, 2)
	fc.drop()
	fc2 := f.nextConn(t)
	// The new connection's event is sent right away; the hook must still be
	// seen first.
	fc2.send(t, evJSON("StasisEnd", map[string]any{"channel": map[string]any{"id": "b"}}))
	col.waitN(t, 5)
	mu.Lock()
	got := strings.Join(trace, " | ")
	mu.Unlock()
	want := "hook(false) | Connected(false) | StasisEnd a | Disconnected | hook(true) | Connected(true) | StasisEnd b"
	if got != want {
		t.Fatalf("trace\n got %s\nwant %s", got, want)
	}
	if st := c.Stats(); st.Connects != 2 {
		t.Errorf("Connects %d, want 2", st.Connects)
	}
}

// A socket whose peer stops answering pings is given up and redialled.
func TestRunPingTimeoutRedials(t *testing.T) {
	f := newFakeARI(t)
	f.mu.Lock()
	f.noRead = true // the fake never reads, so it never answers a ping
	f.mu.Unlock()
	c := f.client(t, func(cfg *Config) {
		cfg.PingInterval = 10 * time.Millisecond
		cfg.PongTimeout = 20 * time.Millisecond
	})
	col := newCollector()
	runClient(t, c, col.handle)
	f.nextConn(t)
	f.nextConn(t) // the second dial only happens after the ping failed
	evs := col.waitN(t, 3)
	d, ok := evs[1].(*Disconnected)
	if !ok || d.Err == nil || !strings.Contains(d.Err.Error(), "ping") {
		t.Fatalf("events %v; second %#v, want Disconnected with a ping error", types(evs), evs[1])
	}
	if cn, ok := evs[2].(*Connected); !ok || !cn.Reconnected {
		t.Fatalf("third event %#v, want Connected{Reconnected:true}", evs[2])
	}
}

// A wrong password is a 401 on the upgrade; Run keeps retrying with
// backoff and never reports itself connected.
func TestRunAuthFailureRetries(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, func(cfg *Config) { cfg.Password = "wrong" })
	stop := runClient(t, c, func(context.Context, Event) { t.Error("no event expected") })
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().DialErrors < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("DialErrors %d, want ≥ 3", c.Stats().DialErrors)
		}
		time.Sleep(time.Millisecond) // polling real network I/O
	}
	if c.Connected() {
		t.Fatal("Connected() true with a wrong password")
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func TestRunStopsOnCloseAndRejectsSecondRun(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	col := newCollector()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background(), col.handle) }()
	f.nextConn(t)
	col.waitN(t, 1)
	if err := c.Run(context.Background(), col.handle); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
	c.Close()
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Run returned %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if c.Connected() {
		t.Fatal("Connected() after Close")
	}
}

// Connected() is read from other goroutines while the socket flaps; -race
// must stay quiet.
func TestConnectedNoRace(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	runClient(t, c, func(context.Context, Event) {})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = c.Connected()
				_ = c.Stats()
			}
		}
	}()
	for range 3 {
		f.nextConn(t).drop()
	}
	f.nextConn(t)
	close(stop)
	wg.Wait()
}

func TestBackoff(t *testing.T) {
	min, max := 250*time.Millisecond, 10*time.Second
	tests := []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{0, 0, 125 * time.Millisecond},
		{1, 0, 125 * time.Millisecond},
		{1, 0.999999999, 250 * time.Millisecond},
		{2, 0, 250 * time.Millisecond},
		{3, 0.5, 750 * time.Millisecond},
		{6, 0, 4 * time.Second},
		{7, 0, 5 * time.Second}, // 16 s capped at 10 s
		{100, 0.999999999, 10 * time.Second},
	}
	for _, tt := range tests {
		got := backoff(tt.attempt, min, max, func() float64 { return tt.rnd })
		if diff := got - tt.want; diff < -time.Millisecond || diff > time.Millisecond {
			t.Errorf("backoff(%d, rnd=%v) = %v, want %v", tt.attempt, tt.rnd, got, tt.want)
		}
	}
}

// Stopping Run (its context, or Close) ends the socket with a close
// handshake and returns once it is done. Asterisk answers a close frame
// only after it has unregistered the socket's apps (res/ari
// ari_websockets.c: session_cleanup before the websocket's destructor
// sends the reply), so a new socket registered after Run returned is not
// deactivated by the old one's late close. Dropped abruptly ("Web socket
// closed abruptly"), the old socket's cleanup raced with the next
// adapter's registration and took its app (the adapter suite against
// Asterisk 22.10.1: "Deactivating Stasis app 'omstil'" after the next
// test's socket had registered it).
func TestRunStopClosesWithHandshake(t *testing.T) {
	for _, how := range []string{"context", "Close"} {
		t.Run(how, func(t *testing.T) {
			f := newFakeARI(t)
			status := make(chan websocket.StatusCode, 1)
			f.mu.Lock()
			f.noRead = true
			f.onConn = func(fc *fakeConn) {
				go func() {
					for {
						if _, _, err := fc.c.Read(context.Background()); err != nil {
							status <- websocket.CloseStatus(err)
							return
						}
					}
				}()
			}
			f.mu.Unlock()
			c := f.client(t, nil)
			col := newCollector()
			stop := runClient(t, c, col.handle)
			col.waitN(t, 1)
			if how == "context" {
				stop()
			} else {
				c.Close()
				stop()
			}
			select {
			case st := <-status:
				if st != websocket.StatusNormalClosure {
					t.Fatalf("the server saw the socket end with status %d, want a close handshake (%d)", st, websocket.StatusNormalClosure)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the server's socket did not end")
			}
		})
	}
}
