package ariclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent REST calls reuse their TCP connections: rounds of `workers`
// calls held open together at the server (so each round needs `workers`
// connections at once) open about `workers` connections in all with the
// default pool, while Go's default pooling (2 kept idle) closes and
// re-opens most of them every round (the load profile's dialConnFor).
func TestRESTReusesConnections(t *testing.T) {
	const workers, rounds = 16, 8
	for _, tt := range []struct {
		name         string
		maxConns     int
		atMost       int64 // new connections in all
		atLeast      int64
		describeWant string
	}{
		{"default pool", 0, 2 * workers, workers, "about one per concurrent call"},
		{"Go's default pool", -1, 1 << 30, workers * (rounds - 1), "most re-opened every round"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var newConns atomic.Int64
			var mu sync.Mutex
			arrived, release := 0, make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				rel := release
				if arrived++; arrived == workers { // the round is complete: let it go
					arrived, release = 0, make(chan struct{})
					close(rel)
				}
				mu.Unlock()
				select {
				case <-rel:
				case <-time.After(5 * time.Second):
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			c := poolClient(t, srv, &newConns, tt.maxConns)
			for range rounds {
				for err := range answerAtOnce(c, workers, nil) {
					t.Fatal(err)
				}
			}
			n := newConns.Load()
			t.Logf("%d calls in rounds of %d opened %d connections (%s)", workers*rounds, workers, n, tt.describeWant)
			if n > tt.atMost || n < tt.atLeast {
				t.Errorf("opened %d connections, want %d..%d", n, tt.atLeast, tt.atMost)
			}
		})
	}
}

// A burst of calls larger than MaxConnsPerHost waits for connections
// instead of dialling one each: Asterisk serves 100 HTTP sessions by
// default, and the adapter had 8,000 REST calls in flight in the load test.
func TestRESTCapsConnections(t *testing.T) {
	const limit, calls = 4, 64
	var newConns, inFlight, maxInFlight atomic.Int64
	gate := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		<-gate
		w.WriteHeader(http.StatusNoContent)
	}))
	c := poolClient(t, srv, &newConns, limit)
	errs := answerAtOnce(c, calls, func() {
		// Polling the server's view of real connections until the cap is
		// reached, then letting every call through.
		for deadline := time.Now().Add(10 * time.Second); inFlight.Load() < limit; {
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls reached the server", inFlight.Load())
			}
			time.Sleep(time.Millisecond)
		}
		close(gate)
	})
	for err := range errs {
		t.Fatal(err)
	}
	if maxInFlight.Load() != limit || newConns.Load() != limit {
		t.Errorf("%d calls: at most %d at once over %d connections; want %d and %d", calls, maxInFlight.Load(), newConns.Load(), limit, limit)
	}
}

// A caller's own HTTPClient is used as given.
func TestCustomHTTPClientKept(t *testing.T) {
	var used atomic.Bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(r)
	})}
	f := newFakeARI(t)
	c := f.client(t, func(cfg *Config) { cfg.HTTPClient = hc; cfg.MaxConnsPerHost = 3 })
	if err := c.Answer(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if !used.Load() || c.http != hc {
		t.Error("custom HTTPClient not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A call waiting for a free connection is still bounded by its timeout.
func TestRESTWaitForConnectionTimesOut(t *testing.T) {
	gate := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-gate
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer close(gate) // before srv.Close: let the held call finish
	c, err := New(Config{URL: srv.URL + "/ari", User: "u", Password: "p", Apps: []string{"omstil"},
		Logger: testLogger(), MaxConnsPerHost: 1, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held := make(chan error, 1)
	go func() { held <- c.Answer(context.Background(), "c1") }()
	<-arrived // the only connection is busy
	err = c.Answer(context.Background(), "c2")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second call: %v; want a deadline error", err)
	}
	if err := <-held; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held call: %v; want a deadline error", err)
	}
}

// poolClient starts srv counting its new connections in newConns and
// returns a client of it with MaxConnsPerHost maxConns; both end with t.
func poolClient(t *testing.T, srv *httptest.Server, newConns *atomic.Int64, maxConns int) *Client {
	t.Helper()
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL + "/ari", User: "u", Password: "p", Apps: []string{"omstil"},
		Logger: testLogger(), MaxConnsPerHost: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// answerAtOnce makes n Answer calls at the same time, runs meanwhile (if
// not nil) while they are under way, and returns their errors once all
// are done.
func answerAtOnce(c *Client, n int, meanwhile func()) <-chan error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if err := c.Answer(context.Background(), "c1"); err != nil {
				errs <- err
			}
		})
	}
	if meanwhile != nil {
		meanwhile()
	}
	wg.Wait()
	close(errs)
	return errs
}
