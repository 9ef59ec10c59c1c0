package softphone

import (
	"sync/atomic"
	"time"
)

// delayBounds are the upper bounds of the relay-delay histogram's buckets.
var delayBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond,
}

// delayHist counts how long packets from Asterisk spent in the relay: from
// the kernel's arrival stamp on the relay socket (waiting to be read
// included) to the hand-over to the browser's track. It is lock-free: the
// relays of all calls record into the Manager's one histogram.
type delayHist struct {
	buckets [len(delayBounds) + 1]atomic.Uint64 // the last: above every bound
	sumNS   atomic.Uint64
	// hook, when set (tests), sees every delay.
	hook func(time.Duration)
}

func (h *delayHist) observe(d time.Duration) {
	if h == nil {
		return
	}
	d = max(d, 0)
	i := 0
	for i < len(delayBounds) && d > delayBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNS.Add(uint64(d))
	if h.hook != nil {
		h.hook(d)
	}
}

// RelayDelay is a snapshot of the relay-delay histogram.
type RelayDelay struct {
	// Bounds are the buckets' upper bounds; Counts has one more entry, for
	// the packets above the last bound. Counts are per bucket, not
	// cumulative.
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Count is the number of packets observed.
func (r RelayDelay) Count() uint64 {
	var n uint64
	for _, c := range r.Counts {
		n += c
	}
	return n
}

func (h *delayHist) snapshot() RelayDelay {
	r := RelayDelay{Bounds: delayBounds[:], Counts: make([]uint64, len(h.buckets))}
	for i := range h.buckets {
		r.Counts[i] = h.buckets[i].Load()
	}
	r.Sum = time.Duration(h.sumNS.Load())
	return r
}
