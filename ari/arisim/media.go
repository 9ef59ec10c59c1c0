package arisim

import (
	"encoding/binary"
	"errors"
	"github.com/omstil/omstil/internal/g711"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Audio model: 8 kHz signed 16-bit linear frames of 160 samples (20 ms).
// A nil frame is silence and costs nothing. One shared tick (driven by the
// Clock) runs only while something produces audio: a tone, a playback,
// music on hold, injected audio or an externalMedia channel.
const (
	frameSamples = 160
	tickEvery    = 20 * time.Millisecond
	heardSamples = 8000 // what Heard keeps: the last second
)

// mediaIdle: nothing can make or carry audio on the channel this tick,
// so the tick skips it (read and write stay nil).
func (ch *channel) mediaIdle() bool {
	return ch.bridge == nil && len(ch.playQueue) == 0 && ch.moh == nil && ch.ringing == nil &&
		ch.ext == nil && ch.farEnd.tone == nil && len(ch.farEnd.frames) == 0 && !ch.farEnd.echo &&
		!ch.echoApp && ch.peer == nil && ch.media.lastWrite == nil && ch.media.read == nil && ch.media.heard == nil
}

type chanMedia struct {
	read      []int16 // what the far end sent this tick
	lastWrite []int16 // what Asterisk sent to the far end last tick
	heard     []int16 // ring buffer of written audio, allocated on first sound
	heardPos  int
	heardN    int
}

type mediaLoop struct {
	// sending is held from the end of a tick's work under Sim.mu until
	// its packets are written, so that the ticks' packets leave in tick
	// order: the next tick's timer may fire (at once, when the loop is
	// behind) while the previous one is still writing, and its packets
	// overtook the previous ones (TestExternalMediaRTP under load: seq
	// 15889 after 15887). Taken with Sim.mu held; never take Sim.mu
	// while holding it.
	sending sync.Mutex
	running bool
	tick    uint64
	next    time.Time
	timer   Timer
}

// kick starts the shared tick if it is not running.
func (m *mediaLoop) kick(s *Sim) {
	if m.running || s.closed {
		return
	}
	m.running = true
	m.next = s.now().Add(tickEvery)
	m.timer = s.clock.AfterFunc(tickEvery, s.mediaTick)
}

func (m *mediaLoop) stopLocked() {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.running = false
}

type rtpSend struct {
	conn   *net.UDPConn
	remote *net.UDPAddr
	pkt    []byte
}

func (s *Sim) mediaTick() {
	s.mu.Lock()
	if s.closed || !s.media.running {
		s.mu.Unlock()
		return
	}
	var sends []rtpSend
	active := s.tickLocked(&sends)
	m := &s.media
	if active {
		now := s.now()
		m.next = m.next.Add(tickEvery)
		d := m.next.Sub(now)
		if d < -5*tickEvery { // fell far behind: do not burst to catch up
			m.next = now.Add(tickEvery)
			d = tickEvery
		}
		if d < 0 {
			d = 0
		}
		m.timer = s.clock.AfterFunc(d, s.mediaTick)
	} else {
		m.running = false
	}
	m.sending.Lock()
	s.mu.Unlock()
	sent := 0
	for _, x := range sends {
		if _, err := x.conn.WriteToUDP(x.pkt, x.remote); err == nil {
			sent++
		}
	}
	m.sending.Unlock()
	if sent > 0 {
		s.mu.Lock()
		s.stats.RTPSent += int64(sent)
		s.mu.Unlock()
	}
}

type bridgeMix struct {
	sum     [frameSamples]int32
	sources int
}

// tickLocked advances audio by one frame and reports whether anything
// still produces audio.
func (s *Sim) tickLocked(sends *[]rtpSend) bool {
	s.media.tick++
	tick := s.media.tick
	active := false
	// 1. what every far end sends
	for ch := range s.mediaSet {
		var f []int16
		switch {
		case ch.ext != nil:
			active = true
			if len(ch.ext.rx) > 0 {
				f = ch.ext.rx[0]
				ch.ext.rx = ch.ext.rx[1:]
			}
		case len(ch.farEnd.frames) > 0:
			active = true
			f = ch.farEnd.frames[0]
			ch.farEnd.frames = ch.farEnd.frames[1:]
		case ch.farEnd.tone != nil:
			active = true
			f = ch.farEnd.tone.frame()
		case ch.farEnd.echo:
			f = ch.media.lastWrite
		case ch.peer != nil:
			f = ch.peer.media.lastWrite
		}
		if ch.muteIn {
			f = nil
		}
		ch.media.read = f
	}
	// 2. mixing bridges sum their members' audio
	mixes := map[*bridge]*bridgeMix{}
	for _, b := range s.bridges {
		if b.holding || len(b.channels) < 2 {
			continue
		}
		var mx *bridgeMix
		for _, ch := range b.channels {
			if ch.media.read == nil {
				continue
			}
			if mx == nil {
				mx = &bridgeMix{}
			}
			mx.sources++
			for i, v := range ch.media.read {
				mx.sum[i] += int32(v)
			}
		}
		if mx != nil {
			mixes[b] = mx
		}
	}
	// 3. what Asterisk sends to every channel
	for ch := range s.mediaSet {
		var w []int16
		if p := currentPlayback(ch.playQueue); p != nil {
			w = p.gen.frame()
			active = true
		} else if ch.moh != nil {
			w = ch.moh.frame()
			active = true
		} else if ch.silence {
			w = nil
		} else if ch.echoApp {
			w = ch.media.read
		} else if ch.ringing != nil {
			w = ch.ringing.frame()
			active = true
		} else if b := ch.bridge; b != nil {
			if bf := s.bridgeFrame(b, tick); bf != nil {
				w = bf
				active = true
			} else if mx := mixes[b]; mx != nil {
				own := ch.media.read
				if mx.sources > 1 || own == nil {
					w = make([]int16, frameSamples)
					for i := range w {
						v := mx.sum[i]
						if own != nil {
							v -= int32(own[i])
						}
						w[i] = clamp16(v)
					}
				}
			}
		}
		if ch.muteOut {
			w = nil
		}
		ch.media.lastWrite = w
		ch.media.record(w)
		if e := ch.ext; e != nil && ch.state == "Up" {
			*sends = append(*sends, rtpSend{conn: e.conn, remote: e.remote, pkt: e.packet(w)})
		}
	}
	for ch := range s.mediaSet {
		if ch.gone || ch.mediaIdle() {
			delete(s.mediaSet, ch)
		}
	}
	return active
}

// mediaAdd puts a channel (and its Local peer) into the set the tick
// visits and starts the tick. Channels leave the set when idle.
func (s *Sim) mediaAdd(ch *channel) {
	if ch != nil && !ch.gone {
		s.mediaSet[ch] = struct{}{}
		if p := ch.peer; p != nil && !p.gone {
			s.mediaSet[p] = struct{}{}
		}
	}
	s.media.kick(s)
}

func (s *Sim) mediaAddBridge(b *bridge) {
	for _, ch := range b.channels {
		s.mediaAdd(ch)
	}
	s.media.kick(s)
}

// bridgeFrame returns the bridge-wide audio (playback or MOH) of this tick.
func (s *Sim) bridgeFrame(b *bridge, tick uint64) []int16 {
	if b.frameTick == tick {
		return b.frame
	}
	b.frameTick = tick
	b.frame = nil
	if p := currentPlayback(b.playQueue); p != nil {
		b.frame = p.gen.frame()
	} else if b.moh != nil {
		b.frame = b.moh.frame()
	}
	return b.frame
}

func clamp16(v int32) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

func (m *chanMedia) record(w []int16) {
	if m.heard == nil {
		if w == nil {
			return
		}
		m.heard = make([]int16, heardSamples)
	}
	dst := m.heard[m.heardPos : m.heardPos+frameSamples] // heardSamples is a multiple of frameSamples
	if w == nil {
		clear(dst)
	} else {
		copy(dst, w)
	}
	m.heardPos = (m.heardPos + frameSamples) % heardSamples
	if m.heardN < heardSamples {
		m.heardN += frameSamples
	}
}

func (m *chanMedia) lastSecond() []int16 {
	out := make([]int16, 0, m.heardN)
	if m.heard == nil {
		return out
	}
	start := (m.heardPos - m.heardN + heardSamples) % heardSamples
	for i := 0; i < m.heardN; i++ {
		out = append(out, m.heard[(start+i)%heardSamples])
	}
	return out
}

// Audio is a stretch of 8 kHz linear audio.
type Audio struct {
	Samples []int16
}

// RMS is the root mean square level (0 for silence, about 5657 for the
// simulator's full-level tone).
func (a Audio) RMS() float64 {
	if len(a.Samples) == 0 {
		return 0
	}
	var sum float64
	for _, v := range a.Samples {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(a.Samples)))
}

