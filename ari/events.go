package ari

import (
	"context"
	"log/slog"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// appArgs marking the channels omstil originates (the first Stasis
// argument; a citizen's first argument is the dialled number).
const (
	argAgent    = "agent"
	argCallback = "callback"
	argXfer     = "xfer"
	argMedia    = "media"
	argConsult  = "consult"
)

// onEvent is ariclient's handler: it runs on the client's delivery
// goroutine and hands every event to the loop, in order. On (re)connect it
// first lists channels and bridges (REST, here, not on the loop) so the loop
// can resync before it sees the new connection's events.
func (a *Adapter) onEvent(ctx context.Context, ev ariclient.Event) {
	if c, ok := ev.(*ariclient.Connected); ok {
		snap := a.fetchState(ctx)
		a.log.Info("ari: connected", "reconnected", c.Reconnected, "channels", len(snap.channels))
		a.post(func() { a.resync(snap) })
		return
	}
	a.post(func() { a.event(ev) })
}

func (a *Adapter) event(ev ariclient.Event) {
	switch e := ev.(type) {
	case *ariclient.StasisStart:
		a.stasisStart(e)
	case *ariclient.StasisEnd:
		a.channelGone(e.Channel.ID, 0, false)
	case *ariclient.ChannelDestroyed:
		a.channelGone(e.Channel.ID, e.Cause, true)
	case *ariclient.ChannelHangupRequest:
		if c := a.byChan[e.Channel.ID]; c != nil && e.Soft && e.Cause == softHangupShutdown {
			c.lost = true
		}
	case *ariclient.Dial:
		if l := a.legs[e.Peer.ID]; l != nil && e.Dialstatus != "" {
			l.dialStat = e.Dialstatus
		}
	case *ariclient.ChannelDtmfReceived:
		a.dtmf(e.Channel.ID, e.Digit)
	case *ariclient.PlaybackFinished:
		a.playbackFinished(ariclient.PlaybackID(e.Playback.ID))
	case *ariclient.DeviceStateChanged:
		a.deviceState(e.DeviceState.Name, e.DeviceState.State)
	case *ariclient.Disconnected:
		a.log.Warn("ari: event socket lost; calls stay in Asterisk, resync on reconnect", "err", e.Err)
	case *ariclient.ApplicationReplaced:
		a.log.Warn("ari: another client took over the application", "app", a.app)
	case *ariclient.UnknownEvent:
		a.log.Debug("ari: unknown event", "type", e.Type, "err", e.Err)
	}
}

// ---- channels entering the app ----

func (a *Adapter) stasisStart(e *ariclient.StasisStart) {
	ch := e.Channel
	if l := a.legs[ch.ID]; l != nil {
		a.legUp(l)
		return
	}
	if len(e.Args) > 0 {
		switch e.Args[0] {
		case argAgent, argCallback, argXfer, argMedia, argConsult:
			// A leg of a call this adapter does not know (its offer ended
			// while the originate was on its way): not wanted.
			a.log.Debug("ari: stray leg entered the app; hanging up", "channel", ch.ID)
			a.hangupChannel(string(ch.ID), ch.ID, ariclient.ReasonNormal)
			return
		}
	}
	if a.byChan[ch.ID] != nil {
		return
	}
	if a.draining {
		a.log.Info("ari: draining; call left for the next omstil", "channel", ch.ID)
		return
	}
	number := ""
	if len(e.Args) > 0 {
		number = e.Args[0]
	}
	a.startCall(ch, number)
}

// dialledNumber is the number a call arrived on, as the dialplan passed it
// (Stasis(omstil,${EXTEN}): a trunk may send 80808080, 4580808080,
// 004580808080 or +4580808080 for one number), in the canonical form the
// configuration is keyed by (callflow.CanonicalNumber). A number that rule
// refuses is kept as given: it matches no configured number.
func dialledNumber(raw string) string {
	if c, err := callflow.CanonicalNumber(raw); err == nil {
		return c
	}
	return raw
}

// startCall starts the flow of a call that arrived on number (the Stasis
// argument, as the dialplan passed it).
func (a *Adapter) startCall(ch ariclient.Channel, number string) *call {
	number = dialledNumber(number)
	now := a.now()
	c := &call{id: queue.CallID(ch.ID), ch: ch.ID, number: number, caller: ch.Caller.Number, since: now}
	a.calls[c.id] = c
	a.byChan[c.ch] = c
	nc, ok := a.cfg.numbers[number]
	if !ok || nc.Flow == nil {
		a.log.Warn("ari: call for a number without a flow", "number", number, "caller", callflow.MaskNumber(c.caller))
		a.callEvent(c, CallUnknownNumber, "")
		c.state = stEnding
		c.released = true
		a.answer(c)
		a.playRelease(c, a.opt.NotInService)
		return c
	}
	c.org = nc.Org
	a.log.Debug("ari: call arrived", "call", c.id, "number", number, "caller", callflow.MaskNumber(c.caller))
	a.callEvent(c, CallArrived, "")
	a.answer(c)
	run, act := callflow.Start(nc.Flow, callflow.CallInfo{Number: number, Caller: c.caller, Now: now}, a.flowOptions(c, nc))
	c.run = run
	a.act(c, act)
	return c
}

// flowOptions are the options of c's flow run: its org's schedules, and
// every step traced to the call-event log.
func (a *Adapter) flowOptions(c *call, nc NumberConfig) callflow.Options {
	return callflow.Options{Schedules: a.cfg.schedules[nc.Org], Trace: func(p callflow.PathStep) {
		a.log.Debug("ari: flow", "call", c.id, "step", p.Step, "explain", p.Explanation)
		if a.sink != nil {
			a.sink.CallEvent(CallEvent{At: a.now(), Call: c.id, Kind: CallStep, Number: c.number, Caller: c.caller,
				Step: p.Step, StepKind: p.Kind, Queue: c.q, Detail: p.Explanation})
		}
	}}
}

func (a *Adapter) answer(c *call) {
	ch := c.ch
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.Answer(ctx, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: answer failed", "call", c.id, "err", err)
		}
	})
}

