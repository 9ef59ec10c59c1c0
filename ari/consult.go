package ari

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// ConsultKind is what an attended transfer consults.
type ConsultKind string

// Consult targets.
const (
	// ConsultAgent: a named agent's endpoint device.
	ConsultAgent ConsultKind = "agent"
	// ConsultQueue: the ready endpoint agent of a queue who has been idle
	// longest.
	ConsultQueue ConsultKind = "queue"
	// ConsultNumber: a phone number (through Options.CallbackEndpoint) or
	// a dial string.
	ConsultNumber ConsultKind = "number"
)

// ConsultTarget is who an agent consults before handing a citizen over.
type ConsultTarget struct {
	Kind ConsultKind
	To   string // agent ID, queue ID, or number / dial string
}

// consultations is the adapter's attended transfers: the colleagues
// consulted and the logic of a consultation from its start (consult) to
// its end (consultOver, completeConsult). A call's own consultation leg is
// call.consult. The Adapter embeds it; like all call state it is owned by
// the loop goroutine.
type consultations struct {
	a         *Adapter
	consulted map[queue.AgentID]*leg // agents rung or talking as a consult target
}

func consulting(c *call) bool { return c.consult != nil }

func (a *Adapter) agentName(id queue.AgentID) string {
	if n := a.cfg.names[id]; n != "" {
		return n
	}
	return string(id)
}

// reachable: omstil can ring the agent's device.
func (a *Adapter) reachable(d Device) bool {
	switch d.Kind {
	case DeviceEndpoint:
		return d.Dial != ""
	case DeviceWebRTC:
		return a.opt.WebRTC != nil
	}
	return false
}

// consultable: the agent is ready, its device free, and nobody consults
// it already.
func (cs *consultations) consultable(id queue.AgentID) error {
	a := cs.a
	if cs.consulted[id] != nil {
		return refuse(RefusedBusy, "agent %s is busy with another transfer", id)
	}
	if a.agentState[id] != queue.Ready {
		return refuse(RefusedNotReady, "agent %s is not ready (%s)", id, a.agentState[id])
	}
	for _, ag := range a.eng.Snapshot().Agents {
		if ag.ID == id && ag.DeviceBusy {
			return refuse(RefusedBusy, "agent %s is busy", id)
		}
	}
	return nil
}

func (cs *consultations) consult(agent queue.AgentID, call queue.CallID, t ConsultTarget) error {
	a := cs.a
	c := a.connectedCall(agent, call)
	if c == nil || c.ch == "" || c.leg == nil || c.bridge == "" {
		return ErrNoSuchCall
	}
	if c.consult != nil {
		return refuse(RefusedConsulting, "a consultation is already going on")
	}
	l := &leg{id: ariclient.ChannelID(a.newID()), kind: legConsult, call: c.id}
	r := ariclient.OriginateRequest{Timeout: a.opt.ConsultRing}
	with := t.To
	switch t.Kind {
	case ConsultAgent, ConsultQueue:
		target := queue.AgentID(t.To)
		if t.Kind == ConsultQueue {
			var err error
			if target, err = cs.consultQueueAgent(c, queue.QueueID(t.To), agent); err != nil {
				return err
			}
		}
		dev, ok := a.cfg.devices[target]
		switch {
		case !a.agentIn(target, c.org):
			if a.cfg.agents[target] {
				a.crossOrg("consult agent", c, string(target))
			}
			return refuse(RefusedNoAgent, "unknown agent %s", target)
		case target == agent:
			return refuse(RefusedSelf, "an agent cannot consult itself")
		case !ok || !a.reachable(dev):
			return refuse(RefusedUnreachable, "agent %s has no phone omstil can reach", target)
		}
		if err := cs.consultable(target); err != nil {
			return err
		}
		l.agent = target
		with = a.agentName(target)
		if dev.Kind == DeviceWebRTC {
			l.web = true
		} else {
			r.Endpoint = dev.Dial
			r.CallerID = fmt.Sprintf("%q <%s>", "Viderestilling "+a.queueName(c.q), c.caller)
		}
	case ConsultNumber:
		if t.To == "" {
			return refuse(RefusedNoRoute, "consulting a number needs a number")
		}
		ep, callerID, err := a.dialOut(c, t.To)
		if err != nil {
			return err
		}
		r.Endpoint, r.CallerID = ep, callerID
	default:
		return refuse(RefusedState, "consult target kind %q", t.Kind)
	}
	a.legs[l.id] = l
	c.consult = l
	if l.agent != "" {
		// the colleague is taken by the consultation: no call is offered
		// to it meanwhile.
		cs.consulted[l.agent] = l
		a.handle(queue.AgentDeviceBusy{Agent: l.agent})
	}
	a.callEvent(c, CallConsult, string(t.Kind))
	// the citizen leaves the bridge and hears music until it comes back;
	// the consultation's leg is on the citizen's channel for a restart.
	a.holdCitizen(c)
	a.writeCallVar(c)
	cs.tellConsult(c, ConsultUpdate{State: ConsultRinging, With: with})
	if l.web {
		cs.ringColleague(c, l, agent)
		return nil
	}
	a.originate(c, l, r)
	return nil
}

