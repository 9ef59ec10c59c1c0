package ari_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// logLines is a slog handler that keeps every record's message and
// attributes, for tests that count log lines.
type logLines struct {
	mu    sync.Mutex
	lines []slog.Record
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Clone())
	l.mu.Unlock()
	return nil
}

// with returns the "suppressed" attribute of every line with message msg
// (0 when it has none).
func (l *logLines) with(msg string) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int64
	for _, r := range l.lines {
		if r.Message != msg {
			continue
		}
		n := int64(0)
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "suppressed" {
				n = a.Value.Int64()
			}
			return true
		})
		out = append(out, n)
	}
	return out
}

// TestUnreachableAgent reproduces issue 14: an agent omstil cannot reach
// (a browser agent made ready by a supervisor or the API while no /agent
// page is open; the same without a softphone bridge; a desk phone that is
// congested) in a queue with a caller waiting. Before, the offer was
// retried without pause (99,159 "browser offer failed" lines in 2.2 s);
// now the agent is offered the call queue.UnreachableAfter times with
// back-off and then paused with queue.UnreachableReason, which the
// live feed shows, and the repeating log line is written once a minute
// with a count. Made ready again, the agent gets as many tries again.
func TestUnreachableAgent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		device func(pbx asterisk) ari.Device
		bridge bool   // with a softphone bridge whose agent has no page
		line   string // the log line each failed offer repeats
	}{
		{"browser without a page", func(asterisk) ari.Device { return ari.Device{Kind: ari.DeviceWebRTC} }, true, "ari: browser offer failed"},
		{"browser without a bridge", func(asterisk) ari.Device { return ari.Device{Kind: ari.DeviceWebRTC} }, false, "ari: agent has no usable device"},
		{"desk phone congested", func(pbx asterisk) ari.Device {
			return ari.Device{Kind: ari.DeviceEndpoint, Dial: pbx.agent("congestion", 1)}
		}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := newSimAsterisk(t)
			t.Cleanup(pbx.close)
			cfg := config(q1())
			cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: "w", Queues: []queue.Membership{{Queue: "q1"}}})
			cfg.Devices["w"] = tc.device(pbx)
			cfg.AgentOrgs["w"] = "kommune"
			web := newFakeWebRTC(nil)
			web.noPage["w"] = true
			logs := &logLines{}
			clock := queue.NewFakeClock(mondayMorning)
			e := startWith(t, pbx, clock, cfg, func(o *ari.Options) {
				if tc.bridge {
					o.WebRTC = web
				}
				o.Logger = slog.New(logs)
			})
			offers := func() int {
				return len(find(e.sink, func(o queue.Offered) bool { return o.Agent == "w" }))
			}
			// failed waits until the n-th offer has failed and been handled,
			// and that nothing was offered after it.
			failed := func(n int) {
				t.Helper()
				e.eventually("the offer failed", func() bool {
					if got := offers(); got > n {
						t.Fatalf("%d offers to w, want %d: offered again without pause", got, n)
					}
					return offers() == n && agentState(e, "w") != queue.Ringing
				})
				e.ad.Snapshot() // a round trip: a re-offer made at once would show now
				if got := offers(); got != n {
					t.Fatalf("%d offers to w, want %d: offered again without pause", got, n)
				}
			}
			// round offers the call UnreachableAfter times: each fails, the
			// agent backs off 2 s, 4 s, 8 s, and is paused at the last.
			round := func(first int) {
				t.Helper()
				for n := 1; n <= queue.UnreachableAfter; n++ {
					failed(first + n - 1)
					if n == queue.UnreachableAfter {
						break
					}
					if st := agentState(e, "w"); st != queue.Ready {
						t.Fatalf("after failure %d w is %s, want ready (backing off)", n, st)
					}
					clock.Advance(queue.UnreachableBackoff << (n - 1))
				}
				e.eventually("w is paused", func() bool { return agentState(e, "w") == queue.Paused })
				for _, a := range e.ad.Snapshot().Agents {
					if a.ID == "w" && a.Reason != queue.UnreachableReason {
						t.Fatalf("w paused with %q, want %q", a.Reason, queue.UnreachableReason)
					}
				}
			}

			e.ready("w") // by a supervisor: no page was ever open
			id := pbx.placeCall(t, "70102020", "+4512345678")
			round(1)
			clock.Advance(10 * time.Minute)
			e.ad.Snapshot()
			if got := offers(); got != queue.UnreachableAfter {
				t.Fatalf("%d offers to w after ten minutes paused, want %d", got, queue.UnreachableAfter)
			}
			if c, ok := e.call(id); !ok || c.State != "waiting" {
				t.Fatalf("the caller: %+v %v, want still waiting", c, ok)
			}
			if tc.bridge {
				web.read(func(f *fakeWebRTC) bool {
					if f.tries["w"] != queue.UnreachableAfter {
						t.Fatalf("Ring tried %d times, want %d", f.tries["w"], queue.UnreachableAfter)
					}
					return true
				})
			}
			if tc.line != "" {
				if got := logs.with(tc.line); len(got) != 1 || got[0] != 0 {
					t.Fatalf("%q written %d times (suppressed %v), want once in the first minute", tc.line, len(got), got)
				}
			}

			// made ready again (still no page): the same again; the log
			// line comes once more, with the count of the ones left out.
			e.ready("w")
			round(queue.UnreachableAfter + 1)
			if tc.line != "" {
				want := int64(queue.UnreachableAfter - 1)
				if got := logs.with(tc.line); len(got) != 2 || got[1] != want {
					t.Fatalf("%q written with suppressed %v, want [0 %d]", tc.line, got, want)
				}
			}
		})
	}
}