// ---- the call flow ----

// act carries out a flow action.
func (a *Adapter) act(c *call, act callflow.Action) {
	for {
		c.step = act.Step()
		switch x := act.(type) {
		case callflow.Play:
			media := a.cfg.announce[x.Announcement]
			if len(media) == 0 {
				a.log.Warn("ari: announcement has no media; skipped", "announcement", x.Announcement, "call", c.id)
				act = c.run.Next(a.now(), callflow.PlaybackDone{})
				if _, wait := act.(callflow.Wait); wait {
					return
				}
				continue
			}
			c.pb = a.play(c, pbFlow, media)
		case callflow.Collect:
			c.collectSeq++
			a.addTimer(deadline{at: a.now().Add(x.Timeout), call: c.id, seq: c.collectSeq})
		case callflow.Wait:
		case callflow.Enqueue:
			if q := queue.QueueID(x.Queue); a.otherOrgQueue(q, c.org) {
				// the flow names another municipality's queue: treated as
				// a broken flow, never as a way into that queue.
				a.crossOrg("flow queue", c, string(q))
				a.callEvent(c, CallFlowError, "the queue belongs to another organisation")
				c.state = stEnding
				c.released = true
				a.playRelease(c, a.opt.NotInService)
				return
			}
			a.enqueue(c, x)
		case callflow.Transfer:
			a.transfer(c, x.Destination)
		case callflow.Hangup:
			if err := c.run.Err(); err != nil {
				a.log.Warn("ari: call flow error; hanging up", "call", c.id, "step", x.StepID, "err", err)
				a.callEvent(c, CallFlowError, err.Error())
			}
			a.hangupCall(c, x.Cause)
		}
		return
	}
}

// next feeds the flow and carries out what it says.
func (a *Adapter) next(c *call, in callflow.Input) {
	if c.run == nil || c.gone {
		return
	}
	act := c.run.Next(a.now(), in)
	if _, ok := act.(callflow.Wait); ok {
		return
	}
	if c.pb != "" {
		a.stopPlayback(c, c.pb)
		c.pb = ""
	}
	c.collectSeq++
	c.state = stFlow
	a.act(c, act)
}

