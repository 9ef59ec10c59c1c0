package audio

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestCheckVorbisSetup: the encoders' files pass; a codebook claiming
// more entries than any encoder writes, or none, is refused before the
// decoder sizes its tables from it.
func TestCheckVorbisSetup(t *testing.T) {
	for _, name := range []string{"audio-1k-22k-mono.ogg", "audio-300-48k-stereo.ogg"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if setup, ok := oggPacket(data, 2); !ok || setup[0] != 5 {
			t.Fatalf("%s: no setup header found", name)
		}
		if err := checkVorbisSetup(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		o := bytes.Index(data, []byte("\x05vorbis"))
		for _, entries := range [][3]byte{{0xFF, 0xFF, 0xFF}, {0, 0, 0}, {0x01, 0x00, 0x02}} {
			bad := bytes.Clone(data)
			copy(bad[o+13:], entries[:]) // the first codebook's entry count
			bad = fixOggChecksums(bad)
			_, _, err := Convert(bad, 0)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "setup header") {
				t.Errorf("%s with %x entries in its first codebook: %v", name, entries, err)
			}
		}
	}
}
