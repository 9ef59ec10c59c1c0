package arisim

import (
	"strconv"
	"strings"
	"time"
)

type playback struct {
	id       string
	medias   []string
	idx      int
	target   string
	language string
	state    string // queued, playing, continuing, done, failed
	ch       *channel
	br       *bridge
	gen      *toneGen
	timer    Timer
}

func (p *playback) snapshot() Playback {
	out := Playback{ID: p.id, MediaURI: p.medias[p.idx], TargetURI: p.target, Language: p.language, State: p.state}
	if p.idx < len(p.medias)-1 {
		out.NextMediaURI = p.medias[p.idx+1]
	}
	return out
}

func (s *Sim) emitPlayback(p *playback, typ string) {
	ev := simEvent{typ: typ, playback: p}
	if p.br != nil {
		s.emitBridge(p.br, ev)
		return
	}
	s.emitChannel(p.ch, ev)
}

func (p *playback) queue() *[]*playback {
	if p.br != nil {
		return &p.br.playQueue
	}
	return &p.ch.playQueue
}

// Audio that stands in for prompts: sounds and recordings are a 400 Hz
// tone, digits/number/characters 600 Hz, music on hold 330 Hz.
const (
	SoundHz = 400
	SayHz   = 600
	MOHHz   = 330
)

// mediaLength returns how long a media URI plays, 0 for "until stopped"
// (tone:), and ok=false when Asterisk would fail to play it.
func (s *Sim) mediaLength(uri string) (time.Duration, *toneGen, bool) {
	if d, ok := s.opts.MediaLengths[uri]; ok {
		if strings.HasPrefix(uri, "tone:") {
			return d, newToneGen(strings.TrimPrefix(uri, "tone:")), true
		}
		return d, newToneGen(strconv.Itoa(SoundHz)), true
	}
	scheme, rest, _ := strings.Cut(uri, ":")
	const perWord = 600 * time.Millisecond
	switch scheme {
	case "sound":
		if rest == "" || (s.opts.SoundExists != nil && !s.opts.SoundExists(rest)) {
			return 0, nil, false
		}
		return s.opts.DefaultSoundLength, newToneGen(strconv.Itoa(SoundHz)), true
	case "digits", "characters":
		if rest == "" {
			return 0, nil, false
		}
		return perWord * time.Duration(len(rest)), newToneGen(strconv.Itoa(SayHz)), true
	case "number":
		n, err := strconv.Atoi(rest)
		if err != nil {
			return 0, nil, false
		}
		return perWord * time.Duration(len(strconv.Itoa(n))), newToneGen(strconv.Itoa(SayHz)), true
	case "tone":
		g := newToneGen(rest)
		if g == nil {
			return 0, nil, false
		}
		return 0, g, true
	}
	// recording: without an entry in MediaLengths does not exist; other
	// schemes are unsupported (res_stasis_playback.c play_on_channel).
	return 0, nil, false
}

func (s *Sim) newPlayback(id string, medias []string, lang string) *playback {
	if id == "" {
		id = newUUID(s)
	}
	if lang == "" {
		lang = "en"
	}
	p := &playback{id: id, medias: medias, state: "queued", language: lang}
	s.playbacks[id] = p
	return p
}

func (s *Sim) startPlayback(p *playback) {
	q := p.queue()
	*q = append(*q, p)
	if len(*q) == 1 {
		s.playMedia(p)
	}
}

// playMedia plays p.medias[p.idx]: PlaybackStarted, then after the media's
// length PlaybackContinuing (more media follow) or PlaybackFinished.
func (s *Sim) playMedia(p *playback) {
	p.state = "playing"
	s.emitPlayback(p, "PlaybackStarted")
	length, gen, ok := s.mediaLength(p.medias[p.idx])
	if !ok {
		s.log.Warn("playback failed: unsupported or missing media", "media", p.medias[p.idx])
		s.mediaDone(p, "failed")
		return
	}
	p.gen = gen
	if p.br != nil {
		s.mediaAddBridge(p.br)
	} else {
		s.mediaAdd(p.ch)
	}
	if length > 0 {
		p.timer = s.after(length, func() { s.mediaDone(p, "done") })
	}
}

func (s *Sim) mediaDone(p *playback, final string) {
	if p.state == "done" || p.state == "failed" {
		return
	}
	if p.idx < len(p.medias)-1 {
		p.state = "continuing"
		s.emitPlayback(p, "PlaybackContinuing")
		p.idx++
		s.playMedia(p)
		return
	}
	s.finishPlayback(p, final)
}

// finishPlayback ends p (stopped, hung up or complete) and starts the next
// queued playback of its target.
func (s *Sim) finishPlayback(p *playback, final string) {
	if p.state == "done" || p.state == "failed" {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.state = final
	p.gen = nil
	s.emitPlayback(p, "PlaybackFinished")
	delete(s.playbacks, p.id)
	q := p.queue()
	wasFirst := len(*q) > 0 && (*q)[0] == p
	for i, x := range *q {
		if x == p {
			*q = append((*q)[:i:i], (*q)[i+1:]...)
			break
		}
	}
	if wasFirst && len(*q) > 0 {
		s.playMedia((*q)[0])
	}
}

func (s *Sim) stopPlaybacks(ch *channel, final string) {
	for len(ch.playQueue) > 0 {
		p := ch.playQueue[len(ch.playQueue)-1]
		if len(ch.playQueue) == 1 {
			s.finishPlayback(p, final)
			continue
		}
		// queued ones are cancelled first so the current one does not
		// start the next on finishing
		ch.playQueue = ch.playQueue[:len(ch.playQueue)-1]
		p.state = "done"
		delete(s.playbacks, p.id)
	}
}

// currentPlayback returns the playing playback of a queue, if any.
func currentPlayback(q []*playback) *playback {
	if len(q) > 0 && q[0].state == "playing" && q[0].gen != nil {
		return q[0]
	}
	return nil
}

func newUUID(s *Sim) string {
	// Deterministic, UUID-shaped ids (Asterisk uses random UUIDs).
	s.idSeq++
	n := uint64(s.idBase)<<20 ^ uint64(s.idSeq)
	return strings.Join([]string{
		hex(uint64(n>>16), 8), hex(uint64(n&0xffff), 4), "4000", "8000", hex(uint64(s.idSeq), 12),
	}, "-")
}

func hex(v uint64, width int) string {
	h := strconv.FormatUint(v, 16)
	for len(h) < width {
		h = "0" + h
	}
	if len(h) > width {
		h = h[len(h)-width:]
	}
	return h
}
