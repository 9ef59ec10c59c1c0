package ari_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/queue"
)

// bridgeWatch is an event sink that notes when each call was bridged.
type bridgeWatch struct {
	mu      sync.Mutex
	bridged map[queue.CallID]time.Time
	joined  int
	signal  chan struct{}
}

func newBridgeWatch() *bridgeWatch {
	return &bridgeWatch{bridged: map[queue.CallID]time.Time{}, signal: make(chan struct{}, 1)}
}

func (w *bridgeWatch) EngineOutput(o queue.Output) {
	if _, ok := o.(queue.CallJoined); ok {
		w.mu.Lock()
		w.joined++
		w.mu.Unlock()
		w.poke()
	}
}

func (w *bridgeWatch) CallEvent(ev ari.CallEvent) {
	if ev.Kind != ari.CallBridged {
		return
	}
	w.mu.Lock()
	w.bridged[ev.Call] = time.Now()
	w.mu.Unlock()
	w.poke()
}

func (w *bridgeWatch) poke() {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// waitUntil waits for cond over the watch's state; real I/O with a deadline.
func (w *bridgeWatch) waitUntil(tb testing.TB, what string, d time.Duration, cond func(bridged map[queue.CallID]time.Time, joined int) bool) {
	tb.Helper()
	deadline := time.After(d)
	for {
		w.mu.Lock()
		ok := cond(w.bridged, w.joined)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.signal:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("timed out waiting until %s", what)
		}
	}
}

type loadResult struct {
	calls      int
	cpuArrive  time.Duration // process CPU (adapter + client + simulator) per arriving call
	cpuBridge  time.Duration // process CPU per bridged call
	arrivalDur time.Duration // placing calls until every one is waiting in the queue
	p50, p99   time.Duration // agent ready -> bridge created
	bridgedDur time.Duration // first ready until every call bridged
}

