package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/omstil/omstil/internal/g711"
)

// decodeWAV reads a RIFF WAVE file, mixing its channels down to mono, a
// chunk at a time.
func decodeWAV(b []byte, maxLength time.Duration) (*pipeline, error) {
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
		data                   []byte
	)
	le := binary.LittleEndian
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int64(le.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > int64(len(body)) {
			if id != "data" {
				return nil, fmt.Errorf("%w: the WAV file is cut short", ErrFormat)
			}
			size = int64(len(body)) // a streamed WAV with an unknown data size
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: bad WAV format chunk", ErrFormat)
			}
			format, channels = le.Uint16(body[0:2]), le.Uint16(body[2:4])
			rate, bits = le.Uint32(body[4:8]), le.Uint16(body[14:16])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				format = le.Uint16(body[24:26])
			}
			haveFmt = true
		case "data":
			data = body
		}
		p += 8 + int(size) + int(size%2)
	}
	if !haveFmt || data == nil {
		return nil, fmt.Errorf("%w: the WAV file has no format or no data", ErrFormat)
	}
	if rate > math.MaxInt32 {
		rate = math.MaxInt32 // refused by checkRate, printed as given
	}
	if err := checkRate(int(channels), int(rate)); err != nil {
		return nil, err
	}
	var sample func([]byte) float64
	switch {
	case format == 1 && bits == 8:
		sample = func(s []byte) float64 { return (float64(s[0]) - 128) / 128 }
	case format == 1 && bits == 16:
		sample = func(s []byte) float64 { return float64(int16(le.Uint16(s))) / 32768 }
	case format == 1 && bits == 24:
		sample = func(s []byte) float64 {
			return float64(int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24)>>8) / (1 << 23)
		}
	case format == 1 && bits == 32:
		sample = func(s []byte) float64 { return float64(int32(le.Uint32(s))) / (1 << 31) }
	case format == 3 && bits == 32:
		sample = func(s []byte) float64 { return float64(math.Float32frombits(le.Uint32(s))) }
	case format == 3 && bits == 64:
		sample = func(s []byte) float64 { return math.Float64frombits(le.Uint64(s)) }
	case format == 6 && bits == 8:
		sample = func(s []byte) float64 { return float64(alaw(s[0])) / 32768 }
	case format == 7 && bits == 8:
		sample = func(s []byte) float64 { return float64(g711.DecodeUlaw(s[0])) / 32768 }
	default:
		return nil, fmt.Errorf("%w: WAV encoding %d with %d bits (want PCM, float, A-law or µ-law)", ErrFormat, format, bits)
	}
	width := int(bits) / 8
	frame := width * int(channels)
	frames := len(data) / frame
	p, err := newPipeline(int(rate), int64(frames), maxLength)
	if err != nil {
		return nil, err
	}
	chunk := make([]float64, 0, 4096)
	for i := 0; i < frames; i++ {
		var sum float64
		f := data[i*frame:]
		for c := 0; c < int(channels); c++ {
			sum += sample(f[c*width:])
		}
		v := sum / float64(channels)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		chunk = append(chunk, v)
		if len(chunk) == cap(chunk) || i == frames-1 {
			if err := p.write(chunk); err != nil {
				return nil, err
			}
			chunk = chunk[:0]
		}
	}
	return p, nil
}

func alaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
