package ari_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// asterisk is what a test needs from the PBX: the simulator, or a real
// Asterisk reached through OMSTIL_TEST_ARI_URL whose dialplan is
// deploy/asterisk/. Citizens are channels in the omstil app; agents are
// dial strings.
type asterisk interface {
	url() (string, string, string)
	// placeCall makes a citizen call number from caller; it returns the
	// id of the citizen's channel in the omstil app.
	placeCall(t *testing.T, number, caller string) string
	// hangupCitizen: the citizen hangs up.
	hangupCitizen(t *testing.T, id string)
	// press: the citizen presses keys.
	press(t *testing.T, id, digits string)
	// agent returns the dial string of a test agent that answers at once
	// ("answer"), rings 2 s first ("ring"), is busy ("busy"), never answers
	// ("noanswer") or is congested ("congestion").
	agent(kind string, n int) string
	// audio returns a tone checker, or nil when the PBX cannot measure audio.
	audio() audioChecker
	// citizenIDs lists the citizen channels in the app, for restart checks.
	close()
}

type audioChecker interface {
	inject(t *testing.T, channel string, hz int)
	level(t *testing.T, channel string, hz int) float64
}

func newAsterisk(t *testing.T) (pbx asterisk) {
	defer func() { t.Cleanup(pbx.close) }()
	if u := os.Getenv("OMSTIL_TEST_ARI_URL"); u != "" {
		t.Logf("running against the Asterisk at OMSTIL_TEST_ARI_URL")
		return newRealAsterisk(t, u, os.Getenv("OMSTIL_TEST_ARI_USER"), os.Getenv("OMSTIL_TEST_ARI_PASSWORD"))
	}
	return newSimAsterisk(t)
}

var logOnce sync.Once

// ---- simulator ----

type simAsterisk struct {
	sim *arisim.Sim
	srv *httptest.Server
}

// simOptions are the simulator's options for the tests: short sounds, and
// OMSTIL_CALL in every channel snapshot as deploy/asterisk/ari.conf's
// "channelvars = OMSTIL_CALL" makes Asterisk do.
func simOptions() arisim.Options {
	return arisim.Options{DefaultSoundLength: 40 * time.Millisecond, ChannelVars: []string{"OMSTIL_CALL"}}
}

func newSimAsterisk(t testing.TB) *simAsterisk { return newSimAsteriskWith(t, simOptions()) }

// newSimAsteriskWith runs the simulator with opts.
func newSimAsteriskWith(t testing.TB, opts arisim.Options) *simAsterisk {
	if t != nil {
		logOnce.Do(func() { t.Log("OMSTIL_TEST_ARI_URL not set: running against the ARI simulator") })
	}
	s := &simAsterisk{sim: arisim.New(opts)}
	h := s.sim.Handler()
	s.srv = httptest.NewServer(h)
	return s
}

func (s *simAsterisk) url() (string, string, string) { return s.srv.URL + "/ari", "omstil", "omstil" }

func (s *simAsterisk) placeCall(t *testing.T, number, caller string) string {
	t.Helper()
	ch, err := s.sim.PlaceCall(arisim.Call{Number: number, CallerID: caller})
	if err != nil {
		t.Fatalf("place call: %v", err)
	}
	return ch.ID
}

func (s *simAsterisk) hangupCitizen(t *testing.T, id string) {
	t.Helper()
	if err := s.sim.HangupFarEnd(id, 16); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}

func (s *simAsterisk) press(t *testing.T, id, digits string) {
	t.Helper()
	if err := s.sim.PressDTMF(id, digits); err != nil {
		t.Fatalf("dtmf: %v", err)
	}
}

func (s *simAsterisk) agent(kind string, n int) string { return agentDial(kind, n) }

func agentDial(kind string, n int) string {
	first := map[string]int{"answer": 1, "ring": 2, "busy": 3, "noanswer": 4, "congestion": 5}[kind]
	return fmt.Sprintf("Local/%d%02d@omstil-test-agents", first, n)
}

func (s *simAsterisk) audio() audioChecker { return s }

func (s *simAsterisk) inject(t *testing.T, ch string, hz int) {
	t.Helper()
	if err := s.sim.InjectTone(ch, fmt.Sprint(hz)); err != nil {
		t.Fatalf("inject tone: %v", err)
	}
}

func (s *simAsterisk) level(t *testing.T, ch string, hz int) float64 {
	t.Helper()
	a, err := s.sim.Heard(ch)
	if err != nil {
		return 0
	}
	return a.ToneLevel(float64(hz))
}

