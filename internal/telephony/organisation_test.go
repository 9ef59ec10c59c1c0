package telephony

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/softphone"
)

// TestPageTransfersStayInOrganisation is issue 13's first finding as the
// agent page meets it: Anna of the default municipality talks to one of
// its citizens and sends the transfer messages of /agent/ws naming Faxe's
// queue (blind and attended) and Faxe's agent (attended). Each is refused
// as a target that does not exist, the call stays with Anna, and Faxe's
// agent is never rung with the citizen's number. The runtime goes through
// the same conversion as production (RuntimeConfig).
func TestPageTransfersStayInOrganisation(t *testing.T) {
	sim := arisim.New(arisim.Options{DefaultSoundLength: 20 * time.Millisecond, ChannelVars: []string{"OMSTIL_CALL"}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { sim.Close(); srv.Close() })

	toQueue := func(q string) *callflow.Flow {
		return &callflow.Flow{Name: "f", Start: "kø", Steps: []callflow.Step{
			{ID: "kø", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: callflow.QueueRef(q)}}}}
	}
	ms := func(q queue.QueueID) []queue.Membership { return []queue.Membership{{Queue: q}} }
	rt := config.Runtime{
		Queues: []queue.QueueConfig{
			{ID: "default/borgerservice", RingTimeout: 5 * time.Second},
			{ID: "faxe/sundhed", RingTimeout: 5 * time.Second},
			{ID: "default/pension", RingTimeout: 5 * time.Second},
		},
		QueueInfo: map[queue.QueueID]config.RuntimeQueue{
			"default/borgerservice": {OrgID: 1, Name: "borgerservice", DisplayName: "Borgerservice"},
			"faxe/sundhed":          {OrgID: 2, Name: "sundhed", DisplayName: "Sundhed"},
			"default/pension":       {OrgID: 1, Name: "pension", DisplayName: "Pension"},
		},
		Agents: []queue.AgentConfig{
			{ID: "7", Queues: ms("default/borgerservice")},
			{ID: "8", Queues: ms("faxe/sundhed")},
			{ID: "9", Queues: ms("default/pension")},
		},
		AgentInfo: map[queue.AgentID]config.RuntimeAgent{
			"7": {ID: 7, OrgID: 1, Name: "Anna", DeviceKind: config.DeviceEndpoint, DialString: "Local/101@omstil-test-agents"},
			"8": {ID: 8, OrgID: 2, Name: "Frida", DeviceKind: config.DeviceEndpoint, DialString: "Local/102@omstil-test-agents"},
			"9": {ID: 9, OrgID: 1, Name: "Bo", DeviceKind: config.DeviceEndpoint, DialString: "Local/103@omstil-test-agents"},
		},
		Numbers: map[string]config.RuntimeNumber{
			"70101010": {OrgID: 1, Flow: toQueue("default/borgerservice")},
			"56205620": {OrgID: 2, Flow: toQueue("faxe/sundhed")},
		},
		// both may ring their agents' phones in the test context.
		Dialing: map[config.OrgID]config.RuntimeDialing{
			1: {Policy: callflow.DialPolicy{LocalContexts: []string{"omstil-test-agents"}}},
			2: {Policy: callflow.DialPolicy{LocalContexts: []string{"omstil-test-agents"}}},
		},
		Schedules:    callflow.Schedules{},
		PauseReasons: map[config.OrgID][]string{},
	}
	cli, err := ariclient.New(ariclient.Config{URL: srv.URL + "/ari", User: "omstil", Password: "omstil", Apps: []string{"omstil"},
		Logger: slog.New(slog.DiscardHandler), BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := ari.New(ari.Options{Client: cli, Logger: slog.New(slog.DiscardHandler), CallbackEndpoint: "Local/{number}@omstil-test-agents"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	t.Cleanup(func() { cancel(); <-done; cli.Close() })
	if err := ad.Reload(ctx, RuntimeConfig(rt, "http://omstil")); err != nil {
		t.Fatal(err)
	}
	go func() { done <- ad.Run(ctx) }()
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting until %s", what)
			}
		}
	}
	eventually("the event socket connects", cli.Connected)
	for _, a := range []queue.AgentID{"7", "8", "9"} {
		if err := ad.SetAgentState(ctx, a, queue.Ready, "", nil); err != nil {
			t.Fatalf("agent %s ready: %v", a, err)
		}
	}
	ch, err := sim.PlaceCall(arisim.Call{Number: "70101010", CallerID: "+4512345678"})
	if err != nil {
		t.Fatal(err)
	}
	connected := func() bool {
		for _, c := range ad.Calls() {
			if string(c.Call) == ch.ID {
				return c.State == "connected" && c.Agent == "7"
			}
		}
		return false
	}
	eventually("Anna talks to the citizen", connected)

	g := NewPhoneGlue(nil)
	g.SetAdapter(ad)
	for _, tr := range []softphone.Transfer{
		{Mode: "blind", Kind: "queue", To: "faxe/sundhed"},
		{Mode: "attended", Kind: "queue", To: "faxe/sundhed"},
		{Mode: "attended", Kind: "agent", To: "8"},
	} {
		err := g.Transfer(ctx, "7", softphone.CallID(ch.ID), tr)
		var ce *softphone.ControlError
		want := ari.RefusedUnknown
		if tr.Kind == "agent" {
			want = ari.RefusedNoAgent
		}
		if !errors.As(err, &ce) || ce.Code != "refused" || ce.Reason != want {
			t.Errorf("transfer %+v to the other municipality: %v, want refused as unknown", tr, err)
		}
		if !connected() {
			t.Fatalf("after transfer %+v the call left Anna", tr)
		}
	}
	for _, a := range ad.Snapshot().Agents {
		if a.ID == "8" && (a.DeviceBusy || a.State != queue.Ready) {
			t.Errorf("Faxe's agent was taken: %+v", a)
		}
	}
	// inside the municipality the same message works: the citizen goes
	// to the pension queue and Bo answers.
	if err := g.Transfer(ctx, "7", softphone.CallID(ch.ID), softphone.Transfer{Mode: "blind", Kind: "queue", To: "default/pension"}); err != nil {
		t.Fatalf("transfer to the municipality's own queue: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("calls: %+v", ad.Calls())
			t.Logf("agents: %+v", ad.Snapshot().Agents)
		}
	}()
	eventually("Bo answers the citizen", func() bool {
		// (the simulator's answering agents may hang up soon after: the
		// engine's count of Bo's answered calls is what stays.)
		for _, a := range ad.Snapshot().Agents {
			if a.ID == "9" {
				return a.CallsToday == 1
			}
		}
		return false
	})
}
