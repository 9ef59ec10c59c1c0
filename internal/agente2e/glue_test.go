package agente2e

// This file mirrors the composition root's glue (cmd/omstil/glue.go:
// phoneGlue, agentDirectory; cmd/omstil/calls.go: runtimeConfig), which
// lives in package main and so cannot be imported. Keep it in step with
// those files; the one deliberate difference is marked DIFFERS below. The
// glue would better live in a package of its own that both import.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
)

// phoneGlue connects the softphone bridge and the ARI adapter: it is the
// adapter's WebRTC device and the bridge's call control.
type phoneGlue struct {
	phones  *softphone.Manager
	adapter *ari.Adapter
}

var errNoPage = &softphone.ControlError{Code: "no-page", Message: "the agent's page is not connected"}

func (g *phoneGlue) session(agent queue.AgentID) (*softphone.Session, error) {
	s, ok := g.phones.Session(softphone.AgentID(agent))
	if !ok {
		return nil, errNoPage
	}
	return s, nil
}

func (g *phoneGlue) Ring(agent queue.AgentID, r ari.RingInfo) error {
	s, err := g.session(agent)
	if err != nil {
		return err
	}
	return s.Notify(softphone.RingMessage(softphone.CallID(r.Call), r.Name, r.Caller, r.Waited))
}

func (g *phoneGlue) Attach(agent queue.AgentID, call queue.CallID) (string, error) {
	s, err := g.session(agent)
	if err != nil {
		return "", err
	}
	return s.AttachCall(softphone.CallID(call))
}

func (g *phoneGlue) Connected(agent queue.AgentID, call queue.CallID, asteriskAddr string) error {
	s, err := g.session(agent)
	if err != nil {
		return err
	}
	if asteriskAddr != "" {
		if err := s.SetRemote(softphone.CallID(call), asteriskAddr); err != nil {
			return err
		}
	}
	return s.Notify(softphone.ConnectedMessage(softphone.CallID(call)))
}

func (g *phoneGlue) Ended(agent queue.AgentID, call queue.CallID, reason string) {
	s, err := g.session(agent)
	if err != nil {
		return
	}
	if c, ok := s.Call(); ok && c == softphone.CallID(call) {
		s.DetachCall(c)
	}
	s.Notify(softphone.EndedMessage(softphone.CallID(call), reason))
}

// controlErr: DIFFERS from cmd/omstil/glue.go, which passes the adapter's
// errors on as they are, so the page shows only "failed" (softphone turns
// any error that is not a *ControlError into code "failed"). An agent who
// answers a call that is not theirs must be told so in words; this is the
// mapping the test asks the composition root to adopt.
func controlErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ari.ErrNoSuchCall):
		return &softphone.ControlError{Code: "not-your-call", Message: "this call is not offered to you or has ended"}
	case errors.Is(err, ari.ErrRefused):
		return &softphone.ControlError{Code: "refused", Message: err.Error()}
	}
	return err
}

func (g *phoneGlue) Answer(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Answer(ctx, queue.AgentID(agent), queue.CallID(call)))
}

func (g *phoneGlue) Decline(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Decline(ctx, queue.AgentID(agent), queue.CallID(call)))
}

func (g *phoneGlue) Hangup(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Hangup(ctx, queue.AgentID(agent), queue.CallID(call)))
}

func (g *phoneGlue) Hold(ctx context.Context, agent softphone.AgentID, call softphone.CallID, on bool) error {
	return controlErr(g.adapter.Hold(ctx, queue.AgentID(agent), queue.CallID(call), on))
}

