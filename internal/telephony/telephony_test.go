package telephony

import (
	"context"
	"errors"
	"fmt"
	"github.com/omstil/omstil/softphone"
	"log/slog"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/queue"
)

func testRuntime() config.Runtime {
	uid := config.UserID(9)
	return config.Runtime{
		QueueInfo: map[queue.QueueID]config.RuntimeQueue{
			"default/borgerservice": {OrgID: 1, DisplayName: "Borgerservice", Music: "ringing"},
			"faxe/sundhed":          {OrgID: 2, DisplayName: "Sundhed", Music: "danish"},
		},
		AgentInfo: map[queue.AgentID]config.RuntimeAgent{
			"7": {OrgID: 1, Name: "Anna Hansen", DeviceKind: config.DeviceWebRTC, UserID: &uid},
			"8": {OrgID: 2, DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1001"},
		},
		Numbers: map[string]config.RuntimeNumber{
			"70101010": {OrgID: 1, Flow: &callflow.Flow{Name: "a"}},
			"56205620": {OrgID: 2, Flow: &callflow.Flow{Name: "b"}},
		},
		Announcements: map[callflow.AnnouncementRef]config.RuntimeAnnouncement{
			"default/velkommen": {MediaName: "3-abc.wav"},
		},
		PauseReasons: map[config.OrgID][]string{1: {"Frokost", "Møde"}, 2: {"Møde"}},
		Dialing: map[config.OrgID]config.RuntimeDialing{
			2: {Policy: callflow.DialPolicy{Trunk: "PJSIP/{number}@faxe-trunk"}, CallerID: "Faxe <56203000>"},
		},
	}
}

func TestRuntimeConfig(t *testing.T) {
	rc := RuntimeConfig(testRuntime(), "http://omstil:8080")
	if m := rc.QueueMedia["default/borgerservice"]; !m.Ringing || m.Name != "Borgerservice" {
		t.Errorf("ringing queue: %+v", m)
	}
	if m := rc.QueueMedia["faxe/sundhed"]; m.Ringing || m.MOHClass != "danish" {
		t.Errorf("music class: %+v", m)
	}
	if d := rc.Devices["7"]; d.Kind != ari.DeviceWebRTC {
		t.Errorf("webrtc agent: %+v", d)
	}
	if d := rc.Devices["8"]; d.Kind != ari.DeviceEndpoint || d.Dial != "PJSIP/1001" {
		t.Errorf("endpoint agent: %+v", d)
	}
	if n, ok := rc.AgentNames["7"]; n != "Anna Hansen" || len(rc.AgentNames) != 1 || !ok {
		t.Errorf("agent names %v: want Anna Hansen for 7 only (8 has no name)", rc.AgentNames)
	}
	if n := rc.Numbers["56205620"]; n.Flow.Name != "b" || n.Org != "2" || rc.Schedules[n.Org] == nil {
		t.Errorf("number: %+v", n)
	}
	if u := rc.Announcements["default/velkommen"]; len(u) != 1 || u[0] != "sound:http://omstil:8080/media/announcements/3-abc.wav" {
		t.Errorf("announcement URI: %v", u)
	}
	if rc.QueueOrgs["faxe/sundhed"] != "2" || rc.QueueOrgs["default/borgerservice"] != "1" || rc.AgentOrgs["8"] != "2" || rc.AgentOrgs["7"] != "1" {
		t.Errorf("organisations of queues %v and agents %v: want each's own, as the numbers'", rc.QueueOrgs, rc.AgentOrgs)
	}
	if d, ok := rc.OrgDialing["2"]; !ok || d.Policy.Trunk != "PJSIP/{number}@faxe-trunk" || d.CallerID != "Faxe <56203000>" {
		t.Errorf("dialing of organisation 2 (the key a call's org has): %+v", rc.OrgDialing)
	}
	if _, ok := rc.OrgDialing["1"]; ok {
		t.Errorf("organisation 1 has no limits, but got %+v", rc.OrgDialing["1"])
	}
	if len(rc.PauseReasons) != 2 {
		t.Errorf("pause reasons not merged without duplicates: %v", rc.PauseReasons)
	}
}

func TestOrgIndexResolves(t *testing.T) {
	o := NewOrgIndex(1)
	o.Update(testRuntime())
	cases := []struct {
		name   string
		ev     config.CallEvent
		number string
		want   config.OrgID
	}{
		{"by number", config.CallEvent{CallID: "c1", Kind: "call.arrived"}, "56205620", 2},
		{"call remembered", config.CallEvent{CallID: "c1", Kind: "CallJoined"}, "", 2},
		{"by queue", config.CallEvent{CallID: "c2", Kind: "CallJoined", Queue: "faxe/sundhed"}, "", 2},
		{"by agent", config.CallEvent{Kind: "AgentStateChanged", Agent: "8"}, "", 2},
		{"fallback", config.CallEvent{CallID: "c3", Kind: "x"}, "", 1},
		{"ended call forgotten", config.CallEvent{CallID: "c1", Kind: "call.hungup"}, "", 2},
		{"after the end", config.CallEvent{CallID: "c1", Kind: "Abandoned", Queue: "default/borgerservice"}, "", 1},
	}
	for _, c := range cases {
		ev := c.ev
		o.resolve(&ev, c.number)
		if ev.OrgID != c.want {
			t.Errorf("%s: org %d, want %d", c.name, ev.OrgID, c.want)
		}
	}
}

func TestRestartStoreRoundTrip(t *testing.T) {
	st := configtest.SQLite(t, config.Options{})
	r := NewRestartStore(st, slog.New(slog.DiscardHandler))
	defer r.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	r.SaveCallback(ari.PendingCallback{Call: "c1", Queue: "default/bs", Number: "+4512345678", Dialled: "70101010", Priority: 2, JoinedAt: t0, RequestedAt: t0.Add(time.Minute)})
	r.SaveCallback(ari.PendingCallback{Call: "c2", Queue: "default/bs", Number: "+4587654321", JoinedAt: t0.Add(time.Second), RequestedAt: t0.Add(time.Minute)})
	r.DeleteCallback("c2")
	cbs, err := r.PendingCallbacks(ctx)
	if err != nil || len(cbs) != 1 || cbs[0].Call != "c1" || cbs[0].Dialled != "70101010" || cbs[0].Priority != 2 || !cbs[0].JoinedAt.Equal(t0) {
		t.Fatalf("callbacks: %+v %v", cbs, err)
	}
	r.SaveAgentState(ari.SavedAgentState{Agent: "7", State: queue.Paused, Reason: "Frokost", Queues: []queue.QueueID{"default/bs"}})
	r.SaveAgentState(ari.SavedAgentState{Agent: "8", State: queue.Ready})
	r.SaveAgentState(ari.SavedAgentState{Agent: "8", State: queue.LoggedOut})
	sts, err := r.AgentStates(ctx)
	if err != nil || len(sts) != 1 || sts[0].Agent != "7" || sts[0].State != queue.Paused || sts[0].Reason != "Frokost" || len(sts[0].Queues) != 1 {
		t.Fatalf("agent states: %+v %v", sts, err)
	}
	// A second store on the same database (the next omstil) sees the same.
	r.Close()
	r2 := NewRestartStore(st, slog.New(slog.DiscardHandler))
	defer r2.Close()
	if cbs, _ := r2.PendingCallbacks(ctx); len(cbs) != 1 {
		t.Fatalf("after restart: %+v", cbs)
	}
}

// Rows the previous version wrote (the literal "ready" and "paused" it
// stored; "logged_out" deleted the row) load as the engine's states.
func TestRestartStoreReadsStoredStates(t *testing.T) {
	st := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	for _, row := range []config.AgentState{
		{Agent: "7", State: "paused", Reason: "Frokost", Queues: []string{"default/bs"}},
		{Agent: "8", State: "ready"},
		{Agent: "9", State: "ready"},
		{Agent: "9", State: "logged_out"},
	} {
		if err := st.SaveAgentState(ctx, row); err != nil {
			t.Fatalf("save %+v: %v", row, err)
		}
	}
	r := NewRestartStore(st, slog.New(slog.DiscardHandler))
	defer r.Close()
	sts, err := r.AgentStates(ctx)
	if err != nil || len(sts) != 2 || sts[0].Agent != "7" || sts[0].State != queue.Paused || sts[0].Reason != "Frokost" ||
		sts[1].Agent != "8" || sts[1].State != queue.Ready {
		t.Fatalf("agent states: %+v %v", sts, err)
	}
}

func TestColleagueState(t *testing.T) {
	for _, c := range []struct {
		as   queue.AgentSnapshot
		want string
	}{
		{queue.AgentSnapshot{}, "logged_out"}, // not in the engine at all
		{queue.AgentSnapshot{ID: "a", State: queue.LoggedOut}, "logged_out"},
		{queue.AgentSnapshot{ID: "a", State: queue.Ready}, "ready"},
		{queue.AgentSnapshot{ID: "a", State: queue.Ready, DeviceBusy: true}, "busy"}, // consulted, or its phone in use
		{queue.AgentSnapshot{ID: "a", State: queue.Paused}, "paused"},
		{queue.AgentSnapshot{ID: "a", State: queue.Ringing}, "busy"},
		{queue.AgentSnapshot{ID: "a", State: queue.OnCall}, "busy"},
		{queue.AgentSnapshot{ID: "a", State: queue.WrapUp}, "busy"},
	} {
		if got := colleagueState(c.as); got != c.want {
			t.Errorf("%+v: %q, want %q", c.as, got, c.want)
		}
	}
}

// TestControlErrRefusal: a refusal reaches the page with its reason word
// (translated there) and the English detail.
func TestControlErrRefusal(t *testing.T) {
	err := controlErr(fmt.Errorf("wrapped: %w", &ari.Refusal{Reason: ari.RefusedBusy, Detail: "agent bo is busy"}))
	var ce *softphone.ControlError
	if !errors.As(err, &ce) || ce.Code != "refused" || ce.Reason != "busy" || ce.Message != "agent bo is busy" {
		t.Fatalf("controlErr = %#v", err)
	}
	if err := controlErr(ari.ErrNoSuchCall); !errors.As(err, &ce) || ce.Code != "not-your-call" || ce.Reason != "" {
		t.Fatalf("controlErr(ErrNoSuchCall) = %#v", err)
	}
}

// The page may choose ready, paused or logged_out, spelt as queue.State
// writes them; other spellings and engine-only states are refused before
// the adapter is asked.
func TestPhoneGlueSetStateRefusesOtherSpellings(t *testing.T) {
	g := NewPhoneGlue(nil)
	for _, s := range []softphone.AgentState{"logged-out", "loggedout", "Ready", "on_call", "wrap_up", "ringing", ""} {
		err := g.SetState(context.Background(), "7", s, "")
		var ce *softphone.ControlError
		if !errors.As(err, &ce) || ce.Code != "bad-state" {
			t.Errorf("SetState(%q) = %v, want a bad-state control error", s, err)
		}
	}
}
