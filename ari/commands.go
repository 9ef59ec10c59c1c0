package ari

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// apply carries out the engine's commands and passes every output to the
// event sink: the one place where the call-event log is written.
func (a *Adapter) apply(outs []queue.Output) {
	for _, o := range outs {
		if a.sink != nil {
			a.sink.EngineOutput(o)
		}
		switch x := o.(type) {
		case queue.Offer:
			a.offer(x)
		case queue.CancelOffer:
			a.cancelOffer(x)
		case queue.Connect:
			a.connect(x)
		case queue.Announce:
			a.announce(x)
		case queue.Overflow:
			a.overflow(x.Call, x.Reason)
		case queue.Reject:
			a.log.Warn("ari: queue refused the call", "call", x.Call, "queue", x.Queue, "reason", x.Reason)
			a.overflow(x.Call, queue.OverflowNoAgents)
		case queue.DialCallback:
			a.dialCallback(x)
		case queue.CallbackQueued:
			a.callbackQueued(x)
		case queue.CallbackFailed:
			if x.Final {
				a.forgetCallback(x.Call)
				if c := a.calls[x.Call]; c != nil && c.ch == "" {
					delete(a.calls, c.id)
				}
			}
		case queue.CallbackConnected:
			a.forgetCallback(x.Call)
		case queue.Abandoned:
			a.forgetCallback(x.Call)
		case queue.Overflowed:
			a.forgetCallback(x.Call)
		case queue.AgentStateChanged:
			a.agentState[x.Agent] = x.To
			a.noteAgentState(x)
			if x.To == queue.Ready {
				a.pausePageGone(x.Agent)
			}
		case queue.CallJoined:
			if c := a.calls[x.Call]; c != nil {
				c.pos = x.Position
			}
		}
	}
}

func (a *Adapter) queueName(q queue.QueueID) string {
	if m, ok := a.cfg.media[q]; ok && m.Name != "" {
		return m.Name
	}
	return string(q)
}

func (a *Adapter) offer(o queue.Offer) {
	c := a.calls[o.Call]
	if c == nil {
		a.handle(queue.OfferFailed{Call: o.Call, Agent: o.Agent, Reason: queue.FailUnavailable})
		return
	}
	dev, ok := a.cfg.devices[o.Agent]
	switch {
	case ok && dev.Kind == DeviceWebRTC && a.opt.WebRTC != nil:
		l := &leg{kind: legWebRTC, call: c.id, agent: o.Agent}
		a.offers[o.Agent] = l
		info := RingInfo{Call: c.id, Queue: o.Queue, Name: a.queueName(o.Queue), Caller: c.caller, Waited: a.now().Sub(c.joined), Timeout: o.Timeout}
		if callflow.MaskNumber(c.caller) == "anonymous" {
			info.Caller = ""
		}
		a.job("agent:"+string(o.Agent), func(ctx context.Context) {
			if err := a.opt.WebRTC.Ring(o.Agent, info); err != nil {
				a.repeat.Log(slog.LevelInfo, string(o.Agent), "ari: browser offer failed", "agent", o.Agent, "call", o.Call, "err", err)
				a.post(func() {
					if a.offers[o.Agent] == l {
						delete(a.offers, o.Agent)
						a.handle(queue.OfferFailed{Call: o.Call, Agent: o.Agent, Reason: queue.FailUnavailable})
					}
				})
			}
		})
	case ok && dev.Kind == DeviceEndpoint && dev.Dial != "":
		l := &leg{id: ariclient.ChannelID(a.newID()), kind: legAgent, call: c.id, agent: o.Agent}
		a.legs[l.id] = l
		a.offers[o.Agent] = l
		name := a.queueName(o.Queue)
		num := c.caller
		if o.Callback {
			name = "Tilbagekald " + name
		}
		a.originate(c, l, ariclient.OriginateRequest{
			Endpoint: dev.Dial, CallerID: fmt.Sprintf("%q <%s>", name, num),
			Timeout: o.Timeout + a.opt.RingSlack,
		})
	default:
		a.repeat.Log(slog.LevelWarn, string(o.Agent), "ari: agent has no usable device", "agent", o.Agent)
		a.handle(queue.OfferFailed{Call: o.Call, Agent: o.Agent, Reason: queue.FailUnavailable})
	}
}

