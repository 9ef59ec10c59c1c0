package telephony

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/queue"
)

// eventStore is a migrated SQLite store and an organisation index whose
// default is the store's default organisation, which owns queue
// default/bs and agent 7.
func eventStore(t *testing.T) (*config.Store, *OrgIndex, config.OrgID) {
	t.Helper()
	st := configtest.SQLite(t, config.Options{})
	def, err := st.DefaultOrg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	orgs := NewOrgIndex(def.ID)
	orgs.Update(config.Runtime{
		QueueInfo: map[queue.QueueID]config.RuntimeQueue{"default/bs": {OrgID: def.ID}},
		AgentInfo: map[queue.AgentID]config.RuntimeAgent{"7": {OrgID: def.ID}},
	})
	return st, orgs, def.ID
}

// Issue 14: an agent whose offers fail over and over. Every event the
// engine emits for it is a row of the log; before, OfferEnded (and the
// other events engineEvent did not know) had neither a call nor an agent,
// and the store refused the whole batch they were in.
func TestEventWriterKeepsEveryEventOfFailingOffers(t *testing.T) {
	st, orgs, _ := eventStore(t)
	w, err := NewEventWriter(st, orgs, slog.New(slog.DiscardHandler), EventLogOptions{})
	if err != nil {
		t.Fatal(err)
	}

	e := queue.New(queue.Options{})
	if err := e.SetQueue(queue.QueueConfig{ID: "default/bs"}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgent(queue.AgentConfig{ID: "7", Queues: []queue.Membership{{Queue: "default/bs"}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var logged int
	feed := func(outs []queue.Output) {
		for _, o := range outs {
			if _, ok := engineEvent(o); ok {
				logged++
			}
			w.Engine(o)
		}
	}
	feed(e.Handle(now, queue.AgentLogin{Agent: "7"}))
	feed(e.Handle(now, queue.CallArrived{Call: "c1", Queue: "default/bs", Caller: "+4512345678"}))
	for range 20 {
		feed(e.Handle(now, queue.OfferFailed{Call: "c1", Agent: "7", Reason: queue.FailUnavailable}))
		now = now.Add(30 * time.Second)
		feed(e.Advance(now))
	}
	feed(e.Handle(now, queue.OfferAnswered{Call: "c1", Agent: "7"})) // stale or not: logged either way
	feed(e.Handle(now, queue.CallHungUp{Call: "unknown"}))           // Ignored: names the call in its input
	w.Close()

	rows, err := st.CallEventsSince(context.Background(), config.CallEventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != logged {
		t.Fatalf("%d rows in the log, want every one of the %d events", len(rows), logged)
	}
	kinds := map[string]int{}
	for _, r := range rows {
		kinds[r.Kind]++
	}
	if kinds["OfferEnded"] < 20 || kinds["Ignored"] == 0 {
		t.Fatalf("kinds logged: %v; want the 20 failed offers and the ignored input", kinds)
	}
}

// Every event of the engine becomes a row that names what it is about.
func TestEngineEventNamesCallAndAgent(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		out         queue.Output
		call, agent string
	}{
		{queue.CallJoined{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.Offered{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.OfferEnded{At: at, Call: "c", Agent: "a", Reason: queue.FailBusy}, "c", "a"},
		{queue.Answered{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallCompleted{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.Abandoned{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.Overflowed{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.PriorityChanged{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.CallbackQueued{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.CallbackAttempted{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallbackConnected{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallbackFailed{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.AgentStateChanged{At: at, Agent: "a"}, "", "a"},
		{queue.Ignored{At: at, Input: queue.OfferFailed{Call: "c", Agent: "a"}}, "c", "a"},
		{queue.Ignored{At: at, Input: queue.AgentPause{Agent: "a"}}, "", "a"},
		{queue.Ignored{At: at, Input: queue.CallbackRequested{Call: "c", Number: "+4512345678"}}, "c", ""},
	}
	for _, c := range cases {
		ev, ok := engineEvent(c.out)
		if !ok || ev.CallID != c.call || ev.Agent != c.agent || !ev.At.Equal(at) {
			t.Errorf("%T: row %+v (logged %v), want call %q agent %q at %v", c.out, ev, ok, c.call, c.agent, at)
		}
	}
	if _, ok := engineEvent(queue.Offer{At: at, Call: "c", Agent: "a"}); ok {
		t.Error("a command is logged")
	}
}

// flakyStore passes appends to a real store, except while it is down:
// then they fail as a database that does not answer does. With budget >=
// 0 it goes down by itself after that many appends.
type flakyStore struct {
	st     *config.Store
	mu     sync.Mutex
	down   bool
	budget int
	calls  atomic.Int64
}

var errUnreachable = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (f *flakyStore) AppendCallEvents(ctx context.Context, evs []config.CallEvent) error {
	f.calls.Add(1)
	f.mu.Lock()
	if f.budget == 0 {
		f.down = true
	}
	if f.budget > 0 {
		f.budget--
	}
	down := f.down
	f.mu.Unlock()
	if down {
		return fmt.Errorf("config: append %d call events: %w", len(evs), errUnreachable)
	}
	return f.st.AppendCallEvents(ctx, evs)
}

func (f *flakyStore) set(down bool, budget int) {
	f.mu.Lock()
	f.down, f.budget = down, budget
	f.mu.Unlock()
}

// waitUntil polls cond (the writer has its own goroutine) until it holds.
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

// numbered returns n valid events of org whose WaitMS is from, from+1, ...
func numbered(org config.OrgID, from, n int) []config.CallEvent {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	out := make([]config.CallEvent, n)
	for i := range out {
		k := from + i
		out[i] = config.CallEvent{OrgID: org, At: at.Add(time.Duration(k) * time.Second), CallID: fmt.Sprintf("c%d", k),
			Kind: "CallJoined", Queue: "default/bs", Caller: "+4512345678", WaitMS: int64(k), Data: `{"secret":"data"}`}
	}
	return out
}

// logged returns the WaitMS of every row, in the log's order.
func logged(t *testing.T, st *config.Store) []int64 {
	t.Helper()
	rows, err := st.CallEventsSince(context.Background(), config.CallEventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.WaitMS
	}
	return out
}

func seq(from, to int) []int64 {
	var out []int64
	for k := from; k < to; k++ {
		out = append(out, int64(k))
	}
	return out
}

func sameSeq(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// metric returns the value of the metric name (with label where, if
// given) from reg.
func metric(t *testing.T, reg *prometheus.Registry, name, where string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if where != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != where) {
				continue
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s{where=%q}", name, where)
	return 0
}

// A batch with bad events writes the good ones; each bad one is set
// aside alone, counted, and logged without the caller's number or data.
func TestEventWriterSetsAsideABadEventAlone(t *testing.T) {
	st, orgs, org := eventStore(t)
	var logBuf bytes.Buffer
	reg := prometheus.NewRegistry()
	w, err := NewEventWriter(st, orgs, slog.New(slog.NewTextHandler(&logBuf, nil)), EventLogOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	evs := numbered(org, 0, 6)
	evs[1].CallID, evs[1].Agent = "", "" // names nothing: CheckCallEvent refuses it
	evs[4].OrgID = org + 100             // no such organisation: the database refuses it
	evs[5].Caller = "+45\xff12345678"    // not UTF-8
	for _, ev := range evs {
		w.add(ev)
	}
	w.Close()
	if got := logged(t, st); !sameSeq(got, []int64{0, 2, 3}) {
		t.Fatalf("written %v, want the valid events 0, 2, 3", got)
	}
	if s := w.Stats(); s.Invalid != 3 || s.Written != 3 {
		t.Fatalf("stats %+v, want 3 written and 3 set aside", s)
	}
	if metric(t, reg, "omstil_call_events_invalid_total", "") != 3 || metric(t, reg, "omstil_call_events_written_total", "") != 3 {
		t.Fatal("the metrics do not count the events written and set aside")
	}
	out := logBuf.String()
	if strings.Count(out, "event set aside") != 3 || !strings.Contains(out, "call=c4") || !strings.Contains(out, "kind=CallJoined") {
		t.Fatalf("want one line per set-aside event naming kind and call:\n%s", out)
	}
	if strings.Contains(out, "12345678") || strings.Contains(out, "secret") {
		t.Fatalf("the log shows a caller's number or an event's data:\n%s", out)
	}
}

// While the database does not answer the events wait, in order; they are
// written when it answers again, and the backlog metric shows them.
func TestEventWriterKeepsEventsWhileTheDatabaseIsAway(t *testing.T) {
	st, orgs, org := eventStore(t)
	db := &flakyStore{st: st, budget: -1, down: true}
	clock := queue.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	w, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), EventLogOptions{Clock: clock, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, ev := range numbered(org, 0, 10) {
		w.add(ev)
	}
	waitUntil(t, "a failed write and a retry timer", func() bool { return w.Stats().Failures >= 1 && clock.Pending() == 1 })
	for _, ev := range numbered(org, 10, 5) {
		w.add(ev)
	}
	waitUntil(t, "15 events in the backlog", func() bool { return w.Stats().Memory == 15 })
	if got := metric(t, reg, "omstil_call_event_backlog", "memory"); got != 15 {
		t.Fatalf("backlog metric %v, want 15", got)
	}
	if got := logged(t, st); len(got) != 0 {
		t.Fatalf("written while down: %v", got)
	}
	// Still down at the first retry: it backs off further.
	clock.Advance(firstRetry)
	waitUntil(t, "the second failure", func() bool { return w.Stats().Failures >= 2 && clock.Pending() == 1 })

	db.set(false, -1)
	clock.Advance(lastRetry)
	waitUntil(t, "the backlog written", func() bool { return w.Stats().Written == 15 })
	if got := logged(t, st); !sameSeq(got, seq(0, 15)) {
		t.Fatalf("written %v, want 0..14 in order", got)
	}
	if s := w.Stats(); s.Memory != 0 || s.Spilled != 0 || metric(t, reg, "omstil_call_event_backlog", "memory") != 0 {
		t.Fatalf("backlog after the write: %+v", s)
	}
}

// Beyond the memory bound the events go to the spill file (mode 0600),
// and are written from it in order when the database is back; then the
// file is gone.
func TestEventWriterSpillsBeyondMemory(t *testing.T) {
	st, orgs, org := eventStore(t)
	db := &flakyStore{st: st, budget: -1, down: true}
	clock := queue.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	spill := filepath.Join(t.TempDir(), "omstil.db.call-events.jsonl")
	reg := prometheus.NewRegistry()
	w, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), EventLogOptions{Clock: clock, MemoryLimit: 3, SpillPath: spill, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, ev := range numbered(org, 0, 3) {
		w.add(ev)
	}
	waitUntil(t, "a failed write", func() bool { return w.Stats().Failures >= 1 && clock.Pending() == 1 })
	for _, ev := range numbered(org, 3, 1200) {
		w.add(ev)
	}
	waitUntil(t, "1200 events spilled", func() bool { s := w.Stats(); return s.Memory == 3 && s.Spilled == 1200 })
	if metric(t, reg, "omstil_call_event_backlog", "spill") != 1200 || metric(t, reg, "omstil_call_event_backlog", "memory") != 3 {
		t.Fatal("the backlog metric does not show memory and spill file")
	}
	fi, err := os.Stat(spill)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("spill file: %v %v, want mode 0600", fi, err)
	}
	if n := lines(t, spill); n != 1200 {
		t.Fatalf("spill file has %d lines, want 1200", n)
	}
	db.set(false, -1)
	clock.Advance(lastRetry)
	waitUntil(t, "the backlog written", func() bool { return w.Stats().Written == 1203 })
	if got := logged(t, st); !sameSeq(got, seq(0, 1203)) {
		t.Fatalf("written %d events out of order: %v...", len(got), got[:min(20, len(got))])
	}
	waitUntil(t, "the spill file removed", func() bool {
		_, err1 := os.Stat(spill)
		_, err2 := os.Stat(spill + ".pos")
		return errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist)
	})
	// Memory is used again once the file is gone.
	for _, ev := range numbered(org, 1203, 2) {
		w.add(ev)
	}
	waitUntil(t, "new events written", func() bool { return w.Stats().Written == 1205 })
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a spill file while the database answers: %v", err)
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// Close with the database away puts memory and spill file, in order, in
// the spill file; the next start writes it first, and only what is left
// when a replay was cut short.
func TestEventWriterReplaysTheSpillFileOnStart(t *testing.T) {
	st, orgs, org := eventStore(t)
	db := &flakyStore{st: st, budget: -1, down: true}
	clock := queue.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	spill := filepath.Join(t.TempDir(), "events.jsonl")
	opts := EventLogOptions{Clock: clock, MemoryLimit: 600, SpillPath: spill}
	w, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range numbered(org, 0, 1500) {
		w.add(ev)
	}
	waitUntil(t, "900 events spilled", func() bool { return w.Stats().Spilled == 900 })
	w.Close()
	if n := lines(t, spill); n != 1500 {
		t.Fatalf("after Close the spill file has %d events, want all 1500", n)
	}
	// A crash cut the last line short; another line is not an event.
	f, err := os.OpenFile(spill, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("this is no event\n")
	f.WriteString(`{"org":1,"kind":"Cal`)
	f.Close()

	// The next start: the database takes two batches, then is away again.
	db.set(false, 2)
	w2, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "two batches written, then a failure", func() bool { return w2.Stats().Written == 1000 && w2.Stats().Failures == 1 })
	w2.Close()
	if got := logged(t, st); !sameSeq(got, seq(0, 1000)) {
		t.Fatalf("written %d events, want 0..999 in order", len(got))
	}

	// And the one after: only the rest, then the file is gone.
	db.set(false, -1)
	w3, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	if s := w3.Stats(); s.Spilled != 501 {
		t.Errorf("at start %d lines to replay, want the 500 events left and the bad line", s.Spilled)
	}
	waitUntil(t, "the rest written", func() bool { return w3.Stats().Written == 500 })
	w3.Close()
	if got := logged(t, st); !sameSeq(got, seq(0, 1500)) {
		t.Fatalf("written %d events, want 0..1499 once each, in order", len(got))
	}
	if s := w3.Stats(); s.Invalid != 1 {
		t.Errorf("%d set aside, want the one bad line", s.Invalid)
	}
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spill file still there: %v", err)
	}
}

// blockedStore never answers: each append waits for its context.
type blockedStore struct{}

func (blockedStore) AppendCallEvents(ctx context.Context, _ []config.CallEvent) error {
	<-ctx.Done()
	return ctx.Err()
}

// Close is bounded even when the database hangs; what is left is spilled.
func TestEventWriterCloseIsBounded(t *testing.T) {
	_, orgs, org := eventStore(t)
	spill := filepath.Join(t.TempDir(), "events.jsonl")
	w, err := NewEventWriter(blockedStore{}, orgs, slog.New(slog.DiscardHandler), EventLogOptions{SpillPath: spill, CloseTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, ev := range numbered(org, 0, 3) {
		w.add(ev) // after Close: kept nowhere, but must not block or panic
	}
	w2, err := NewEventWriter(blockedStore{}, orgs, slog.New(slog.DiscardHandler), EventLogOptions{SpillPath: spill, CloseTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range numbered(org, 0, 3) {
		w2.add(ev)
	}
	w2.Close()
	if n := lines(t, spill); n != 3 {
		t.Fatalf("spill file has %d events, want 3", n)
	}
}

// A flood of bad events logs ten lines a minute; the next line says how
// many were not logged.
func TestEventWriterLimitsSetAsideLines(t *testing.T) {
	st, orgs, org := eventStore(t)
	var logBuf bytes.Buffer
	clock := queue.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	w, err := NewEventWriter(st, orgs, slog.New(slog.NewTextHandler(&logBuf, nil)), EventLogOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	bad := numbered(org, 0, 16)
	for i := range bad {
		bad[i].Kind = ""
	}
	for _, ev := range bad[:15] {
		w.add(ev)
	}
	waitUntil(t, "15 set aside", func() bool { return w.Stats().Invalid == 15 })
	clock.Advance(time.Minute)
	w.add(bad[15])
	w.Close()
	out := logBuf.String()
	if n := strings.Count(out, "event set aside"); n != 11 || !strings.Contains(out, "set_aside_unlogged=5") {
		t.Fatalf("%d lines, want 10 and then one saying 5 were not logged:\n%s", n, out)
	}
}

// When the spill file cannot be written the events wait in memory, in
// order, and are written when the database is back.
func TestEventWriterKeepsEventsWhenTheSpillFileFails(t *testing.T) {
	st, orgs, org := eventStore(t)
	db := &flakyStore{st: st, budget: -1, down: true}
	clock := queue.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	spill := filepath.Join(t.TempDir(), "no such directory", "events.jsonl")
	w, err := NewEventWriter(db, orgs, slog.New(slog.DiscardHandler), EventLogOptions{Clock: clock, MemoryLimit: 2, SpillPath: spill})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, ev := range numbered(org, 0, 7) {
		w.add(ev)
	}
	waitUntil(t, "a failed write", func() bool { return w.Stats().Failures >= 1 && clock.Pending() == 1 })
	if s := w.Stats(); s.Memory != 7 || s.Spilled != 0 {
		t.Fatalf("backlog %+v, want all 7 in memory", s)
	}
	db.set(false, -1)
	clock.Advance(lastRetry)
	waitUntil(t, "the backlog written", func() bool { return w.Stats().Written == 7 })
	if got := logged(t, st); !sameSeq(got, seq(0, 7)) {
		t.Fatalf("written %v, want 0..6 in order", got)
	}
}