func (a *Adapter) play(c *call, kind pbKind, media []string) ariclient.PlaybackID {
	id := ariclient.PlaybackID(a.newID())
	a.playbacks[id] = pbRef{call: c.id, kind: kind}
	ch := c.ch
	a.job(string(c.id), func(ctx context.Context) {
		if _, err := a.cli.Play(ctx, ch, id, media...); err != nil {
			a.log.Warn("ari: play failed", "call", c.id, "err", err)
			a.post(func() { a.playbackFinished(id) })
		}
	})
	return id
}

func (a *Adapter) stopPlayback(c *call, id ariclient.PlaybackID) {
	delete(a.playbacks, id)
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.StopPlayback(ctx, id); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: stop playback", "call", c.id, "err", err)
		}
	})
}

func (a *Adapter) playRelease(c *call, media []string) {
	a.play(c, pbRelease, media)
}

func (a *Adapter) playbackFinished(id ariclient.PlaybackID) {
	ref, ok := a.playbacks[id]
	if !ok {
		return
	}
	delete(a.playbacks, id)
	c := a.calls[ref.call]
	if c == nil || c.gone {
		return
	}
	switch ref.kind {
	case pbFlow:
		if c.pb == id {
			c.pb = ""
			a.next(c, callflow.PlaybackDone{})
		}
	case pbAnnounce:
		if c.annPb == id {
			c.annPb = ""
			if c.state == stQueued {
				a.startWaitAudio(c)
			}
		}
	case pbRelease:
		a.hangupCall(c, ariclient.ReasonNormal)
	}
}

func (a *Adapter) dtmf(ch ariclient.ChannelID, digit string) {
	c := a.byChan[ch]
	if c == nil || c.gone {
		return
	}
	switch c.state {
	case stFlow:
		a.next(c, callflow.Digit(digit))
	case stQueued:
		m := a.cfg.media[c.q]
		key := m.CallbackKey
		if key == "" {
			key = "*"
		}
		if q, ok := a.cfg.queues[c.q]; ok && q.Callback.Enabled && digit == key {
			a.handle(queue.CallbackRequested{Call: c.id, Number: c.caller})
		}
	}
}

// ---- queue ----

func (a *Adapter) enqueue(c *call, x callflow.Enqueue) {
	c.state = stQueued
	c.q = queue.QueueID(x.Queue)
	c.joined = a.now()
	c.prio = x.Priority
	a.setCallVar(c, x.StepID)
	a.startWaitAudio(c)
	a.handle(queue.CallArrived{Call: c.id, Queue: c.q, Priority: x.Priority, Caller: c.caller, JoinedAt: c.joined})
}

// setCallVar stores what a restarted omstil needs on the channel itself.
func (a *Adapter) setCallVar(c *call, step callflow.StepID) {
	c.varStep = step
	a.writeCallVar(c)
}

// writeCallVar writes OMSTIL_CALL from c: its queue state and the leg of
// a consultation going on.
func (a *Adapter) writeCallVar(c *call) {
	if c.ch == "" || c.gone {
		return
	}
	cv := callVar{Queue: c.q, Joined: c.joined, Priority: c.prio, Step: c.varStep}
	if c.consult != nil {
		cv.Consult = c.consult.id
	}
	ch, v := c.ch, encodeCallVar(cv)
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.SetVar(ctx, ch, varCall, v); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: storing the queue state on the channel failed; a restart would restart its flow", "call", c.id, "err", err)
		}
	})
}

func (a *Adapter) startWaitAudio(c *call) {
	if c.audio || c.gone || c.ch == "" {
		return
	}
	m, ok := a.cfg.media[c.q]
	c.audio, c.ringing = true, ok && m.Ringing
	ch, ring, class := c.ch, c.ringing, m.MOHClass
	a.job(string(c.id), func(ctx context.Context) {
		var err error
		if ring {
			err = a.cli.Ring(ctx, ch)
		} else {
			err = a.cli.StartMOH(ctx, ch, class)
		}
		if err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: waiting audio failed", "call", c.id, "err", err)
		}
	})
}