// tellConsult tells a browser agent's page how its consultation goes.
func (cs *consultations) tellConsult(c *call, u ConsultUpdate) {
	a := cs.a
	if a.opt.WebRTC == nil || c.leg == nil || c.leg.kind != legMedia {
		return
	}
	agent := c.agent
	u.Call = c.id
	a.job("agent:"+string(agent), func(ctx context.Context) { a.opt.WebRTC.Consult(agent, u) })
}

// ringColleague rings a browser colleague's page for the consultation,
// for at most Options.ConsultRing. Everything sent to the colleague's
// page about l runs on l's worker, in order.
func (cs *consultations) ringColleague(c *call, l *leg, from queue.AgentID) {
	a := cs.a
	info := RingInfo{Call: c.id, Queue: c.q, Name: a.queueName(c.q), Caller: c.caller,
		Timeout: a.opt.ConsultRing, From: from, FromName: a.agentName(from)}
	if callflow.MaskNumber(c.caller) == "anonymous" {
		info.Caller = ""
	}
	a.addTimer(deadline{at: a.now().Add(a.opt.ConsultRing), leg: l.id})
	target := l.agent
	a.job(string(l.id), func(ctx context.Context) {
		if err := a.opt.WebRTC.Ring(target, info); err != nil {
			a.log.Info("ari: consult: the colleague's page could not be rung", "agent", target, "call", c.id, "err", err)
			a.post(func() {
				if c.consult == l && !l.answered {
					cs.consultOver(c, l, ConsultUnavailable, true)
				}
			})
		}
	})
}

// consultRingTimeout: a browser colleague did not answer in time.
func (cs *consultations) consultRingTimeout(id ariclient.ChannelID) {
	a := cs.a
	l := a.legs[id]
	if l == nil || !l.web || l.answered || l.done {
		return
	}
	cs.consultOver(a.calls[l.call], l, ConsultTimeout, true)
}

// consultedLeg returns the consultation of call in which agent is the
// consulted browser colleague.
func (cs *consultations) consultedLeg(agent queue.AgentID, call queue.CallID) *leg {
	l := cs.consulted[agent]
	if l == nil || l.call != call || !l.web || l.done {
		return nil
	}
	return l
}

// answerColleague: the consulted browser colleague picked up: its relay
// is opened and an externalMedia channel to it made; once that channel
// is in the app it joins the conversation's bridge (consultUp).
func (cs *consultations) answerColleague(l *leg) error {
	a := cs.a
	if l.answered {
		return nil
	}
	l.answered = true
	a.openBrowserMedia(l, l.agent, l.call, argConsult, "consult: the colleague's side")
	return nil
}

// holdCitizen takes the citizen out of the conversation's bridge and
// plays it the queue's music on hold, on its own channel: for the agent's
// hold and during a consultation. The agent's side stays in the bridge.
func (a *Adapter) holdCitizen(c *call) {
	if c.onHold || c.gone || c.ch == "" {
		return
	}
	c.onHold = true
	b, ch, class := c.bridge, c.ch, a.cfg.media[c.q].MOHClass
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.RemoveChannel(ctx, b, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: hold: taking the citizen out of the bridge failed", "call", c.id, "err", err)
		}
		if err := a.cli.StartMOH(ctx, ch, class); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: hold: music on hold failed", "call", c.id, "err", err)
		}
	})
}