func (g *phoneGlue) Transfer(ctx context.Context, agent softphone.AgentID, call softphone.CallID, t softphone.Transfer) error {
	if t.Mode != "" && t.Mode != "blind" {
		return &softphone.ControlError{Code: "unsupported", Message: "attended transfer is not supported yet; use a blind transfer"}
	}
	switch t.Kind {
	case "queue":
		return controlErr(g.adapter.TransferToQueue(ctx, queue.AgentID(agent), queue.CallID(call), queue.QueueID(t.To)))
	case "number":
		return controlErr(g.adapter.TransferToNumber(ctx, queue.AgentID(agent), queue.CallID(call), t.To))
	}
	return &softphone.ControlError{Code: "unsupported", Message: "transfer to " + t.Kind + " is not supported; transfer to a queue or a number"}
}

func (g *phoneGlue) SendDTMF(ctx context.Context, agent softphone.AgentID, call softphone.CallID, digits string) error {
	return controlErr(g.adapter.SendDTMF(ctx, queue.AgentID(agent), queue.CallID(call), digits))
}

func (g *phoneGlue) SetState(ctx context.Context, agent softphone.AgentID, state softphone.AgentState, reason string) error {
	var st queue.State
	switch state {
	case softphone.StateReady:
		st = queue.Ready
	case softphone.StatePaused:
		st = queue.Paused
	case softphone.StateLoggedOut:
		st = queue.LoggedOut
	default:
		return &softphone.ControlError{Code: "bad-state", Message: fmt.Sprintf("unknown state %q", state)}
	}
	if err := g.adapter.SetAgentState(ctx, queue.AgentID(agent), st, reason, nil); err != nil {
		return &softphone.ControlError{Code: "state-refused", Message: err.Error()}
	}
	return nil
}

func (g *phoneGlue) PageOnline(agent softphone.AgentID, online bool) {}

// agentDirectory tells the agent page who the user is and what they may
// choose (cmd/omstil/glue.go).
type agentDirectory struct {
	st      *config.Store
	adapter *ari.Adapter
}

func (d agentDirectory) runtimeAgent(ctx context.Context, agent softphone.AgentID) (config.Runtime, config.RuntimeAgent, error) {
	rt, err := d.st.LoadRuntime(ctx)
	if err != nil {
		return rt, config.RuntimeAgent{}, err
	}
	a, ok := rt.AgentInfo[queue.AgentID(agent)]
	if !ok {
		return rt, a, fmt.Errorf("agent %s: %w", agent, config.ErrNotFound)
	}
	return rt, a, nil
}

func (d agentDirectory) AgentFor(ctx context.Context, u config.User) (softphone.AgentID, error) {
	rt, err := d.st.LoadRuntime(ctx)
	if err != nil {
		return "", err
	}
	for id, a := range rt.AgentInfo {
		if a.UserID != nil && *a.UserID == u.ID && a.DeviceKind == config.DeviceWebRTC {
			return softphone.AgentID(id), nil
		}
	}
	return "", fmt.Errorf("user %s has no browser-softphone agent: %w", u.Username, config.ErrNotFound)
}

func (d agentDirectory) AgentSetup(ctx context.Context, agent softphone.AgentID) (server.AgentSetup, error) {
	rt, a, err := d.runtimeAgent(ctx, agent)
	if err != nil {
		return server.AgentSetup{}, err
	}
	var setup server.AgentSetup
	var loggedIn []queue.QueueID
	for _, as := range d.adapter.Snapshot().Agents {
		if as.ID == queue.AgentID(agent) {
			loggedIn = as.Queues
		}
	}
	var wrap int
	for _, ac := range rt.Agents {
		if ac.ID != queue.AgentID(agent) {
			continue
		}
		for _, m := range ac.Queues {
			name := string(m.Queue)
			if qi, ok := rt.QueueInfo[m.Queue]; ok {
				name = qi.DisplayName
			}
			setup.Queues = append(setup.Queues, server.AgentQueue{ID: string(m.Queue), Name: name, Selected: slices.Contains(loggedIn, m.Queue)})
			for _, qc := range rt.Queues {
				if qc.ID == m.Queue && int(qc.WrapUp.Seconds()) > wrap {
					wrap = int(qc.WrapUp.Seconds())
				}
			}
		}
		if ac.WrapUp != nil {
			wrap = int(ac.WrapUp.Seconds())
		}
	}
	for _, r := range rt.PauseReasons[a.OrgID] {
		setup.PauseReasons = append(setup.PauseReasons, server.PauseReason{ID: r, Label: r})
	}
	setup.WrapUpSeconds = wrap
	setup.AutoReady = true
	return setup, nil
}