func (s *simAsterisk) close() {
	s.sim.Close()
	s.srv.Close()
}

// ---- a real Asterisk ----

// realAsterisk places citizens with originate Local/<number>@omstil-inbound
// into the test's own app; the ;2 half runs Stasis(omstil,<number>) and is
// the citizen omstil sees. It remembers every call it placed and hangs
// them up in close(): the next test's adapter would adopt them otherwise.
type realAsterisk struct {
	t             *testing.T
	u, user, pass string
	*farEnd

	n      int
	placed []string // citizen (;2) ids
}

// farEnd is the tests' own ARI connection (app omstil-test), one for the
// whole test binary: a new socket per test registered the app while the
// previous test's socket was still being closed, and Asterisk 22.10.1
// then loses the app (docs/ari-client.md, "The app check"), so a call
// placed at once never entered it.
type farEnd struct {
	cli *ariclient.Client

	mu      sync.Mutex
	entered map[ariclient.ChannelID]chan struct{} // closed on the ;1 half's StasisStart
}

var (
	farOnce   sync.Once
	theFarEnd *farEnd
	farErr    error
)

// sharedFarEnd connects the far end on first use and waits until
// Asterisk delivers its app's events.
func sharedFarEnd(u, user, pass string) (*farEnd, error) {
	farOnce.Do(func() {
		cli, err := ariclient.New(ariclient.Config{URL: u, User: user, Password: pass, Apps: []string{"omstil-test"}})
		if err != nil {
			farErr = err
			return
		}
		f := &farEnd{cli: cli, entered: map[ariclient.ChannelID]chan struct{}{}}
		go cli.Run(context.Background(), func(ctx context.Context, ev ariclient.Event) {
			if ev, ok := ev.(*ariclient.StasisStart); ok {
				f.mu.Lock()
				if ch, ok := f.entered[ev.Channel.ID]; ok {
					close(ch)
					delete(f.entered, ev.Channel.ID)
				}
				f.mu.Unlock()
			}
		})
		deadline := time.Now().Add(10 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := cli.CheckApps(ctx)
			cancel()
			if err == nil && cli.Connected() {
				break
			}
			if time.Now().After(deadline) {
				farErr = fmt.Errorf("omstil-test app did not connect: %v", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		theFarEnd = f
	})
	return theFarEnd, farErr
}

func newRealAsterisk(t *testing.T, u, user, pass string) *realAsterisk {
	f, err := sharedFarEnd(u, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return &realAsterisk{t: t, u: u, user: user, pass: pass, farEnd: f}
}

func (r *realAsterisk) url() (string, string, string) { return r.u, r.user, r.pass }

func (r *realAsterisk) placeCall(t *testing.T, number, caller string) string {
	t.Helper()
	r.mu.Lock()
	r.n++
	id := fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), r.n)
	r.placed = append(r.placed, id+"-2")
	// registered before the originate, so that the StasisStart cannot
	// come first.
	r.entered[ariclient.ChannelID(id+"-1")] = make(chan struct{})
	r.mu.Unlock()
	_, err := r.cli.Originate(context.Background(), ariclient.OriginateRequest{
		Endpoint: "Local/" + number + "@omstil-inbound", App: "omstil-test", CallerID: caller,
		ChannelID: ariclient.ChannelID(id + "-1"), OtherChannelID: ariclient.ChannelID(id + "-2"),
	})
	if err != nil {
		t.Fatalf("originate citizen: %v", err)
	}
	return id + "-2"
}

func (r *realAsterisk) far(id string) ariclient.ChannelID {
	return ariclient.ChannelID(id[:len(id)-2] + "-1")
}

func (r *realAsterisk) hangupCitizen(t *testing.T, id string) {
	if err := r.cli.Hangup(context.Background(), r.far(id), ""); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}

// press sends the keys from the citizen's ;1 half, which enters the test
// app only once omstil answered ;2: before that, Asterisk answers 409
// "Channel not in Stasis application". So it waits for ;1's StasisStart.
func (r *realAsterisk) press(t *testing.T, id, digits string) {
	t.Helper()
	far := r.far(id)
	r.mu.Lock()
	entered, waiting := r.entered[far]
	r.mu.Unlock()
	if waiting {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("dtmf: the citizen's %s never entered the test app", far)
		}
	}
	if err := r.cli.SendDTMF(context.Background(), far, digits, ariclient.DTMFOptions{}); err != nil {
		t.Fatalf("dtmf: %v", err)
	}
}

func (r *realAsterisk) agent(kind string, n int) string { return agentDial(kind, n) }

// audio: measuring audio on a real Asterisk needs a snoop channel and a
// recording; the tone check runs on the simulator only.
func (r *realAsterisk) audio() audioChecker { return nil }

// close hangs up every call the test placed (hanging up ;1 takes ;2 with
// it; ;2 as well in case ;1 is already gone; 404 is fine) and what the
// test's adapters left (their legs and bridges, ids "omstil-…": agents'
// legs of adopted conversations stay up when the adapter stops, and the
// next test's adapter, whose ids start the same under the shifted clock,
// would meet them), then stops the test app's client.
func (r *realAsterisk) close() {
	r.mu.Lock()
	placed := r.placed
	r.placed = nil
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hangup := func(ch ariclient.ChannelID) {
		if err := r.cli.Hangup(ctx, ch, ""); err != nil && !ariclient.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "realAsterisk: hang up %s: %v\n", ch, err)
		}
	}
	for _, id := range placed {
		hangup(r.far(id))
		hangup(ariclient.ChannelID(id))
	}
	if chans, err := r.cli.ListChannels(ctx); err == nil {
		for _, ch := range chans {
			if strings.HasPrefix(string(ch.ID), "omstil-") {
				hangup(ch.ID)
			}
		}
	}
	if bs, err := r.cli.ListBridges(ctx); err == nil {
		for _, b := range bs {
			if strings.HasPrefix(string(b.ID), "omstil-") {
				if err := r.cli.DestroyBridge(ctx, b.ID); err != nil && !ariclient.IsNotFound(err) {
					fmt.Fprintf(os.Stderr, "realAsterisk: destroy bridge %s: %v\n", b.ID, err)
				}
			}
		}
	}
	r.waitGone(ctx, placed)
	// the far end's connection stays for the next test
}

