package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/internal/ratelog"
	"github.com/omstil/omstil/queue"
)

// repeatEvery is how often a.repeat writes a line that keeps repeating.
const repeatEvery = time.Minute

type callState int

const (
	stFlow      callState = iota // in the call flow (playing, menu)
	stQueued                     // waiting in a queue (an agent may be ringing)
	stConnected                  // talking to an agent
	stCallback                   // released; a callback request keeps its place
	stTransfer                   // handed on; omstil only waits for the end
	stEnding                     // being hung up
)

var stateNames = map[callState]string{
	stFlow: "flow", stQueued: "waiting", stConnected: "connected", stCallback: "callback",
	stTransfer: "transfer", stEnding: "ending",
}

// call is one citizen's call. Its id is the citizen's channel id.
type call struct {
	id     queue.CallID
	ch     ariclient.ChannelID // the citizen's channel; "" while a callback request has none
	number string              // dialled number
	caller string              // caller's number
	org    string
	run    *callflow.Run
	step   callflow.StepID
	state  callState
	since  time.Time

	pb         ariclient.PlaybackID // the flow's playback
	collectSeq int                  // bumps invalidate pending Collect timeouts

	q        queue.QueueID
	joined   time.Time
	prio     int
	audio    bool // waiting audio (MOH or ringing) is on
	ringing  bool // the waiting audio is the ringing indication
	annPb    ariclient.PlaybackID
	released bool // after a callback request: hang up once the confirmation played
	pos      int  // last known queue position

	agent queue.AgentID
	leg   *leg // the agent's side of the conversation
	cbLeg *leg // the callback leg to the citizen
	xfer  *leg // the transfer destination
	// consult is an attended transfer's target while the agent consults;
	// held: the agent put the citizen on hold. onHold: the citizen is out
	// of the bridge hearing music (while held or consult is set).
	consult *leg
	held    bool
	onHold  bool
	bridge  ariclient.BridgeID
	gone    bool
	// lost: Asterisk is ending the call as it shuts down (or restarted
	// meanwhile); the citizen did not hang up.
	lost bool
	// varStep is the flow step stored in OMSTIL_CALL (see setCallVar).
	varStep callflow.StepID
}

type legKind int

const (
	legAgent    legKind = iota // an endpoint device rung for an offer
	legWebRTC                  // an offer to a browser (no channel)
	legMedia                   // the externalMedia channel of a browser conversation
	legCallback                // the citizen dialled back
	legXfer                    // a transfer destination
	legConsult                 // an attended transfer's target while consulted
)

// leg is a channel (or browser offer) omstil created for a call.
type leg struct {
	id       ariclient.ChannelID
	kind     legKind
	call     queue.CallID
	agent    queue.AgentID
	up       bool // entered Stasis (answered)
	done     bool // hung up or cancelled by omstil
	dialStat string
	// web: a consulted browser colleague (legConsult): rung through
	// Options.WebRTC; answered: the colleague picked up and the leg's
	// externalMedia channel is being made (its id is the leg's).
	web      bool
	answered bool
	told     bool // the colleague's page was told the consultation ended
}

type pbKind int

const (
	pbFlow pbKind = iota
	pbAnnounce
	pbRelease
)

type pbRef struct {
	call queue.CallID
	kind pbKind
}

type deadline struct {
	at    time.Time
	call  queue.CallID // a Collect timeout
	seq   int
	agent queue.AgentID       // or a browser page gone too long
	leg   ariclient.ChannelID // or a consulted browser colleague's ring time
}

// config is the loop's copy of RuntimeConfig.
type config struct {
	dialing   map[string]OrgDialing // by organisation, as NumberConfig.Org
	numbers   map[string]NumberConfig
	schedules map[string]callflow.ScheduleLookup
	media     map[queue.QueueID]QueueMedia
	queues    map[queue.QueueID]queue.QueueConfig
	agents    map[queue.AgentID]bool
	devices   map[queue.AgentID]Device
	announce  map[callflow.AnnouncementRef][]string
	pause     map[string]bool
	names     map[queue.AgentID]string
	queueOrg  map[queue.QueueID]string
	agentOrg  map[queue.AgentID]string
}

