package arisim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Sim. The zero value works: no auth check is skipped —
// User and Password default to "omstil"/"omstil".
type Options struct {
	// User and Password are the ARI credentials (basic auth or
	// ?api_key=user:password). Defaults: "omstil" / "omstil".
	User, Password string
	Logger         *slog.Logger
	// Clock schedules every modelled delay; default real time.
	Clock Clock
	// AsteriskID is the entity id reported as asterisk_id; default
	// "02:42:ac:11:00:02".
	AsteriskID string
	// RTPHost is the address the externalMedia UDP sockets bind to and
	// report in UNICASTRTP_LOCAL_ADDRESS; default "127.0.0.1".
	RTPHost string
	// DefaultSoundLength is the length of a sound: without an entry in
	// MediaLengths; default 2 s.
	DefaultSoundLength time.Duration
	// MediaLengths overrides the length of a media URI, e.g.
	// {"sound:queue-thankyou": 1500 * time.Millisecond}. An entry for a
	// "recording:" URI makes that recording exist (otherwise it fails).
	MediaLengths map[string]time.Duration
	// SoundExists reports whether the sound after "sound:" (a name such as
	// "queue-thankyou" or an http(s) URL) can be played; nil: every sound
	// exists. A missing sound gives PlaybackStarted and at once
	// PlaybackFinished with state "failed", as Asterisk 22.10.1 does for a
	// file it does not have and for a URL that answers 404 or cannot be
	// reached (res_http_media_cache).
	SoundExists func(name string) bool
	// ChannelVars are the variables every channel snapshot reports in
	// "channelvars" ("" when unset), like "channelvars =" in ari.conf's
	// [general] (deploy/asterisk/ari.conf sets OMSTIL_CALL).
	ChannelVars []string
	// Seed seeds the call generator's randomness (deterministic demos).
	Seed int64
}

// Sim is an in-memory Asterisk that speaks ARI over HTTP and WebSocket.
// All state is guarded by one mutex; events are queued per WebSocket in the
// order they were produced and are never dropped while a socket is open.
type Sim struct {
	opts  Options
	log   *slog.Logger
	clock Clock

	restOnce     sync.Once
	restMux      http.Handler // ARI for REST requests over event sockets
	socketHeader http.Header  // their header: the ARI credentials; read only
	authValue    string       // basicAuth(User, Password)

	mu        sync.Mutex
	devStates map[string]string // device → last DeviceStateChanged state sent
	devUse    map[string]devUse // device → its live channels' states, see countDevice
	closed    bool
	closeCh   chan struct{}
	started   time.Time
	idBase    int64
	idSeq     int
	nameSeq   int
	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string]*playback
	apps      map[string]*app
	conns     map[*wsConn]struct{}
	endpoints map[string]EndpointBehavior
	media     mediaLoop
	mediaSet  map[*channel]struct{} // channels the audio tick visits
	gens      map[*Generator]struct{}
	stats     Stats
	wg        sync.WaitGroup

	evBuf   []byte // encode's scratch
	tsBuf   []byte // the timestamp of tsMilli in tsLoc, formatted
	tsMilli int64
	tsLoc   *time.Location
	// evCheck, set by tests, sees every simEvent with its time and JSON
	// (without the closing brace) as it is encoded.
	evCheck func(ev simEvent, now time.Time, body []byte)
}

// Stats counts what the simulator did; see Sim.Stats.
type Stats struct {
	ChannelsCreated int64
	EventsSent      int64
	RTPSent         int64
	RTPReceived     int64
	VarReads        int64 // GET /channels/{id}/variable requests served, over HTTP or the event socket
}

type app struct {
	name         string
	conn         *wsConn // nil while no WebSocket holds the app
	subscribeAll bool
	devices      map[string]bool // deviceState subscriptions
	suffix       []byte          // appendAppSuffix(nil, name, AsteriskID), made on first use
}

