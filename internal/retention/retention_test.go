package retention_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/retention"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is a fake clock: After records what was asked and hands out a
// channel the test fires.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	asked chan time.Duration
	fire  chan time.Time
}

func newClock(now time.Time) *clock {
	return &clock{now: now, asked: make(chan time.Duration, 100), fire: make(chan time.Time)}
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) After(d time.Duration) <-chan time.Time {
	c.asked <- d
	return c.fire
}

// immediate is an After whose time has always come.
func immediate(asked *[]time.Duration) func(time.Duration) <-chan time.Time {
	return func(d time.Duration) <-chan time.Time {
		*asked = append(*asked, d)
		ch := make(chan time.Time, 1)
		ch <- time.Time{}
		return ch
	}
}

type fixture struct {
	st        *config.Store
	def, faxe config.Organisation
}

func newFixture(t *testing.T, now func() time.Time) fixture {
	t.Helper()
	ctx := context.Background()
	st := configtest.SQLite(t, config.Options{Now: now})
	def, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faxe, err := st.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	days, months := 90, 24
	if faxe, err = st.UpdateOrg(ctx, config.SystemActor(faxe.ID), faxe.ID, config.OrgPatch{PseudonymiseDays: &days, DeleteMonths: &months}); err != nil {
		t.Fatal(err)
	}
	return fixture{st: st, def: def, faxe: faxe}
}

func (f fixture) add(t *testing.T, org config.OrgID, at time.Time, n int, caller string) {
	t.Helper()
	evs := make([]config.CallEvent, n)
	for i := range evs {
		evs[i] = config.CallEvent{OrgID: org, At: at.Add(time.Duration(i) * time.Second), CallID: "c", Kind: "call.arrived", Caller: caller}
	}
	if err := f.st.AppendCallEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// counts returns an organisation's events: all, with the number in clear.
func (f fixture) counts(t *testing.T, org config.OrgID) (all, clear int) {
	t.Helper()
	evs, err := f.st.CallEventsSince(context.Background(), config.CallEventQuery{Org: org, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Caller == "12345678" {
			clear++
		}
	}
	return len(evs), clear
}

// One run: each organisation by its own retention, in batches with a
// pause between them; the log and the metrics have counts, no numbers.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	f := newFixture(t, func() time.Time { return now })
	f.add(t, f.def.ID, now.AddDate(0, -14, 0), 3, "12345678")  // deleted
	f.add(t, f.def.ID, now.AddDate(0, 0, -40), 5, "12345678")  // pseudonymised
	f.add(t, f.def.ID, now.AddDate(0, 0, -10), 2, "12345678")  // kept
	f.add(t, f.faxe.ID, now.AddDate(0, -14, 0), 1, "12345678") // faxe: 90 days, 24 months: pseudonymised
	f.add(t, f.faxe.ID, now.AddDate(0, 0, -40), 1, "12345678") // kept

	var logs bytes.Buffer
	var asked []time.Duration
	reg := prometheus.NewRegistry()
	w, err := retention.New(f.st, retention.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { return now }, After: immediate(&asked), Batch: 2, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.RunOnce(context.Background())
	if err != nil || res != (retention.Result{Pseudonymised: 6, Deleted: 3}) {
		t.Fatalf("run: %+v %v", res, err)
	}
	if all, clear := f.counts(t, f.def.ID); all != 7 || clear != 2 {
		t.Fatalf("default: %d events, %d in clear", all, clear)
	}
	if all, clear := f.counts(t, f.faxe.ID); all != 2 || clear != 1 {
		t.Fatalf("faxe: %d events, %d in clear", all, clear)
	}
	// default: deletions 2+1 (one pause), pseudonyms 2+2+1 (two pauses);
	// faxe: 0 deletions, 1 pseudonym: no pause.
	if len(asked) != 3 || asked[0] != 200*time.Millisecond {
		t.Fatalf("pauses: %v", asked)
	}
	for name, want := range map[string]map[string]float64{
		"omstil_retention_deleted_total":       {"default": 3, "faxe": 0},
		"omstil_retention_pseudonymised_total": {"default": 5, "faxe": 1},
	} {
		if got := counters(t, reg, name); len(got) != len(want) || got["default"] != want["default"] || got["faxe"] != want["faxe"] {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
	}
	if !strings.Contains(logs.String(), "pseudonymised=5 deleted=3") || strings.Contains(logs.String(), "12345678") {
		t.Fatalf("log: %s", logs.String())
	}
	// Nothing more to do.
	if res, err := w.RunOnce(context.Background()); err != nil || res != (retention.Result{}) {
		t.Fatalf("second run: %+v %v", res, err)
	}
}

// Run works at start and then once a day, until its context ends.
func TestRunDaily(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	c := newClock(start)
	f := newFixture(t, c.Now)
	f.add(t, f.def.ID, start.AddDate(0, 0, -31), 1, "12345678")
	f.add(t, f.def.ID, start.AddDate(0, 0, -29), 1, "12345678")
	w, err := retention.New(f.st, retention.Options{Now: c.Now, After: c.After})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()

	if d := <-c.asked; d != 24*time.Hour {
		t.Fatalf("first wait %v", d)
	}
	if _, clear := f.counts(t, f.def.ID); clear != 1 {
		t.Fatalf("after the start: %d in clear", clear)
	}
	c.set(start.Add(48 * time.Hour))
	c.fire <- time.Time{}
	if d := <-c.asked; d != 24*time.Hour {
		t.Fatalf("second wait %v", d)
	}
	if _, clear := f.counts(t, f.def.ID); clear != 0 {
		t.Fatalf("a day later: %d in clear", clear)
	}
	cancel()
	<-done
}

// counters reads a counter vector's values by organisation.
func counters(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "org" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// A run that fails (the database is gone) is counted and logged, and the
// next comes within an hour, not a day.
func TestRunRetriesWithinAnHour(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	c := newClock(start)
	f := newFixture(t, c.Now)
	f.st.Close()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	w, err := retention.New(f.st, retention.Options{Now: c.Now, After: c.After, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	if d := <-c.asked; d != time.Hour {
		t.Fatalf("wait after a failure: %v", d)
	}
	cancel()
	<-done
	mfs, _ := reg.Gather()
	failures := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "omstil_retention_failures_total" {
			failures = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if failures != 1 || !strings.Contains(logs.String(), "retention") {
		t.Fatalf("failures %v, log %q", failures, logs.String())
	}
}
