// Package telephony joins the parts of omstil's call handling that do
// not know each other: the ARI adapter and the softphone bridge
// (PhoneGlue), the configuration store and the adapter (RuntimeConfig,
// AgentDirectory, LiveView), and the call-event log (EventWriter). The
// composition root in cmd/omstil and the end-to-end tests use the same
// code.
package telephony

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
	"github.com/prometheus/client_golang/prometheus"
)

// PhoneGlue connects the softphone bridge and the ARI adapter: it is the
// adapter's WebRTC device and the bridge's call control.
type PhoneGlue struct {
	phones  *softphone.Manager
	adapter *ari.Adapter
}

// NewPhoneGlue joins a softphone bridge and an adapter. Give the adapter
// the glue as its WebRTC device and the bridge as its call control:
//
//	g := NewPhoneGlue(phones)
//	adapter, _ := ari.New(ari.Options{WebRTC: g, ...})
//	g.SetAdapter(adapter)
//	phones.SetCallControl(g)
func NewPhoneGlue(phones *softphone.Manager) *PhoneGlue { return &PhoneGlue{phones: phones} }

// SetAdapter completes the glue once the adapter exists.
func (g *PhoneGlue) SetAdapter(a *ari.Adapter) { g.adapter = a }

// controlErr turns the adapter's refusals into messages the agent's page
// shows in words (any other error reaches the page as "failed").
func controlErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ari.ErrNoSuchCall):
		return &softphone.ControlError{Code: "not-your-call", Message: "this call is not offered to you or has ended"}
	case errors.Is(err, ari.ErrRefused):
		ce := &softphone.ControlError{Code: "refused", Message: err.Error()}
		var r *ari.Refusal
		if errors.As(err, &r) {
			ce.Message, ce.Reason = r.Detail, r.Reason
		}
		return ce
	}
	return err
}

var errNoPage = &softphone.ControlError{Code: "no-page", Message: "the agent's page is not connected"}

func (g *PhoneGlue) session(agent queue.AgentID) (*softphone.Session, error) {
	s, ok := g.phones.Session(agent)
	if !ok {
		return nil, errNoPage
	}
	return s, nil
}

// Ring implements ari.WebRTC.
func (g *PhoneGlue) Ring(agent queue.AgentID, r ari.RingInfo) error {
	s, err := g.session(agent)
	if err != nil {
		return err
	}
	if r.From != "" {
		name := r.FromName
		if name == "" {
			name = string(r.From)
		}
		return s.Notify(softphone.ConsultRingMessage(r.Call, r.Name, r.Caller, name))
	}
	return s.Notify(softphone.RingMessage(r.Call, r.Name, r.Caller, r.Waited))
}

// Consult implements ari.WebRTC: the page is told how an attended transfer
// goes (a page that is not connected gets it on reconnect).
func (g *PhoneGlue) Consult(agent queue.AgentID, u ari.ConsultUpdate) {
	s, err := g.session(agent)
	if err != nil {
		return
	}
	_ = s.Notify(softphone.ConsultMessage(u.Call, u.State, u.Reason, u.With))
}

// Attach implements ari.WebRTC.
func (g *PhoneGlue) Attach(agent queue.AgentID, call queue.CallID) (string, error) {
	s, err := g.session(agent)
	if err != nil {
		return "", err
	}
	return s.AttachCall(call)
}

// Reattach implements ari.WebRTC: after a restart the agent's relay is
// opened again where Asterisk still sends, whether or not the page has
// reconnected yet.
func (g *PhoneGlue) Reattach(agent queue.AgentID, call queue.CallID, relayAddr string) error {
	return g.phones.Reattach(agent, call, relayAddr)
}

// Connected implements ari.WebRTC.
func (g *PhoneGlue) Connected(agent queue.AgentID, call queue.CallID, asteriskAddr string) error {
	s, err := g.session(agent)
	if err != nil {
		return err
	}
	if asteriskAddr != "" {
		if err := s.SetRemote(call, asteriskAddr); err != nil {
			return err
		}
	}
	return s.Notify(softphone.ConnectedMessage(call))
}