func (a *Adapter) cancelOffer(o queue.CancelOffer) {
	l := a.offers[o.Agent]
	if l == nil || l.call != o.Call {
		return
	}
	delete(a.offers, o.Agent)
	if l.kind == legWebRTC {
		l.done = true
		a.webrtcEnded(o.Agent, o.Call, endReason(o.Reason))
		return
	}
	reason := ariclient.ReasonNormal
	if o.Reason == queue.EndAnsweredElse {
		reason = ariclient.ReasonAnsweredElsewhere
	}
	a.endLeg(l, reason)
}

func endReason(r queue.FailReason) string {
	switch r {
	case queue.EndTimeout:
		return "timeout"
	case queue.EndAnsweredElse:
		return "taken-elsewhere"
	case queue.EndCallerGone:
		return "caller-hangup"
	}
	return string(r)
}

func (a *Adapter) webrtcEnded(agent queue.AgentID, call queue.CallID, reason string) {
	if a.opt.WebRTC == nil {
		return
	}
	a.job("agent:"+string(agent), func(ctx context.Context) { a.opt.WebRTC.Ended(agent, call, reason) })
}

// connect: the agent answered; bridge them with the citizen.
func (a *Adapter) connect(o queue.Connect) {
	c := a.calls[o.Call]
	l := a.offers[o.Agent]
	if l != nil && l.call == o.Call {
		delete(a.offers, o.Agent)
	}
	if c == nil || l == nil || l.call != o.Call {
		a.log.Warn("ari: connect for a call or offer that is gone", "call", o.Call, "agent", o.Agent)
		a.handle(queue.CallEnded{Call: o.Call})
		return
	}
	c.state = stConnected
	c.agent = o.Agent
	a.stopWaitAudio(c)
	if c.annPb != "" {
		a.stopPlayback(c, c.annPb)
		c.annPb = ""
	}
	a.attachAgent(c, l)
}

// attachAgent makes the agent's side of a conversation: an endpoint leg is
// already up; a browser gets an externalMedia channel to its relay.
func (a *Adapter) attachAgent(c *call, l *leg) {
	if l.kind != legWebRTC {
		c.leg = l
		a.tryBridge(c)
		return
	}
	m := &leg{id: ariclient.ChannelID(a.newID()), kind: legMedia, call: c.id, agent: l.agent}
	a.legs[m.id] = m
	c.leg = m
	a.openBrowserMedia(m, l.agent, c.id, argMedia, "browser")
}

// openBrowserMedia opens agent's relay for call and makes leg m the
// externalMedia channel to it (data is its Stasis argument); once the
// channel is in the app it is bridged like any leg. On failure the leg is
// gone. what names the side in the log.
func (a *Adapter) openBrowserMedia(m *leg, agent queue.AgentID, cid queue.CallID, data, what string) {
	a.job(string(m.id), func(ctx context.Context) {
		relay, err := a.opt.WebRTC.Attach(agent, cid)
		if err != nil {
			a.log.Warn("ari: "+what+": relay failed", "agent", agent, "call", cid, "err", err)
			a.post(func() { a.legGone(m, 0) })
			return
		}
		ch, err := a.cli.ExternalMedia(ctx, ariclient.ExternalMediaRequest{
			ChannelID: m.id, App: a.app, ExternalHost: relay, Format: "ulaw", Data: data,
		})
		if err != nil {
			a.log.Warn("ari: "+what+": externalMedia failed", "agent", agent, "call", cid, "err", err)
			a.post(func() { a.legGone(m, 0) })
			return
		}
		if err := a.opt.WebRTC.Connected(agent, cid, ch.ExternalMediaAddr()); err != nil {
			a.log.Warn("ari: "+what+": telling the page failed", "agent", agent, "call", cid, "err", err)
		}
	})
}

// tryBridge bridges citizen and agent once both are in the app.
func (a *Adapter) tryBridge(c *call) {
	if c.bridge != "" || c.ch == "" || c.leg == nil || !c.leg.up || c.state != stConnected {
		return
	}
	a.bridgeChannels(c, c.agent, c.q, c.leg.id)
}