// waitGone waits until Asterisk no longer lists the test's calls (both
// halves of each placed citizen), omstil's legs or bridges: a hangup is
// answered before the channel is gone, and the next test's adapter
// adopted a citizen still being hung up as a caller waiting ahead of its
// own (TestCallbackKeepsPlace: "resync adopted calls waiting=1", then no
// callback at position 1). What is still there after ctx fails the test.
func (r *realAsterisk) waitGone(ctx context.Context, placed []string) {
	mine := map[ariclient.ChannelID]bool{}
	for _, id := range placed {
		mine[ariclient.ChannelID(id)], mine[r.far(id)] = true, true
	}
	var left []string
	for {
		left = left[:0]
		chans, err := r.cli.ListChannels(ctx)
		if err == nil {
			for _, ch := range chans {
				if mine[ch.ID] || strings.HasPrefix(string(ch.ID), "omstil-") {
					left = append(left, "channel "+string(ch.ID))
				}
			}
		}
		bs, err2 := r.cli.ListBridges(ctx)
		if err2 == nil {
			for _, b := range bs {
				if strings.HasPrefix(string(b.ID), "omstil-") {
					left = append(left, "bridge "+string(b.ID))
				}
			}
		}
		if err == nil && err2 == nil && len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			r.t.Errorf("left behind in Asterisk after the test: %v (list: %v, %v)", left, err, err2)
			return
		case <-time.After(20 * time.Millisecond): // Asterisk hangs up on its own threads
		}
	}
}

// ---- the adapter under test ----

// shiftedClock is real time moved to a chosen moment, so that opening hours
// can be tested with real timers.
type shiftedClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newShiftedClock(at time.Time) *shiftedClock { return &shiftedClock{offset: time.Until(at)} }

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// advance moves the clock on by d (timers already armed keep their real
// duration; use it between adapters, e.g. across a restart).
func (c *shiftedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func (c *shiftedClock) NewTimer(d time.Duration) queue.Timer { return queue.SystemClock{}.NewTimer(d) }

// sink records the call-event log.
type sink struct {
	mu    sync.Mutex
	outs  []queue.Output
	calls []ari.CallEvent
}

func (s *sink) EngineOutput(o queue.Output) {
	s.mu.Lock()
	s.outs = append(s.outs, o)
	s.mu.Unlock()
}

func (s *sink) CallEvent(ev ari.CallEvent) {
	s.mu.Lock()
	s.calls = append(s.calls, ev)
	s.mu.Unlock()
}

func (s *sink) outputs() []queue.Output {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]queue.Output(nil), s.outs...)
}

func (s *sink) events() []ari.CallEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ari.CallEvent(nil), s.calls...)
}

