package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
	"github.com/prometheus/client_golang/prometheus"
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

// Ring implements ari.WebRTC.
func (g *phoneGlue) Ring(agent queue.AgentID, r ari.RingInfo) error {
	s, err := g.session(agent)
	if err != nil {
		return err
	}
	return s.Notify(softphone.RingMessage(softphone.CallID(r.Call), r.Name, r.Caller, r.Waited))
}

// Attach implements ari.WebRTC.
func (g *phoneGlue) Attach(agent queue.AgentID, call queue.CallID) (string, error) {
	s, err := g.session(agent)
	if err != nil {
		return "", err
	}
	return s.AttachCall(softphone.CallID(call))
}

// Connected implements ari.WebRTC.
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

// Ended implements ari.WebRTC.
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

// Answer implements softphone.CallControl.
func (g *phoneGlue) Answer(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return g.adapter.Answer(ctx, queue.AgentID(agent), queue.CallID(call))
}

// Decline implements softphone.CallControl.
func (g *phoneGlue) Decline(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return g.adapter.Decline(ctx, queue.AgentID(agent), queue.CallID(call))
}

// Hangup implements softphone.CallControl.
func (g *phoneGlue) Hangup(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return g.adapter.Hangup(ctx, queue.AgentID(agent), queue.CallID(call))
}

// Hold implements softphone.CallControl.
func (g *phoneGlue) Hold(ctx context.Context, agent softphone.AgentID, call softphone.CallID, on bool) error {
	return g.adapter.Hold(ctx, queue.AgentID(agent), queue.CallID(call), on)
}

// Transfer implements softphone.CallControl: blind transfers to a queue
// or a number. Attended transfer is not supported yet.
func (g *phoneGlue) Transfer(ctx context.Context, agent softphone.AgentID, call softphone.CallID, t softphone.Transfer) error {
	if t.Mode != "" && t.Mode != "blind" {
		return &softphone.ControlError{Code: "unsupported", Message: "attended transfer is not supported yet; use a blind transfer"}
	}
	switch t.Kind {
	case "queue":
		return g.adapter.TransferToQueue(ctx, queue.AgentID(agent), queue.CallID(call), queue.QueueID(t.To))
	case "number":
		return g.adapter.TransferToNumber(ctx, queue.AgentID(agent), queue.CallID(call), t.To)
	}
	return &softphone.ControlError{Code: "unsupported", Message: "transfer to " + t.Kind + " is not supported; transfer to a queue or a number"}
}

// SendDTMF implements softphone.CallControl.
func (g *phoneGlue) SendDTMF(ctx context.Context, agent softphone.AgentID, call softphone.CallID, digits string) error {
	return g.adapter.SendDTMF(ctx, queue.AgentID(agent), queue.CallID(call), digits)
}

// SetState implements softphone.CallControl.
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

// PageOnline implements softphone.CallControl. A page that goes away
// leaves the agent's state alone: a reload comes back within seconds and
// a call in progress continues on the relay.
func (g *phoneGlue) PageOnline(agent softphone.AgentID, online bool) {}

// liveView is the adapter as the HTTP layer sees it.
type liveView struct {
	adapter *ari.Adapter
	st      *config.Store
}

func (l liveView) Snapshot(ctx context.Context) (queue.Snapshot, error) {
	return l.adapter.Snapshot(), nil
}

func (l liveView) Calls(ctx context.Context) ([]server.LiveCall, error) {
	rt, err := l.st.LoadRuntime(ctx)
	if err != nil {
		return nil, err
	}
	calls := l.adapter.Calls()
	out := make([]server.LiveCall, 0, len(calls))
	for _, c := range calls {
		lc := server.LiveCall{Call: c.Call, Number: c.Number, Caller: c.Caller, Step: c.Step, Queue: c.Queue,
			Position: c.Position, Waited: c.Waited, Agent: c.Agent}
		if n, ok := rt.Numbers[c.Number]; ok {
			lc.Org = n.OrgID
		}
		out = append(out, lc)
	}
	return out, nil
}

