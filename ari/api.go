package ari

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/internal/ratelog"
	"github.com/omstil/omstil/queue"
)

// This file is the adapter's public API: everything the composition root,
// the HTTP layer and the softphone call. Each method hops onto the loop
// goroutine (a.do, a.doErr, a.onConnected, a.post) and calls an
// unexported method that lives with its responsibility.

// New returns an adapter; it does not contact Asterisk until Run.
func New(opt Options) (*Adapter, error) {
	if opt.Client == nil {
		return nil, errors.New("ari: Options.Client is nil")
	}
	if opt.App == "" {
		opt.App = "omstil"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Clock == nil {
		opt.Clock = queue.SystemClock{}
	}
	if len(opt.NotInService) == 0 {
		opt.NotInService = slices.Clone(defaultNotInService)
	}
	if len(opt.CallbackConfirm) == 0 {
		opt.CallbackConfirm = slices.Clone(defaultCallbackConfirm)
	}
	if opt.PageGone == 0 {
		opt.PageGone = pageGoneOpt
	}
	if opt.ConsultRing <= 0 {
		opt.ConsultRing = 30 * time.Second
	}
	if opt.RingSlack <= 0 {
		opt.RingSlack = 5 * time.Second
	}
	a := &Adapter{
		opt: opt, cli: opt.Client, app: opt.App, log: opt.Logger.With("component", "ari"),
		clock: opt.Clock, sink: opt.Events, work: newWorkers(),
		in: make(chan func(), 4096), stop: make(chan struct{}),
		// Unique per adapter: the start time (wall clock, not opt.Clock,
		// which tests fix) and a random part, so that two processes, or a
		// test's adapter and the one before it, never name a bridge or a
		// channel alike in the same Asterisk.
		idBase: "omstil-" + strconv.FormatInt(time.Now().UnixMilli(), 36) + strconv.FormatUint(uint64(rand.Uint32()), 36),
		eng:    queue.New(queue.Options{Location: opt.Location}),
		calls:  map[queue.CallID]*call{}, byChan: map[ariclient.ChannelID]*call{},
		legs: map[ariclient.ChannelID]*leg{}, offers: map[queue.AgentID]*leg{},
		playbacks: map[ariclient.PlaybackID]pbRef{}, devState: map[string]queue.AgentID{},
		subbed: map[string]bool{}, agentState: map[queue.AgentID]queue.State{},
		cbSaved: map[queue.CallID]bool{}, loginQueues: map[queue.AgentID][]queue.QueueID{},
		savedAgents: map[queue.AgentID]SavedAgentState{}, pageGone: map[queue.AgentID]time.Time{},
	}
	a.repeat = ratelog.New(a.log, repeatEvery, a.clock.Now)
	a.consultations = consultations{a: a, consulted: map[queue.AgentID]*leg{}}
	a.ctx, a.cancelJobs = context.WithCancel(context.Background())
	a.cfg = config{numbers: map[string]NumberConfig{}, queues: map[queue.QueueID]queue.QueueConfig{}, agents: map[queue.AgentID]bool{}}
	return a, nil
}

// Run connects to Asterisk and handles calls until ctx is done. It returns
// ctx's error. Calls stay in Asterisk's Stasis app when it returns; a new
// adapter adopts them.
func (a *Adapter) Run(ctx context.Context) error {
	a.runMu.Lock()
	if a.run {
		a.runMu.Unlock()
		return errors.New("ari: Run called twice")
	}
	a.run = true
	a.runMu.Unlock()
	return a.serve(ctx)
}

// Drain stops taking new calls: calls that arrive from now on stay
// untouched in the Stasis app for the next omstil to adopt. Nothing is hung
// up.
func (a *Adapter) Drain(ctx context.Context) error {
	return a.do(ctx, func() { a.draining = true })
}

// Reload replaces the runtime configuration. Calls in progress keep the
// flow they started in; queue and agent changes apply at once.
func (a *Adapter) Reload(ctx context.Context, rc RuntimeConfig) error {
	var errs []error
	a.runMu.Lock()
	if !a.run {
		// before Run: nothing else touches the loop's state yet.
		defer a.runMu.Unlock()
		return errors.Join(a.reload(rc)...)
	}
	a.runMu.Unlock()
	err := a.do(ctx, func() { errs = a.reload(rc) })
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// SetAgentState logs an agent in (ready or paused) or out. queues limits
// the queues the agent logs in to (nil: all its queues). Allowed states are
// queue.Ready, queue.Paused (reason required when the list is set) and
// queue.LoggedOut.
func (a *Adapter) SetAgentState(ctx context.Context, agent queue.AgentID, state queue.State, reason string, queues []queue.QueueID) error {
	return a.doErr(ctx, func() error { return a.setAgentState(agent, state, reason, queues) })
}

// PageOnline tells the adapter whether a browser agent's page is connected
// (softphone.CallControl.PageOnline). When the page of a webrtc agent has
// been gone for Options.PageGone and the agent is ready, the agent is
// paused with reason PageClosedReason so no call rings into an empty room;
// a call in progress is not touched (the pause comes when the agent would
// be ready again). A page that comes back in time changes nothing; an agent
// paused this way stays paused until it chooses ready. Safe from any
// goroutine; it does not wait for the loop's answer.
func (a *Adapter) PageOnline(agent queue.AgentID, online bool) {
	a.runMu.Lock()
	running := a.run
	a.runMu.Unlock()
	if !running {
		return
	}
	a.post(func() { a.pageOnline(agent, online) })
}

// Snapshot returns the engine's state (zero when the adapter is not
// running).
func (a *Adapter) Snapshot() queue.Snapshot {
	var s queue.Snapshot
	_ = a.do(context.Background(), func() { s = a.eng.Snapshot() })
	return s
}

// Calls returns the calls in progress, oldest first.
func (a *Adapter) Calls() []LiveCall {
	var out []LiveCall
	_ = a.do(context.Background(), func() { out = a.liveCalls() })
	slices.SortFunc(out, func(x, y LiveCall) int {
		return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.Call, y.Call))
	})
	return out
}

