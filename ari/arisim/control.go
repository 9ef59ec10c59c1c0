package arisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EndpointMode is how a simulated PJSIP endpoint answers a call.
type EndpointMode int

const (
	// NotFound: no such endpoint; originate fails with 500 as Asterisk's
	// does when ast_request fails. The default for unknown endpoints.
	NotFound EndpointMode = iota
	// Answer after EndpointBehavior.AnswerAfter (ringing until then).
	Answer
	// Busy: 486, the channel ends with cause 17 (Dial BUSY).
	Busy
	// NoAnswer: rings until the originate timeout (cause 19).
	NoAnswer
	// Unavailable: the endpoint exists but cannot be reached; the channel
	// ends at once with cause 3 (CHANUNAVAIL).
	Unavailable
)

var modeNames = map[string]EndpointMode{
	"notfound": NotFound, "answer": Answer, "busy": Busy, "noanswer": NoAnswer, "unavailable": Unavailable,
}

func (m EndpointMode) String() string {
	for k, v := range modeNames {
		if v == m {
			return k
		}
	}
	return strconv.Itoa(int(m))
}

// EndpointBehavior sets what a PJSIP/<name> endpoint does when called.
type EndpointBehavior struct {
	Mode        EndpointMode
	AnswerAfter time.Duration
	// Echo returns the audio the endpoint hears (like Echo()).
	Echo bool
	// ToneHz makes the endpoint send a continuous tone once answered.
	ToneHz float64
}

// SetEndpoint sets the behaviour of PJSIP/<name> ("agent1" or
// "PJSIP/agent1").
func (s *Sim) SetEndpoint(name string, b EndpointBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints[strings.TrimPrefix(name, "PJSIP/")] = b
}

// Call describes a citizen's call arriving from the trunk.
type Call struct {
	Number     string // the dialled number; becomes Stasis args [Number]
	CallerID   string // the citizen's number
	CallerName string
	App        string // default "omstil"
	Trunk      string // endpoint name, default "trunk"
	ChannelID  string // optional fixed id
	ToneHz     float64
}

// ErrAppNotActive is returned when a call arrives for an app that no
// WebSocket holds; Asterisk's Stasis() fails and the call is hung up.
var ErrAppNotActive = errors.New("arisim: stasis app not registered")

// ErrNoChannel is returned for an unknown channel id.
var ErrNoChannel = errors.New("arisim: channel not found")

// PlaceCall makes a call arrive on the trunk: a PJSIP channel in state Ring
// runs [omstil-inbound] and enters Stasis(app,<number>) with the caller id.
func (s *Sim) PlaceCall(c Call) (Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.placeCallLocked(c)
}

func (s *Sim) placeCallLocked(c Call) (Channel, error) {
	if s.closed {
		return Channel{}, errors.New("arisim: closed")
	}
	if !reInbound.MatchString(c.Number) {
		return Channel{}, fmt.Errorf("arisim: number %q is not digits (optionally after +)", c.Number)
	}
	if c.App == "" {
		c.App = inboundApp
	}
	if c.Trunk == "" {
		c.Trunk = "trunk"
	}
	if c.ChannelID != "" && s.channels[c.ChannelID] != nil {
		return Channel{}, errors.New("arisim: channel id exists")
	}
	ch := s.newChannel(kindPJSIP, s.channelName("PJSIP/"+c.Trunk), c.ChannelID)
	ch.caller = CallerID{Name: c.CallerName, Number: c.CallerID}
	s.setChanState(ch, "Ring")
	if c.ToneHz > 0 {
		ch.farEnd.tone = newToneGen(strconv.FormatFloat(c.ToneHz, 'f', -1, 64))
		s.mediaAdd(ch)
	}
	ch.dp = DialplanCEP{Context: inboundCtx, Exten: c.Number, Priority: 1}
	if !s.enterStasis(ch, c.App, []string{c.Number}) {
		s.hangup(ch, causeNormal, hangupReq{})
		return ch.snapshot(), ErrAppNotActive
	}
	return ch.snapshot(), nil
}

func (s *Sim) lookup(id string) (*channel, error) {
	if s.closed {
		return nil, errors.New("arisim: closed")
	}
	ch := s.channels[id]
	if ch == nil {
		return nil, ErrNoChannel
	}
	return ch, nil
}