// ToneLevel returns the share (0..1) of the audio's power that lies at hz,
// measured with the Goertzel algorithm. A pure tone at hz gives about 1,
// silence or another frequency about 0.
func (a Audio) ToneLevel(hz float64) float64 {
	n := len(a.Samples)
	if n == 0 {
		return 0
	}
	k := math.Round(float64(n) * hz / 8000)
	w := 2 * math.Pi * k / float64(n)
	coeff := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range a.Samples {
		x := float64(v)
		total += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	// a pure sinusoid on bin k has power n/2 * total
	return math.Min(1, power/(float64(n)/2*total))
}

// --- tones -------------------------------------------------------------------

type toneSeg struct {
	freqs   []float64
	samples int // 0 = for ever
	osc     []oscillator
}

// oscillator produces a sine by rotating a phasor, which is far cheaper
// than math.Sin per sample.
type oscillator struct {
	re, im     float64 // current phasor
	cosw, sinw float64 // rotation per sample
}

func newOscillator(hz float64) oscillator {
	w := 2 * math.Pi * hz / 8000
	return oscillator{re: 1, cosw: math.Cos(w), sinw: math.Sin(w)}
}

func (o *oscillator) next() float64 {
	o.re, o.im = o.re*o.cosw-o.im*o.sinw, o.re*o.sinw+o.im*o.cosw
	return o.im
}

// renormalize keeps the phasor's length at 1 against rounding drift.
func (o *oscillator) renormalize() {
	m := math.Hypot(o.re, o.im)
	o.re, o.im = o.re/m, o.im/m
}

type toneGen struct {
	segs  []toneSeg
	cycle int
	n     int
}

// Tones of the Danish indications zone (indications.conf [dk]).
var namedTones = map[string]string{
	"dial":        "425",
	"ring":        "425/1000,0/4000",
	"busy":        "425/500,0/500",
	"congestion":  "425/200,0/200",
	"callwaiting": "425/200,0/600,425/200,0/3000",
	"dialrecall":  "425/500,0/50",
	"record":      "1400/80,0/15000",
	"info":        "950/330,1400/330,1800/330,0/1000",
}

const toneAmplitude = 8000.0

// newToneGen parses an Asterisk tone list ("425/1000,0/4000", "440+480",
// "ring", "ring;tonezone=dk"); nil when it cannot.
func newToneGen(spec string) *toneGen {
	spec, _, _ = strings.Cut(spec, ";")
	spec = strings.TrimSpace(spec)
	if t, ok := namedTones[spec]; ok {
		spec = t
	}
	if spec == "" {
		return nil
	}
	g := &toneGen{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "!")
		fpart, dur, hasDur := strings.Cut(part, "/")
		var seg toneSeg
		for _, f := range strings.FieldsFunc(fpart, func(r rune) bool { return r == '+' || r == '*' }) {
			hz, err := strconv.ParseFloat(f, 64)
			if err != nil || hz < 0 || hz > 4000 {
				return nil
			}
			if hz > 0 {
				seg.freqs = append(seg.freqs, hz)
				seg.osc = append(seg.osc, newOscillator(hz))
			}
		}
		if hasDur {
			ms, err := strconv.Atoi(dur)
			if err != nil || ms < 0 {
				return nil
			}
			seg.samples = ms * 8
		}
		g.segs = append(g.segs, seg)
		g.cycle += seg.samples
	}
	return g
}

