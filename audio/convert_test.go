package audio_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omstil/omstil/audio"
)

// testWAV makes a WAV file: a sine of freq Hz, seconds long, 16-bit PCM.
func testWAV(rate, channels int, freq float64, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	data := n * channels * 2
	b := make([]byte, 44, 44+data)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i := 0; i < n; i++ {
		v := uint16(int16(0.5 * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
		for c := 0; c < channels; c++ {
			b = append(b, byte(v), byte(v>>8))
		}
	}
	return b
}

// silentMP3 is an MPEG-1 Layer III file of silence at 48 kHz, mono,
// 32 kbit/s: one 96-byte frame (header FF FB 14 C0; side information and
// main data all zero, which is silence) repeated, 1152 samples (24 ms)
// each.
func silentMP3(d time.Duration) []byte {
	frame := make([]byte, 96)
	copy(frame, []byte{0xFF, 0xFB, 0x14, 0xC0})
	return bytes.Repeat(frame, int(d/(24*time.Millisecond)))
}

// longOgg repeats the audio page of testdata/audio-300-48k-stereo.ogg (a
// 300 Hz tone, 48 kHz stereo) after its header pages, with page numbers,
// granule positions and checksums rewritten: an Ogg Vorbis file d long.
// The page decodes to 48256 samples first and 49408 when repeated (its
// first packet then overlaps the page before), so the file is the
// longest such that is at most d (up to 1.03 s shorter). With lie, every
// page says it ends at 1 s: a file that hides its length.
func longOgg(t testing.TB, d time.Duration, lie bool) []byte {
	const first, next = 48256, 49408
	src, err := os.ReadFile("testdata/audio-300-48k-stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	var pages [][]byte
	for p := 0; p < len(src); {
		n := 27 + int(src[p+26])
		for _, s := range src[p+27 : p+n] {
			n += int(s)
		}
		pages = append(pages, src[p:p+n])
		p += n
	}
	if len(pages) != 3 {
		t.Fatalf("%d pages, want id, setup, audio", len(pages))
	}
	out := append([]byte(nil), pages[0]...)
	out = append(out, pages[1]...)
	want := int64(d / time.Second * 48000)
	n := 1 + int((want-first)/next)
	for i := 0; i < n; i++ {
		pg := append([]byte(nil), pages[2]...)
		pg[5] = 0 // not the end of the stream
		g := int64(first + i*next)
		if i == n-1 {
			pg[5] = 4
		}
		if lie {
			g = 48000
		}
		binary.LittleEndian.PutUint64(pg[6:], uint64(g))
		binary.LittleEndian.PutUint32(pg[18:], uint32(2+i))
		binary.LittleEndian.PutUint32(pg[22:], 0)
		binary.LittleEndian.PutUint32(pg[22:], audio.OggCRC(pg))
		out = append(out, pg...)
	}
	return out
}

// peakLiveHeap runs f and returns how much the live heap grew at most
// while it ran: the runtime's own figure (/gc/heap/live:bytes, what the
// last GC found reachable) read after every GC cycle by a finalizer that
// re-arms itself, and once more after a GC when f is done (while f's
// result is still referenced). It measures what is held, not when: no
// clock is involved.
func peakLiveHeap(f func()) (grew uint64, cycles int64) {
	live := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	var (
		peak atomic.Uint64
		n    atomic.Int64
		stop atomic.Bool
		note = func(v uint64) {
			for o := peak.Load(); v > o && !peak.CompareAndSwap(o, v); o = peak.Load() {
			}
		}
		arm func()
	)
	arm = func() {
		runtime.SetFinalizer(new([16]byte), func(*[16]byte) {
			note(live())
			n.Add(1)
			if !stop.Load() {
				arm()
			}
		})
	}
	runtime.GC()
	runtime.GC()
	base := live()
	arm()
	f()
	runtime.GC()
	note(live())
	stop.Store(true)
	return peak.Load() - min(base, peak.Load()), n.Load()
}

// TestConvertMemory: converting holds the output and a few MB more, not
// the recording decoded at its own rate. Before streaming, 10 minutes of
// 48 kHz MP3 (2.4 MB) held 417 MB at its peak.
func TestConvertMemory(t *testing.T) {
	// Under the race detector decoding ten minutes takes minutes: two
	// minutes still hold ~70 MB of decoded PCM in the old whole-file
	// conversion, far above the bound checked here.
	long := 10 * time.Minute
	if raceEnabled {
		long = 2 * time.Minute
		t.Logf("race detector on: inputs of %v instead of 10 minutes", long)
	}
	for _, c := range []struct {
		name string
		in   func() []byte
		dur  time.Duration
	}{
		{"mp3 48k mono", func() []byte { return silentMP3(long) }, long},
		{"ogg 48k stereo", func() []byte { return longOgg(t, long, false) }, long},
		{"wav 44.1k mono", func() []byte { return testWAV(44100, 1, 440, (long - time.Minute).Seconds()) }, long - time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in()
			var (
				out []byte
				dur time.Duration
				err error
			)
			grew, cycles := peakLiveHeap(func() { out, dur, err = audio.Convert(in, 0) })
			runtime.KeepAlive(in) // the input counts in the live heap before: keep it there after
			if err != nil {
				t.Fatal(err)
			}
			if d := dur - c.dur; d < -1100*time.Millisecond || d > 100*time.Millisecond {
				t.Fatalf("duration %v, want %v", dur, c.dur)
			}
			const slack = 8 << 20
			t.Logf("%d bytes in, %d out; live heap grew %.1f MB at most (%d GC cycles seen)", len(in), len(out), float64(grew)/(1<<20), cycles)
			if grew > uint64(len(out))+slack {
				t.Fatalf("live heap grew %.1f MB, want at most the output (%.1f MB) + %d MB", float64(grew)/(1<<20), float64(len(out))/(1<<20), slack>>20)
			}
		})
	}
}

// TestConvertMaxLength: a recording over the limit is refused with a
// message naming it; one under it is converted.
func TestConvertMaxLength(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []byte
		max    time.Duration
		wantOK bool
		want   string
	}{
		// 10 minutes of MP3 is accepted in TestConvertMemory (2 under -race).
		{"mp3 11 min", silentMP3(11 * time.Minute), 0, false, "longer than 10 minutes"},
		{"mp3 59 s, limit 1 min", silentMP3(59 * time.Second), time.Minute, true, ""},
		{"mp3 61 s, limit 1 min", silentMP3(61 * time.Second), time.Minute, false, "longer than 1 minute"},
		{"wav 11 min", testWAV(8000, 1, 300, 11*60), 0, false, "longer than 10 minutes"},
		{"wav 9 min", testWAV(8000, 1, 300, 9*60), 0, true, ""},
		{"wav 91 s, limit 90 s", testWAV(8000, 1, 300, 91), 90 * time.Second, false, "longer than 90 seconds"},
		{"ogg 11 min", longOgg(t, 11*time.Minute, false), 0, false, "longer than 10 minutes"},
		{"ogg 59 s, limit 1 min", longOgg(t, 59*time.Second, false), time.Minute, true, ""},
		// its pages say 1 s: the limit is found while decoding.
		{"ogg 63 s claiming 1 s, limit 1 min", longOgg(t, 63*time.Second, true), time.Minute, false, "longer than 1 minute"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, dur, err := audio.Convert(c.in, c.max)
			if c.wantOK {
				if err != nil {
					t.Fatalf("Convert: %v", err)
				}
				return
			}
			if !errors.Is(err, audio.ErrTooLong) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Convert = %v, %v; want ErrTooLong saying %q", dur, err, c.want)
			}
		})
	}
}