func (a *Adapter) bridgeChannels(c *call, agent queue.AgentID, q queue.QueueID, other ariclient.ChannelID) {
	id := ariclient.BridgeID(a.newID())
	c.bridge = id
	name := encodeBridgeName(bridgeName{Call: c.id, Agent: agent, Queue: q, Since: a.now()})
	citizen := c.ch
	// The bridge is created on a worker of its own, while the call's
	// earlier jobs (stopping the citizen's music) run: one round trip to
	// Asterisk less before the two talk. The channels are added in the
	// call's order, once both are done.
	created := make(chan error, 1)
	a.job(string(id), func(ctx context.Context) {
		_, err := a.cli.CreateBridge(ctx, ariclient.CreateBridgeRequest{Type: "mixing", ID: id, Name: name})
		created <- err
	})
	a.job(string(c.id), func(ctx context.Context) {
		var err error
		select {
		case err = <-created:
		case <-ctx.Done(): // stopping: the create job may never run
			err = ctx.Err()
		}
		if err == nil {
			err = a.cli.AddChannel(ctx, id, citizen, other)
		}
		a.post(func() {
			if c.bridge != id {
				// The call left this bridge while it was being made (put
				// back in the queue, transferred): the bridge's deletion
				// may have overtaken the adding, and the error is not the
				// call's any more.
				return
			}
			if err != nil {
				a.log.Warn("ari: bridging failed; ending the call", "call", c.id, "err", err)
				if l := a.legs[other]; l != nil {
					a.endLeg(l, ariclient.ReasonNormal)
				}
				// the engine has the call connected to the agent: end it
				// there too, or the agent stays on the call for good
				// (citizenGone does not tell the engine about a call
				// omstil is hanging up). Seen when the socket was cut
				// during the bridging (issue 14).
				if c.state == stConnected && !c.gone {
					a.handle(queue.CallEnded{Call: c.id})
				}
				a.hangupCall(c, ariclient.ReasonCongestion)
				return
			}
			if cur := a.calls[c.id]; cur == c && !c.gone {
				a.callEvent(c, CallBridged, "")
			}
		})
	})
}

// ---- announcements, overflow, callbacks ----

// positionMedia says the position and the wait in Danish (Asterisk's
// queue-* prompts and number: playback in the channel's language).
func positionMedia(pos int, wait time.Duration) []string {
	var m []string
	switch {
	case pos == 1:
		m = append(m, "sound:queue-youarenext")
	case pos > 1:
		m = append(m, "sound:queue-thereare", "number:"+strconv.Itoa(pos), "sound:queue-callswaiting")
	}
	if wait >= 0 {
		mins := int((wait + time.Minute - 1) / time.Minute)
		if mins < 1 {
			mins = 1
		}
		m = append(m, "sound:queue-holdtime", "number:"+strconv.Itoa(mins), "sound:queue-minutes")
	}
	return m
}

func (a *Adapter) announce(o queue.Announce) {
	c := a.calls[o.Call]
	if c == nil || c.gone || c.ch == "" || c.state != stQueued || c.annPb != "" {
		return
	}
	var media []string
	if o.Kind == queue.AnnounceCustom {
		media = a.cfg.announce[callflow.AnnouncementRef(o.Prompt)]
	} else {
		media = positionMedia(o.Position, o.EstimatedWait)
	}
	if len(media) == 0 {
		return
	}
	if o.Position > 0 {
		c.pos = o.Position
	}
	a.stopWaitAudio(c)
	c.annPb = a.play(c, pbAnnounce, media)
}

func (a *Adapter) overflow(id queue.CallID, why queue.OverflowReason) {
	c := a.calls[id]
	if c == nil || c.gone {
		return
	}
	a.stopWaitAudio(c)
	if c.annPb != "" {
		a.stopPlayback(c, c.annPb)
		c.annPb = ""
	}
	if c.ch == "" {
		// a callback request whose caller was released: nobody to tell.
		delete(a.calls, c.id)
		return
	}
	if c.run == nil {
		// adopted after a restart without its flow: no branch to take.
		a.hangupCall(c, ariclient.ReasonBusy)
		return
	}
	out := callflow.QueueNoAgents
	switch why {
	case queue.OverflowFull:
		out = callflow.QueueFull
	case queue.OverflowTimeout:
		out = callflow.QueueTimeout
	}
	c.state = stFlow
	c.q = ""
	a.next(c, out)
}