// consultQueueAgent picks the ready agent of q idle longest whose phone or
// page omstil can ring.
func (cs *consultations) consultQueueAgent(c *call, q queue.QueueID, not queue.AgentID) (queue.AgentID, error) {
	a := cs.a
	if !a.queueIn(q, c.org) {
		if a.otherOrgQueue(q, c.org) {
			a.crossOrg("consult queue", c, string(q))
		}
		return "", refuse(RefusedUnknown, "unknown queue %s", q)
	}
	var free []queue.AgentSnapshot
	for _, ag := range a.eng.Snapshot().Agents {
		d := a.cfg.devices[ag.ID]
		if ag.ID != not && a.agentIn(ag.ID, c.org) && ag.State == queue.Ready && !ag.DeviceBusy && cs.consulted[ag.ID] == nil && a.reachable(d) && slices.Contains(ag.Queues, q) {
			free = append(free, ag)
		}
	}
	if len(free) == 0 {
		return "", refuse(RefusedNoFreeAgent, "no ready agent omstil can ring in queue %s", q)
	}
	slices.SortFunc(free, func(x, y queue.AgentSnapshot) int { return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.ID, y.ID)) })
	return free[0].ID, nil
}

// consultUp: the consulted party answered; it joins the agent's bridge.
func (cs *consultations) consultUp(c *call, l *leg) {
	a := cs.a
	if c == nil || c.gone || c.consult != l || c.bridge == "" {
		a.endLeg(l, ariclient.ReasonNormal)
		return
	}
	b := c.bridge
	a.job(string(c.id), func(ctx context.Context) {
		err := a.cli.AddChannel(ctx, b, l.id)
		a.post(func() {
			if c.consult != l {
				return
			}
			if err != nil {
				a.log.Warn("ari: consult: bridging the consulted party failed", "call", c.id, "err", err)
				cs.consultOver(c, l, ConsultTargetGone, true)
				return
			}
			a.callEvent(c, CallConsultUp, "")
			cs.tellConsult(c, ConsultUpdate{State: ConsultUp, With: cs.consultWith(l)})
		})
	})
}

func (cs *consultations) consultWith(l *leg) string {
	a := cs.a
	if l.agent != "" {
		return a.agentName(l.agent)
	}
	return ""
}

// consultGone: the consulted party's channel ended: it hung up, did not
// answer, could not be dialled, or a browser colleague's media failed.
// The citizen is back with the agent.
func (cs *consultations) consultGone(c *call, l *leg) {
	reason := ConsultTargetGone
	if l.web && l.up {
		reason = ConsultTargetHangup
	}
	cs.consultOver(c, l, reason, true)
}

// consultOver ends consultation l of c without a transfer: the target's
// leg is hung up (a browser colleague's page is told and its relay
// closed), the colleague is free again, the agent's page is told, and,
// when back, the citizen returns to the conversation. c may be nil or
// already without l (the leg ended after its call).
func (cs *consultations) consultOver(c *call, l *leg, reason string, back bool) {
	a := cs.a
	if l == nil {
		return
	}
	if l.agent != "" && cs.consulted[l.agent] == l {
		delete(cs.consulted, l.agent)
		a.handle(queue.AgentDeviceFree{Agent: l.agent})
	}
	if !l.done {
		l.done = true
		if !l.web || l.answered {
			a.hangupChannel(string(l.id), l.id, ariclient.ReasonNormal)
		}
	}
	if l.web && !l.answered {
		// no channel was ever made for it: nothing else forgets it.
		delete(a.legs, l.id)
	}
	if l.web && !l.told {
		l.told = true
		agent, cid := l.agent, l.call
		a.job(string(l.id), func(ctx context.Context) { a.opt.WebRTC.Ended(agent, cid, reason) })
	}
	if c == nil || c.consult != l {
		return
	}
	c.consult = nil
	a.callEvent(c, CallConsultEnded, reason)
	if c.gone {
		return
	}
	a.writeCallVar(c)
	cs.tellConsult(c, ConsultUpdate{State: ConsultEnded, Reason: reason, With: cs.consultWith(l)})
	if back {
		a.unholdCitizen(c)
	}
}