// TestConverterConcurrency: at most Concurrent conversions run; one more
// waits (for a slot, its context or the wait) and a few beyond that are
// refused at once.
func TestConverterConcurrency(t *testing.T) {
	ctx := context.Background()
	in := testWAV(16000, 1, 440, 0.1)

	t.Run("no wait", func(t *testing.T) {
		c := audio.NewConverter(audio.Limits{Concurrent: 1, Wait: -1})
		release, err := c.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Convert(ctx, in); !errors.Is(err, audio.ErrBusy) {
			t.Fatalf("Convert with the only slot taken = %v, want ErrBusy", err)
		}
		release()
		if _, _, err := c.Convert(ctx, in); err != nil {
			t.Fatalf("Convert with the slot free: %v", err)
		}
	})

	t.Run("waits for a slot", func(t *testing.T) {
		c := audio.NewConverter(audio.Limits{Concurrent: 1, Wait: time.Hour})
		release, err := c.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 2)
		for i := 0; i < 2; i++ {
			go func() { _, _, err := c.Convert(ctx, in); done <- err }()
		}
		for audio.Waiting(c) < 2 {
			runtime.Gosched()
		}
		// two wait per slot: the next is refused without waiting.
		if _, _, err := c.Convert(ctx, in); !errors.Is(err, audio.ErrBusy) {
			t.Fatalf("third waiter = %v, want ErrBusy", err)
		}
		select {
		case err := <-done:
			t.Fatalf("a waiter finished while the slot was held: %v", err)
		default:
		}
		release()
		for i := 0; i < 2; i++ {
			if err := <-done; err != nil {
				t.Fatalf("waiter: %v", err)
			}
		}
	})

	t.Run("gives up with its context", func(t *testing.T) {
		c := audio.NewConverter(audio.Limits{Concurrent: 1, Wait: time.Hour})
		release, err := c.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := c.Convert(cctx, in); !errors.Is(err, context.Canceled) {
			t.Fatalf("Convert with a cancelled context = %v", err)
		}
	})

	t.Run("gives up after the wait", func(t *testing.T) {
		c := audio.NewConverter(audio.Limits{Concurrent: 2, Wait: time.Millisecond})
		for i := 0; i < 2; i++ {
			release, err := c.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
		}
		if _, _, err := c.Convert(ctx, in); !errors.Is(err, audio.ErrBusy) {
			t.Fatalf("Convert = %v, want ErrBusy", err)
		}
	})
}