func (l liveView) SetAgentState(ctx context.Context, agent queue.AgentID, state, reason string, queues []queue.QueueID) error {
	var st queue.State
	switch state {
	case "ready":
		st = queue.Ready
	case "paused":
		st = queue.Paused
	case "logged_out", "logged-out", "loggedout":
		st = queue.LoggedOut
	default:
		return fmt.Errorf("%w: unknown state %q", server.ErrStateRefused, state)
	}
	if err := l.adapter.SetAgentState(ctx, agent, st, reason, queues); err != nil {
		return fmt.Errorf("%w: %s", server.ErrStateRefused, err.Error())
	}
	return nil
}

// agentDirectory tells the agent page who the user is and what they may
// choose.
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

// registerCallMetrics exports the ARI client's and the engine's figures.
func registerCallMetrics(reg *prometheus.Registry, client *ariclient.Client, a *ari.Adapter) error {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	cs := []prometheus.Collector{
		gauge("omstil_ari_connected", "1 while the ARI event socket is connected.", func() float64 {
			if client.Connected() {
				return 1
			}
			return 0
		}),
		gauge("omstil_ari_event_queue_depth", "ARI events waiting for the call handling.", func() float64 { return float64(client.Stats().QueueDepth) }),
		counter("omstil_ari_events_total", "ARI events received.", func() float64 { return float64(client.Stats().Received) }),
		counter("omstil_ari_unknown_events_total", "ARI events of types omstil does not know.", func() float64 { return float64(client.Stats().Unknown) }),
		counter("omstil_ari_rest_calls_total", "ARI REST calls.", func() float64 { return float64(client.Stats().RESTCalls) }),
		counter("omstil_ari_rest_errors_total", "ARI REST calls that failed.", func() float64 { return float64(client.Stats().RESTErrors) }),
		counter("omstil_ari_connects_total", "ARI event socket connections.", func() float64 { return float64(client.Stats().Connects) }),
		gauge("omstil_calls_waiting", "Callers waiting in all queues.", func() float64 {
			n := 0
			for _, q := range a.Snapshot().Queues {
				n += len(q.Waiting)
			}
			return float64(n)
		}),
		gauge("omstil_calls_in_progress", "Calls omstil is handling.", func() float64 { return float64(len(a.Calls())) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// engineEvent maps an engine output to a call-event row.
func engineEvent(out queue.Output) (config.CallEvent, bool) {
	ev := config.CallEvent{Kind: strings.TrimPrefix(fmt.Sprintf("%T", out), "queue.")}
	switch o := out.(type) {
	case queue.CallJoined:
		ev.At, ev.CallID, ev.Queue = o.At, string(o.Call), string(o.Queue)
	case queue.Offered:
		ev.At, ev.CallID, ev.Queue, ev.Agent = o.At, string(o.Call), string(o.Queue), string(o.Agent)
	case queue.Answered:
		ev.At, ev.CallID, ev.Queue, ev.Agent, ev.WaitMS = o.At, string(o.Call), string(o.Queue), string(o.Agent), o.Waited.Milliseconds()
	case queue.Abandoned:
		ev.At, ev.CallID, ev.Queue, ev.WaitMS = o.At, string(o.Call), string(o.Queue), o.Waited.Milliseconds()
	case queue.Overflowed:
		ev.At, ev.CallID, ev.Queue, ev.WaitMS = o.At, string(o.Call), string(o.Queue), o.Waited.Milliseconds()
	case queue.CallCompleted:
		ev.At, ev.CallID, ev.Queue, ev.Agent = o.At, string(o.Call), string(o.Queue), string(o.Agent)
	case queue.AgentStateChanged:
		ev.At, ev.Agent = o.At, string(o.Agent)
	case queue.Command:
		return ev, false // commands are carried out, not logged
	default:
		ev.At = out.Time()
	}
	return ev, true
}

func (w *eventWriter) engine(out queue.Output) {
	ev, ok := engineEvent(out)
	if !ok {
		return
	}
	if b, err := jsonDetail(out); err == nil {
		ev.Data = b
	}
	w.orgs.resolve(&ev, "")
	w.add(ev)
}

func (w *eventWriter) call(ev ari.CallEvent) {
	row := config.CallEvent{At: ev.At, CallID: string(ev.Call), Kind: "call." + string(ev.Kind), Queue: string(ev.Queue),
		Agent: string(ev.Agent), Caller: ev.Caller, Data: mustJSON(map[string]string{"number": ev.Number, "step": string(ev.Step), "step_kind": string(ev.StepKind), "detail": ev.Detail})}
	w.orgs.resolve(&row, ev.Number)
	w.add(row)
}
