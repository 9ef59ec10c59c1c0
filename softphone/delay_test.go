package softphone

import (
	"github.com/pion/rtp"
	"runtime"
	"testing"
	"time"
)

// TestRelayDelayObserved: every packet a sampled relay hands to the browser
// is counted in the delay histogram, measured from the kernel's arrival stamp
// (on Linux) to the end of the track write, and the bucket counts add up.
func TestRelayDelayObserved(t *testing.T) {
	m := newTestManager(t, 47130, 47139)
	m.ports.stampEvery = 1
	s, _ := m.openSession("agent-1")
	hist := &delayHist{}
	var seen []time.Duration
	// A sink that holds each packet for 3 ms makes the delay visible.
	hist.hook = func(d time.Duration) { seen = append(seen, d) }
	s.st.delay = hist
	sink := make(sinkChan, 64)
	s.down.setSink(slowSink{sink, 3 * time.Millisecond})
	ast := newFakeAsterisk(t, "127.0.0.1")
	addr, err := s.AttachCall("call-1")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := range n {
		ast.send(addr, pcmu(11, uint16(i), uint32(160*i), byte(i)))
	}
	for range n {
		sink.next(t)
	}
	if err := s.DetachCall("call-1"); err != nil { // waits for the reader
		t.Fatal(err)
	}
	snap := hist.snapshot()
	if runtime.GOOS != "linux" {
		if snap.Count() != 0 {
			t.Fatalf("without receive stamps nothing is observed; got %d", snap.Count())
		}
		t.Skip("receive timestamps are read on Linux only; nothing more to check on " + runtime.GOOS)
	}
	if snap.Count() != n || len(seen) != n {
		t.Fatalf("observed %d packets (hook %d), want %d", snap.Count(), len(seen), n)
	}
	for i, d := range seen {
		// The write alone takes 3 ms; a delay above a minute would mean
		// the stamp was misread.
		if d < 3*time.Millisecond || d > time.Minute {
			t.Errorf("packet %d: delay %v, want at least the 3 ms write and less than a minute", i, d)
		}
	}
	if snap.Sum < n*3*time.Millisecond {
		t.Errorf("sum %v, want at least %v", snap.Sum, n*3*time.Millisecond)
	}
	if len(snap.Counts) != len(snap.Bounds)+1 {
		t.Fatalf("%d counts for %d bounds", len(snap.Counts), len(snap.Bounds))
	}
	// 3 ms and more lands above the 2 ms bound.
	var below uint64
	for i, b := range snap.Bounds {
		if b <= 2*time.Millisecond {
			below += snap.Counts[i]
		}
	}
	if below != 0 {
		t.Errorf("%d packets counted at 2 ms or less although each write took 3 ms: %v", below, snap.Counts)
	}
}

type slowSink struct {
	next  rtpWriter
	delay time.Duration
}

func (s slowSink) WriteRTP(p *rtp.Packet) error {
	time.Sleep(s.delay) // the write itself is slow: that is what is measured
	return s.next.WriteRTP(p)
}

func TestDelayHistBuckets(t *testing.T) {
	var h delayHist
	for _, d := range []time.Duration{-time.Second, 0, 50 * time.Microsecond, 51 * time.Microsecond, 2 * time.Millisecond, time.Hour} {
		h.observe(d)
	}
	got := h.snapshot().Counts
	want := make([]uint64, len(delayBounds)+1)
	want[0] = 3 // negative (clamped), 0 and exactly 50 µs
	want[1] = 1 // 51 µs
	want[5] = 1 // exactly 2 ms
	want[len(delayBounds)] = 1
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
	var nilHist *delayHist
	nilHist.observe(time.Second) // no histogram: nothing happens, no panic
}
