package queue

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

const (
	benchQueues = 50
	benchAgents = 2000
	benchCalls  = 10000
)

// loadedEngine builds the benchmark's engine: 50 queues, 2,000 agents (40
// per queue, each also a tier-1 member of the next queue), every agent on a
// call, and 10,000 callers waiting (200 per queue), with join and periodic
// announcements, max wait and an escalation step. It returns the agents'
// calls.
type loaded struct {
	e      *Engine
	now    time.Time
	onCall map[AgentID]CallID
	next   int
}

func newLoaded(tb testing.TB, waiting int) *loaded {
	tb.Helper()
	l := &loaded{e: New(Options{Location: time.UTC}), now: t0, onCall: make(map[AgentID]CallID, benchAgents)}
	for i := range benchQueues {
		err := l.e.SetQueue(QueueConfig{
			ID: queueName(i), Strategy: StrategyLongestIdle, MaxWait: 2 * time.Hour,
			Escalation: []Escalation{{After: 45 * time.Second, MaxTier: 1}},
			Announce:   Announcements{OnJoin: true, Every: time.Minute, OnlyIfBetter: true},
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for i := range benchAgents {
		q := i % benchQueues
		id := AgentID("agent-" + strconv.Itoa(i))
		err := l.e.SetAgent(AgentConfig{ID: id, Queues: []Membership{
			{Queue: queueName(q)}, {Queue: queueName((q + 1) % benchQueues), Tier: 1},
		}})
		if err != nil {
			tb.Fatal(err)
		}
		l.handle(AgentLogin{Agent: id})
	}
	// first the calls that occupy every agent, then the waiting ones.
	for range benchAgents + waiting {
		l.arrive()
	}
	for _, a := range l.e.agents {
		if a.state == Ringing {
			l.handle(OfferAnswered{Call: a.offer.call.id, Agent: a.id})
		}
	}
	if len(l.onCall) != benchAgents {
		tb.Fatalf("%d agents on a call, want %d", len(l.onCall), benchAgents)
	}
	return l
}

func queueName(i int) QueueID { return QueueID("queue-" + strconv.Itoa(i)) }

func (l *loaded) handle(in Input) []Output {
	l.now = l.now.Add(time.Millisecond)
	out := l.e.Handle(l.now, in)
	for _, o := range out {
		switch o := o.(type) {
		case Connect:
			l.onCall[o.Agent] = o.Call
		case CallCompleted:
			delete(l.onCall, o.Agent)
		}
	}
	return out
}

func (l *loaded) arrive() []Output {
	l.next++
	id := CallID("1762070400." + strconv.Itoa(l.next))
	return l.handle(CallArrived{Call: id, Queue: queueName(l.next % benchQueues)})
}

// BenchmarkEngine: one op is three events at 10,000 waiting calls and
// 2,000 busy agents: a call ends (the agent becomes ready and is offered
// the next caller), the agent answers, a new caller arrives.
func BenchmarkEngine(b *testing.B) {
	l := newLoaded(b, benchCalls)
	ids := make([]AgentID, 0, benchAgents)
	for i := range benchAgents {
		ids = append(ids, AgentID("agent-"+strconv.Itoa(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := ids[i%benchAgents]
		out := l.handle(CallEnded{Call: l.onCall[a]})
		var offered *Offer
		for _, o := range out {
			if x, ok := o.(Offer); ok {
				offered = &x
			}
		}
		if offered == nil {
			b.Fatalf("no offer after %s became ready", a)
		}
		l.handle(OfferAnswered{Call: offered.Call, Agent: offered.Agent})
		l.arrive()
	}
	b.StopTimer()
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "events/s")
	if n := len(l.e.calls); n != benchCalls+benchAgents {
		b.Fatalf("%d calls in the engine", n)
	}
}

// BenchmarkAgentReady measures only the event that makes an agent ready
// (its call ends, no wrap-up) and the offer of the next caller, at 10,000
// waiting calls and 2,000 agents in 50 queues.
func BenchmarkAgentReady(b *testing.B) {
	l := newLoaded(b, benchCalls)
	ids := make([]AgentID, 0, benchAgents)
	for i := range benchAgents {
		ids = append(ids, AgentID("agent-"+strconv.Itoa(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := ids[i%benchAgents]
		in := CallEnded{Call: l.onCall[a]}
		l.now = l.now.Add(time.Millisecond)
		out := l.e.Handle(l.now, in)
		b.StopTimer()
		delete(l.onCall, a)
		var offered Offer
		for _, o := range out {
			if x, ok := o.(Offer); ok {
				offered = x
			}
		}
		l.handle(OfferAnswered{Call: offered.Call, Agent: offered.Agent})
		l.arrive()
		b.StartTimer()
	}
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// bytesPerWaitingCall adds n waiting callers to a loaded engine and returns
// the heap growth per caller.
func bytesPerWaitingCall(tb testing.TB, n int) float64 {
	l := newLoaded(tb, 0)
	before := heapBytes()
	for range n {
		l.arrive()
	}
	after := heapBytes()
	runtime.KeepAlive(l)
	if got := len(l.e.calls); got != n+benchAgents {
		tb.Fatalf("%d calls", got)
	}
	return float64(after-before) / float64(n)
}

// BenchmarkMemoryPerWaitingCall reports the heap per waiting caller
// (B/call) at 10,000 callers; the op itself is meaningless.
func BenchmarkMemoryPerWaitingCall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.ReportMetric(bytesPerWaitingCall(b, benchCalls), "B/call")
	}
}

// TestMemoryPerWaitingCall keeps a waiting caller under the 4 KB budget.
func TestMemoryPerWaitingCall(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: skipping the 10,000-caller memory measurement")
	}
	per := bytesPerWaitingCall(t, benchCalls)
	t.Logf("%.0f bytes per waiting call", per)
	if per > 4096 {
		t.Fatalf("%.0f bytes per waiting call, budget 4096", per)
	}
}

func ExampleEngine() {
	e := New(Options{Location: time.UTC})
	_ = e.SetQueue(QueueConfig{ID: "borgerservice", RingTimeout: 20 * time.Second})
	_ = e.SetAgent(AgentConfig{ID: "anna", Queues: []Membership{{Queue: "borgerservice"}}})
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	e.Handle(now, AgentLogin{Agent: "anna"})
	for _, o := range e.Handle(now, CallArrived{Call: "1762070400.1", Queue: "borgerservice"}) {
		if cmd, ok := o.(Command); ok {
			fmt.Printf("%T %+v\n", cmd, cmd)
		}
	}
	next, _ := e.NextDeadline()
	fmt.Println("next deadline:", next.Sub(now))
	// Output:
	// queue.Offer {At:2026-11-02 09:00:00 +0000 UTC Call:1762070400.1 Agent:anna Queue:borgerservice Timeout:20s Callback:false}
	// next deadline: 20s
}
