package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestCheckVorbisHeaders: the encoders' files pass; 2^30 comments, or a
// codebook claiming more entries than any encoder writes, or none, is
// refused before the decoder sizes its tables from it.
func TestCheckVorbisHeaders(t *testing.T) {
	for _, name := range []string{"audio-1k-22k-mono.ogg", "audio-300-48k-stereo.ogg"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if setup, ok := oggPacket(data, 2); !ok || setup[0] != 5 {
			t.Fatalf("%s: no setup header found", name)
		}
		if err := checkVorbisHeaders(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// a comment count no file of this size can hold.
		c := bytes.Index(data, []byte("\x03vorbis"))
		vendor := int(binary.LittleEndian.Uint32(data[c+7:]))
		bad := bytes.Clone(data)
		binary.LittleEndian.PutUint32(bad[c+11+vendor:], 1<<30)
		if _, _, err := Convert(fixOggChecksums(bad), 0); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "comment header") {
			t.Errorf("%s with 2^30 comments: %v", name, err)
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