// frame returns the next 160 samples (nil during a pause).
func (g *toneGen) frame() []int16 {
	var out []int16
	for i := 0; i < frameSamples; {
		pos := g.n
		if g.cycle > 0 {
			pos = g.n % g.cycle
		}
		var seg *toneSeg
		left := frameSamples - i
		for j := range g.segs {
			sg := &g.segs[j]
			if sg.samples == 0 {
				seg = sg
				break
			}
			if pos < sg.samples {
				seg = sg
				left = min(left, sg.samples-pos)
				break
			}
			pos -= sg.samples
		}
		if seg == nil { // cannot happen with a non-empty list
			break
		}
		g.n += left
		if len(seg.osc) == 0 {
			i += left
			continue
		}
		if out == nil {
			out = make([]int16, frameSamples)
		}
		scale := toneAmplitude / float64(len(seg.osc))
		for end := i + left; i < end; i++ {
			var v float64
			for k := range seg.osc {
				v += seg.osc[k].next()
			}
			out[i] = int16(v * scale)
		}
		for k := range seg.osc {
			seg.osc[k].renormalize()
		}
	}
	return out
}

// --- externalMedia RTP ------------------------------------------------------------

type externalMedia struct {
	conn   *net.UDPConn
	remote *net.UDPAddr
	ssrc   uint32
	seq    uint16
	ts     uint32
	marker bool
	rx     [][]int16
}

