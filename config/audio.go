package config

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/omstil/omstil/internal/g711"
	"math"
	"time"
)

// Announcements are stored as what Asterisk plays without transcoding
// effort: 8 kHz, mono, 16-bit signed little-endian PCM in a WAV file
// (Asterisk's "wav" format, slin).
const (
	AudioRate = 8000
	// MaxAudioLength is the longest announcement accepted.
	MaxAudioLength = 10 * time.Minute
	// MaxUploadBytes is the largest upload accepted.
	MaxUploadBytes = 50 << 20
)

// ErrAudioFormat is wrapped by ConvertAudio's errors about the file.
var ErrAudioFormat = errors.New("unsupported audio")

// ConvertAudio decodes an uploaded audio file and returns it as an 8 kHz
// mono 16-bit PCM WAV, downmixed and resampled here, and its length. WAV
// (PCM 8/16/24/32-bit, float 32/64-bit, A-law, µ-law; any rate and channel
// count), MP3 (MPEG-1/2/2.5 Layer III) and Ogg Vorbis are read; Ogg Opus is
// refused with a message saying so. Errors are *ValidationError on field
// "file".
func ConvertAudio(data []byte) ([]byte, time.Duration, error) {
	if len(data) > MaxUploadBytes {
		return nil, 0, Invalid("file", "is larger than %d MB", MaxUploadBytes>>20)
	}
	var (
		mono []float64
		rate int
		err  error
	)
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		mono, rate, err = decodeWAV(data)
	case len(data) >= 4 && string(data[0:4]) == "OggS":
		mono, rate, err = decodeOgg(data)
	case len(data) >= 3 && (string(data[0:3]) == "ID3" || (data[0] == 0xFF && data[1]&0xE0 == 0xE0)):
		mono, rate, err = decodeMP3(data)
	default:
		err = fmt.Errorf("%w: not a WAV, MP3 or Ogg Vorbis file", ErrAudioFormat)
	}
	if err != nil {
		return nil, 0, Invalid("file", "%v", err)
	}
	if len(mono) == 0 {
		return nil, 0, Invalid("file", "the recording is empty")
	}
	out := resample(mono, rate, AudioRate)
	dur := time.Duration(len(out)) * time.Second / AudioRate
	return encodeWAV(out), dur, nil
}

// decodeWAV reads a RIFF WAVE file and mixes its channels down to mono
// samples in [-1, 1].
func decodeWAV(b []byte) ([]float64, int, error) {
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
		data                   []byte
	)
	le := binary.LittleEndian
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) || size < 0 {
			if id != "data" {
				return nil, 0, fmt.Errorf("%w: the WAV file is cut short", ErrAudioFormat)
			}
			size = len(body) // a streamed WAV with an unknown data size
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("%w: bad WAV format chunk", ErrAudioFormat)
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
		p += 8 + size + size%2
	}
	if !haveFmt || data == nil {
		return nil, 0, fmt.Errorf("%w: the WAV file has no format or no data", ErrAudioFormat)
	}
	if channels == 0 || channels > 16 || rate < 4000 || rate > 192000 {
		return nil, 0, fmt.Errorf("%w: %d channels at %d Hz", ErrAudioFormat, channels, rate)
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
		return nil, 0, fmt.Errorf("%w: WAV encoding %d with %d bits (want PCM, float, A-law or µ-law)", ErrAudioFormat, format, bits)
	}
	width := int(bits) / 8
	frame := width * int(channels)
	frames := len(data) / frame
	if time.Duration(frames)*time.Second/time.Duration(rate) > MaxAudioLength {
		return nil, 0, fmt.Errorf("%w: longer than %v", ErrAudioFormat, MaxAudioLength)
	}
	out := make([]float64, frames)
	for i := range out {
		var sum float64
		f := data[i*frame:]
		for c := 0; c < int(channels); c++ {
			sum += sample(f[c*width:])
		}
		v := sum / float64(channels)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		out[i] = v
	}
	return out, int(rate), nil
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

// resample converts samples from one rate to another with a windowed-sinc
// low-pass filter (Blackman window, 16 zero crossings each side), cut off a
// little below the lower Nyquist frequency so nothing aliases. The kernel is
// computed once per fractional phase (rates are whole numbers, so the
// phases repeat).
func resample(in []float64, from, to int) []float64 {
	if from == to {
		return in
	}
	ratio := float64(from) / float64(to)
	fc := 0.5 * math.Min(1, 1/ratio) * 0.9 // cycles per input sample
	const zeros = 16
	hw := zeros / (2 * fc) // half width in input samples
	g := gcd(from, to)
	L, M := to/g, from/g // output step = M/L input samples
	type kernel struct {
		lo int
		w  []float64
	}
	kernels := make([]*kernel, L)
	kernelAt := func(phase int) *kernel {
		if k := kernels[phase]; k != nil {
			return k
		}
		frac := float64(phase) / float64(L)
		k := &kernel{lo: int(math.Ceil(frac - hw))}
		for j := k.lo; float64(j) <= frac+hw; j++ {
			x := frac - float64(j)
			u := x / hw
			w := 0.42 + 0.5*math.Cos(math.Pi*u) + 0.08*math.Cos(2*math.Pi*u)
			arg := 2 * fc * x
			s := 1.0
			if arg != 0 {
				s = math.Sin(math.Pi*arg) / (math.Pi * arg)
			}
			k.w = append(k.w, 2*fc*s*w)
		}
		kernels[phase] = k
		return k
	}
	n := int(int64(len(in)) * int64(L) / int64(M))
	out := make([]float64, n)
	for k := range out {
		pos := int64(k) * int64(M)
		m, phase := int(pos/int64(L)), int(pos%int64(L))
		kn := kernelAt(phase)
		var sum float64
		for j, w := range kn.w {
			i := m + kn.lo + j
			if i >= 0 && i < len(in) {
				sum += in[i] * w
			}
		}
		out[k] = sum
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// encodeWAV writes 8 kHz mono 16-bit PCM samples as a WAV file.
func encodeWAV(s []float64) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	dataLen := uint32(2 * len(s))
	b.WriteString("RIFF")
	binary.Write(&b, le, 36+dataLen)
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))           // PCM
	binary.Write(&b, le, uint16(1))           // mono
	binary.Write(&b, le, uint32(AudioRate))   // sample rate
	binary.Write(&b, le, uint32(AudioRate*2)) // byte rate
	binary.Write(&b, le, uint16(2))           // block align
	binary.Write(&b, le, uint16(16))          // bits
	b.WriteString("data")
	binary.Write(&b, le, dataLen)
	buf := make([]byte, 2*len(s))
	for i, v := range s {
		v = math.Round(v * 32767)
		if v > 32767 {
			v = 32767
		} else if v < -32768 {
			v = -32768
		}
		le.PutUint16(buf[2*i:], uint16(int16(v)))
	}
	b.Write(buf)
	return b.Bytes()
}
