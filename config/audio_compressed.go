package config

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hajimehoshi/go-mp3"
	"github.com/jfreymuth/oggvorbis"
)

// MP3 (MPEG-1/2 Layer III, github.com/hajimehoshi/go-mp3) and Ogg Vorbis
// (github.com/jfreymuth/oggvorbis) are decoded in pure Go: both libraries
// are small, have no cgo, and are the decoders of the Ebitengine game
// engine's audio package. Ogg Opus is not Vorbis and is refused.

// maxSamples is the most samples (per channel) MaxAudioLength allows at
// rate.
func maxSamples(rate int) int64 { return int64(MaxAudioLength/time.Second) * int64(rate) }

// decodeGuard turns a panic in a third-party decoder (hostile input) into
// a format error.
func decodeGuard(kind string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: the %s file is damaged", ErrAudioFormat, kind)
	}
}

var errTooLong = fmt.Errorf("%w: longer than %v", ErrAudioFormat, MaxAudioLength)

// decodeMP3 decodes an MP3 file to mono samples in [-1, 1]. go-mp3 always
// gives 16-bit little-endian stereo (a mono file is duplicated on both
// channels).
func decodeMP3(data []byte) (mono []float64, rate int, err error) {
	defer decodeGuard("MP3", &err)
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: not a readable MP3 file", ErrAudioFormat)
	}
	rate = d.SampleRate()
	if rate < 4000 || rate > 192000 {
		return nil, 0, fmt.Errorf("%w: MP3 at %d Hz", ErrAudioFormat, rate)
	}
	if n := d.Length(); n > 0 && n/4 > maxSamples(rate) {
		return nil, 0, errTooLong
	}
	limit := maxSamples(rate)
	buf := make([]byte, 4*4096)
	var carry []byte
	for {
		n, rerr := d.Read(buf)
		b := append(carry, buf[:n]...)
		whole := len(b) / 4 * 4
		for i := 0; i < whole; i += 4 {
			l := int16(binary.LittleEndian.Uint16(b[i:]))
			r := int16(binary.LittleEndian.Uint16(b[i+2:]))
			mono = append(mono, (float64(l)+float64(r))/65536)
		}
		carry = append(carry[:0], b[whole:]...)
		if int64(len(mono)) > limit {
			return nil, 0, errTooLong
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if len(mono) > 0 && errors.Is(rerr, io.ErrUnexpectedEOF) {
				break // a file cut in its last frame: keep what was decoded
			}
			return nil, 0, fmt.Errorf("%w: the MP3 file is damaged", ErrAudioFormat)
		}
	}
	return mono, rate, nil
}

// decodeOgg decodes an Ogg Vorbis file to mono samples in [-1, 1].
func decodeOgg(data []byte) (mono []float64, rate int, err error) {
	defer decodeGuard("Ogg", &err)
	if bytes.Contains(data[:min(len(data), 128)], []byte("OpusHead")) {
		return nil, 0, fmt.Errorf("%w: Ogg Opus is not supported; use Ogg Vorbis, MP3 or WAV", ErrAudioFormat)
	}
	r, err := oggvorbis.NewReader(bytes.NewReader(data))
	if err != nil {
		// a seekable reader makes it look for the last page (for the
		// length); a file cut short has none: read it as a stream.
		r, err = oggvorbis.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: not an Ogg Vorbis file", ErrAudioFormat)
	}
	rate, ch := r.SampleRate(), r.Channels()
	if ch < 1 || ch > 16 || rate < 4000 || rate > 192000 {
		return nil, 0, fmt.Errorf("%w: %d channels at %d Hz", ErrAudioFormat, ch, rate)
	}
	limit := maxSamples(rate)
	if n := r.Length(); n > limit {
		return nil, 0, errTooLong
	}
	buf := make([]float32, 4096*ch)
	for {
		n, rerr := r.Read(buf)
		for i := 0; i+ch <= n; i += ch {
			var sum float64
			for c := 0; c < ch; c++ {
				sum += float64(buf[i+c])
			}
			mono = append(mono, sum/float64(ch))
		}
		if int64(len(mono)) > limit {
			return nil, 0, errTooLong
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if len(mono) > 0 && errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			return nil, 0, fmt.Errorf("%w: the Ogg file is damaged", ErrAudioFormat)
		}
	}
	return mono, rate, nil
}