// packet builds one RTP packet (RFC 3550 header, PCMU payload type 0).
func (e *externalMedia) packet(w []int16) []byte {
	pkt := make([]byte, 12+frameSamples)
	pkt[0] = 0x80
	pkt[1] = 0
	if !e.marker {
		pkt[1] |= 0x80
		e.marker = true
	}
	binary.BigEndian.PutUint16(pkt[2:], e.seq)
	binary.BigEndian.PutUint32(pkt[4:], e.ts)
	binary.BigEndian.PutUint32(pkt[8:], e.ssrc)
	for i := 0; i < frameSamples; i++ {
		var v int16
		if w != nil {
			v = w[i]
		}
		pkt[12+i] = g711.EncodeUlaw(v)
	}
	e.seq++
	e.ts += frameSamples
	return pkt
}

var errNotRTP = errors.New("not an RTP packet")

// rtpPayload returns payload type and payload of an RTP packet.
func rtpPayload(b []byte) (byte, []byte, error) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, nil, errNotRTP
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return 0, nil, errNotRTP
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > off { // padding
		end -= int(b[end-1])
	}
	if off > end {
		return 0, nil, errNotRTP
	}
	return b[1] & 0x7f, b[off:end], nil
}

// readRTP receives RTP for an externalMedia channel until its socket closes.
func (s *Sim) readRTP(ch *channel, e *externalMedia) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := e.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		pt, payload, err := rtpPayload(buf[:n])
		if err != nil || pt != 0 {
			continue
		}
		s.mu.Lock()
		if ch.gone || s.closed {
			s.mu.Unlock()
			return
		}
		s.stats.RTPReceived++
		for len(payload) > 0 {
			m := min(len(payload), frameSamples)
			f := make([]int16, frameSamples)
			for i := 0; i < m; i++ {
				f[i] = g711.DecodeUlaw(payload[i])
			}
			payload = payload[m:]
			e.rx = append(e.rx, f)
		}
		if len(e.rx) > 10 { // a small jitter buffer; late audio is dropped
			e.rx = e.rx[len(e.rx)-10:]
		}
		s.mediaAdd(ch)
		s.mu.Unlock()
	}
}