// find returns the outputs of type T that match.
func find[T queue.Output](s *sink, match func(T) bool) []T {
	var out []T
	for _, o := range s.outputs() {
		if x, ok := o.(T); ok && (match == nil || match(x)) {
			out = append(out, x)
		}
	}
	return out
}

type env struct {
	t      *testing.T
	pbx    asterisk
	ad     *ari.Adapter
	cli    *ariclient.Client
	sink   *sink
	clock  queue.Clock
	cancel context.CancelFunc
	done   chan error
}

// start runs an adapter against pbx with cfg.
func start(t *testing.T, pbx asterisk, clock queue.Clock, cfg ari.RuntimeConfig) *env {
	t.Helper()
	return startWith(t, pbx, clock, cfg, nil)
}

// startWith is start with a hook to change the adapter's options.
func startWith(t *testing.T, pbx asterisk, clock queue.Clock, cfg ari.RuntimeConfig, mod func(*ari.Options)) *env {
	t.Helper()
	u, user, pass := pbx.url()
	cli, err := ariclient.New(ariclient.Config{URL: u, User: user, Password: pass, Apps: []string{"omstil"},
		Logger: slog.New(slog.DiscardHandler), BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		RESTOverWebSocket: testREST(t)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pbx: pbx, cli: cli, sink: &sink{}, clock: clock, done: make(chan error, 1)}
	level := slog.LevelWarn
	if os.Getenv("OMSTIL_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	opt := ari.Options{
		Client: cli, Clock: clock, Events: e.sink,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		CallbackEndpoint: "Local/{number}@omstil-test-agents",
	}
	if mod != nil {
		mod(&opt)
	}
	e.ad, err = ari.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	// The configuration before Run, as cmd/omstil does: the first resync
	// (adopted calls, saved callbacks) needs the queues. Loaded after Run,
	// a saved callback met an empty configuration when the socket was
	// faster and was dropped (TestSavedCallbackForGoneQueue, under load).
	if err := e.ad.Reload(context.Background(), cfg); err != nil {
		t.Fatalf("reload: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.ad.Run(ctx) }()
	// the app is registered once the socket is up.
	e.eventually("the event socket connects", func() bool { return cli.Connected() })
	// Connected is not enough on a real Asterisk: a socket opened while the
	// previous test's is still closing can lose the app (see
	// docs/ari-client.md, "The app check"); a call placed then never
	// reaches omstil. The client repairs that on its own within a second
	// or so; the test waits until the app's events do arrive.
	e.eventually("Asterisk delivers the app's events", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return cli.CheckApps(ctx) == nil
	})
	t.Cleanup(e.stop)
	return e
}

// stop ends the adapter and its client; the calls stay in Asterisk.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	err := <-e.done
	e.cancel = nil
	e.cli.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		e.t.Errorf("Run: %v", err)
	}
}

// eventually polls cond until it holds; only for conditions that depend on
// network I/O between the adapter and the PBX.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) call(id string) (ari.LiveCall, bool) {
	for _, c := range e.ad.Calls() {
		if string(c.Call) == id {
			return c, true
		}
	}
	return ari.LiveCall{}, false
}

func (e *env) ready(agent string) {
	e.t.Helper()
	if err := e.ad.SetAgentState(context.Background(), queue.AgentID(agent), queue.Ready, "", nil); err != nil {
		e.t.Fatalf("agent %s ready: %v", agent, err)
	}
}

func (e *env) steps(call string) []callflow.StepID {
	var out []callflow.StepID
	for _, ev := range e.sink.events() {
		if string(ev.Call) == call && ev.Kind == ari.CallStep {
			out = append(out, ev.Step)
		}
	}
	return out
}

// ---- configuration ----

func weekdays(from, to string) callflow.Week {
	r := []callflow.Range{{From: from, To: to}}
	return callflow.Week{Monday: r, Tuesday: r, Wednesday: r, Thursday: r, Friday: r}
}

