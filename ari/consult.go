package ari

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
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

// consultRing bounds how long a consult target rings.
const consultRing = 30 * time.Second

// Consult starts an attended transfer: the citizen is taken out of the
// conversation and hears music on hold, the target is dialled and, once it
// answers, talks with the agent in the conversation's bridge. Then
// CompleteConsult hands the citizen to the target, CancelConsult returns
// to the citizen. If the target does not answer or hangs up, the citizen
// is back with the agent by itself. It works for browser and endpoint
// agents alike; the target must be reachable by a dial string (a browser
// agent cannot be consulted yet: ErrRefused).
func (a *Adapter) Consult(ctx context.Context, agent queue.AgentID, call queue.CallID, t ConsultTarget) error {
	return a.doErr(ctx, func() error { return a.consult(agent, call, t) })
}

// CompleteConsult finishes an attended transfer: the agent leaves (wrap-up)
// and the citizen is bridged with the consulted target. Before the target
// answered it is refused (ErrRefused); cancel instead.
func (a *Adapter) CompleteConsult(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.onConnected(ctx, agent, id, consulting, func(c *call) error {
		if !c.consult.up {
			return fmt.Errorf("%w: the consulted party has not answered", ErrRefused)
		}
		a.completeConsult(c)
		return nil
	})
}

func consulting(c *call) bool { return c.consult != nil }

// CancelConsult ends the consultation: the target is hung up and the
// citizen is back in the conversation with the agent.
func (a *Adapter) CancelConsult(ctx context.Context, agent queue.AgentID, id queue.CallID) error {
	return a.onConnected(ctx, agent, id, consulting, func(c *call) error {
		a.endConsult(c, true)
		return nil
	})
}

func (a *Adapter) consult(agent queue.AgentID, call queue.CallID, t ConsultTarget) error {
	c := a.connectedCall(agent, call)
	if c == nil || c.ch == "" || c.leg == nil || c.bridge == "" {
		return ErrNoSuchCall
	}
	if c.consult != nil {
		return fmt.Errorf("%w: a consultation is already going on", ErrRefused)
	}
	l := &leg{id: ariclient.ChannelID(a.newID()), kind: legConsult, call: c.id}
	r := ariclient.OriginateRequest{Timeout: consultRing}
	switch t.Kind {
	case ConsultAgent, ConsultQueue:
		target := queue.AgentID(t.To)
		if t.Kind == ConsultQueue {
			var err error
			if target, err = a.consultQueueAgent(queue.QueueID(t.To), agent); err != nil {
				return err
			}
		}
		dev, ok := a.cfg.devices[target]
		switch {
		case !a.cfg.agents[target]:
			return fmt.Errorf("%w: %s", ErrUnknownAgent, target)
		case target == agent:
			return fmt.Errorf("%w: an agent cannot consult itself", ErrRefused)
		case !ok || dev.Kind != DeviceEndpoint || dev.Dial == "":
			return fmt.Errorf("%w: agent %s has no phone that can be dialled (browser agents cannot be consulted yet)", ErrRefused, target)
		}
		switch a.agentState[target] {
		case queue.Ringing, queue.OnCall:
			return fmt.Errorf("%w: agent %s is busy", ErrRefused, target)
		}
		l.agent = target
		r.Endpoint = dev.Dial
		r.CallerID = fmt.Sprintf("%q <%s>", "Viderestilling "+a.queueName(c.q), c.caller)
	case ConsultNumber:
		r.Endpoint = a.dialString(t.To)
		r.CallerID = a.opt.CallerID
		if r.Endpoint == "" || t.To == "" {
			return fmt.Errorf("%w: consulting a number needs a number and Options.CallbackEndpoint", ErrRefused)
		}
	default:
		return fmt.Errorf("%w: consult target kind %q", ErrRefused, t.Kind)
	}
	a.legs[l.id] = l
	c.consult = l
	if l.agent != "" {
		// the colleague's phone is taken by the consultation: no call is
		// offered to it meanwhile.
		a.handle(queue.AgentDeviceBusy{Agent: l.agent})
	}
	a.callEvent(c, CallConsult, string(t.Kind))
	// the citizen leaves the bridge and hears music until it comes back.
	a.holdCitizen(c)
	a.originate(c, l, r)
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

// consultQueueAgent picks the ready endpoint agent of q idle longest.
func (a *Adapter) consultQueueAgent(q queue.QueueID, not queue.AgentID) (queue.AgentID, error) {
	if _, ok := a.cfg.queues[q]; !ok {
		return "", fmt.Errorf("%w: unknown queue %s", ErrRefused, q)
	}
	var free []queue.AgentSnapshot
	for _, ag := range a.eng.Snapshot().Agents {
		d := a.cfg.devices[ag.ID]
		if ag.ID != not && ag.State == queue.Ready && !ag.DeviceBusy && d.Kind == DeviceEndpoint && d.Dial != "" && slices.Contains(ag.Queues, q) {
			free = append(free, ag)
		}
	}
	if len(free) == 0 {
		return "", fmt.Errorf("%w: no ready agent with a phone in queue %s", ErrRefused, q)
	}
	slices.SortFunc(free, func(x, y queue.AgentSnapshot) int { return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.ID, y.ID)) })
	return free[0].ID, nil
}

// consultUp: the consulted party answered; it joins the agent's bridge.
func (a *Adapter) consultUp(c *call, l *leg) {
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
				a.endConsult(c, true)
				return
			}
			a.callEvent(c, CallConsultUp, "")
		})
	})
}

// consultGone: the consulted party hung up, did not answer, or could not
// be dialled: the citizen is back with the agent.
func (a *Adapter) consultGone(c *call, l *leg) {
	if l.agent != "" {
		a.handle(queue.AgentDeviceFree{Agent: l.agent})
	}
	if c == nil || c.consult != l {
		return
	}
	c.consult = nil
	a.callEvent(c, CallConsultEnded, "target-gone")
	a.unholdCitizen(c)
}

// endConsult cancels: the target is hung up, the citizen comes back.
func (a *Adapter) endConsult(c *call, back bool) {
	l := c.consult
	c.consult = nil
	if l == nil {
		return
	}
	a.endLeg(l, ariclient.ReasonNormal)
	if l.agent != "" {
		a.handle(queue.AgentDeviceFree{Agent: l.agent})
		l.agent = ""
	}
	a.callEvent(c, CallConsultEnded, "cancelled")
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
	b, ch := c.bridge, c.ch
	a.job(string(c.id), func(ctx context.Context) {
		if err := a.cli.StopMOH(ctx, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Debug("ari: hold: stop music", "call", c.id, "err", err)
		}
		if err := a.cli.AddChannel(ctx, b, ch); err != nil && !ariclient.IsNotFound(err) {
			a.log.Warn("ari: hold: putting the citizen back failed", "call", c.id, "err", err)
		}
	})
}

// completeConsult hands the citizen to the consulted party: the agent's
// conversation ends (wrap-up), citizen and target get a transfer bridge of
// their own (no agent in its name, so a restarted omstil leaves it alone),
// and the call is a transfer from here on.
func (a *Adapter) completeConsult(c *call) {
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
	c.state = stTransfer
	l.kind = legXfer
	c.xfer = l
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
	a.bridgeChannels(c, "", "", l.id)
}