// runLoad places n citizen calls on the simulator into one queue with no
// agent ready, then makes n agents ready at once and measures, per call,
// the delay from "agent ready" to "bridge created" (the bridge's REST
// calls have returned).
func runLoad(tb testing.TB, n int, oneByOne bool) loadResult {
	pbx := newSimAsterisk(nil)
	defer pbx.close()
	w := newBridgeWatch()
	var agents []agentSpec
	for i := 0; i < n; i++ {
		agents = append(agents, agentSpec{"a" + strconv.Itoa(i), "Local/1" + fmt.Sprintf("%05d", i) + "@omstil-test-agents", []queue.QueueID{"q1"}})
	}
	cfg := config([]queue.QueueConfig{{ID: "q1", RingTimeout: 30 * time.Second, MaxParallelOffers: 1}}, agents...)
	ad, _, stop := startQuiet(tb, pbx, cfg, w)
	defer stop()

	t0 := time.Now()
	c0 := cpuTime()
	for i := 0; i < n; i++ {
		if _, err := pbx.sim.PlaceCall(arisim.Call{Number: "70102020", CallerID: fmt.Sprintf("+45%08d", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	w.waitUntil(tb, "every call waits", 2*time.Minute, func(_ map[queue.CallID]time.Time, joined int) bool { return joined >= n })
	arrival := time.Since(t0)
	c1 := cpuTime()

	ready := make([]time.Time, n)
	if oneByOne {
		for i := 0; i < n; i++ {
			ready[i] = time.Now()
			if err := ad.SetAgentState(context.Background(), queue.AgentID("a"+strconv.Itoa(i)), queue.Ready, "", nil); err != nil {
				tb.Fatal(err)
			}
			w.waitUntil(tb, "the call is bridged", time.Minute, func(b map[queue.CallID]time.Time, _ int) bool { return len(b) > i })
		}
	}
	var wg sync.WaitGroup
	const par = 16
	for p := 0; p < par && !oneByOne; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < n; i += par {
				ready[i] = time.Now()
				if err := ad.SetAgentState(context.Background(), queue.AgentID("a"+strconv.Itoa(i)), queue.Ready, "", nil); err != nil {
					tb.Error(err)
				}
			}
		}(p)
	}
	wg.Wait()
	w.waitUntil(tb, "every call is bridged", 2*time.Minute, func(b map[queue.CallID]time.Time, _ int) bool { return len(b) >= n })
	c2 := cpuTime()

	// which agent took which call: from the engine snapshot.
	snap := ad.Snapshot()
	var lat []time.Duration
	var last time.Time
	w.mu.Lock()
	for _, a := range snap.Agents {
		i, _ := strconv.Atoi(string(a.ID)[1:])
		at, ok := w.bridged[a.Call]
		if !ok {
			continue
		}
		lat = append(lat, at.Sub(ready[i]))
		if at.After(last) {
			last = at
		}
	}
	w.mu.Unlock()
	slices.Sort(lat)
	first := slices.MinFunc(ready, func(x, y time.Time) int { return x.Compare(y) })
	return loadResult{calls: n, cpuArrive: (c1 - c0) / time.Duration(n), cpuBridge: (c2 - c1) / time.Duration(n), arrivalDur: arrival, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], bridgedDur: last.Sub(first)}
}

// TestLoadCallHandling prints throughput and latency of the whole adapter
// path on the simulator. It runs with OMSTIL_LOAD=<calls> (e.g. 2000); it
// asserts nothing about time.
func TestLoadCallHandling(t *testing.T) {
	v := os.Getenv("OMSTIL_LOAD")
	if v == "" {
		t.Skip("load test: set OMSTIL_LOAD=<number of concurrent calls> to run it (numbers in docs/call-handling.md)")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("OMSTIL_LOAD=%q: want a positive number", v)
	}
	r := runLoad(t, n, false)
	t.Logf("%d concurrent calls: arrival→waiting %.0f calls/s (%v); all %d agents ready at once: ready→bridge p50 %v p99 %v; all bridged in %v (%.0f bridges/s)",
		r.calls, float64(r.calls)/r.arrivalDur.Seconds(), r.arrivalDur.Round(time.Millisecond), n,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.bridgedDur.Round(time.Millisecond),
		float64(r.calls)/r.bridgedDur.Seconds())
	t.Logf("process CPU (adapter, client and simulator together): %v per arriving call, %v per bridged call", r.cpuArrive.Round(time.Microsecond), r.cpuBridge.Round(time.Microsecond))
	r = runLoad(t, n, true)
	t.Logf("%d concurrent calls, agents ready one at a time: ready→bridge p50 %v p99 %v",
		r.calls, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
}

// BenchmarkReadyToBridge: b.N calls wait; b.N agents become ready one
// after another; reports the p50/p99 delay from "agent ready" to "bridge
// created".
func BenchmarkReadyToBridge(b *testing.B) {
	n := max(b.N, 10)
	b.ResetTimer()
	r := runLoad(b, n, true)
	b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(n)/r.arrivalDur.Seconds(), "arrivals/s")
	b.ReportMetric(float64(n)/r.bridgedDur.Seconds(), "bridges/s")
}

// startQuiet runs an adapter with no logging and sink as its event log.
func startQuiet(tb testing.TB, pbx interface {
	url() (string, string, string)
}, cfg ari.RuntimeConfig, sink ari.EventSink) (*ari.Adapter, *ariclient.Client, func()) {
	u, user, pass := pbx.url()
	quiet := slog.New(slog.DiscardHandler)
	cli, err := ariclient.New(ariclient.Config{URL: u, User: user, Password: pass, Apps: []string{"omstil"}, Logger: quiet,
		RESTOverWebSocket: testREST(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	ad, err := ari.New(ari.Options{Client: cli, Events: sink, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ad.Reload(context.Background(), cfg); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cli.Connected() {
		if time.Now().After(deadline) {
			tb.Fatal("the event socket did not connect")
		}
		time.Sleep(time.Millisecond)
	}
	return ad, cli, func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Error(err)
		}
		cli.Close()
	}
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