// testFlow: opening hours 08–16 on weekdays with public holidays; when open
// a menu (1 → queue q1, 2 → queue q2), closed and holiday messages.
func testFlow() *callflow.Flow {
	return &callflow.Flow{
		Name: "test", Start: "åbent",
		Steps: []callflow.Step{
			{ID: "åbent", Kind: callflow.KindSchedule, Schedule: &callflow.ScheduleStep{Schedule: "tider", Open: "menu", Closed: "lukket", Holiday: "helligdag"}},
			{ID: "menu", Kind: callflow.KindMenu, Menu: &callflow.MenuStep{Announcement: "menu", Options: map[string]callflow.StepID{"1": "kø1", "2": "kø2"}, TimeoutSeconds: 5}},
			{ID: "kø1", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: "q1", NoAgents: "optaget", Full: "optaget", Timeout: "optaget"}},
			{ID: "kø2", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: "q2", NoAgents: "optaget"}},
			{ID: "optaget", Kind: callflow.KindAnnouncement, Announcement: &callflow.AnnouncementStep{Announcement: "optaget", Next: "slut"}},
			{ID: "lukket", Kind: callflow.KindAnnouncement, Announcement: &callflow.AnnouncementStep{Announcement: "lukket", Next: "slut"}},
			{ID: "helligdag", Kind: callflow.KindAnnouncement, Announcement: &callflow.AnnouncementStep{Announcement: "helligdag", Next: "slut"}},
			{ID: "slut", Kind: callflow.KindHangup},
		},
	}
}

// direct: straight into q1.
func directFlow() *callflow.Flow {
	return &callflow.Flow{Name: "direct", Start: "kø1", Steps: []callflow.Step{
		{ID: "kø1", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: "q1", Timeout: "optaget", Full: "optaget"}},
		{ID: "optaget", Kind: callflow.KindAnnouncement, Announcement: &callflow.AnnouncementStep{Announcement: "optaget", Next: "slut"}},
		{ID: "slut", Kind: callflow.KindHangup},
	}}
}

type agentSpec struct {
	id, dial string
	queues   []queue.QueueID
}

func config(queues []queue.QueueConfig, agents ...agentSpec) ari.RuntimeConfig {
	rc := ari.RuntimeConfig{
		Numbers: map[string]ari.NumberConfig{
			"70101010": {Flow: testFlow(), Org: "kommune"},
			"70102020": {Flow: directFlow(), Org: "kommune"},
		},
		Schedules: map[string]callflow.ScheduleLookup{"kommune": callflow.Schedules{
			"tider": {Weekly: weekdays("08:00", "16:00"), PublicHolidays: true},
		}},
		Queues:    queues,
		Devices:   map[queue.AgentID]ari.Device{},
		QueueOrgs: map[queue.QueueID]string{},
		AgentOrgs: map[queue.AgentID]string{},
		// the test organisation dials numbers through the installation's
		// trunk (Options.CallbackEndpoint), to its PJSIP desk phones and its test
		// agents' context.
		OrgDialing: map[string]ari.OrgDialing{"kommune": {Policy: callflow.DialPolicy{InstallationTrunk: true, Endpoints: []string{"PJSIP/*"}, LocalContexts: []string{"omstil-test-agents"}}}},
		Announcements: map[callflow.AnnouncementRef][]string{
			"menu": {"sound:omstil-menu"}, "optaget": {"sound:omstil-busy"},
			"lukket": {"sound:omstil-closed"}, "helligdag": {"sound:omstil-holiday"},
		},
	}
	for _, q := range queues {
		rc.QueueOrgs[q.ID] = "kommune"
	}
	for _, a := range agents {
		rc.AgentOrgs[queue.AgentID(a.id)] = "kommune"
		var ms []queue.Membership
		for _, q := range a.queues {
			ms = append(ms, queue.Membership{Queue: q})
		}
		rc.Agents = append(rc.Agents, queue.AgentConfig{ID: queue.AgentID(a.id), Queues: ms})
		rc.Devices[queue.AgentID(a.id)] = ari.Device{Kind: ari.DeviceEndpoint, Dial: a.dial}
	}
	return rc
}

var (
	mondayMorning = time.Date(2026, 3, 2, 10, 0, 0, 0, callflow.Location())
	mondayEvening = time.Date(2026, 3, 2, 20, 0, 0, 0, callflow.Location())
	christmasDay  = time.Date(2026, 12, 25, 10, 0, 0, 0, callflow.Location())
)

// testREST is how the adapter tests' clients send REST calls:
// OMSTIL_TEST_ARI_REST=websocket (on the event socket) or auto; HTTP by
// default.
func testREST(tb testing.TB) ariclient.RESTTransport {
	v := os.Getenv("OMSTIL_TEST_ARI_REST")
	if v == "" {
		return ariclient.RESTHTTP
	}
	t, err := ariclient.ParseRESTTransport(v)
	if err != nil {
		tb.Fatalf("OMSTIL_TEST_ARI_REST: %v", err)
	}
	return t
}
