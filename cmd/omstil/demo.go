package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// The demo organisation: two queues, two numbers, a member of staff
// with a login whose browser softphone is first in line in both queues
// (demoStaff), and five colleagues on simulated desk phones that answer
// after a few seconds, second in line (demoDeskTier): they take the calls
// the browser agent does not.
var demoAgents = []struct {
	name, endpoint string
	answerAfter    time.Duration
	queues         []string
}{
	{"Anna Holm", "demo-anna", 2 * time.Second, []string{"borgerservice"}},
	{"Bo Madsen", "demo-bo", 3 * time.Second, []string{"borgerservice"}},
	{"Camilla Due", "demo-camilla", 4 * time.Second, []string{"borgerservice", "sundhed"}},
	{"Dorte Lund", "demo-dorte", 3 * time.Second, []string{"sundhed"}},
	{"Erik Bach", "demo-erik", 5 * time.Second, []string{"sundhed"}},
}

var demoNumbers = []string{"70101010", "70101020"}

// demoStaff is the demo's member of staff who answers in the browser:
// the newcomer logs in as this user on /agent.
var demoStaff = struct{ username, name string }{"frida", "Frida Jensen"}

// demoDeskTier is the tier of the simulated desk phones: behind the
// browser agent (tier 0), so a ready browser agent is rung first.
const demoDeskTier = 1

// demoLogin is the staff login seedDemo made, printed once by serve.
type demoLogin struct{ username, password string }

// seedDemo fills an empty default organisation with the demo setup and
// returns the demo staff member's login with its generated password. A
// database that already has queues is left as it is (nil login); a
// taken username gets no staff member (nil login) but the rest of the demo.
func seedDemo(ctx context.Context, st *config.Store) (*demoLogin, error) {
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := st.ListQueues(ctx, org.ID)
	if err != nil || len(qs) > 0 {
		return nil, err
	}
	sys := config.SystemActor(org.ID)
	allDay := []callflow.Range{{From: "00:00", To: "24:00"}}
	if _, err := st.CreateSchedule(ctx, sys, config.NewSchedule{OrgID: org.ID, Name: "demo-altid-aaben", Definition: callflow.Schedule{
		Name:   "demo-altid-aaben",
		Weekly: callflow.Week{Monday: allDay, Tuesday: allDay, Wednesday: allDay, Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay},
	}}); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if _, err := st.SetPauseReasons(ctx, sys, []string{"Frokost", "Møde", "Administration"}); err != nil {
		return nil, fmt.Errorf("pause reasons: %w", err)
	}
	queueIDs := map[string]config.QueueID{}
	for _, q := range []struct{ name, display string }{{"borgerservice", "Borgerservice"}, {"sundhed", "Sundhed og omsorg"}} {
		set := config.DefaultQueueSettings()
		set.WrapUpSeconds = 5
		set.RingTimeoutSeconds = 15
		set.CallbackEnabled = true
		made, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: q.name, DisplayName: q.display, Settings: set})
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.name, err)
		}
		queueIDs[q.name] = made.ID
	}
	for _, a := range demoAgents {
		made, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: a.name, DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/" + a.endpoint})
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.name, err)
		}
		for _, q := range a.queues {
			if _, err := st.CreateMembership(ctx, sys, config.Membership{OrgID: org.ID, AgentID: made.ID, QueueID: queueIDs[q], Tier: demoDeskTier, Weight: 1}); err != nil {
				return nil, fmt.Errorf("membership %s/%s: %w", a.name, q, err)
			}
		}
	}
	login, err := seedDemoStaff(ctx, st, org.ID, queueIDs)
	if err != nil {
		return nil, err
	}
	for i, q := range []string{"borgerservice", "sundhed"} {
		flow := callflow.Flow{Name: q, Start: "aabent", Steps: []callflow.Step{
			{ID: "aabent", Kind: callflow.KindSchedule, Schedule: &callflow.ScheduleStep{Schedule: "demo-altid-aaben", Open: "koe", Closed: "lukket"}},
			{ID: "koe", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: callflow.QueueRef(q)}},
			{ID: "lukket", Kind: callflow.KindHangup, Hangup: &callflow.HangupStep{}},
		}}
		f, err := st.CreateFlow(ctx, sys, "demo-"+q, flow)
		if err != nil {
			return nil, fmt.Errorf("flow %s: %w", q, err)
		}
		if _, err := st.CreateNumber(ctx, sys, demoNumbers[i], f.ID, "Demo: "+q); err != nil {
			return nil, fmt.Errorf("number %s: %w", demoNumbers[i], err)
		}
	}
	return login, nil
}

// seedDemoStaff creates the demo's member of staff: a login (role agent,
// a generated password) and its browser agent in every demo queue, first
// in line.
func seedDemoStaff(ctx context.Context, st *config.Store, org config.OrgID, queues map[string]config.QueueID) (*demoLogin, error) {
	sys := config.SystemActor(org)
	pw := newPassword()
	u, err := st.CreateUser(ctx, sys, config.NewUser{OrgID: org, Username: demoStaff.username, DisplayName: demoStaff.name, Password: pw, Role: config.RoleAgent})
	if errors.Is(err, config.ErrConflict) {
		return nil, nil // someone has the name: the demo runs without
	}
	if err != nil {
		return nil, fmt.Errorf("staff login %s: %w", demoStaff.username, err)
	}
	uid := u.ID
	ag, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: demoStaff.name, UserID: &uid, DeviceKind: config.DeviceWebRTC})
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", demoStaff.name, err)
	}
	for _, q := range []string{"borgerservice", "sundhed"} {
		if _, err := st.CreateMembership(ctx, sys, config.Membership{OrgID: org, AgentID: ag.ID, QueueID: queues[q], Weight: 1}); err != nil {
			return nil, fmt.Errorf("membership %s/%s: %w", demoStaff.name, q, err)
		}
	}
	return &demoLogin{username: demoStaff.username, password: pw}, nil
}

// demo runs the synthetic calls.
type demo struct {
	gen *arisim.Generator
}

func (d *demo) stop() {
	if d.gen != nil {
		d.gen.Stop()
		d.gen = nil
	}
}

// startDemo makes the demo agents' phones answer, logs the agents in and
// starts synthetic citizen calls once ARI is connected.
func startDemo(ctx context.Context, sim *arisim.Sim, rt config.Runtime, a *ari.Adapter, client *ariclient.Client, perMinute float64, log *slog.Logger) (*demo, error) {
	for _, ag := range demoAgents {
		sim.SetEndpoint(ag.endpoint, arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: ag.answerAfter, Echo: true})
	}
	deadline := time.Now().Add(10 * time.Second)
	for !client.Connected() {
		if time.Now().After(deadline) {
			return nil, errors.New("demo: the built-in simulator did not connect")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	for id, info := range rt.AgentInfo {
		if !strings.HasPrefix(info.DialString, "PJSIP/demo-") {
			continue
		}
		if err := a.SetAgentState(ctx, id, queue.Ready, "", nil); err != nil {
			log.Warn("demo: agent not ready", "agent", info.Name, "err", err)
		}
	}
	d := &demo{}
	if perMinute > 0 {
		g, err := sim.StartGenerator(arisim.GeneratorOptions{PerMinute: perMinute, Numbers: demoNumbers, Patience: 2 * time.Minute, TalkTime: 45 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.gen = g
	}
	log.Info("demo calls started", "per_minute", perMinute, "numbers", demoNumbers)
	return d, nil
}
