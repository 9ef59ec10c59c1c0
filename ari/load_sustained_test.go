package ari_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/queue"
)

// sustainWatch is the event sink of the sustained load run: it times
// "agent ready" (the engine's AgentStateChanged to Ready) to "bridge
// created" (CallBridged) per agent, and hands every bridged call to the
// driver that hangs it up and places the next one.
type sustainWatch struct {
	mu        sync.Mutex
	readyAt   map[queue.AgentID]time.Time
	lat       []time.Duration
	measuring bool
	joined    int
	bridged   chan queue.CallID
	lost      atomic.Int64
}

func (w *sustainWatch) EngineOutput(o queue.Output) {
	switch x := o.(type) {
	case queue.AgentStateChanged:
		if x.To == queue.Ready {
			w.mu.Lock()
			w.readyAt[x.Agent] = time.Now()
			w.mu.Unlock()
		}
	case queue.CallJoined:
		w.mu.Lock()
		w.joined++
		w.mu.Unlock()
	}
}

func (w *sustainWatch) CallEvent(ev ari.CallEvent) {
	if ev.Kind != ari.CallBridged {
		return
	}
	now := time.Now()
	w.mu.Lock()
	if t, ok := w.readyAt[ev.Agent]; ok {
		delete(w.readyAt, ev.Agent)
		if w.measuring {
			w.lat = append(w.lat, now.Sub(t))
		}
	}
	w.mu.Unlock()
	select {
	case w.bridged <- ev.Call:
	default:
		w.lost.Add(1) // the sink must not block; counted and reported
	}
}

type sustainResult struct {
	concurrent, agents int
	arrivals           float64 // calls/s placing the first n calls until all wait
	callsPerSec        float64 // completed (and new) calls per second, sustained
	completed          int
	p50, p99, max      time.Duration
	cpuPerCall         time.Duration
	simPerCall         time.Duration // the simulator's process (0: in this one)
	// ARI REST calls made and events received per completed call
	restPerCall, eventsPerCall float64
}

// runSustained keeps n calls in the service: n calls wait, agents agents
// become ready, and from then on every bridged call is hung up by the
// citizen and replaced by a new call, so n calls stay in the system
// (waiting, ringing or being bridged). After a warm-up it measures for d:
// calls completed per second (= new calls per second) and the delay from
// an agent becoming ready (again) to its next bridge. With rate > 0 the
// citizens hang up at that many calls per second instead of as soon as
// they are bridged: an open-loop load at a given call rate.
//
// Without media, the simulator does not mix audio: its 20 ms media tick
// over every channel (Asterisk's work, not omstil's) holds the simulator's
// one lock for most of each tick at 10 000 channels and would otherwise
// dominate both the CPU and the delays measured.
func runSustained(tb testing.TB, n, agents, rate int, d time.Duration, media, separate bool) sustainResult {
	opts := simOptions()
	if !media {
		opts.Clock = noMediaClock{}
	}
	var pbx loadPBX = inProcessPBX{newSimAsteriskWith(nil, opts)}
	if separate {
		pbx = startSimProcess(tb, media)
	}
	defer pbx.close()
	w := &sustainWatch{readyAt: map[queue.AgentID]time.Time{}, bridged: make(chan queue.CallID, 4*n+agents)}
	var specs []agentSpec
	for i := 0; i < agents; i++ {
		specs = append(specs, agentSpec{"a" + strconv.Itoa(i), "Local/1" + fmt.Sprintf("%05d", i) + "@omstil-test-agents", []queue.QueueID{"q1"}})
	}
	cfg := config([]queue.QueueConfig{{ID: "q1", RingTimeout: 30 * time.Second, MaxParallelOffers: 1}}, specs...)
	ad, cli, stop := startQuiet(tb, pbx, cfg, w)
	defer stop()

	var seq atomic.Int64
	place := func() {
		i := seq.Add(1)
		if err := pbx.place(arisim.Call{Number: "70102020", CallerID: fmt.Sprintf("+45%08d", i)}); err != nil {
			tb.Error(err)
		}
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	const par = 8
	for p := 0; p < par; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < n; i += par {
				place()
			}
		}(p)
	}
	wg.Wait()
	joinedAll := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.joined >= n
	}
	for deadline := time.Now().Add(5 * time.Minute); !joinedAll(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("timed out waiting until every call waits")
		}
	}
	arrivals := float64(n) / time.Since(t0).Seconds()

	// the citizens of bridged calls hang up; each is replaced at once.
	// With a rate, hang-ups are paced at rate per second (the talk time is
	// then however long a bridged call waits for its turn), otherwise each
	// bridged call ends as soon as it is bridged.
	var completed atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var drivers sync.WaitGroup
	end := func(id queue.CallID) {
		if err := pbx.hangup(string(id)); err != nil {
			tb.Error(err)
		}
		completed.Add(1)
		place()
	}
	if rate > 0 {
		// One pacer ends the calls, evenly spread; when no bridged call is
		// there to end, the turn is skipped rather than made up later in
		// a burst that the pacer, not the load, would have made.
		drivers.Add(1)
		go func() {
			defer drivers.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			start, given := time.Now(), 0
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				for due := int(time.Since(start).Seconds() * float64(rate)); given < due; given++ {
					select {
					case id := <-w.bridged:
						end(id)
					default:
						given = due - 1
					}
				}
			}
		}()
	}
	for p := 0; p < par && rate == 0; p++ {
		drivers.Add(1)
		go func() {
			defer drivers.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-w.bridged:
					end(id)
				}
			}
		}()
	}
	for i := 0; i < agents; i++ {
		if err := ad.SetAgentState(context.Background(), queue.AgentID("a"+strconv.Itoa(i)), queue.Ready, "", nil); err != nil {
			tb.Fatal(err)
		}
	}
	// warm-up: the first wave of agents.
	for deadline := time.Now().Add(time.Minute); completed.Load() < int64(2*agents); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("timed out in the warm-up")
		}
	}
	w.mu.Lock()
	w.measuring = true
	w.mu.Unlock()
	c0, m0, cpu0, st0, sim0 := time.Now(), completed.Load(), cpuTime(), cli.Stats(), pbx.simCPU()
	timer := time.NewTimer(d)
	<-timer.C
	c1, m1, cpu1, st1, sim1 := time.Now(), completed.Load(), cpuTime(), cli.Stats(), pbx.simCPU()
	if path := os.Getenv("OMSTIL_LOAD_HEAP"); path != "" {
		// what the process holds with n calls in it (after the window)
		writeHeapProfile(tb, path)
	}
	w.mu.Lock()
	w.measuring = false
	lat := slices.Clone(w.lat)
	w.mu.Unlock()
	cancel()
	drivers.Wait()
	if n := w.lost.Load(); n > 0 {
		tb.Errorf("%d bridged calls were not handed to the driver", n)
	}
	if len(lat) == 0 {
		tb.Fatal("no call was bridged while measuring")
	}
	slices.Sort(lat)
	done := int(m1 - m0)
	return sustainResult{
		concurrent: n, agents: agents, arrivals: arrivals, completed: done,
		callsPerSec: float64(done) / c1.Sub(c0).Seconds(),
		p50:         lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1],
		cpuPerCall:    (cpu1 - cpu0) / time.Duration(max(done, 1)),
		simPerCall:    (sim1 - sim0) / time.Duration(max(done, 1)),
		restPerCall:   float64(st1.RESTCalls-st0.RESTCalls) / float64(max(done, 1)),
		eventsPerCall: float64(st1.Received-st0.Received) / float64(max(done, 1)),
	}
}

