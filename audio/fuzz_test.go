package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"runtime/metrics"
	"testing"
	"time"
)

// The fuzz targets feed each decoder any bytes. For every input: no panic
// (the libraries' own are turned into ErrFormat by guarded; one in this
// package's code fails), an error that is ErrFormat or ErrTooLong, output
// within the length limit, and allocations bounded by the input's size
// (no small file that makes a decoder allocate without limit). With
// `go test` they run their seeds: the f.Add calls and testdata/fuzz.
//
//	go test -run '^$' -fuzz '^FuzzDecodeMP3$' -fuzztime 10m -parallel 1 ./audio/

// fuzzMaxLength keeps the fuzzed conversions short.
const fuzzMaxLength = 2 * time.Second

// fuzzAllocBound is the most a conversion of n bytes may allocate within
// fuzzMaxLength: go-mp3 makes about 44 kB of garbage a frame (2 s at
// 48 kHz is 84 frames), the Vorbis decoder sizes its tables from the
// headers, which the input's size bounds.
func fuzzAllocBound(n int) uint64 { return 32<<20 + 256*uint64(n) }

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func fuzzDecode(t *testing.T, data []byte, decode func([]byte, time.Duration) (*pipeline, error)) {
	before := heapAllocs()
	p, err := decode(data, fuzzMaxLength)
	var (
		wav []byte
		dur time.Duration
	)
	if err == nil {
		wav, dur = p.finish()
	}
	allocated := heapAllocs() - before
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLong) {
		t.Fatalf("error %v is neither ErrFormat nor ErrTooLong", err)
	}
	if limit := wavHeader + 2*Rate*int(fuzzMaxLength/time.Second); len(wav) > limit {
		t.Fatalf("%d bytes of WAV out, more than %v allows (%d)", len(wav), fuzzMaxLength, limit)
	}
	if err == nil && (dur > fuzzMaxLength || len(wav) < wavHeader || len(wav)%2 != 0 ||
		binary.LittleEndian.Uint32(wav[40:]) != uint32(len(wav)-wavHeader) || dur != time.Duration(len(wav)/2-wavHeader/2)*time.Second/Rate) {
		t.Fatalf("WAV of %d bytes says %d bytes of data, %v", len(wav), binary.LittleEndian.Uint32(wav[40:]), dur)
	}
	if bound := fuzzAllocBound(len(data)); allocated > bound {
		t.Fatalf("%d bytes in allocated %d bytes, more than %d", len(data), allocated, bound)
	}
}

// seedWAV makes a short WAV of a 440 Hz tone in the given encoding
// (format 1 PCM, 3 float, 6 A-law, 7 µ-law; 0xFFFE extensible PCM).
func seedWAV(format, bits uint16, channels, rate, frames int) []byte {
	width := int(bits) / 8
	data := make([]byte, frames*channels*width)
	for i := 0; i < frames; i++ {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
		for c := 0; c < channels; c++ {
			s := data[(i*channels+c)*width:]
			switch {
			case format == 3 && bits == 32:
				binary.LittleEndian.PutUint32(s, math.Float32bits(float32(v)))
			case format == 3 && bits == 64:
				binary.LittleEndian.PutUint64(s, math.Float64bits(v))
			case bits == 8:
				s[0] = byte(128 + int(v*127))
			default:
				x := int64(v * float64(int64(1)<<(bits-1)-1))
				for b := 0; b < width; b++ {
					s[b] = byte(x >> (8 * b))
				}
			}
		}
	}
	fmtLen := 16
	if format == 0xFFFE {
		fmtLen = 40
	}
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, uint32(fmtLen))
	b = binary.LittleEndian.AppendUint16(b, format)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*width))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*width))
	b = binary.LittleEndian.AppendUint16(b, bits)
	if format == 0xFFFE {
		b = binary.LittleEndian.AppendUint16(b, 22)
		b = binary.LittleEndian.AppendUint16(b, bits)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = append(b, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71) // KSDATAFORMAT_SUBTYPE_PCM
	}
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func FuzzDecodeWAV(f *testing.F) {
	for _, s := range []struct {
		format, bits   uint16
		channels, rate int
		frames         int
	}{
		{1, 16, 1, 8000, 400},
		{1, 16, 2, 44100, 500},
		{1, 8, 1, 11025, 300},
		{1, 24, 2, 48000, 300},
		{1, 32, 1, 16000, 300},
		{3, 32, 2, 22050, 300},
		{3, 64, 1, 8000, 200},
		{6, 8, 1, 8000, 300},
		{7, 8, 1, 8000, 300},
		{0xFFFE, 16, 6, 48000, 100},
		{1, 16, 1, 47999, 300},
		{1, 16, 1, 192000, 1000},
	} {
		f.Add(seedWAV(s.format, s.bits, s.channels, s.rate, s.frames))
	}
	// a data chunk longer than the file (a streamed WAV), and one cut short.
	w := seedWAV(1, 16, 1, 8000, 100)
	binary.LittleEndian.PutUint32(w[40:], 0xFFFFFFFF)
	f.Add(w)
	f.Add(seedWAV(1, 16, 1, 8000, 100)[:30])
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, data, decodeWAV) })
}

func FuzzDecodeMP3(f *testing.F) {
	addFiles(f, "audio-440-44k-stereo.mp3", "audio-1k-22k-mono.mp3")
	mono := []byte{0xFF, 0xFB, 0x14, 0xC0} // 48 kHz, 32 kbit/s, mono: 96 bytes
	stereo := []byte{0xFF, 0xFB, 0x14, 0x00}
	for _, h := range [][]byte{mono, stereo} {
		frame := make([]byte, 96)
		copy(frame, h)
		f.Add(bytes.Repeat(frame, 10))
	}
	f.Add(append([]byte("ID3\x03\x00\x00\x00\x00\x00\x0a"), make([]byte, 10)...))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, data, decodeMP3) })
}

// FuzzDecodeOgg fixes each page's checksum before decoding: the Ogg reader
// refuses a page whose checksum is wrong, so without it nearly every
// mutation would stop there and the Vorbis decoder would never see it.
func FuzzDecodeOgg(f *testing.F) {
	addFiles(f, "audio-1k-22k-mono.ogg", "audio-300-48k-stereo.ogg")
	f.Add([]byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, fixOggChecksums(data), decodeOgg) })
}

// fixOggChecksums returns a copy of data with the checksum of every whole
// page from the start on rewritten to match.
func fixOggChecksums(data []byte) []byte {
	b := bytes.Clone(data)
	for p := 0; p+27 <= len(b) && string(b[p:p+4]) == "OggS"; {
		n := 27 + int(b[p+26])
		if p+n > len(b) {
			break
		}
		for _, s := range b[p+27 : p+n] {
			n += int(s)
		}
		if p+n > len(b) {
			break
		}
		binary.LittleEndian.PutUint32(b[p+22:], 0)
		binary.LittleEndian.PutUint32(b[p+22:], oggCRC(b[p:p+n]))
		p += n
	}
	return b
}

// oggCRC is Ogg's page checksum: CRC-32, polynomial 0x04c11db7, not
// reflected, initial value 0.
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, x := range b {
		crc ^= uint32(x) << 24
		for i := 0; i < 8; i++ {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func addFiles(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}