// Adapter is omstil's Stasis application. Create it with New, start it
// with Run; its other methods are safe to call from any goroutine.
type Adapter struct {
	opt    Options
	cli    *ariclient.Client
	app    string
	log    *slog.Logger
	clock  queue.Clock
	sink   EventSink
	work   *workers
	in     chan func()
	stop   chan struct{} // closed when the loop has returned
	runMu  sync.Mutex
	run    bool
	idBase string
	// repeat writes the lines a failing offer repeats (each offer to an
	// agent that cannot be reached logs one) at most once a minute per
	// agent and line, with a count; safe from any goroutine.
	repeat *ratelog.Limiter

	// ---- owned by the loop goroutine ----
	consultations
	ctx        context.Context // jobs' context
	cancelJobs context.CancelFunc
	eng        *queue.Engine
	cfg        config
	calls      map[queue.CallID]*call
	byChan     map[ariclient.ChannelID]*call
	legs       map[ariclient.ChannelID]*leg
	offers     map[queue.AgentID]*leg
	playbacks  map[ariclient.PlaybackID]pbRef
	devState   map[string]queue.AgentID      // device name -> agent
	agentState map[queue.AgentID]queue.State // from AgentStateChanged
	subbed     map[string]bool
	timers     []deadline
	seq        int
	draining   bool
	pending    []queue.Input
	handling   bool
	cbSaved    map[queue.CallID]bool // callback requests in Options.Callbacks
	// agents' login queues and last saved state (Options.AgentStates)
	loginQueues     map[queue.AgentID][]queue.QueueID
	savedAgents     map[queue.AgentID]SavedAgentState
	restoringAgents bool
	pageGone        map[queue.AgentID]time.Time // browser pages gone: when to pause

	// owned by the event goroutine (onEvent)
	storesRead bool
	startup    time.Time // Asterisk's startup_time at the last connect
}

func (a *Adapter) loop(ctx context.Context) error {
	var (
		t    queue.Timer
		fire <-chan time.Time
		at   time.Time
	)
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		next, ok := a.nextDeadline()
		if !ok || !next.Equal(at) || t == nil {
			if t != nil {
				t.Stop()
				t, fire = nil, nil
			}
			if ok {
				at = next
				t = a.clock.NewTimer(next.Sub(a.clock.Now()))
				fire = t.C()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-a.in:
			f()
		case <-fire:
			t, fire = nil, nil
			a.tick()
		}
	}
}

func (a *Adapter) nextDeadline() (time.Time, bool) {
	next, ok := a.eng.NextDeadline()
	if len(a.timers) > 0 && (!ok || a.timers[0].at.Before(next)) {
		next, ok = a.timers[0].at, true
	}
	return next, ok
}

// tick runs due engine deadlines and Collect timeouts.
func (a *Adapter) tick() {
	now := a.clock.Now()
	a.apply(a.eng.Advance(now))
	for len(a.timers) > 0 && !a.timers[0].at.After(now) {
		d := a.timers[0]
		a.timers = a.timers[1:]
		if d.agent != "" {
			a.pageDeadline(d)
			continue
		}
		if d.leg != "" {
			a.consultRingTimeout(d.leg)
			continue
		}
		c := a.calls[d.call]
		if c != nil && c.collectSeq == d.seq && c.state == stFlow {
			a.next(c, callflow.Timeout{})
		}
	}
}

func (a *Adapter) addTimer(d deadline) {
	i, _ := slices.BinarySearchFunc(a.timers, d, func(x, y deadline) int { return x.at.Compare(y.at) })
	a.timers = slices.Insert(a.timers, i, d)
}

// post hands f to the loop; it gives up when the loop has stopped.
func (a *Adapter) post(f func()) {
	select {
	case a.in <- f:
	case <-a.stop:
	}
}