func (a *Adapter) stopWaitAudio(c *call) {
	if !c.audio || c.ch == "" {
		c.audio = false
		return
	}
	c.audio = false
	ch, ring := c.ch, c.ringing
	a.job(string(c.id), func(ctx context.Context) {
		var err error
		if ring {
			err = a.cli.RingStop(ctx, ch)
		} else {
			err = a.cli.StopMOH(ctx, ch)
		}
		if err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: stop waiting audio", "call", c.id, "err", err)
		}
	})
}

// ---- transfer and hangup ----

func (a *Adapter) transfer(c *call, dest string) {
	dial, callerID, err := a.dialOut(c, dest)
	if err != nil {
		// a flow's transfer step outside the organisation's dial limits
		// (TransferToNumber refuses before it gets here).
		a.log.Warn("ari: transfer refused by the organisation's dial limits; hanging up", "call", c.id, "org", c.org, "err", err)
		a.callEvent(c, CallFlowError, "transfer refused: "+refusalReason(err))
		a.hangupCall(c, ariclient.ReasonCongestion)
		return
	}
	c.state = stTransfer
	a.callEvent(c, CallTransferred, "")
	ch := c.ch
	if a.opt.TransferContext != "" {
		a.job(string(c.id), func(ctx context.Context) {
			err := a.cli.Continue(ctx, ch, ariclient.ContinueRequest{Context: a.opt.TransferContext, Extension: dest, Priority: 1})
			if err != nil {
				a.log.Warn("ari: transfer (continue) failed; hanging up", "call", c.id, "err", err)
				a.post(func() { a.hangupCall(c, ariclient.ReasonCongestion) })
			}
		})
		return
	}
	l := &leg{id: ariclient.ChannelID(a.newID()), kind: legXfer, call: c.id}
	a.legs[l.id] = l
	c.xfer = l
	a.originate(c, l, ariclient.OriginateRequest{Endpoint: dial, CallerID: callerID})
}

// originate dials a leg into the app; a failure ends the leg like a
// ChannelDestroyed with cause 0.
func (a *Adapter) originate(c *call, l *leg, r ariclient.OriginateRequest) {
	r.App = a.app
	r.ChannelID = l.id
	// A Local endpoint's ;2 half: Asterisk names it "<channelId>;2" when
	// only channelId is given; naming it explicitly keeps every ARI server
	// (the simulator included) the same, and lets a resync tell it from a
	// stale leg (see localHalf). Ignored for other technologies.
	r.OtherChannelID = l.id + localTwo
	switch l.kind {
	case legAgent:
		r.AppArgs = []string{argAgent, string(l.call), string(l.agent)}
	case legCallback:
		r.AppArgs = []string{argCallback, string(l.call)}
	case legXfer:
		r.AppArgs = []string{argXfer, string(l.call)}
	case legConsult:
		r.AppArgs = []string{argConsult, string(l.call)}
	}
	a.job(string(l.id), func(ctx context.Context) {
		if _, err := a.cli.Originate(ctx, r); err != nil {
			if l.kind == legAgent {
				// an offer: repeats while the agent cannot be reached.
				a.repeat.Log(slog.LevelWarn, string(l.agent), "ari: originate failed", "call", c.id, "leg", l.id, "kind", l.kind, "agent", l.agent, "err", err)
			} else {
				a.log.Warn("ari: originate failed", "call", c.id, "leg", l.id, "kind", l.kind, "err", err)
			}
			a.post(func() { a.legGone(l, 0) })
		}
	})
}

func (a *Adapter) hangupCall(c *call, reason string) {
	if c.gone || c.ch == "" {
		return
	}
	if c.state != stCallback {
		c.state = stEnding
	}
	a.hangupChannel(string(c.id), c.ch, reason)
}

func (a *Adapter) hangupChannel(key string, ch ariclient.ChannelID, reason string) {
	a.job(key, func(ctx context.Context) {
		if err := a.cli.Hangup(ctx, ch, reason); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: hangup failed", "channel", ch, "err", err)
		}
	})
}

