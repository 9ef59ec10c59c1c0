package ari

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/queue"
)

func TestCallVarRoundTrip(t *testing.T) {
	joined := time.UnixMilli(1764320000123)
	for _, v := range []callVar{
		{Queue: "borgerservice", Joined: joined, Priority: 0},
		{Queue: "kø & pension=ja", Joined: joined, Priority: 5},
		{Queue: "q1", Joined: joined, Priority: 1, Step: "kø 1 & ø=å"},
	} {
		got, ok := decodeCallVar(encodeCallVar(v))
		if !ok || got.Queue != v.Queue || !got.Joined.Equal(v.Joined) || got.Priority != v.Priority || got.Step != v.Step {
			t.Errorf("round trip of %+v: %+v, %v", v, got, ok)
		}
	}
	for _, bad := range []string{"", "q=", "q=x&j=notanumber", "%zz"} {
		if _, ok := decodeCallVar(bad); ok {
			t.Errorf("decodeCallVar(%q) accepted", bad)
		}
	}
}

func TestBridgeNameRoundTrip(t *testing.T) {
	b := bridgeName{Call: "1764320000.42", Agent: "anna", Queue: "q1", Since: time.UnixMilli(1764320001000)}
	got, ok := decodeBridgeName(encodeBridgeName(b))
	if !ok || got.Call != b.Call || got.Agent != b.Agent || got.Queue != b.Queue || !got.Since.Equal(b.Since) {
		t.Fatalf("round trip: %+v, %v", got, ok)
	}
	for _, bad := range []string{"", "mybridge", "omstil:agent=x"} {
		if _, ok := decodeBridgeName(bad); ok {
			t.Errorf("decodeBridgeName(%q) accepted", bad)
		}
	}
}

func TestFailReason(t *testing.T) {
	for _, tc := range []struct {
		dial  string
		cause int
		want  queue.FailReason
	}{
		{"BUSY", 17, queue.FailBusy},
		{"", 17, queue.FailBusy},
		{"NOANSWER", 0, queue.FailNoAnswer},
		{"", 19, queue.FailNoAnswer},
		{"", 18, queue.FailNoAnswer},
		{"", 21, queue.FailDeclined},
		{"CONGESTION", 34, queue.FailUnavailable},
		{"CHANUNAVAIL", 3, queue.FailUnavailable},
		{"", 0, queue.FailUnavailable},
		{"", 3, queue.FailUnavailable},
	} {
		if got := failReason(tc.dial, tc.cause); got != tc.want {
			t.Errorf("failReason(%q, %d) = %s, want %s", tc.dial, tc.cause, got, tc.want)
		}
	}
}

// TestWorkersOrderPerKey: jobs of one key run one at a time in order; keys
// run independently.
func TestWorkersOrderPerKey(t *testing.T) {
	w := newWorkers()
	var mu sync.Mutex
	got := map[string][]int{}
	running := map[string]bool{}
	for i := 0; i < 200; i++ {
		key := fmt.Sprint(i % 7)
		w.enqueue(key, func() {
			mu.Lock()
			if running[key] {
				t.Errorf("two jobs of key %s at once", key)
			}
			running[key] = true
			mu.Unlock()
			mu.Lock()
			running[key] = false
			got[key] = append(got[key], i)
			mu.Unlock()
		})
	}
	w.wait()
	for key, seq := range got {
		for j := 1; j < len(seq); j++ {
			if seq[j] < seq[j-1] {
				t.Fatalf("key %s ran out of order: %v", key, seq)
			}
		}
	}
	if n := len(got["0"]) + len(got["1"]) + len(got["2"]) + len(got["3"]) + len(got["4"]) + len(got["5"]) + len(got["6"]); n != 200 {
		t.Fatalf("%d jobs ran, want 200", n)
	}
}

// TestWorkersParkAndReuse: a goroutine whose key has no more jobs parks
// and takes the next key; close ends the parked ones, and work handed out
// after close still runs.
func TestWorkersParkAndReuse(t *testing.T) {
	w := newWorkers()
	parked := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.parked
	}
	waitParked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for parked() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines parked, want %d", parked(), n)
			}
			runtime.Gosched()
		}
	}
	release := make(chan struct{})
	for i := range 10 {
		w.enqueue(fmt.Sprint("k", i), func() { <-release })
	}
	close(release)
	w.wait()
	waitParked(10)

	inJob := make(chan int)
	cont := make(chan struct{})
	w.enqueue("x", func() { inJob <- parked(); <-cont })
	if got := <-inJob; got != 9 {
		t.Fatalf("while x runs %d goroutines are parked, want 9 (x runs on a parked one)", got)
	}
	close(cont)
	w.wait()
	waitParked(10)

	w.close()
	if n := parked(); n != 0 {
		t.Fatalf("after close %d goroutines parked", n)
	}
	ran := false
	w.enqueue("late", func() { ran = true })
	w.wait()
	if !ran {
		t.Fatal("a job enqueued after close did not run")
	}
	w.close() // twice is fine
}

func TestPositionMedia(t *testing.T) {
	for _, tc := range []struct {
		pos  int
		wait time.Duration
		want string
	}{
		{1, -1, "[sound:queue-youarenext]"},
		{3, -1, "[sound:queue-thereare number:3 sound:queue-callswaiting]"},
		{0, 90 * time.Second, "[sound:queue-holdtime number:2 sound:queue-minutes]"},
		{0, 10 * time.Second, "[sound:queue-holdtime number:1 sound:queue-minutes]"},
	} {
		if got := fmt.Sprint(positionMedia(tc.pos, tc.wait)); got != tc.want {
			t.Errorf("positionMedia(%d, %v) = %s, want %s", tc.pos, tc.wait, got, tc.want)
		}
	}
}

func TestUnicastDestination(t *testing.T) {
	for name, want := range map[string]string{
		"UnicastRTP/127.0.0.1:40000-0x7f0000000001": "127.0.0.1:40000",
		"UnicastRTP/[::1]:40002-0x55d0c0a8":         "[::1]:40002",
		"UnicastRTP/127.0.0.1-0x1":                  "",
		"PJSIP/1001-00000001":                       "",
		"UnicastRTP/":                               "",
	} {
		got, ok := unicastDestination(name)
		if got != want || ok != (want != "") {
			t.Errorf("UnicastDestination(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestAsteriskSounds(t *testing.T) {
	want := []string{"auth-thankyou", "digits/1", "digits/2", "queue-callswaiting", "queue-holdtime", "queue-minutes", "queue-thereare", "queue-youarenext", "ss-noservice"}
	if got := AsteriskSounds(); !slices.Equal(got, want) {
		t.Errorf("AsteriskSounds() = %v, want %v", got, want)
	}
}

// Adopted callers who joined in the same millisecond keep the order
// Asterisk made their channels in: unique ids by their numbers.
func TestCompareChannelIDs(t *testing.T) {
	for _, tc := range []struct {
		x, y ariclient.ChannelID
		want int
	}{
		{"1796669389.9", "1796669389.10", -1},
		{"1796669389.10", "1796669389.9", 1},
		{"1796669388.99", "1796669389.1", -1},
		{"1796669389.5", "1796669389.5", 0},
		{"fault-1-2", "fault-1-3", -1},
		{"1796669389.5", "fault-1-2", -1},
	} {
		if got := compareChannelIDs(tc.x, tc.y); got != tc.want {
			t.Errorf("compareChannelIDs(%s, %s) = %d, want %d", tc.x, tc.y, got, tc.want)
		}
	}
}
