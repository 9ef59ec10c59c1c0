package audio_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/omstil/omstil/audio"
)

// The files in testdata were made once with
//
//	sox -n -r 44100 -c 2 -b 16 a.wav synth 1 sine 440 vol 0.5 && lame -b 32 a.wav audio-440-44k-stereo.mp3
//	sox -n -r 22050 -c 1 -b 16 b.wav synth 1 sine 1000 vol 0.5 && lame -b 24 b.wav audio-1k-22k-mono.mp3
//	sox -n -r 22050 -c 1 -C -1 audio-1k-22k-mono.ogg synth 1 sine 1000 vol 0.5
//	sox -n -r 48000 -c 2 -C -1 audio-300-48k-stereo.ogg synth 1 sine 300 vol 0.5
//
// (sox has no MP3 encoder on Debian; lame has).
func TestConvertAudioCompressed(t *testing.T) {
	for _, c := range []struct {
		file string
		hz   float64
	}{
		{"audio-440-44k-stereo.mp3", 440},
		{"audio-1k-22k-mono.mp3", 1000}, // MPEG-2 Layer III
		{"audio-1k-22k-mono.ogg", 1000},
		{"audio-300-48k-stereo.ogg", 300},
	} {
		t.Run(c.file, func(t *testing.T) {
			in, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			wav, dur, err := audio.Convert(in, 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(wav[0:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[22:]) != 1 || binary.LittleEndian.Uint32(wav[24:]) != 8000 || binary.LittleEndian.Uint16(wav[34:]) != 16 {
				t.Fatalf("header % x", wav[:44])
			}
			// encoders add up to ~60 ms of padding (MP3 has no gapless
			// info that the decoder reads).
			if ms := dur.Milliseconds(); ms < 990 || ms > 1080 || len(wav)-44 != int(ms)*16 {
				t.Fatalf("duration %v, %d bytes", dur, len(wav))
			}
			hz, rms := toneOf(wav[44:])
			if math.Abs(hz-c.hz) > 0.03*c.hz {
				t.Errorf("tone %.0f Hz, want %.0f", hz, c.hz)
			}
			if want := 0.5 / math.Sqrt2; math.Abs(rms-want) > 0.04 {
				t.Errorf("RMS %.3f, want %.3f (a sine of amplitude 0.5)", rms, want)
			}
		})
	}
}

// toneOf measures a sine's frequency (zero crossings) and RMS level over
// the middle 0.6 s of 8 kHz 16-bit PCM, away from the encoders' edges.
func toneOf(pcm []byte) (hz, rms float64) {
	const from, to = 8000 * 2 / 10, 8000 * 8 / 10
	n, prev, sum := 0, 0.0, 0.0
	for i := from; i < to && 2*i+1 < len(pcm); i++ {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / 32767
		if i > from && (prev < 0) != (v < 0) {
			n++
		}
		sum += v * v
		prev = v
	}
	return float64(n) / 2 / (float64(to-from) / 8000), math.Sqrt(sum / (to - from))
}

func TestConvertAudioCompressedBad(t *testing.T) {
	mp3, err := os.ReadFile("testdata/audio-440-44k-stereo.mp3")
	if err != nil {
		t.Fatal(err)
	}
	ogg, err := os.ReadFile("testdata/audio-1k-22k-mono.ogg")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		in         []byte
	}{
		{"mp3 frame header only", "", mp3[:4]},
		{"id3 and nothing", "", []byte("ID3\x03\x00\x00\x00\x00\x00\x00")},
		{"id3 claiming 32 MB", "ID3", []byte("ID3\x03\x00\x00\x10\x00\x00\x0aR")},
		{"mp3 sync and garbage", "", append([]byte{0xFF, 0xFB}, []byte(strings.Repeat("x", 2000))...)},
		{"ogg magic and garbage", "", []byte("OggS\x00\x02rest of it")},
		{"ogg headers only", "", ogg[:200]},
		{"ogg cut in its only audio page", "", ogg[:len(ogg)-400]},
		{"ogg opus", "Opus", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := audio.Convert(c.in, 0)
			if !errors.Is(err, audio.ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Convert = %v, want a format error mentioning %q", err, c.want)
			}
		})
	}
	// an ID3 tag before the audio is skipped.
	tagged := append([]byte("ID3\x03\x00\x00\x00\x00\x01\x02"), make([]byte, 130)...)
	if _, dur, err := audio.Convert(append(tagged, mp3...), 0); err != nil || dur.Milliseconds() < 990 {
		t.Errorf("MP3 after a 130-byte ID3 tag: %v, %v", dur, err)
	}
	// an MP3 file cut short keeps what was decoded before the cut.
	if _, dur, err := audio.Convert(mp3[:len(mp3)/2], 0); err != nil || dur.Milliseconds() < 300 {
		t.Errorf("MP3 cut in the middle: %v, %v; want the first part", dur, err)
	}
}

// TestConvertAudioCompressedCorrupt: damaged files give a format error or
// audio, never a panic or a hang (uploads are untrusted).
func TestConvertAudioCompressedCorrupt(t *testing.T) {
	for _, name := range []string{"audio-440-44k-stereo.mp3", "audio-1k-22k-mono.mp3", "audio-1k-22k-mono.ogg", "audio-300-48k-stereo.ogg"} {
		orig, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 60; i++ {
			in := append([]byte(nil), orig...)
			// deterministic damage: a run of bytes overwritten somewhere.
			at := 4 + (i*7919)%(len(in)-40)
			for j := 0; j < 1+i%32; j++ {
				in[at+j] ^= byte(0xA5 + i + j)
			}
			_, _, err := audio.Convert(in, 0)
			if err != nil && !errors.Is(err, audio.ErrFormat) {
				t.Fatalf("%s damaged at %d: %v", name, at, err)
			}
		}
	}
}