// New returns a running simulator. Serve it with Handler and stop it with
// Close.
func New(opts Options) *Sim {
	if opts.User == "" && opts.Password == "" {
		opts.User, opts.Password = "omstil", "omstil"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.AsteriskID == "" {
		opts.AsteriskID = "02:42:ac:11:00:02"
	}
	if opts.RTPHost == "" {
		opts.RTPHost = "127.0.0.1"
	}
	if opts.DefaultSoundLength <= 0 {
		opts.DefaultSoundLength = 2 * time.Second
	}
	// A variable named twice is reported once (channelvars is an object).
	var vars []string
	for _, v := range opts.ChannelVars {
		if !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	opts.ChannelVars = vars
	now := opts.Clock.Now()
	s := &Sim{
		opts:      opts,
		log:       opts.Logger.With("component", "arisim"),
		clock:     opts.Clock,
		closeCh:   make(chan struct{}),
		started:   now,
		idBase:    now.Unix(),
		channels:  map[string]*channel{},
		bridges:   map[string]*bridge{},
		playbacks: map[string]*playback{},
		apps:      map[string]*app{},
		conns:     map[*wsConn]struct{}{},
		endpoints: map[string]EndpointBehavior{},
		gens:      map[*Generator]struct{}{},
		mediaSet:  map[*channel]struct{}{},
	}
	s.authValue = basicAuth(opts.User, opts.Password)
	s.socketHeader = http.Header{"Authorization": {s.authValue}}
	return s
}

// basicAuth is the Authorization header value of http.Request.SetBasicAuth.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Close hangs nothing up but stops timers, media, generators and closes all
// WebSockets and UDP sockets. It is safe to call twice.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closeCh)
	for c := range s.conns {
		c.close()
	}
	for _, ch := range s.channels {
		ch.stopTimers()
		if ch.ext != nil {
			ch.ext.conn.Close()
		}
	}
	for g := range s.gens {
		g.stopLocked()
	}
	s.media.stopLocked()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Stats returns counters since New.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// after schedules f under the simulator lock, unless the sim is closed by
// then.
func (s *Sim) after(d time.Duration, f func()) Timer {
	return s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		f()
	})
}

func (s *Sim) now() time.Time { return s.clock.Now() }

// newUniqueID returns an id shaped like Asterisk's uniqueid ("1764320000.42").
func (s *Sim) newUniqueID() string {
	s.idSeq++
	b := make([]byte, 0, 24)
	b = strconv.AppendInt(b, s.idBase, 10)
	b = append(b, '.')
	return string(strconv.AppendInt(b, int64(s.idSeq), 10))
}

func (s *Sim) nextNameSeq() int {
	s.nameSeq++
	return s.nameSeq
}

// --- events ---------------------------------------------------------------

// emitChannel sends ev to every app subscribed to ch and to subscribeAll apps.
func (s *Sim) emitChannel(ch *channel, ev simEvent) {
	s.emitTo(ch.subs, &ev)
}

func (s *Sim) emitBridge(br *bridge, ev simEvent) {
	s.emitTo(br.subs, &ev)
}

func (s *Sim) emitTo(subs map[string]int, ev *simEvent) {
	// The body is encoded once, when the first app with a socket needs it.
	var body []byte
	for name, n := range subs {
		if a := s.apps[name]; n > 0 && a != nil && a.conn != nil {
			if body == nil {
				body = s.encode(ev)
			}
			s.sendBody(a, body)
		}
	}
	for name, a := range s.apps {
		if a.subscribeAll && a.conn != nil && subs[name] <= 0 {
			if body == nil {
				body = s.encode(ev)
			}
			s.sendBody(a, body)
		}
	}
}

// deliver sends ev to one app's current WebSocket. Asterisk drops events for
// an app that has no WebSocket; so does the simulator.
func (s *Sim) deliver(appName string, ev simEvent) {
	a := s.apps[appName]
	if a == nil || a.conn == nil {
		return
	}
	s.sendBody(a, s.encode(&ev))
}

// encode is ev's JSON object without its closing brace, with the current
// time as timestamp. It is valid until the next encode.
func (s *Sim) encode(ev *simEvent) []byte {
	now := s.now()
	if ms := now.UnixMilli(); ms != s.tsMilli || now.Location() != s.tsLoc || s.tsBuf == nil {
		// Events come in bursts within a millisecond: format once.
		s.tsBuf = appendTime(s.tsBuf[:0], now)
		s.tsMilli, s.tsLoc = ms, now.Location()
	}
	s.evBuf = ev.appendOpen(s.evBuf[:0], s.tsBuf)
	if s.evCheck != nil {
		s.evCheck(*ev, now, s.evBuf)
	}
	return s.evBuf
}

// deliverEvent sends an Event map (EmitEvent, ChannelUserevent) to one
// app's current WebSocket, with a timestamp if it has none.
func (s *Sim) deliverEvent(appName string, ev Event) {
	a := s.apps[appName]
	if a == nil || a.conn == nil {
		return
	}
	if _, ok := ev["timestamp"]; !ok {
		ev["timestamp"] = asteriskTime(s.now())
	}
	body := mustJSON(ev)
	s.sendBody(a, body[:len(body)-1])
}

// sendBody queues the event body (a JSON object without its closing
// brace) for a's socket with the app's "application" and "asterisk_id"
// added at its end, so an event for several apps is encoded once.
func (s *Sim) sendBody(a *app, body []byte) {
	if a.suffix == nil {
		a.suffix = appendAppSuffix(nil, a.name, s.opts.AsteriskID)
	}
	out := make([]byte, len(body), len(body)+len(a.suffix))
	copy(out, body)
	a.conn.enqueue(append(out, a.suffix...))
	s.stats.EventsSent++
}

