// Package audio turns uploaded recordings into what omstil stores and
// Asterisk plays: 8 kHz, mono, 16-bit signed little-endian PCM in a WAV
// file (Asterisk's "wav" format, slin).
//
// WAV (PCM 8/16/24/32-bit, float 32/64-bit, A-law, µ-law; any rate and
// channel count), MP3 (MPEG-1/2/2.5 Layer III) and Ogg Vorbis are read;
// Ogg Opus is refused with a message saying so.
//
// Conversion streams: the decoders hand over a few thousand samples at a
// time, which are mixed down, resampled and written straight into the
// output, so memory stays at the input, the output (16 kB a second) and
// the decoders' own state — not the whole recording decoded at its own
// rate. For 10 minutes of 48 kHz MP3 the live heap grows by about 12 MB;
// before, the process grew by 570 MB and TestConvertMemory measured 330 MB
// of live heap.
//
// The decoding libraries trust the counts in a file's headers and
// allocate what they say; the headers are checked here first (skipID3,
// checkVorbisHeaders), and only the libraries' calls are guarded against
// panics. See fuzz_test.go. A recording longer than the limit is refused as
// soon as that is known: from the header where the format says, else
// when the limit is passed, without decoding the rest.
//
// A Converter adds a per-process limit on conversions running at once
// (each is a few seconds of one core for a long MP3).
package audio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

const (
	// Rate is the sample rate of the stored recordings.
	Rate = 8000
	// DefaultMaxLength is the longest recording accepted unless the
	// installation says otherwise (OMSTIL_ANNOUNCEMENT_MAX_SECONDS).
	DefaultMaxLength = 10 * time.Minute
	// MaxUploadBytes is the largest file accepted.
	MaxUploadBytes = 50 << 20
)

var (
	// ErrFormat is wrapped by the errors about a file that cannot be
	// read: not a supported format, or damaged.
	ErrFormat = errors.New("unsupported audio")
	// ErrTooLong is wrapped by the error about a recording longer than
	// the limit; its text names the limit.
	ErrTooLong = errors.New("the recording is too long")
	// ErrBusy is returned by Converter.Convert when other conversions
	// held every slot for longer than the converter waits.
	ErrBusy = errors.New("audio: busy converting other uploads")
)

// Convert decodes an uploaded audio file and returns it as an 8 kHz mono
// 16-bit PCM WAV, downmixed and resampled, and its length. A recording
// longer than maxLength (DefaultMaxLength when 0) is refused with an
// error wrapping ErrTooLong; a file that cannot be read gives one
// wrapping ErrFormat. Any input gives one of those or audio: a panic in a
// decoder on hostile input is turned into ErrFormat.
func Convert(data []byte, maxLength time.Duration) ([]byte, time.Duration, error) {
	if maxLength <= 0 {
		maxLength = DefaultMaxLength
	}
	if len(data) > MaxUploadBytes {
		return nil, 0, fmt.Errorf("%w: larger than %d MB", ErrFormat, MaxUploadBytes>>20)
	}
	var (
		p   *pipeline
		err error
	)
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		p, err = decodeWAV(data, maxLength)
	case len(data) >= 4 && string(data[0:4]) == "OggS":
		p, err = decodeOgg(data, maxLength)
	case len(data) >= 3 && (string(data[0:3]) == "ID3" || (data[0] == 0xFF && data[1]&0xE0 == 0xE0)):
		p, err = decodeMP3(data, maxLength)
	default:
		err = fmt.Errorf("%w: not a WAV, MP3 or Ogg Vorbis file", ErrFormat)
	}
	if err != nil {
		return nil, 0, err
	}
	wav, dur := p.finish()
	if dur == 0 {
		return nil, 0, fmt.Errorf("%w: the recording is empty", ErrFormat)
	}
	return wav, dur, nil
}

// tooLong is the error for a recording over maxLength.
func tooLong(maxLength time.Duration) error {
	return fmt.Errorf("%w: longer than %s, the longest announcement allowed", ErrTooLong, humanLength(maxLength))
}

// humanLength says 10 minutes, 90 seconds, 1 minute.
func humanLength(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s == 60:
		return "1 minute"
	case s%60 == 0:
		return fmt.Sprintf("%d minutes", s/60)
	case s == 1:
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", s)
}

// checkRate refuses rates and channel counts no recording has.
func checkRate(channels, rate int) error {
	if channels < 1 || channels > 16 || rate < 4000 || rate > 192000 {
		return fmt.Errorf("%w: %d channels at %d Hz", ErrFormat, channels, rate)
	}
	return nil
}

// pipeline takes mono samples in [-1, 1] at one rate, resamples them to
// Rate and writes them as 16-bit PCM into a WAV in memory. It refuses
// input beyond its limit.
type pipeline struct {
	rs        *resampler // nil when the input is at Rate
	out       []byte     // the WAV, header first (filled in by finish)
	in, limit int64      // input samples taken, and the most allowed
	maxLength time.Duration
}