// unholdCitizen stops the music and puts the citizen back in the
// conversation's bridge, once neither the agent's hold nor a consultation
// keeps it out.
func (a *Adapter) unholdCitizen(c *call) {
	if !c.onHold || c.held || c.consult != nil || c.gone || c.ch == "" {
		return
	}
	c.onHold = false
	if c.state != stConnected || c.bridge == "" {
		return
	}
	a.citizenBackInBridge(c, "hold")
}

// citizenBackInBridge stops the citizen's music and adds it to the
// conversation's bridge again. what names the reason in the log.
func (a *Adapter) citizenBackInBridge(c *call, what string) {
	b, ch := c.bridge, c.ch
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.StopMOH(ctx, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: "+what+": stop music", "call", c.id, "err", err)
		}
		if err := a.cli.AddChannel(ctx, b, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: "+what+": putting the citizen back into the conversation failed", "call", c.id, "err", err)
		}
	})
}

// completeConsult hands the citizen to the consulted party: the agent's
// conversation ends (wrap-up) and the conversation's bridge goes. A
// consulted agent is the call's agent from here on: the engine has it on
// the call, and citizen and colleague get a conversation bridge named for
// it (so a restart adopts it as the colleague's). A consulted number gets
// a transfer bridge (no agent in its name: a restarted omstil leaves it
// alone), and the call is a transfer from here on.
func (cs *consultations) completeConsult(c *call) {
	a := cs.a
	l := c.consult
	c.consult = nil
	agent := c.agent
	a.handle(queue.CallEnded{Call: c.id})
	if c.leg != nil {
		a.endLeg(c.leg, ariclient.ReasonNormal)
		if c.leg.kind == legMedia {
			a.webrtcEnded(agent, c.id, "transferred")
		}
	}
	c.leg = nil
	c.onHold, c.held = false, false
	a.callEvent(c, CallTransferred, "attended")
	// on the call's worker, in order: the old bridge goes (its channels
	// stay in the app), the music stops, the new bridge is made.
	b, ch := c.bridge, c.ch
	c.bridge = ""
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.DestroyBridge(ctx, b); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: consult: destroy bridge", "bridge", b, "err", err)
		}
		if err := a.cli.StopMOH(ctx, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: consult: stop music", "call", c.id, "err", err)
		}
	})
	a.writeCallVar(c)
	if l.agent == "" {
		c.state = stTransfer
		l.kind = legXfer
		c.xfer = l
		a.bridgeChannels(c, "", "", l.id)
		return
	}
	colleague := l.agent
	if cs.consulted[colleague] == l {
		delete(cs.consulted, colleague)
	}
	l.kind = legAgent
	if l.web {
		l.kind = legMedia
	}
	c.agent, c.leg = colleague, l
	a.handle(queue.AdoptConnected{Call: c.id, Queue: c.q, Agent: colleague, Since: a.now()})
	// on the call now: the engine offers it nothing, the device flag goes.
	a.handle(queue.AgentDeviceFree{Agent: colleague})
	a.bridgeChannels(c, colleague, c.q, l.id)
	if l.web {
		u := ConsultUpdate{Call: c.id, State: ConsultTakenOver, With: a.agentName(agent)}
		a.job(string(l.id), func(ctx context.Context) { a.opt.WebRTC.Consult(colleague, u) })
	}
}

// completeAnswered completes c's consultation once the target answered
// (CompleteConsult).
func (cs *consultations) completeAnswered(c *call) error {
	if !c.consult.up {
		return refuse(RefusedNotAnswered, "the consulted party has not answered")
	}
	cs.completeConsult(c)
	return nil
}

// cancelConsult ends c's consultation; the citizen is back with the agent
// (CancelConsult).
func (cs *consultations) cancelConsult(c *call) error {
	cs.consultOver(c, c.consult, ConsultCancelled, true)
	return nil
}
