// Package prompts holds omstil's default Danish voice prompts: the words and
// numbers for position and wait-time announcements and a few standard
// messages. They were synthesised once with espeak-ng (voice "da"),
// converted to 8 kHz mono 16-bit WAV with sox, and are shipped under the
// licence in LICENSE.prompts (CC0). Municipalities can replace any of them
// with recorded announcements.
//
// Asterisk plays them from omstil over HTTP (media URI
// "sound:http://omstil/media/prompts/da/<name>.wav", Asterisk's HTTP media
// cache), so omstil and Asterisk need not share a disk.
package prompts

import (
	"embed"
	"fmt"
	"io/fs"
	"time"
)

//go:embed da/*.wav
var files embed.FS

// Lang is a prompt language.
type Lang string

// Danish is the default language.
const Danish Lang = "da"

// MaxNumber is the largest number with its own prompt.
const MaxNumber = 60

// FS returns the prompts of a language as files named <name>.wav.
func FS(lang Lang) (fs.FS, error) {
	if lang != Danish {
		return nil, fmt.Errorf("prompts: no prompts for language %q", lang)
	}
	return fs.Sub(files, string(lang))
}

// Exists tells whether a prompt exists.
func Exists(lang Lang, name string) bool {
	f, err := FS(lang)
	if err != nil {
		return false
	}
	_, err = fs.Stat(f, name+".wav")
	return err == nil
}

// Position is the prompt sequence for "you are number n in the queue".
// Positions above MaxNumber are not announced (nil).
func Position(n int) []string {
	if n < 1 || n > MaxNumber {
		return nil
	}
	return []string{"position-before", fmt.Sprintf("number-%d", n), "position-after"}
}

// Wait is the prompt sequence for an estimated wait, rounded up to whole
// minutes. A negative wait (nobody serves the queue) or one above
// MaxNumber minutes says that the wait is long.
func Wait(d time.Duration) []string {
	switch {
	case d < 0 || d > MaxNumber*time.Minute:
		return []string{"wait-long"}
	case d < time.Minute:
		return []string{"wait-under-minute"}
	}
	m := int((d + time.Minute - 1) / time.Minute)
	word := "minutes"
	if m == 1 {
		word = "minute"
	}
	return []string{"wait-before", fmt.Sprintf("number-%d", m), word}
}