// TestLoadSustained prints the sustained call rate with OMSTIL_LOAD
// concurrent calls (e.g. 10000) kept in the service, and the delay from
// agent ready to bridge created meanwhile. OMSTIL_LOAD_AGENTS (default 100)
// agents serve; OMSTIL_LOAD_SECONDS (default 10) is the measuring window;
// OMSTIL_LOAD_RATE paces the hang-ups (and so the new calls) at that many
// calls per second instead of as fast as the service goes;
// OMSTIL_LOAD_MEDIA=off stops the simulator's audio mixing;
// OMSTIL_LOAD_SIM=process runs the simulator in a process of its own, as
// Asterisk is, so that omstil's CPU and heap are measured apart from it;
// OMSTIL_LOAD_HEAP=<file> writes the live heap at the end of the window.
// It asserts nothing about time.
func TestLoadSustained(t *testing.T) {
	v := os.Getenv("OMSTIL_LOAD")
	if v == "" {
		t.Skip("load test: set OMSTIL_LOAD=<number of concurrent calls> to run it (numbers in docs/performance.md)")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("OMSTIL_LOAD=%q: want a positive number", v)
	}
	agents, secs := envInt(t, "OMSTIL_LOAD_AGENTS", 100), envInt(t, "OMSTIL_LOAD_SECONDS", 10)
	rate := 0
	if os.Getenv("OMSTIL_LOAD_RATE") != "" {
		rate = envInt(t, "OMSTIL_LOAD_RATE", 0)
	}
	media := os.Getenv("OMSTIL_LOAD_MEDIA") != "off"
	separate := os.Getenv("OMSTIL_LOAD_SIM") == "process"
	r := runSustained(t, n, agents, rate, time.Duration(secs)*time.Second, media, separate)
	t.Logf("GOMAXPROCS %d; simulator media %v; %d concurrent calls, %d agents: first %d calls placed and waiting at %.0f calls/s", runtime.GOMAXPROCS(0), media, r.concurrent, r.agents, r.concurrent, r.arrivals)
	cpu := fmt.Sprintf("CPU %v per call (adapter, client and simulator)", r.cpuPerCall.Round(time.Microsecond))
	if separate {
		cpu = fmt.Sprintf("CPU per call: omstil's process %v (adapter, client, load driver), the simulator's process %v", r.cpuPerCall.Round(time.Microsecond), r.simPerCall.Round(time.Microsecond))
	}
	t.Logf("sustained over %ds: %.0f calls/s completed and replaced (%d calls); agent ready → bridge created p50 %v p99 %v max %v; %s; per call %.1f REST calls, %.1f events",
		secs, r.callsPerSec, r.completed, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(100*time.Microsecond), cpu, r.restPerCall, r.eventsPerCall)
}

// writeHeapProfile writes the live heap (after a collection) to path.
func writeHeapProfile(tb testing.TB, path string) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// noMediaClock is real time, except that the simulator's 20 ms media tick
// is never run (OMSTIL_LOAD_MEDIA=off).
type noMediaClock struct{}

func (noMediaClock) Now() time.Time { return time.Now() }

func (noMediaClock) AfterFunc(d time.Duration, f func()) arisim.Timer {
	if d == 20*time.Millisecond {
		return stoppedTimer{}
	}
	return time.AfterFunc(d, f)
}

type stoppedTimer struct{}

func (stoppedTimer) Stop() bool { return false }

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