// do runs f on the loop and waits for it.
func (a *Adapter) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	a.runMu.Lock()
	running := a.run
	a.runMu.Unlock()
	if !running {
		return ErrStopped
	}
	select {
	case a.in <- func() { f(); close(done) }:
	case <-a.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-a.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// doErr runs f on the loop, waits for it and returns its error, or the
// error of getting it onto the loop (ErrStopped, ctx's).
func (a *Adapter) doErr(ctx context.Context, f func() error) error {
	var err error
	if derr := a.do(ctx, func() { err = f() }); derr != nil {
		return derr
	}
	return err
}

// job runs a REST operation on the call's ordered worker. f gets a context
// that ends when the adapter stops; every REST call also has the client's
// timeout.
func (a *Adapter) job(key string, f func(ctx context.Context)) {
	ctx := a.ctx
	a.work.enqueue(key, func() {
		if ctx.Err() != nil {
			return
		}
		f(ctx)
	})
}

func (a *Adapter) newID() string {
	a.seq++
	return a.idBase + "-" + strconv.Itoa(a.seq)
}

func (a *Adapter) now() time.Time { return a.clock.Now() }

// handle feeds the engine and carries out its outputs. Inputs produced
// while outputs are being carried out are queued and fed in order after.
// It returns the outputs of in itself.
func (a *Adapter) handle(in queue.Input) []queue.Output {
	if a.handling {
		a.pending = append(a.pending, in)
		return nil
	}
	a.handling = true
	outs := a.eng.Handle(a.now(), in)
	a.apply(outs)
	for len(a.pending) > 0 {
		p := a.pending[0]
		a.pending = a.pending[1:]
		a.apply(a.eng.Handle(a.now(), p))
	}
	a.handling = false
	return outs
}

func ignored(outs []queue.Output, in queue.Input) (string, bool) {
	for _, o := range outs {
		if ig, ok := o.(queue.Ignored); ok && ig.Input == in {
			return ig.Reason, true
		}
	}
	return "", false
}

func (a *Adapter) callEvent(c *call, kind CallEventKind, detail string) {
	if a.sink == nil {
		return
	}
	ev := CallEvent{At: a.now(), Call: c.id, Kind: kind, Number: c.number, Caller: c.caller, Step: c.step, Queue: c.q, Agent: c.agent, Detail: detail}
	a.sink.CallEvent(ev)
}

// ---- configuration ----

func (a *Adapter) reload(rc RuntimeConfig) []error {
	var errs []error
	cfg := config{
		numbers: map[string]NumberConfig{}, schedules: map[string]callflow.ScheduleLookup{},
		media: map[queue.QueueID]QueueMedia{}, queues: map[queue.QueueID]queue.QueueConfig{},
		agents: map[queue.AgentID]bool{}, devices: map[queue.AgentID]Device{},
		announce: map[callflow.AnnouncementRef][]string{}, names: map[queue.AgentID]string{},
		queueOrg: maps.Clone(rc.QueueOrgs), agentOrg: maps.Clone(rc.AgentOrgs),
	}
	cfg.dialing = cloneDialing(rc.OrgDialing)
	for k, v := range rc.AgentNames {
		cfg.names[k] = v
	}
	spelt := map[string][]string{}
	for k, v := range rc.Numbers {
		c := dialledNumber(k)
		spelt[c] = append(spelt[c], k)
		cfg.numbers[c] = v
	}
	for c, ks := range spelt {
		if len(ks) > 1 {
			// Which one wins would depend on map order: route neither.
			slices.Sort(ks)
			delete(cfg.numbers, c)
			errs = append(errs, fmt.Errorf("ari: numbers %q are the same number %s; none of them is routed", ks, c))
		}
	}
	for k, v := range rc.Schedules {
		cfg.schedules[k] = v
	}
	for k, v := range rc.QueueMedia {
		cfg.media[k] = v
	}
	for k, v := range rc.Devices {
		cfg.devices[k] = v
	}
	for k, v := range rc.Announcements {
		cfg.announce[k] = slices.Clone(v)
	}
	if len(rc.PauseReasons) > 0 {
		cfg.pause = map[string]bool{}
		for _, r := range rc.PauseReasons {
			cfg.pause[r] = true
		}
	}
	for _, q := range rc.Queues {
		if err := a.eng.SetQueue(q); err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.queues[q.ID] = q
	}
	for id := range a.cfg.queues {
		if _, ok := cfg.queues[id]; !ok {
			a.eng.RemoveQueue(id)
		}
	}
	for _, ag := range rc.Agents {
		if d := cfg.devices[ag.ID]; d.Kind == DeviceEndpoint && d.Dial != "" && !dialAllowed(cfg, ag.ID, d.Dial) {
			// not loaded at all: an agent offered calls it can never take
			// would be offered them again and again.
			errs = append(errs, fmt.Errorf("ari: agent %s not loaded: its dial string is outside its organisation's dial limits", ag.ID))
			continue
		}
		if err := a.eng.SetAgent(ag); err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.agents[ag.ID] = true
	}
	for id := range a.cfg.agents {
		if !cfg.agents[id] {
			a.eng.RemoveAgent(id)
		}
	}
	a.cfg = cfg
	a.devState = map[string]queue.AgentID{}
	for ag, d := range cfg.devices {
		name := deviceStateName(d)
		if name == "" || !cfg.agents[ag] {
			continue
		}
		a.devState[name] = ag
		// Subscriptions need the app registered (its socket connected);
		// resync subscribes every device on each (re)connect.
		if !a.subbed[name] && a.cli.Connected() {
			a.subbed[name] = true
			a.subscribeDevice(name)
		}
	}
	// Configuration changes take effect with the next engine step.
	a.apply(a.eng.Advance(a.now()))
	return errs
}

func deviceStateName(d Device) string {
	if d.Kind != DeviceEndpoint {
		return ""
	}
	if d.DeviceState != "" {
		return d.DeviceState
	}
	if len(d.Dial) > 6 && d.Dial[:6] == "PJSIP/" && !containsAny(d.Dial, "@&") {
		return d.Dial
	}
	return ""
}

func containsAny(s, chars string) bool {
	for _, r := range chars {
		for _, x := range s {
			if x == r {
				return true
			}
		}
	}
	return false
}

func (a *Adapter) subscribeDevice(name string) {
	a.job("app", func(ctx context.Context) {
		if _, err := a.cli.Subscribe(ctx, a.app, "deviceState:"+name); err != nil {
			a.log.Warn("ari: subscribe to device state failed; busy state outside omstil is not seen", "device", name, "err", err)
			a.post(func() { delete(a.subbed, name) })
			return
		}
		// the state as it is now: a change while the socket was down
		// (a leg hung up during a cut) reached no one, and the agent
		// would stay busy in omstil's view until the next change.
		if ds, err := a.cli.GetDeviceState(ctx, name); err == nil {
			a.post(func() { a.deviceState(name, ds.State) })
		}
	})
}

// ---- API for the HTTP layer and the softphone ----

func (a *Adapter) setAgentState(agent queue.AgentID, state queue.State, reason string, queues []queue.QueueID) error {
	if !a.cfg.agents[agent] {
		return ErrUnknownAgent
	}
	for _, q := range queues {
		if !a.queueIn(q, a.cfg.agentOrg[agent]) {
			return refuse(RefusedUnknown, "unknown queue %s", q)
		}
	}
	if queues != nil && state != queue.LoggedOut {
		a.loginQueues[agent] = slices.Clone(queues)
	}
	snap := queue.AgentSnapshot{ID: agent, State: a.agentState[agent]}
	var in queue.Input
	switch state {
	case queue.Ready:
		switch {
		case snap.State == queue.LoggedOut:
			in = queue.AgentLogin{Agent: agent, Queues: queues}
		case queues != nil:
			if err := a.feed(queue.AgentLogin{Agent: agent, Queues: queues}); err != nil {
				return err
			}
			if snap.State == queue.Ready {
				return nil
			}
			in = queue.AgentReady{Agent: agent}
		case snap.State == queue.Ready:
			return nil
		default:
			in = queue.AgentReady{Agent: agent}
		}
	case queue.Paused:
		if a.cfg.pause != nil && !a.cfg.pause[reason] {
			return ErrBadReason
		}
		if snap.State == queue.LoggedOut {
			in = queue.AgentLogin{Agent: agent, Queues: queues, PauseReason: reason}
		} else {
			in = queue.AgentPause{Agent: agent, Reason: reason}
		}
	case queue.LoggedOut:
		if snap.State == queue.LoggedOut {
			return nil
		}
		in = queue.AgentLogout{Agent: agent}
	default:
		return refuse(RefusedState, "state %s cannot be chosen", state)
	}
	return a.feed(in)
}

func (a *Adapter) feed(in queue.Input) error {
	outs := a.handle(in)
	if why, ok := ignored(outs, in); ok {
		return refuse(RefusedState, "%s", why)
	}
	return nil
}

func (a *Adapter) ringingFor(id queue.CallID) bool {
	for _, l := range a.offers {
		if l.call == id {
			return true
		}
	}
	return false
}

// serve runs the event stream and the loop until ctx is done, then lets
// the jobs handed out finish (Run).
func (a *Adapter) serve(ctx context.Context) error {
	// The event socket outlives ctx until the jobs handed out are done:
	// with REST on the socket (ARI's RESTRequest) they need it, and one of
	// them may be storing a caller's place (OMSTIL_CALL) for the next
	// omstil.
	evCtx, cancelEv := context.WithCancel(context.Background())
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		err := a.cli.Run(evCtx, a.onEvent)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ariclient.ErrClosed) {
			a.log.Warn("ari: event stream ended", "err", err)
		}
	}()
	err := a.loop(ctx)
	close(a.stop)
	// Jobs already handed out finish (each has its REST timeout); results
	// posted to the stopped loop are dropped. Then the socket closes.
	a.work.close()
	cancelEv()
	<-evDone
	a.cancelJobs()
	return err
}

// liveCalls lists the calls in progress in no particular order (Calls).
func (a *Adapter) liveCalls() []LiveCall {
	var out []LiveCall
	snap := a.eng.Snapshot()
	pos := map[queue.CallID]int{}
	for _, q := range snap.Queues {
		for _, w := range q.Waiting {
			pos[w.Call] = w.Position
		}
	}
	now := a.now()
	for _, c := range a.calls {
		lc := LiveCall{
			Call: c.id, Number: c.number, Caller: c.caller, Step: c.step, State: stateNames[c.state],
			Queue: c.q, Position: pos[c.id], Agent: c.agent, Since: c.since,
		}
		if c.state == stQueued || c.state == stCallback {
			lc.Waited = now.Sub(c.joined)
		}
		if c.state == stQueued && a.ringingFor(c.id) {
			lc.State = "ringing"
		}
		out = append(out, lc)
	}
	return out
}