func TestConvertAudio(t *testing.T) {
	zeroCrossings := func(wav []byte) (int, float64) {
		pcm := wav[44+320 : len(wav)-320] // the filter rings at the edges: skip 20 ms each side
		n, peak, prev := 0, 0.0, 0.0
		for i := 0; i+1 < len(pcm); i += 2 {
			v := float64(int16(binary.LittleEndian.Uint16(pcm[i:])))
			if i > 0 && (prev < 0) != (v < 0) {
				n++
			}
			peak = math.Max(peak, math.Abs(v))
			prev = v
		}
		return n, peak
	}
	cases := []struct {
		name          string
		in            []byte
		wantMS        int64
		wantCrossings int     // per second, ±2%
		wantPeak      float64 // of 32767
	}{
		{"44.1k stereo 440 Hz", testWAV(44100, 2, 440, 2), 2000, 880, 0.5},
		{"48k mono 1 kHz", testWAV(48000, 1, 1000, 1), 1000, 2000, 0.5},
		{"8k mono 300 Hz", testWAV(8000, 1, 300, 1), 1000, 600, 0.5},
		{"22.05k mono 3 kHz", testWAV(22050, 1, 3000, 1), 1000, 6000, 0.5},
		{"48k 6 kHz is filtered out", testWAV(48000, 1, 6000, 1), 1000, -1, 0.02},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wav, dur, err := audio.Convert(c.in, 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(wav[0:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[22:]) != 1 || binary.LittleEndian.Uint32(wav[24:]) != 8000 || binary.LittleEndian.Uint16(wav[34:]) != 16 {
				t.Fatalf("header % x", wav[:44])
			}
			if dur.Milliseconds() != c.wantMS || len(wav)-44 != int(c.wantMS)*16 {
				t.Fatalf("duration %v, %d bytes", dur, len(wav))
			}
			zc, peak := zeroCrossings(wav)
			perSec := float64(zc) * 1000 / float64(c.wantMS-40)
			if c.wantCrossings > 0 && math.Abs(perSec-float64(c.wantCrossings)) > 0.02*float64(c.wantCrossings) {
				t.Errorf("%v zero crossings per second, want %d", perSec, c.wantCrossings)
			}
			if c.wantCrossings > 0 && math.Abs(peak/32767-c.wantPeak) > 0.05 {
				t.Errorf("peak %v, want %v", peak/32767, c.wantPeak)
			}
			if c.wantCrossings < 0 && peak/32767 > c.wantPeak {
				t.Errorf("6 kHz leaked through at %v", peak/32767)
			}
		})
	}
	bad := map[string][]byte{
		"empty":     testWAV(8000, 1, 300, 0),
		"truncated": testWAV(8000, 1, 300, 1)[:30],
		"ogg":       []byte("OggS\x00\x02rest of it"),
		"text":      []byte("not audio at all"),
		"too long":  testWAV(8000, 1, 300, 601),
	}
	for name, in := range bad {
		if _, _, err := audio.Convert(in, 0); !errors.Is(err, audio.ErrFormat) && !errors.Is(err, audio.ErrTooLong) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