// ---- channels leaving ----

// channelGone handles StasisEnd and ChannelDestroyed (a dialplan channel
// gets only the first, an originated one both; the second is a no-op).
func (a *Adapter) channelGone(id ariclient.ChannelID, cause int, destroyed bool) {
	if l := a.legs[id]; l != nil {
		if !destroyed && !l.up {
			return // an unanswered leg leaving: wait for ChannelDestroyed's cause
		}
		a.legGone(l, cause)
		return
	}
	c := a.byChan[id]
	if c == nil {
		return
	}
	a.citizenGone(c)
}

// softHangupShutdown is the "cause" of the ChannelHangupRequest{soft}
// Asterisk sends for every channel as it shuts down ("core restart now",
// "core stop now", SIGTERM): not a Q.850 cause but its soft-hangup flag
// AST_SOFTHANGUP_SHUTDOWN (ast_softhangup publishes the flag as "cause").
// Seen on Asterisk 22.10.1: ChannelHangupRequest{cause 4, soft}, then
// ChannelDestroyed{cause 0} and StasisEnd, then the socket closes. A
// citizen's call ended so was lost by the system, not hung up.
const softHangupShutdown = 4

// citizenGone: the citizen's channel is gone; with c.lost Asterisk lost
// it (see softHangupShutdown and asteriskRestarted).
func (a *Adapter) citizenGone(c *call) {
	delete(a.byChan, c.ch)
	if c.state == stCallback {
		// released after a callback request: the request keeps its place.
		c.ch = ""
		c.audio = false
		return
	}
	c.gone = true
	c.collectSeq++
	for id, ref := range a.playbacks {
		if ref.call == c.id {
			delete(a.playbacks, id)
		}
	}
	kind := CallHungUp
	if c.lost {
		kind = CallLost
	}
	a.callEvent(c, kind, stateNames[c.state])
	switch c.state {
	case stQueued, stConnected:
		a.handle(queue.CallHungUp{Call: c.id, Lost: c.lost})
	case stTransfer:
		if c.xfer != nil && !c.xfer.done {
			a.endLeg(c.xfer, ariclient.ReasonNormal)
		}
	}
	if c.consult != nil {
		a.consultOver(c, c.consult, ConsultCallerHangup, false)
	}
	if c.leg != nil && !c.leg.done {
		a.endLeg(c.leg, ariclient.ReasonNormal)
		if c.leg.kind == legMedia && a.opt.WebRTC != nil {
			a.webrtcEnded(c.leg.agent, c.id, "caller-hangup")
		}
	}
	a.destroyBridge(c)
	delete(a.calls, c.id)
}

func (a *Adapter) destroyBridge(c *call) {
	if c.bridge == "" {
		return
	}
	b := c.bridge
	c.bridge = ""
	a.job(string(b), func(ctx context.Context) {
		if err := a.cli.DestroyBridge(ctx, b); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: destroy bridge", "bridge", b, "err", err)
		}
	})
}

// endLeg hangs up a leg omstil no longer wants.
func (a *Adapter) endLeg(l *leg, reason string) {
	l.done = true
	if l.kind == legWebRTC || l.id == "" {
		return
	}
	a.hangupChannel(string(l.id), l.id, reason)
}

// legGone: a leg's channel ended (or its originate failed, cause 0).
func (a *Adapter) legGone(l *leg, cause int) {
	delete(a.legs, l.id)
	wasDone := l.done
	l.done = true
	c := a.calls[l.call]
	switch l.kind {
	case legAgent:
		if a.offers[l.agent] == l {
			delete(a.offers, l.agent)
			if !wasDone {
				a.handle(queue.OfferFailed{Call: l.call, Agent: l.agent, Reason: failReason(l.dialStat, cause)})
			}
			return
		}
		a.agentSideGone(c, l, wasDone)
	case legMedia:
		a.agentSideGone(c, l, wasDone)
	case legCallback:
		if c == nil {
			return
		}
		if !l.up {
			c.cbLeg = nil
			if c.state == stCallback {
				a.handle(queue.CallbackResult{Call: c.id, Answered: false})
			}
			return
		}
		if c.ch == l.id {
			a.citizenGone(c)
		}
	case legXfer:
		if l.agent != "" {
			// a consulted colleague who took the call over hung up.
			a.handle(queue.AgentDeviceFree{Agent: l.agent})
		}
		if c != nil && !c.gone && !wasDone {
			a.hangupCall(c, ariclient.ReasonNormal)
		}
	case legConsult:
		a.consultGone(c, l)
	}
}