const wavHeader = 44

// newPipeline starts a conversion from rate. expect is the input's length
// in samples when the format says (0 when not known), to size the output
// once; a longer expect than maxLength allows is refused here.
func newPipeline(rate int, expect int64, maxLength time.Duration) (*pipeline, error) {
	p := &pipeline{limit: int64(maxLength/time.Second) * int64(rate), maxLength: maxLength}
	if expect > p.limit {
		return nil, tooLong(maxLength)
	}
	if rate != Rate {
		p.rs = newResampler(rate, Rate)
	}
	size := int64(64 << 10)
	if expect > 0 {
		size = 2*(expect*Rate/int64(rate)) + 16
	}
	p.out = make([]byte, wavHeader, wavHeader+size)
	return p, nil
}

// write takes the next samples; it fails with ErrTooLong once the input
// is over the limit.
func (p *pipeline) write(mono []float64) error {
	p.in += int64(len(mono))
	if p.in > p.limit {
		return tooLong(p.maxLength)
	}
	if p.rs == nil {
		p.emit(mono)
		return nil
	}
	p.rs.push(mono, p.emit)
	return nil
}

func (p *pipeline) emit(s []float64) {
	for _, v := range s {
		v = math.Round(v * 32767)
		if math.IsNaN(v) {
			v = 0
		} else if v > 32767 {
			v = 32767
		} else if v < -32768 {
			v = -32768
		}
		x := uint16(int16(v))
		p.out = append(p.out, byte(x), byte(x>>8))
	}
}

// finish flushes the resampler, fills in the header and returns the WAV
// and its length.
func (p *pipeline) finish() ([]byte, time.Duration) {
	if p.rs != nil {
		p.rs.flush(p.emit)
	}
	b := p.out
	dataLen := uint32(len(b) - wavHeader)
	copy(b, "RIFF")
	putU32(b[4:], 36+dataLen)
	copy(b[8:], "WAVEfmt ")
	putU32(b[16:], 16)
	putU16(b[20:], 1)      // PCM
	putU16(b[22:], 1)      // mono
	putU32(b[24:], Rate)   // sample rate
	putU32(b[28:], Rate*2) // byte rate
	putU16(b[32:], 2)      // block align
	putU16(b[34:], 16)     // bits
	copy(b[36:], "data")
	putU32(b[40:], dataLen)
	return b, time.Duration(dataLen/2) * time.Second / Rate
}

func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// Converter converts with a per-process limit on conversions running at
// once. An upload that finds every slot taken waits for one — the admin
// in the browser sees a slower upload rather than an error to retry — but
// only for Limits.Wait and only behind 2×Concurrent others (each holds its
// file, up to 50 MB, while it waits); then it gets ErrBusy.
type Converter struct {
	maxLength  time.Duration
	wait       time.Duration
	slots      chan struct{}
	waiting    atomic.Int32
	maxWaiting int32
}

// Limits configure a Converter; zero fields take the defaults.
type Limits struct {
	MaxLength  time.Duration // longest recording; DefaultMaxLength
	Concurrent int           // conversions at once; 2
	// Wait is how long a conversion waits for a slot (30 s); negative:
	// not at all.
	Wait time.Duration
}

// NewConverter returns a converter with the limits l.
func NewConverter(l Limits) *Converter {
	if l.MaxLength <= 0 {
		l.MaxLength = DefaultMaxLength
	}
	if l.Concurrent <= 0 {
		l.Concurrent = 2
	}
	if l.Wait == 0 {
		l.Wait = 30 * time.Second
	}
	return &Converter{maxLength: l.MaxLength, wait: l.Wait, slots: make(chan struct{}, l.Concurrent), maxWaiting: int32(2 * l.Concurrent)}
}

// MaxLength is the longest recording the converter accepts.
func (c *Converter) MaxLength() time.Duration { return c.maxLength }

// Acquire takes a conversion slot, waiting as Convert does; call release
// when done. Convert takes one itself.
func (c *Converter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.slots <- struct{}{}:
		return c.release, nil
	default:
	}
	if c.wait < 0 || c.waiting.Add(1) > c.maxWaiting {
		if c.wait >= 0 {
			c.waiting.Add(-1)
		}
		return nil, ErrBusy
	}
	defer c.waiting.Add(-1)
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return c.release, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("audio: waiting to convert: %w", ctx.Err())
	}
}

func (c *Converter) release() { <-c.slots }

// Convert is the package's Convert within the converter's limits.
func (c *Converter) Convert(ctx context.Context, data []byte) ([]byte, time.Duration, error) {
	release, err := c.Acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	return Convert(data, c.maxLength)
}
