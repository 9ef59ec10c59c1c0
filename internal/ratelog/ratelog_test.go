package ratelog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// records is a slog handler that keeps every record.
type records struct {
	mu  sync.Mutex
	got []string // "LEVEL msg k=v ..."
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	s := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
	return nil
}

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func TestLimiter(t *testing.T) {
	type line struct {
		at       time.Duration // since t0
		key, msg string
	}
	for _, tc := range []struct {
		name  string
		lines []line
		want  []string
	}{
		{"one line", []line{{0, "a", "m"}}, []string{"INFO m n=0"}},
		{"repeats within the minute are counted", []line{
			{0, "a", "m"}, {time.Second, "a", "m"}, {59 * time.Second, "a", "m"},
		}, []string{"INFO m n=0"}},
		{"the first after the minute carries the count", []line{
			{0, "a", "m"}, {time.Second, "a", "m"}, {2 * time.Second, "a", "m"},
			{time.Minute, "a", "m"}, {time.Minute + time.Second, "a", "m"}, {3 * time.Minute, "a", "m"},
		}, []string{"INFO m n=0", "INFO m n=3 suppressed=2", "INFO m n=5 suppressed=1"}},
		{"no count when nothing was left out", []line{
			{0, "a", "m"}, {2 * time.Minute, "a", "m"},
		}, []string{"INFO m n=0", "INFO m n=1"}},
		{"keys are apart", []line{
			{0, "a", "m"}, {time.Second, "b", "m"}, {2 * time.Second, "a", "m"},
		}, []string{"INFO m n=0", "INFO m n=1"}},
		{"messages are apart", []line{
			{0, "a", "m"}, {time.Second, "a", "other"}, {2 * time.Second, "a", "m"},
		}, []string{"INFO m n=0", "INFO other n=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &records{}
			now := t0
			l := New(slog.New(rec), time.Minute, func() time.Time { return now })
			for i, ln := range tc.lines {
				now = t0.Add(ln.at)
				l.Log(slog.LevelInfo, ln.key, ln.msg, "n", i)
			}
			if fmt.Sprint(rec.got) != fmt.Sprint(tc.want) {
				t.Fatalf("lines %q, want %q", rec.got, tc.want)
			}
		})
	}
}

// TestLimiterFlood: a tight loop of one line, as in issue 14, writes one
// line a minute; the counts add up to every call.
func TestLimiterFlood(t *testing.T) {
	rec := &records{}
	var mu sync.Mutex
	now := t0
	l := New(slog.New(rec), time.Minute, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	var wg sync.WaitGroup
	written := make([]int, 4)
	for g := range written {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25_000 {
				if l.Log(slog.LevelWarn, "w1", "offer failed") {
					written[g]++
				}
				if i%5000 == 0 {
					mu.Lock()
					now = now.Add(10 * time.Second)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	n := written[0] + written[1] + written[2] + written[3]
	if n != len(rec.got) {
		t.Fatalf("Log said %d written, handler got %d", n, len(rec.got))
	}
	// 20 steps of 10 s: at most one line per minute (and the first).
	if n < 2 || n > 5 {
		t.Fatalf("%d lines for 100,000 repeats over 200 s: %q", n, rec.got)
	}
	// everything is accounted for once the key comes again.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	l.Log(slog.LevelWarn, "w1", "offer failed")
	total := 0
	for _, s := range rec.got {
		var k int
		if _, err := fmt.Sscanf(s, "WARN offer failed suppressed=%d", &k); err == nil {
			total += k
		}
		total++
	}
	if total != 100_001 {
		t.Fatalf("lines and counts add up to %d, want 100001: %q", total, rec.got)
	}
}

// TestLimiterPrunes: keys that are over and have nothing counted are
// dropped once there are many, so the map does not grow with every agent
// that ever failed.
func TestLimiterPrunes(t *testing.T) {
	now := t0
	l := New(slog.New(&records{}), time.Minute, func() time.Time { return now })
	for i := range pruneAt {
		l.Log(slog.LevelInfo, fmt.Sprint(i), "m")
	}
	l.Log(slog.LevelInfo, "0", "m") // counted: kept
	now = now.Add(time.Minute)
	l.Log(slog.LevelInfo, "new", "m")
	if len(l.keys) != 2 {
		t.Fatalf("%d keys after pruning, want 2 (the counted one and the new one)", len(l.keys))
	}
}