// Answer: the agent picked up call in the browser: an offered call, or a
// colleague's consultation.
func (a *Adapter) Answer(ctx context.Context, agent queue.AgentID, call queue.CallID) error {
	return a.doErr(ctx, func() error { return a.answerInBrowser(agent, call) })
}

// Decline: the agent rejected a ringing call (or a colleague's
// consultation) in the browser.
func (a *Adapter) Decline(ctx context.Context, agent queue.AgentID, call queue.CallID) error {
	return a.doErr(ctx, func() error { return a.declineInBrowser(agent, call) })
}

// Hangup ends the agent's conversation (the agent hung up), or, for a
// consulted browser colleague, the consultation: the citizen is back with
// the agent who consulted.
func (a *Adapter) Hangup(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.doErr(ctx, func() error { return a.hangupByAgent(agent, id) })
}

// Hold puts the citizen on hold (the agent's hold button) or back. On
// hold the citizen leaves the conversation's bridge and hears the queue's
// music on hold on its own channel; the agent, alone in the bridge, hears
// silence and the citizen does not hear the agent. Off hold the music
// stops and the citizen is back in the bridge (not before a consultation
// going on meanwhile is over). Asterisk's own hold (POST
// /channels/{id}/hold) is not used: it only signals hold towards the
// channel it is given, so holding the agent's side left the citizen
// hearing nothing.
func (a *Adapter) Hold(ctx context.Context, agent queue.AgentID, id queue.CallID, on bool) error {
	return a.onConnected(ctx, agent, id, holdable, func(c *call) error { return a.hold(c, on) })
}

// SendDTMF plays digits towards the citizen.
func (a *Adapter) SendDTMF(ctx context.Context, agent queue.AgentID, id queue.CallID, digits string) error {
	return a.onConnected(ctx, agent, id, hasCitizen, func(c *call) error { return a.sendDTMF(c, digits) })
}

// TransferToQueue moves a connected citizen to another queue (a blind
// transfer): the conversation ends for the agent (wrap-up) and the citizen
// waits in the queue with priority.
func (a *Adapter) TransferToQueue(ctx context.Context, agent queue.AgentID, id queue.CallID, to queue.QueueID) error {
	return a.onConnected(ctx, agent, id, hasCitizen, func(c *call) error { return a.transferToQueue(c, to) })
}

// ReturnToQueue puts a connected citizen back in the queue the call was
// answered from, in the place it had there (its original time of joining
// and priority): the conversation ends for the agent (wrap-up). omstil
// uses it when the agent's login ends during a call (logout elsewhere,
// deactivation, a role change, expiry), so that a citizen is never cut
// off because of the agent's account.
func (a *Adapter) ReturnToQueue(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.onConnected(ctx, agent, id, hasCitizen, a.returnToQueue)
}

// TransferToNumber hands a connected citizen to a number or dial string.
func (a *Adapter) TransferToNumber(ctx context.Context, agent queue.AgentID, id queue.CallID, dest string) error {
	return a.onConnected(ctx, agent, id, hasCitizen, func(c *call) error { return a.transferToNumber(c, dest) })
}

// Consult starts an attended transfer: the citizen is taken out of the
// conversation and hears music on hold, the target is rung and, once it
// answers, talks with the agent in the conversation's bridge. Then
// CompleteConsult hands the citizen to the target, CancelConsult returns
// to the citizen. If the target does not answer, declines or hangs up, the
// citizen is back with the agent by itself.
//
// An agent target (by name, or a queue's ready agent idle longest) must be
// ready and not on a call; while consulted it gets no other call. A
// browser colleague's page rings (RingInfo.From names the agent) for
// Options.ConsultRing and is answered, declined and hung up through
// Answer, Decline and Hangup like a call; a phone colleague is dialled.
func (a *Adapter) Consult(ctx context.Context, agent queue.AgentID, call queue.CallID, t ConsultTarget) error {
	return a.doErr(ctx, func() error { return a.consult(agent, call, t) })
}

// CompleteConsult finishes an attended transfer: the agent leaves (wrap-up)
// and the citizen is bridged with the consulted target. A consulted agent
// becomes the call's agent (in the engine, and on its page); a number gets
// the call as a transfer. Before the target answered it is refused
// (ErrRefused); cancel instead.
func (a *Adapter) CompleteConsult(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.onConnected(ctx, agent, id, consulting, a.completeAnswered)
}

// CancelConsult ends the consultation: the target is hung up and the
// citizen is back in the conversation with the agent.
func (a *Adapter) CancelConsult(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.onConnected(ctx, agent, id, consulting, a.cancelConsult)
}