// appendAppSuffix appends what closes an event for app:
// ,"application":…,"asterisk_id":…}.
func appendAppSuffix(b []byte, appName, asteriskID string) []byte {
	b = append(b, `,"application":`...)
	b = appendString(b, appName)
	b = append(b, `,"asterisk_id":`...)
	b = appendString(b, asteriskID)
	return append(b, '}')
}

// appActive reports whether a WebSocket currently holds the app.
func (s *Sim) appActive(name string) bool {
	a := s.apps[name]
	return a != nil && a.conn != nil
}

func (s *Sim) subscribe(subs map[string]int, appName string) {
	subs[appName]++
}

func (s *Sim) unsubscribe(subs map[string]int, appName string) {
	if subs[appName] <= 1 {
		delete(subs, appName)
		return
	}
	subs[appName]--
}

// --- applications ----------------------------------------------------------

func (s *Sim) applicationLocked(name string) (Application, bool) {
	a, ok := s.apps[name]
	if !ok {
		return Application{}, false
	}
	out := Application{
		Name:             a.name,
		ChannelIDs:       []string{},
		BridgeIDs:        []string{},
		EndpointIDs:      []string{},
		DeviceNames:      []string{},
		EventsAllowed:    []any{},
		EventsDisallowed: []any{},
	}
	for _, ch := range s.sortedChannels() {
		if ch.subs[name] > 0 {
			out.ChannelIDs = append(out.ChannelIDs, ch.id)
		}
	}
	for _, br := range s.sortedBridges() {
		if br.subs[name] > 0 {
			out.BridgeIDs = append(out.BridgeIDs, br.id)
		}
	}
	out.DeviceNames = append(out.DeviceNames, a.deviceNames()...)
	return out, true
}

// appVisible: Asterisk keeps an app registered while a socket holds it or
// while it still has subscriptions (its channels stay in Stasis).
func (s *Sim) appVisible(a *app) bool {
	if a.conn != nil {
		return true
	}
	for _, ch := range s.channels {
		if ch.subs[a.name] > 0 {
			return true
		}
	}
	return false
}

// Applications lists the registered apps, like GET /ari/applications.
func (s *Sim) Applications() []Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.apps))
	for n, a := range s.apps {
		if s.appVisible(a) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]Application, 0, len(names))
	for _, n := range names {
		a, _ := s.applicationLocked(n)
		out = append(out, a)
	}
	return out
}

func (s *Sim) sortedChannels() []*channel {
	out := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (s *Sim) sortedBridges() []*bridge {
	out := make([]*bridge, 0, len(s.bridges))
	for _, b := range s.bridges {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// registerConn makes c the holder of its apps. An app held by another
// socket is taken over; the old socket gets ApplicationReplaced (app_update
// in res/stasis/app.c) and no further events for that app.
func (s *Sim) registerConn(c *wsConn) {
	s.conns[c] = struct{}{}
	for _, name := range c.apps {
		a := s.apps[name]
		if a == nil {
			a = &app{name: name}
			s.apps[name] = a
		}
		if a.conn != nil && a.conn != c {
			s.sendBody(a, s.encode(&simEvent{typ: "ApplicationReplaced"}))
			s.log.Info("app replaced by a new websocket", "app", name)
		}
		a.conn = c
		a.subscribeAll = c.subscribeAll
	}
}

func (s *Sim) unregisterConn(c *wsConn) {
	delete(s.conns, c)
	for _, name := range c.apps {
		if a := s.apps[name]; a != nil && a.conn == c {
			a.conn = nil
			a.subscribeAll = false
			if !s.appVisible(a) {
				delete(s.apps, name)
			}
		}
	}
}

// EmitEvent sends an arbitrary event (for example an unknown type such as
// "CallBroadcast") to the named app, or to every active app when app is "".
// It lets client tests check that unknown events are survived.
func (s *Sim) EmitEvent(appName string, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Type() == "" {
		return errors.New("arisim: event needs a type")
	}
	if appName != "" {
		if !s.appActive(appName) {
			return fmt.Errorf("arisim: app %q has no websocket", appName)
		}
		s.deliverEvent(appName, ev)
		return nil
	}
	for name, a := range s.apps {
		if a.conn != nil {
			s.deliverEvent(name, ev)
		}
	}
	return nil
}

// --- HTTP -----------------------------------------------------------------

// Handler serves the ARI under /ari/ and the control API under /sim/.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routesARI(mux)
	s.routesSubscriptions(mux)
	s.routesSim(mux)
	return mux
}

func (s *Sim) authorized(r *http.Request) bool {
	if h := r.Header["Authorization"]; len(h) > 0 && h[0] == s.authValue {
		return true // what BasicAuth would decode to the credentials, without decoding
	}
	if u, p, ok := r.BasicAuth(); ok {
		return u == s.opts.User && p == s.opts.Password
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		u, p, ok := strings.Cut(k, ":")
		return ok && u == s.opts.User && p == s.opts.Password
	}
	return false
}

func (s *Sim) appActiveLocked(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appActive(name)
}
