package prompts

import (
	"encoding/binary"
	"io/fs"
	"testing"
	"time"
)

func TestEveryReferencedPromptExists(t *testing.T) {
	var names []string
	for n := 1; n <= MaxNumber; n++ {
		names = append(names, Position(n)...)
	}
	for _, d := range []time.Duration{-1, 10 * time.Second, time.Minute, 61 * time.Second, 59 * time.Minute, 2 * time.Hour} {
		names = append(names, Wait(d)...)
	}
	names = append(names, "callback-offer", "callback-confirmed", "not-in-service", "closed", "all-busy", "invalid-choice", "thank-you-wait")
	for _, n := range names {
		if !Exists(Danish, n) {
			t.Errorf("prompt %q is missing", n)
		}
	}
}

func TestWaitRounding(t *testing.T) {
	cases := map[time.Duration]string{
		30 * time.Second: "wait-under-minute",
		time.Minute:      "number-1",
		61 * time.Second: "number-2",
		10 * time.Minute: "number-10",
		-1:               "wait-long",
		61 * time.Minute: "wait-long",
	}
	for d, want := range cases {
		got := Wait(d)
		found := false
		for _, g := range got {
			if g == want {
				found = true
			}
		}
		if !found {
			t.Errorf("Wait(%v) = %v, want it to contain %s", d, got, want)
		}
	}
	if got := Wait(time.Minute); got[2] != "minute" {
		t.Errorf("one minute: %v", got)
	}
	if Position(0) != nil || Position(MaxNumber+1) != nil {
		t.Error("out-of-range positions are announced")
	}
}

// TestPromptsAre8kHzMonoPCM checks every file is what Asterisk plays
// without transcoding trouble: RIFF WAVE, PCM, 1 channel, 8000 Hz, 16 bit.
func TestPromptsAre8kHzMonoPCM(t *testing.T) {
	f, err := FS(Danish)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := fs.ReadDir(f, ".")
	if len(entries) < 70 {
		t.Fatalf("only %d prompts", len(entries))
	}
	for _, e := range entries {
		b, err := fs.ReadFile(f, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
			t.Fatalf("%s: not a WAV file", e.Name())
		}
		format := binary.LittleEndian.Uint16(b[20:22])
		channels := binary.LittleEndian.Uint16(b[22:24])
		rate := binary.LittleEndian.Uint32(b[24:28])
		bits := binary.LittleEndian.Uint16(b[34:36])
		if format != 1 || channels != 1 || rate != 8000 || bits != 16 {
			t.Errorf("%s: format %d, %d channels, %d Hz, %d bit", e.Name(), format, channels, rate, bits)
		}
	}
}
