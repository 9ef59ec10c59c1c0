package ariclient

import (
	"context"
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
// default pool, while a pool of 2 closes and re-opens most of them every
// round (Go's default, what the load profile showed as dialConnFor).
func TestRESTReusesConnections(t *testing.T) {
	const workers, rounds = 16, 8
	for _, tt := range []struct {
		name         string
		idlePerHost  int
		atMost       int64 // new connections in all
		atLeast      int64
		describeWant string
	}{
		{"default pool", 0, 2 * workers, workers, "about one per concurrent call"},
		{"pool of 2", 2, 1 << 30, workers * (rounds - 1), "most re-opened every round"},
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
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					newConns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c, err := New(Config{URL: srv.URL + "/ari", User: "u", Password: "p", Apps: []string{"omstil"},
				Logger: testLogger(), MaxIdleConnsPerHost: tt.idlePerHost})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range rounds {
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				for range workers {
					wg.Go(func() {
						if err := c.Answer(context.Background(), "c1"); err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
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

// A caller's own HTTPClient is used as given.
func TestCustomHTTPClientKept(t *testing.T) {
	var used atomic.Bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(r)
	})}
	f := newFakeARI(t)
	c := f.client(t, func(cfg *Config) { cfg.HTTPClient = hc; cfg.MaxIdleConnsPerHost = 3 })
	if err := c.Answer(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if !used.Load() || c.http != hc {
		t.Error("custom HTTPClient not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