func (a *Adapter) callbackQueued(x queue.CallbackQueued) {
	c := a.calls[x.Call]
	if c == nil || c.gone {
		return
	}
	c.state = stCallback
	a.saveCallback(c)
	if c.ch == "" {
		return // restored after a restart: the caller was released before
	}
	a.stopWaitAudio(c)
	if c.annPb != "" {
		a.stopPlayback(c, c.annPb)
		c.annPb = ""
	}
	a.play(c, pbRelease, a.opt.CallbackConfirm)
}

func (a *Adapter) dialCallback(x queue.DialCallback) {
	c := a.calls[x.Call]
	l := a.offers[x.Agent]
	if l != nil && l.call == x.Call {
		delete(a.offers, x.Agent)
	}
	dial, callerID, derr := a.callbackDial(c, x.Number)
	if c == nil || l == nil || l.call != x.Call || derr != nil {
		a.log.Warn("ari: cannot dial a callback", "call", x.Call, "agent", x.Agent, "err", derr)
		if l != nil {
			a.endLeg(l, ariclient.ReasonNormal)
		}
		a.handle(queue.CallbackResult{Call: x.Call, Answered: false})
		return
	}
	c.agent = x.Agent
	if c.ch != "" {
		// the caller is still on the line listening to the confirmation.
		delete(a.byChan, c.ch)
		a.hangupChannel(string(c.id), c.ch, ariclient.ReasonNormal)
		c.ch = ""
	}
	cb := &leg{id: ariclient.ChannelID(a.newID()), kind: legCallback, call: c.id, agent: x.Agent}
	a.legs[cb.id] = cb
	c.cbLeg = cb
	a.attachAgent(c, l)
	a.originate(c, cb, ariclient.OriginateRequest{Endpoint: dial, CallerID: callerID, Timeout: 30 * time.Second})
}

// ---- browser call control (softphone.CallControl through the composition root) ----

// connectedCall returns the call agent is talking on.
func (a *Adapter) connectedCall(agent queue.AgentID, id queue.CallID) *call {
	c := a.calls[id]
	if c == nil || c.agent != agent || c.state != stConnected {
		return nil
	}
	return c
}

// onConnected runs f on the loop with the call agent is talking on, and
// returns f's error; ErrNoSuchCall when there is no such call or it lacks
// what has requires (nil: nothing more).
func (a *Adapter) onConnected(ctx context.Context, agent queue.AgentID, id queue.CallID, has func(*call) bool, f func(*call) error) error {
	return a.doErr(ctx, func() error {
		c := a.connectedCall(agent, id)
		if c == nil || (has != nil && !has(c)) {
			return ErrNoSuchCall
		}
		return f(c)
	})
}

func hasLeg(c *call) bool     { return c.leg != nil }
func hasCitizen(c *call) bool { return c.ch != "" }

func (a *Adapter) hangupAgent(c *call) error {
	a.endLeg(c.leg, ariclient.ReasonNormal)
	// the leg's end is not awaited: the conversation ends now.
	l := c.leg
	l.done = false
	a.agentSideGone(c, l, false)
	l.done = true
	return nil
}

// errConsulting refuses a blind transfer during a consultation.
var errConsulting = refuse(RefusedConsulting, "a consultation is going on; complete or cancel it")

// leaveAgent ends the agent's side of a connected citizen's call that is
// transferred away: the engine's CallEnded (wrap-up), the agent's leg (a
// browser is told "transferred") and the bridge.
func (a *Adapter) leaveAgent(c *call) {
	a.handle(queue.CallEnded{Call: c.id})
	if c.leg != nil {
		a.endLeg(c.leg, ariclient.ReasonNormal)
		if c.leg.kind == legMedia {
			a.webrtcEnded(c.agent, c.id, "transferred")
		}
	}
	a.destroyBridge(c)
	c.leg = nil
	if c.onHold {
		// a held citizen goes on without the music.
		ch := c.ch
		a.job(string(c.id), func(ctx context.Context) {
			if err := a.cli.StopMOH(ctx, ch); err != nil && !ariclient.IsNotFound(err) {
				a.log.Debug("ari: hold: stop music", "call", c.id, "err", err)
			}
		})
	}
	c.onHold, c.held = false, false
}

