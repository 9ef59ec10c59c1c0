package ari

import (
	"slices"
	"strings"
	"time"
)

// AsteriskSounds lists the sounds of Asterisk's own sound packs the
// adapter plays with its default options: the not-in-service and callback
// prompts, and the position and wait announcements (queue-* prompts, and
// number: playback, which reads digits/*). omstil doctor checks that
// Asterisk has them.
func AsteriskSounds() []string {
	var media []string
	media = append(media, defaultNotInService...)
	media = append(media, defaultCallbackConfirm...)
	media = append(media, positionMedia(1, -1)...)
	media = append(media, positionMedia(2, time.Minute)...)
	var out []string
	for _, m := range media {
		switch {
		case strings.HasPrefix(m, "sound:") && !strings.Contains(m, "://"):
			out = append(out, strings.TrimPrefix(m, "sound:"))
		case strings.HasPrefix(m, "number:"):
			out = append(out, "digits/"+strings.TrimPrefix(m, "number:"))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	defaultNotInService    = []string{"sound:ss-noservice"}
	defaultCallbackConfirm = []string{"sound:auth-thankyou"}
)