func (d agentDirectory) SetAgentQueues(ctx context.Context, agent softphone.AgentID, queues []string) error {
	rt, _, err := d.runtimeAgent(ctx, agent)
	if err != nil {
		return err
	}
	var member []queue.QueueID
	for _, ac := range rt.Agents {
		if ac.ID == queue.AgentID(agent) {
			for _, m := range ac.Queues {
				member = append(member, m.Queue)
			}
		}
	}
	ids := make([]queue.QueueID, 0, len(queues))
	for _, q := range queues {
		if !slices.Contains(member, queue.QueueID(q)) {
			return &config.ValidationError{Field: "queues", Message: fmt.Sprintf("you are not a member of queue %q", q)}
		}
		ids = append(ids, queue.QueueID(q))
	}
	state := queue.Paused
	for _, as := range d.adapter.Snapshot().Agents {
		if as.ID == queue.AgentID(agent) && as.State != queue.LoggedOut {
			state = as.State
		}
	}
	if len(ids) == 0 {
		state = queue.LoggedOut
	}
	if state != queue.Ready && state != queue.Paused && state != queue.LoggedOut {
		state = queue.Ready
	}
	reason := ""
	if state == queue.Paused {
		reason = "login"
		if rs := rt.PauseReasons[rt.AgentInfo[queue.AgentID(agent)].OrgID]; len(rs) > 0 {
			reason = rs[0]
		}
	}
	if err := d.adapter.SetAgentState(ctx, queue.AgentID(agent), state, reason, ids); err != nil {
		return &config.ValidationError{Field: "queues", Message: err.Error()}
	}
	return nil
}

// runtimeConfig converts the store's runtime view into the adapter's
// (cmd/omstil/calls.go).
func runtimeConfig(rt config.Runtime, media string) ari.RuntimeConfig {
	rc := ari.RuntimeConfig{
		Numbers:       map[string]ari.NumberConfig{},
		Schedules:     map[string]callflow.ScheduleLookup{},
		Queues:        rt.Queues,
		QueueMedia:    map[queue.QueueID]ari.QueueMedia{},
		Agents:        rt.Agents,
		Devices:       map[queue.AgentID]ari.Device{},
		Announcements: map[callflow.AnnouncementRef][]string{},
	}
	for num, n := range rt.Numbers {
		org := fmt.Sprint(n.OrgID)
		rc.Numbers[num] = ari.NumberConfig{Flow: n.Flow, Org: org}
		rc.Schedules[org] = rt.Schedules
	}
	for id, q := range rt.QueueInfo {
		m := ari.QueueMedia{Name: q.DisplayName}
		switch q.Music {
		case "ringing":
			m.Ringing = true
		default:
			m.MOHClass = q.Music
		}
		rc.QueueMedia[id] = m
	}
	for id, a := range rt.AgentInfo {
		d := ari.Device{Kind: ari.DeviceWebRTC}
		if a.DeviceKind == config.DeviceEndpoint {
			d = ari.Device{Kind: ari.DeviceEndpoint, Dial: a.DialString}
		}
		rc.Devices[id] = d
	}
	for ref, a := range rt.Announcements {
		rc.Announcements[ref] = []string{"sound:" + media + "/media/announcements/" + a.MediaName}
	}
	seen := map[string]bool{}
	for _, rs := range rt.PauseReasons {
		for _, r := range rs {
			if !seen[r] {
				seen[r] = true
				rc.PauseReasons = append(rc.PauseReasons, r)
			}
		}
	}
	return rc
}