// answerInBrowser: the agent picked up call in the browser (Answer).
func (a *Adapter) answerInBrowser(agent queue.AgentID, call queue.CallID) error {
	if l := a.consultedLeg(agent, call); l != nil {
		return a.answerColleague(l)
	}
	l := a.offers[agent]
	if l == nil || l.call != call || l.kind != legWebRTC {
		return ErrNoSuchCall
	}
	l.up = true
	return a.feed(queue.OfferAnswered{Call: call, Agent: agent})
}

// declineInBrowser: the agent rejected a ringing call or consultation in
// the browser (Decline).
func (a *Adapter) declineInBrowser(agent queue.AgentID, call queue.CallID) error {
	if l := a.consultedLeg(agent, call); l != nil {
		if l.answered {
			return refuse(RefusedAnswered, "already answered; hang up instead")
		}
		l.told = true // the page declined: it knows
		a.consultOver(a.calls[call], l, ConsultDeclined, true)
		return nil
	}
	l := a.offers[agent]
	if l == nil || l.call != call {
		return ErrNoSuchCall
	}
	delete(a.offers, agent)
	l.done = true
	if l.kind == legAgent {
		a.hangupChannel(string(l.id), l.id, ariclient.ReasonRejected)
	}
	return a.feed(queue.OfferFailed{Call: call, Agent: agent, Reason: queue.FailDeclined})
}

// hangupByAgent: the agent hung up its conversation or a consultation it
// was rung for (Hangup).
func (a *Adapter) hangupByAgent(agent queue.AgentID, id queue.CallID) error {
	if l := a.consultedLeg(agent, id); l != nil {
		a.consultOver(a.calls[id], l, ConsultTargetHangup, true)
		return nil
	}
	c := a.connectedCall(agent, id)
	if c == nil || !hasLeg(c) {
		return ErrNoSuchCall
	}
	return a.hangupAgent(c)
}

func holdable(c *call) bool { return hasCitizen(c) && c.bridge != "" }

// hold puts c's citizen on hold or back (Hold).
func (a *Adapter) hold(c *call, on bool) error {
	c.held = on
	if on {
		a.holdCitizen(c)
	} else {
		a.unholdCitizen(c)
	}
	return nil
}

// sendDTMF plays digits towards c's citizen (SendDTMF).
func (a *Adapter) sendDTMF(c *call, digits string) error {
	ch := c.ch
	a.job(string(c.id), func(ctx context.Context) {
		if e := a.cli.SendDTMF(ctx, ch, digits, ariclient.DTMFOptions{}); e != nil {
			a.log.Warn("ari: dtmf failed", "call", c.id, "err", e)
		}
	})
	return nil
}

// transferToQueue moves c's citizen to queue to (TransferToQueue).
func (a *Adapter) transferToQueue(c *call, to queue.QueueID) error {
	if c.consult != nil {
		return errConsulting
	}
	if !a.queueIn(to, c.org) {
		if a.otherOrgQueue(to, c.org) {
			a.crossOrg("transfer to queue", c, string(to))
		}
		return refuse(RefusedUnknown, "unknown queue %s", to)
	}
	a.leaveAgent(c)
	// the engine forgets an ended call; the citizen joins again.
	c.agent = ""
	a.enqueue(c, callflow.Enqueue{Queue: callflow.QueueRef(to)})
	return nil
}

// returnToQueue puts c's citizen back in its queue in its old place
// (ReturnToQueue).
func (a *Adapter) returnToQueue(c *call) error {
	if c.consult != nil {
		return errConsulting
	}
	if !a.queueIn(c.q, c.org) {
		return refuse(RefusedUnknown, "unknown queue %s", c.q)
	}
	a.leaveAgent(c)
	c.agent = ""
	c.state = stQueued
	a.writeCallVar(c)
	a.startWaitAudio(c)
	a.handle(queue.CallArrived{Call: c.id, Queue: c.q, Priority: c.prio, Caller: c.caller, JoinedAt: c.joined})
	return nil
}

// transferToNumber hands c's citizen to dest (TransferToNumber).
func (a *Adapter) transferToNumber(c *call, dest string) error {
	if c.consult != nil {
		return errConsulting
	}
	if _, _, err := a.dialOut(c, dest); err != nil {
		return err // the agent keeps the citizen
	}
	a.leaveAgent(c)
	a.transfer(c, dest)
	return nil
}