// PressDTMF: the far end of the channel presses digits (100 ms each, 100 ms
// apart), giving ChannelDtmfReceived events on the channel.
func (s *Sim) PressDTMF(channelID, digits string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return err
	}
	s.sendDTMF(ch, digits, 0, 100, 100)
	return nil
}

// HangupFarEnd: the far end hangs up (cause 0 means 16, normal clearing):
// ChannelHangupRequest{cause}, StasisEnd, ChannelDestroyed as applicable.
func (s *Sim) HangupFarEnd(channelID string, cause int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return err
	}
	if cause == 0 {
		cause = causeNormal
	}
	s.hangup(ch, cause, hangupReq{send: true, cause: cause})
	return nil
}

// AnswerFarEnd: the far end of a ringing originated channel answers now.
func (s *Sim) AnswerFarEnd(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return err
	}
	if ch.dial == nil || ch.dial.answered {
		return errors.New("arisim: channel is not dialling")
	}
	s.remoteAnswered(ch)
	return nil
}

// InjectTone makes the far end of the channel send a tone (an Asterisk tone
// list such as "440" or "425/1000,0/4000"); "" stops it.
func (s *Sim) InjectTone(channelID, tone string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return err
	}
	if tone == "" {
		ch.farEnd.tone = nil
		return nil
	}
	g := newToneGen(tone)
	if g == nil {
		return fmt.Errorf("arisim: bad tone %q", tone)
	}
	ch.farEnd.tone = g
	s.mediaAdd(ch)
	return nil
}

// InjectAudio makes the far end send the given 8 kHz linear samples once.
func (s *Sim) InjectAudio(channelID string, pcm []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return err
	}
	for len(pcm) > 0 {
		f := make([]int16, frameSamples)
		n := copy(f, pcm)
		pcm = pcm[n:]
		ch.farEnd.frames = append(ch.farEnd.frames, f)
	}
	s.mediaAdd(ch)
	return nil
}

// Heard returns up to the last second of audio Asterisk sent to the
// channel's far end (for a Local ;1 half: what its ;2 half was given).
func (s *Sim) Heard(channelID string) (Audio, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.lookup(channelID)
	if err != nil {
		return Audio{}, err
	}
	return Audio{Samples: ch.media.lastSecond()}, nil
}

// Channels returns the channels like GET /ari/channels.
func (s *Sim) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelSnapshots()
}

// --- call generator ------------------------------------------------------------

// GeneratorOptions configure synthetic citizen calls for the demo.
type GeneratorOptions struct {
	// PerMinute is the mean call rate (Poisson arrivals).
	PerMinute float64
	// Numbers are the dialled numbers, chosen at random.
	Numbers []string
	// Callers are caller numbers; default random Danish 8-digit numbers.
	Callers []string
	// Patience: a caller not yet bridged with someone hangs up after a
	// random time around this mean (0: never abandons).
	Patience time.Duration
	// TalkTime: once bridged with another channel the caller hangs up
	// after a random time around this mean (0: waits for the other side).
	TalkTime time.Duration
	// App receives the calls; default "omstil".
	App string
}

// Generator places calls until stopped.
type Generator struct {
	s       *Sim
	opts    GeneratorOptions
	rnd     *rand.Rand
	timer   Timer
	stopped bool
	placed  int
}