// Ended implements ari.WebRTC.
func (g *PhoneGlue) Ended(agent queue.AgentID, call queue.CallID, reason string) {
	s, err := g.session(agent)
	if err != nil {
		return
	}
	if c, ok := s.Call(); ok && c == call {
		s.DetachCall(c)
	}
	s.Notify(softphone.EndedMessage(call, reason))
}

// Answer implements softphone.CallControl.
func (g *PhoneGlue) Answer(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Answer(ctx, agent, call))
}

// Decline implements softphone.CallControl.
func (g *PhoneGlue) Decline(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Decline(ctx, agent, call))
}

// Hangup implements softphone.CallControl.
func (g *PhoneGlue) Hangup(ctx context.Context, agent softphone.AgentID, call softphone.CallID) error {
	return controlErr(g.adapter.Hangup(ctx, agent, call))
}

// Hold implements softphone.CallControl.
func (g *PhoneGlue) Hold(ctx context.Context, agent softphone.AgentID, call softphone.CallID, on bool) error {
	return controlErr(g.adapter.Hold(ctx, agent, call, on))
}

// Transfer implements softphone.CallControl: blind transfers to a queue or
// a number, and attended transfers (consult an agent, a queue's agent or a
// number with the citizen on hold, then complete or cancel).
func (g *PhoneGlue) Transfer(ctx context.Context, agent softphone.AgentID, call softphone.CallID, t softphone.Transfer) error {
	a, c := agent, call
	switch t.Mode {
	case "", "blind":
		switch t.Kind {
		case "queue":
			return controlErr(g.adapter.TransferToQueue(ctx, a, c, queue.QueueID(t.To)))
		case "number":
			return controlErr(g.adapter.TransferToNumber(ctx, a, c, t.To))
		}
		return &softphone.ControlError{Code: "unsupported", Message: "a blind transfer goes to a queue or a number"}
	case "attended":
		var kind ari.ConsultKind
		switch t.Kind {
		case "agent":
			kind = ari.ConsultAgent
		case "queue":
			kind = ari.ConsultQueue
		case "number":
			kind = ari.ConsultNumber
		default:
			return &softphone.ControlError{Code: "unsupported", Message: "an attended transfer consults an agent, a queue or a number"}
		}
		return controlErr(g.adapter.Consult(ctx, a, c, ari.ConsultTarget{Kind: kind, To: t.To}))
	case softphone.ModeRequeue:
		return controlErr(g.adapter.ReturnToQueue(ctx, a, c))
	case "complete":
		return controlErr(g.adapter.CompleteConsult(ctx, a, c))
	case "cancel":
		return controlErr(g.adapter.CancelConsult(ctx, a, c))
	}
	return &softphone.ControlError{Code: "unsupported", Message: "unknown transfer mode " + t.Mode}
}

// SendDTMF implements softphone.CallControl.
func (g *PhoneGlue) SendDTMF(ctx context.Context, agent softphone.AgentID, call softphone.CallID, digits string) error {
	return controlErr(g.adapter.SendDTMF(ctx, agent, call, digits))
}

// SetState implements softphone.CallControl.
func (g *PhoneGlue) SetState(ctx context.Context, agent softphone.AgentID, state softphone.AgentState, reason string) error {
	// The page's states are queue.State's text form; a page may choose
	// only ready, paused and logged_out.
	st, err := queue.ParseState(string(state))
	if err != nil || (st != queue.Ready && st != queue.Paused && st != queue.LoggedOut) {
		return &softphone.ControlError{Code: "bad-state", Message: fmt.Sprintf("unknown state %q", state)}
	}
	if err := g.adapter.SetAgentState(ctx, agent, st, reason, nil); err != nil {
		return &softphone.ControlError{Code: "state-refused", Message: err.Error()}
	}
	return nil
}

// PageOnline implements softphone.CallControl: the adapter pauses a ready
// agent whose page stays gone (a reload comes back within seconds; a call
// in progress continues on the relay).
func (g *PhoneGlue) PageOnline(agent softphone.AgentID, online bool) {
	g.adapter.PageOnline(agent, online)
}

