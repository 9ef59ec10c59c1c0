package queue

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWaitListAgainstSortedSlice drives random inserts and removes (at the
// front, the back and anywhere, with priorities that put callers ahead)
// and compares the list with a plain sorted slice after every step.
func TestWaitListAgainstSortedSlice(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 42))
		var (
			w    waitList
			ref  []*call
			seq  uint64
			join int64
		)
		for step := range 3000 {
			switch op := rng.IntN(10); {
			case op < 5 || len(ref) == 0: // insert, mostly at the end
				seq++
				join++
				c := &call{seq: seq, joinN: join}
				if rng.IntN(5) == 0 {
					c.priority = rng.IntN(3)
				}
				if rng.IntN(8) == 0 && join > 5 {
					c.joinN = join - int64(rng.IntN(5)) // a callback keeps its place
				}
				w.insert(c)
				ref = append(ref, c)
				slices.SortStableFunc(ref, func(a, b *call) int {
					if before(a, b) {
						return -1
					}
					if before(b, a) {
						return 1
					}
					return 0
				})
			case op < 8: // the first is served
				if !w.remove(ref[0]) {
					t.Fatalf("seed %d step %d: first caller not found", seed, step)
				}
				ref = ref[1:]
			default: // someone hangs up
				i := rng.IntN(len(ref))
				if !w.remove(ref[i]) {
					t.Fatalf("seed %d step %d: caller %d not found", seed, step, i)
				}
				ref = slices.Delete(ref, i, i+1)
			}
			if !slices.Equal(w.all(), ref) || w.len() != len(ref) {
				t.Fatalf("seed %d step %d: list %v, want %v", seed, step, seqs(w.all()), seqs(ref))
			}
			for i, c := range ref {
				if got := w.index(c); got != i {
					t.Fatalf("seed %d step %d: index of %d = %d, want %d", seed, step, c.seq, got, i)
				}
			}
			if w.remove(&call{seq: 1 << 60, joinN: 1 << 60}) {
				t.Fatalf("seed %d step %d: removed a call that is not there", seed, step)
			}
			if free := w.buf[:w.head]; slices.ContainsFunc(free, func(c *call) bool { return c != nil }) {
				t.Fatalf("seed %d step %d: the free front still points at calls", seed, step)
			}
		}
	}
}

// TestWaitListRoomIsReused: serving from the front and joining at the end
// in turn, for ever, keeps the buffer at the size of the line.
func TestWaitListRoomIsReused(t *testing.T) {
	var w waitList
	var seq uint64
	var line []*call
	for range 1000 {
		seq++
		c := &call{seq: seq, joinN: int64(seq)}
		w.insert(c)
		line = append(line, c)
	}
	for range 100_000 {
		w.remove(line[0])
		line = line[1:]
		seq++
		c := &call{seq: seq, joinN: int64(seq)}
		w.insert(c)
		line = append(line, c)
	}
	if !slices.Equal(w.all(), line) {
		t.Fatal("list out of order")
	}
	if cap(w.buf) > 4*len(line) {
		t.Fatalf("buffer grew to %d for a line of %d", cap(w.buf), len(line))
	}
}

func seqs(cs []*call) []uint64 {
	out := make([]uint64, len(cs))
	for i, c := range cs {
		out[i] = c.seq
	}
	return out
}

// BenchmarkWaitListServe: a line of 10,000 callers; one iteration serves
// the first and lets a new caller join at the end (the load test's
// steady state in one queue).
func BenchmarkWaitListServe(b *testing.B) {
	var w waitList
	var seq uint64
	line := make([]*call, 0, 20_000)
	for range 10_000 {
		seq++
		c := &call{seq: seq, joinN: int64(seq)}
		w.insert(c)
		line = append(line, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.remove(line[0])
		line = line[1:]
		if len(line) < 10_000 && cap(line) == len(line) {
			line = append(make([]*call, 0, 20_000), line...)
		}
		seq++
		c := &call{seq: seq, joinN: int64(seq)}
		w.insert(c)
		line = append(line, c)
	}
}
