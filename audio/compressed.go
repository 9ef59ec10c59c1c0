package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hajimehoshi/go-mp3"
	"github.com/jfreymuth/oggvorbis"
)

// MP3 (MPEG-1/2 Layer III, github.com/hajimehoshi/go-mp3) and Ogg Vorbis
// (github.com/jfreymuth/oggvorbis) are decoded in pure Go: both libraries
// are small, have no cgo, are the decoders of the Ebitengine game
// engine's audio package, and decode a frame (a packet) at a time on
// Read. Ogg Opus is not Vorbis and is refused.
//
// go-mp3 allocates about 44 kB of short-lived garbage per frame (1.1 GB
// for 10 minutes at 48 kHz, 4.7 s of one core); the live heap stays
// small, which is what TestConvertMemory bounds.

// errPanicked is guarded's error for a panic.
var errPanicked = errors.New("audio: the decoder panicked")

// guarded runs f, a call into a third-party decoder, turning a panic on
// hostile input into errPanicked. Only the libraries' calls are guarded:
// a panic in this package's own code is a bug for the fuzz tests to find.
func guarded(f func() error) (err error) {
	defer func() {
		if recover() != nil {
			err = errPanicked
		}
	}()
	return f()
}

// decodeMP3 decodes an MP3 file to mono. go-mp3 always gives 16-bit
// little-endian stereo (a mono file is duplicated on both channels).
func decodeMP3(data []byte, maxLength time.Duration) (*pipeline, error) {
	data, err := skipID3(data)
	if err != nil {
		return nil, err
	}
	// a seekable source makes go-mp3 read every frame header first, which
	// gives the length without decoding.
	var d *mp3.Decoder
	err = guarded(func() (err error) { d, err = mp3.NewDecoder(bytes.NewReader(data)); return err })
	if err != nil {
		return nil, fmt.Errorf("%w: not a readable MP3 file", ErrFormat)
	}
	rate := d.SampleRate()
	if err := checkRate(1, rate); err != nil {
		return nil, err
	}
	p, err := newPipeline(rate, max(d.Length()/4, 0), maxLength)
	if err != nil {
		return nil, err
	}
	var (
		buf   = make([]byte, 4*4096)
		mono  = make([]float64, 0, 4096)
		carry int // bytes of a sample left at the end of buf
	)
	for {
		var n int
		rerr := guarded(func() (err error) { n, err = d.Read(buf[carry:]); return err })
		n += carry
		whole := n / 4 * 4
		mono = mono[:0]
		for i := 0; i < whole; i += 4 {
			l := int16(uint16(buf[i]) | uint16(buf[i+1])<<8)
			r := int16(uint16(buf[i+2]) | uint16(buf[i+3])<<8)
			mono = append(mono, (float64(l)+float64(r))/65536)
		}
		carry = copy(buf, buf[whole:n])
		if err := p.write(mono); err != nil {
			return nil, err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if p.in > 0 && errors.Is(rerr, io.ErrUnexpectedEOF) {
				break // a file cut in its last frame: keep what was decoded
			}
			return nil, fmt.Errorf("%w: the MP3 file is damaged", ErrFormat)
		}
	}
	return p, nil
}

// skipID3 returns data after its ID3v2 tags. go-mp3 would skip them
// itself, but allocates the size a tag's header claims (up to 256 MB)
// before reading it: a 21-byte file made it allocate 32 MB (found by
// FuzzDecodeMP3). A tag longer than the file is an error here.
func skipID3(data []byte) ([]byte, error) {
	for len(data) >= 10 && string(data[:3]) == "ID3" {
		sz := data[6:10]
		if (sz[0]|sz[1]|sz[2]|sz[3])&0x80 != 0 {
			return nil, fmt.Errorf("%w: the MP3 file's ID3 tag is damaged", ErrFormat)
		}
		n := 10 + (int(sz[0])<<21 | int(sz[1])<<14 | int(sz[2])<<7 | int(sz[3]))
		if data[5]&0x10 != 0 { // a footer
			n += 10
		}
		if n > len(data) {
			return nil, fmt.Errorf("%w: the MP3 file is cut short in its ID3 tag", ErrFormat)
		}
		data = data[n:]
	}
	return data, nil
}

// decodeOgg decodes an Ogg Vorbis file to mono.
func decodeOgg(data []byte, maxLength time.Duration) (*pipeline, error) {
	if bytes.Contains(data[:min(len(data), 128)], []byte("OpusHead")) {
		return nil, fmt.Errorf("%w: Ogg Opus is not supported; use Ogg Vorbis, MP3 or WAV", ErrFormat)
	}
	if err := checkVorbisHeaders(data); err != nil {
		return nil, err
	}
	// a seekable source gives the length (from the last page).
	var r *oggvorbis.Reader
	err := guarded(func() (err error) { r, err = oggvorbis.NewReader(bytes.NewReader(data)); return err })
	if err != nil {
		// a file cut short has no last page: read it as a stream.
		err = guarded(func() (err error) {
			r, err = oggvorbis.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not an Ogg Vorbis file", ErrFormat)
	}
	rate, ch := r.SampleRate(), r.Channels()
	if err := checkRate(ch, rate); err != nil {
		return nil, err
	}
	p, err := newPipeline(rate, max(r.Length(), 0), maxLength)
	if err != nil {
		return nil, err
	}
	buf := make([]float32, 4096*ch)
	mono := make([]float64, 0, 4096)
	for {
		var n int
		rerr := guarded(func() (err error) { n, err = r.Read(buf); return err }) // n: a multiple of ch
		mono = mono[:0]
		for i := 0; i+ch <= n; i += ch {
			var sum float64
			for c := 0; c < ch; c++ {
				sum += float64(buf[i+c])
			}
			mono = append(mono, sum/float64(ch))
		}
		if err := p.write(mono); err != nil {
			return nil, err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if p.in > 0 && errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			return nil, fmt.Errorf("%w: the Ogg file is damaged", ErrFormat)
		}
	}
	return p, nil
}