// LiveView is the adapter as the HTTP layer sees it.
type LiveView struct {
	Adapter *ari.Adapter
	// Runtime is the configuration the calls are handled with
	// (Reloader.Runtime).
	Runtime func() config.Runtime
}

func (l LiveView) Snapshot(ctx context.Context) (queue.Snapshot, error) {
	return l.Adapter.Snapshot(), nil
}

func (l LiveView) Calls(ctx context.Context) ([]server.LiveCall, error) {
	rt := l.Runtime()
	calls := l.Adapter.Calls()
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

func (l LiveView) SetAgentState(ctx context.Context, agent queue.AgentID, st queue.State, reason string, queues []queue.QueueID) error {
	if err := l.Adapter.SetAgentState(ctx, agent, st, reason, queues); err != nil {
		return fmt.Errorf("%w: %s", server.ErrStateRefused, err.Error())
	}
	return nil
}

// AgentDirectory tells the agent page who the user is and what they may
// choose.
type AgentDirectory struct {
	Adapter *ari.Adapter
	// Runtime is the configuration the calls are handled with
	// (Reloader.Runtime).
	Runtime func() config.Runtime
}

func (d AgentDirectory) runtimeAgent(agent softphone.AgentID) (config.Runtime, config.RuntimeAgent, error) {
	rt := d.Runtime()
	a, ok := rt.AgentInfo[agent]
	if !ok {
		return rt, a, fmt.Errorf("agent %s: %w", agent, config.ErrNotFound)
	}
	return rt, a, nil
}

func (d AgentDirectory) AgentFor(ctx context.Context, u config.User) (softphone.AgentID, error) {
	for id, a := range d.Runtime().AgentInfo {
		if a.UserID != nil && *a.UserID == u.ID && a.DeviceKind == config.DeviceWebRTC {
			return id, nil
		}
	}
	return "", fmt.Errorf("user %s has no browser-softphone agent: %w", u.Username, config.ErrNotFound)
}

func (d AgentDirectory) AgentSetup(ctx context.Context, agent softphone.AgentID) (server.AgentSetup, error) {
	rt, a, err := d.runtimeAgent(agent)
	if err != nil {
		return server.AgentSetup{}, err
	}
	var setup server.AgentSetup
	var loggedIn []queue.QueueID
	for _, as := range d.Adapter.Snapshot().Agents {
		if as.ID == agent {
			loggedIn = as.Queues
		}
	}
	var wrap int
	for _, ac := range rt.Agents {
		if ac.ID != agent {
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

// Colleagues lists the other agents of the agent's organisation that omstil
// can ring (a browser softphone or a phone), with their state in the
// engine.
func (d AgentDirectory) Colleagues(ctx context.Context, agent softphone.AgentID) ([]server.Colleague, error) {
	rt, me, err := d.runtimeAgent(agent)
	if err != nil {
		return nil, err
	}
	states := map[queue.AgentID]queue.AgentSnapshot{}
	for _, as := range d.Adapter.Snapshot().Agents {
		states[as.ID] = as
	}
	var out []server.Colleague
	for id, a := range rt.AgentInfo {
		if id == agent || a.OrgID != me.OrgID {
			continue
		}
		if a.DeviceKind != config.DeviceWebRTC && a.DialString == "" {
			continue // nothing to ring
		}
		name := a.Name
		if name == "" {
			name = string(id)
		}
		out = append(out, server.Colleague{ID: string(id), Name: name, State: colleagueState(states[id])})
	}
	return out, nil
}

func colleagueState(as queue.AgentSnapshot) string {
	switch {
	case as.ID == "" || as.State == queue.LoggedOut:
		return queue.LoggedOut.String()
	case as.State == queue.Ready && !as.DeviceBusy:
		return queue.Ready.String()
	case as.State == queue.Paused:
		return queue.Paused.String()
	}
	return server.ColleagueBusy
}

func (d AgentDirectory) SetAgentQueues(ctx context.Context, agent softphone.AgentID, queues []string) error {
	rt, _, err := d.runtimeAgent(agent)
	if err != nil {
		return err
	}
	var member []queue.QueueID
	for _, ac := range rt.Agents {
		if ac.ID == agent {
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
	for _, as := range d.Adapter.Snapshot().Agents {
		if as.ID == agent && as.State != queue.LoggedOut {
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
		if rs := rt.PauseReasons[rt.AgentInfo[agent].OrgID]; len(rs) > 0 {
			reason = rs[0]
		}
	}
	if err := d.Adapter.SetAgentState(ctx, agent, state, reason, ids); err != nil {
		return &config.ValidationError{Field: "queues", Message: err.Error()}
	}
	return nil
}

// RegisterMetrics exports the ARI client's and the engine's figures.
func RegisterMetrics(reg *prometheus.Registry, client *ariclient.Client, a *ari.Adapter, phones *softphone.Manager) error {
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
		counter("omstil_ari_app_lost_total", "Times Asterisk had dropped omstil's Stasis app while the event socket stayed open (found by the app check; the socket is then re-opened).", func() float64 { return float64(client.Stats().AppLost) }),
		gauge("omstil_calls_waiting", "Callers waiting in all queues.", func() float64 {
			n := 0
			for _, q := range a.Snapshot().Queues {
				n += len(q.Waiting)
			}
			return float64(n)
		}),
		gauge("omstil_calls_in_progress", "Calls omstil is handling.", func() float64 { return float64(len(a.Calls())) }),
		softphoneCollector{phones},
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// softphoneCollector exports the softphone bridge's gauges, its packet
// counters and its relays' delay histogram, from one Stats per scrape.
type softphoneCollector struct{ phones *softphone.Manager }

var (
	sessionsDesc = prometheus.NewDesc("omstil_softphone_sessions", "Browser agents with a softphone session.", nil, nil)
	pagesDesc    = prometheus.NewDesc("omstil_softphone_pages", "Softphone sessions with their page connected.", nil, nil)
	relaysDesc   = prometheus.NewDesc("omstil_softphone_relays", "Calls relayed to browsers (relay ports in use).", nil, nil)
	packetsDesc  = prometheus.NewDesc("omstil_softphone_packets_total", "Audio packets the softphone relay passed on, by direction (to_browser, to_asterisk).", []string{"direction"}, nil)
	droppedDesc  = prometheus.NewDesc("omstil_softphone_dropped_packets_total",
		"Audio packets the softphone relay dropped, by reason: no_call (microphone while no call is attached), no_page (call audio while the page is away), foreign (from an address that is not the call's Asterisk: on the shared port, steadily, a sign of NAT), bad (not RTP, or not PCMU).",
		[]string{"reason"}, nil)
	relayDelayDesc = prometheus.NewDesc("omstil_softphone_relay_delay_seconds",
		"Time call audio spends in the softphone relay on its way to the browser: from the kernel's arrival stamp on the relay socket to the end of the write to the browser's track.",
		nil, nil)
)

func (softphoneCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionsDesc, pagesDesc, relaysDesc, packetsDesc, droppedDesc, relayDelayDesc} {
		ch <- d
	}
}

func (c softphoneCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.phones.Stats()
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(st.Sessions))
	ch <- prometheus.MustNewConstMetric(pagesDesc, prometheus.GaugeValue, float64(st.Pages))
	ch <- prometheus.MustNewConstMetric(relaysDesc, prometheus.GaugeValue, float64(st.Calls))
	ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(st.ToBrowser), "to_browser")
	ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(st.ToAsterisk), "to_asterisk")
	for _, d := range []struct {
		reason string
		n      uint64
	}{{"no_call", st.DroppedNoCall}, {"no_page", st.DroppedNoPage}, {"foreign", st.DroppedForeign}, {"bad", st.DroppedOther - st.DroppedForeign}} {
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(d.n), d.reason)
	}
	d := c.phones.RelayDelay()
	buckets := make(map[float64]uint64, len(d.Bounds))
	var cum uint64
	for i, b := range d.Bounds {
		cum += d.Counts[i]
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(relayDelayDesc, d.Count(), d.Sum.Seconds(), buckets)
}