// agentSideGone: the agent's phone (or the browser's media channel) left a
// conversation. Policy: the citizen is hung up too.
func (a *Adapter) agentSideGone(c *call, l *leg, wasDone bool) {
	if c == nil || c.leg != l || wasDone {
		return
	}
	switch c.state {
	case stConnected:
		if c.consult != nil && c.consult.up {
			// the agent hung up while talking to the consulted party:
			// that completes the transfer, as on a desk phone.
			l.done = true
			a.completeConsult(c)
			return
		}
		if c.consult != nil {
			a.consultOver(c, c.consult, ConsultAgentHangup, false)
		}
		a.handle(queue.CallEnded{Call: c.id})
		a.destroyBridge(c)
		if l.kind == legMedia && a.opt.WebRTC != nil {
			a.webrtcEnded(l.agent, c.id, "agent-hangup")
		}
		if c.ch != "" {
			a.hangupCall(c, ariclient.ReasonNormal)
		} else {
			delete(a.calls, c.id)
		}
	case stCallback:
		// the agent hung up while the citizen was being dialled.
		if c.cbLeg != nil {
			a.endLeg(c.cbLeg, ariclient.ReasonNormal)
			c.cbLeg = nil
			a.handle(queue.CallbackResult{Call: c.id, Answered: false})
		}
	}
}

func failReason(dialStatus string, cause int) queue.FailReason {
	switch dialStatus {
	case "BUSY":
		return queue.FailBusy
	case "NOANSWER":
		return queue.FailNoAnswer
	case "CHANUNAVAIL", "CONGESTION":
		return queue.FailUnavailable
	}
	switch cause {
	case 17:
		return queue.FailBusy
	case 18, 19:
		return queue.FailNoAnswer
	case 21:
		return queue.FailDeclined
	}
	return queue.FailUnavailable
}

// legUp: a leg omstil originated answered and entered the app.
func (a *Adapter) legUp(l *leg) {
	l.up = true
	c := a.calls[l.call]
	if l.done {
		a.hangupChannel(string(l.id), l.id, ariclient.ReasonNormal)
		return
	}
	switch l.kind {
	case legAgent:
		if a.offers[l.agent] != l {
			a.endLeg(l, ariclient.ReasonNormal)
			return
		}
		in := queue.OfferAnswered{Call: l.call, Agent: l.agent}
		outs := a.handle(in)
		if _, ig := ignored(outs, in); ig {
			if a.offers[l.agent] == l {
				delete(a.offers, l.agent)
			}
			a.endLeg(l, ariclient.ReasonAnsweredElsewhere)
		}
	case legMedia:
		if c != nil {
			a.tryBridge(c)
		}
	case legCallback:
		if c == nil || c.cbLeg != l {
			a.endLeg(l, ariclient.ReasonNormal)
			return
		}
		c.ch = l.id
		a.byChan[l.id] = c
		a.handle(queue.CallbackResult{Call: c.id, Answered: true})
		c.state = stConnected
		a.tryBridge(c)
	case legXfer:
		if c == nil || c.gone {
			a.endLeg(l, ariclient.ReasonNormal)
			return
		}
		a.bridgeChannels(c, "", "", l.id)
	case legConsult:
		a.consultUp(c, l)
	}
}

func (a *Adapter) deviceState(name, state string) {
	ag, ok := a.devState[name]
	if !ok {
		return
	}
	switch state {
	case "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD", "UNAVAILABLE":
		a.handle(queue.AgentDeviceBusy{Agent: ag})
	default:
		a.handle(queue.AgentDeviceFree{Agent: ag})
	}
}