// StartGenerator starts placing calls; stop it with Generator.Stop or
// Sim.Close.
func (s *Sim) StartGenerator(opts GeneratorOptions) (*Generator, error) {
	if opts.PerMinute <= 0 {
		return nil, errors.New("arisim: generator needs PerMinute > 0")
	}
	if len(opts.Numbers) == 0 {
		return nil, errors.New("arisim: generator needs Numbers")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &Generator{s: s, opts: opts, rnd: rand.New(rand.NewSource(s.opts.Seed + int64(len(s.gens))))}
	s.gens[g] = struct{}{}
	g.scheduleLocked()
	return g, nil
}

// Stop ends the generator; calls in progress continue.
func (g *Generator) Stop() {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	g.stopLocked()
}

// Placed returns how many calls the generator placed.
func (g *Generator) Placed() int {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return g.placed
}

func (g *Generator) stopLocked() {
	g.stopped = true
	if g.timer != nil {
		g.timer.Stop()
	}
	delete(g.s.gens, g)
}

func (g *Generator) around(mean time.Duration) time.Duration {
	return time.Duration(float64(mean) * (0.5 + g.rnd.Float64()))
}

func (g *Generator) scheduleLocked() {
	gap := time.Duration(g.rnd.ExpFloat64() * float64(time.Minute) / g.opts.PerMinute)
	g.timer = g.s.after(gap, func() {
		if g.stopped {
			return
		}
		g.placeLocked()
		g.scheduleLocked()
	})
}

func (g *Generator) placeLocked() {
	s := g.s
	caller := ""
	if len(g.opts.Callers) > 0 {
		caller = g.opts.Callers[g.rnd.Intn(len(g.opts.Callers))]
	} else {
		caller = strconv.Itoa(20000000 + g.rnd.Intn(79999999))
	}
	snap, err := s.placeCallLocked(Call{
		Number:   g.opts.Numbers[g.rnd.Intn(len(g.opts.Numbers))],
		CallerID: caller,
		App:      g.opts.App,
		ToneHz:   0,
	})
	if err != nil {
		s.log.Warn("generated call failed", "err", err)
		return
	}
	g.placed++
	ch := s.channels[snap.ID]
	if ch == nil {
		return
	}
	start := s.now()
	patience := time.Duration(0)
	if g.opts.Patience > 0 {
		patience = g.around(g.opts.Patience)
	}
	talk := time.Duration(0)
	if g.opts.TalkTime > 0 {
		talk = g.around(g.opts.TalkTime)
	}
	var talkStart time.Time
	var check func()
	check = func() {
		if ch.gone {
			return
		}
		now := s.now()
		bridged := ch.bridge != nil && len(ch.bridge.channels) > 1
		if bridged && talkStart.IsZero() {
			talkStart = now
		}
		switch {
		case !talkStart.IsZero() && talk > 0 && now.Sub(talkStart) >= talk:
			s.hangup(ch, causeNormal, hangupReq{send: true, cause: causeNormal})
			return
		case talkStart.IsZero() && patience > 0 && now.Sub(start) >= patience:
			s.hangup(ch, causeNormal, hangupReq{send: true, cause: causeNormal})
			return
		}
		ch.addTimer(s.after(time.Second, check))
	}
	ch.addTimer(s.after(time.Second, check))
}

// --- /sim HTTP API -------------------------------------------------------------

func (s *Sim) routesSim(mux *http.ServeMux) {
	auth := func(f http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !s.authorized(r) {
				unauthorized(w)
				return
			}
			f(w, r)
		}
	}
	fail := func(w http.ResponseWriter, err error) {
		code := http.StatusBadRequest
		if errors.Is(err, ErrNoChannel) {
			code = http.StatusNotFound
		} else if errors.Is(err, ErrAppNotActive) {
			code = http.StatusConflict
		}
		writeError(w, code, err.Error())
	}
	mux.HandleFunc("POST /sim/calls", auth(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Number     string  `json:"number"`
			Caller     string  `json:"caller"`
			CallerName string  `json:"caller_name"`
			App        string  `json:"app"`
			Trunk      string  `json:"trunk"`
			ChannelID  string  `json:"channel_id"`
			ToneHz     float64 `json:"tone_hz"`
		}
		if err := decodeBody(r, &req); err != nil {
			fail(w, err)
			return
		}
		ch, err := s.PlaceCall(Call{Number: req.Number, CallerID: req.Caller, CallerName: req.CallerName,
			App: req.App, Trunk: req.Trunk, ChannelID: req.ChannelID, ToneHz: req.ToneHz})
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, ch)
	}))
	mux.HandleFunc("PUT /sim/endpoints/{name}", auth(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Mode          string  `json:"mode"`
			AnswerAfterMS int     `json:"answer_after_ms"`
			Echo          bool    `json:"echo"`
			ToneHz        float64 `json:"tone_hz"`
		}
		if err := decodeBody(r, &req); err != nil {
			fail(w, err)
			return
		}
		mode, ok := modeNames[strings.ToLower(req.Mode)]
		if !ok {
			writeError(w, 400, "mode must be one of answer, busy, noanswer, unavailable, notfound")
			return
		}
		s.SetEndpoint(r.PathValue("name"), EndpointBehavior{Mode: mode, AnswerAfter: msDur(req.AnswerAfterMS), Echo: req.Echo, ToneHz: req.ToneHz})
		noContent(w)
	}))
	mux.HandleFunc("GET /sim/endpoints", auth(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := []map[string]any{}
		names := make([]string, 0, len(s.endpoints))
		for n := range s.endpoints {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b := s.endpoints[n]
			out = append(out, map[string]any{"name": n, "mode": b.Mode.String(), "answer_after_ms": b.AnswerAfter.Milliseconds(), "echo": b.Echo, "tone_hz": b.ToneHz})
		}
		s.mu.Unlock()
		writeJSON(w, 200, out)
	}))
	mux.HandleFunc("POST /sim/channels/{id}/dtmf", auth(func(w http.ResponseWriter, r *http.Request) {
		if err := s.PressDTMF(r.PathValue("id"), r.URL.Query().Get("dtmf")); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	mux.HandleFunc("POST /sim/channels/{id}/hangup", auth(func(w http.ResponseWriter, r *http.Request) {
		if err := s.HangupFarEnd(r.PathValue("id"), atoiDefault(r.URL.Query().Get("cause"), 0)); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	mux.HandleFunc("POST /sim/channels/{id}/answer", auth(func(w http.ResponseWriter, r *http.Request) {
		if err := s.AnswerFarEnd(r.PathValue("id")); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	mux.HandleFunc("POST /sim/channels/{id}/tone", auth(func(w http.ResponseWriter, r *http.Request) {
		if err := s.InjectTone(r.PathValue("id"), r.URL.Query().Get("tone")); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	mux.HandleFunc("DELETE /sim/channels/{id}/tone", auth(func(w http.ResponseWriter, r *http.Request) {
		if err := s.InjectTone(r.PathValue("id"), ""); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	mux.HandleFunc("GET /sim/channels/{id}/heard", auth(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Heard(r.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		out := map[string]any{"samples": len(a.Samples), "rms": math.Round(a.RMS()*10) / 10}
		if f := r.URL.Query().Get("freq"); f != "" {
			hz, err := strconv.ParseFloat(f, 64)
			if err != nil {
				writeError(w, 400, "freq must be a number")
				return
			}
			out["tone_level"] = math.Round(a.ToneLevel(hz)*1000) / 1000
		}
		writeJSON(w, 200, out)
	}))
	mux.HandleFunc("POST /sim/events", auth(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		if err := decodeBody(r, &ev); err != nil {
			fail(w, err)
			return
		}
		if err := s.EmitEvent(r.URL.Query().Get("app"), ev); err != nil {
			fail(w, err)
			return
		}
		noContent(w)
	}))
	var httpGen *Generator
	mux.HandleFunc("POST /sim/generator", auth(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			PerMinute  float64  `json:"per_minute"`
			Numbers    []string `json:"numbers"`
			Callers    []string `json:"callers"`
			PatienceMS int      `json:"patience_ms"`
			TalkTimeMS int      `json:"talk_time_ms"`
			App        string   `json:"app"`
		}
		if err := decodeBody(r, &req); err != nil {
			fail(w, err)
			return
		}
		g, err := s.StartGenerator(GeneratorOptions{PerMinute: req.PerMinute, Numbers: req.Numbers, Callers: req.Callers,
			Patience: msDur(req.PatienceMS), TalkTime: msDur(req.TalkTimeMS), App: req.App})
		if err != nil {
			fail(w, err)
			return
		}
		s.mu.Lock()
		old := httpGen
		httpGen = g
		s.mu.Unlock()
		if old != nil {
			old.Stop()
		}
		noContent(w)
	}))
	mux.HandleFunc("DELETE /sim/generator", auth(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		g := httpGen
		httpGen = nil
		s.mu.Unlock()
		if g != nil {
			g.Stop()
		}
		noContent(w)
	}))
	mux.HandleFunc("GET /sim/stats", auth(func(w http.ResponseWriter, r *http.Request) {
		st := s.Stats()
		s.mu.Lock()
		n := len(s.channels)
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"channels": n, "channels_created": st.ChannelsCreated,
			"events_sent": st.EventsSent, "rtp_sent": st.RTPSent, "rtp_received": st.RTPReceived})
	}))
}

func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return errors.New("arisim: JSON body required")
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("arisim: bad JSON body: %w", err)
	}
	return nil
}

func msDur(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }

func sortStrings(s []string) { sort.Strings(s) }
