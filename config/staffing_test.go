package config_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

// TestQueueHistory: a queue's history holds its own call events and the
// state changes of its members and of the agents who answered its calls,
// only of its organisation and window, without callers' numbers; another
// organisation's queue is not found. Run on every backend.
func TestQueueHistory(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Store
			ctx := context.Background()
			def, err := s.DefaultOrg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.CreateOrg(ctx, "faxe", "Faxe Kommune")
			if err != nil {
				t.Fatal(err)
			}
			sysA, sysB := config.SystemActor(def.ID), config.SystemActor(other.ID)
			q, err := s.CreateQueue(ctx, sysA, config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()})
			if err != nil {
				t.Fatal(err)
			}
			if q.ServiceLevelPercent != 80 || q.MaxOccupancyPercent != 85 {
				t.Errorf("default goal %d %% / %d %%", q.ServiceLevelPercent, q.MaxOccupancyPercent)
			}
			qb, err := s.CreateQueue(ctx, sysB, config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()})
			if err != nil {
				t.Fatal(err)
			}
			member, err := s.CreateAgent(ctx, sysA, config.NewAgent{Name: "Anna", DeviceKind: config.DeviceWebRTC})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateMembership(ctx, sysA, config.Membership{AgentID: member.ID, QueueID: q.ID}); err != nil {
				t.Fatal(err)
			}
			mid := string(config.EngineAgentID(member.ID))
			t0 := time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)
			evs := []config.CallEvent{
				{OrgID: def.ID, At: t0, CallID: "c1", Kind: "CallJoined", Queue: "default/borgerservice", Caller: "+4512345678"},
				{OrgID: def.ID, At: t0.Add(time.Second), CallID: "c1", Kind: "Offered", Queue: "default/borgerservice", Agent: "99"},
				{OrgID: def.ID, At: t0.Add(2 * time.Second), CallID: "c1", Kind: "Answered", Queue: "default/borgerservice", Agent: "99", WaitMS: 2000},
				{OrgID: def.ID, At: t0.Add(time.Minute), CallID: "c1", Kind: "CallCompleted", Queue: "default/borgerservice", Agent: "99"},
				{OrgID: def.ID, At: t0, CallID: "c2", Kind: "CallJoined", Queue: "default/other"},
				{OrgID: other.ID, At: t0, CallID: "c3", Kind: "CallJoined", Queue: "faxe/borgerservice"},
				{OrgID: def.ID, At: t0.Add(-48 * time.Hour), CallID: "c0", Kind: "CallJoined", Queue: "default/borgerservice"},
				{OrgID: def.ID, At: t0, Agent: mid, Kind: "AgentStateChanged", Data: `{"From":"logged_out","To":"ready"}`},
				{OrgID: def.ID, At: t0.Add(time.Minute), Agent: "99", Kind: "AgentStateChanged", Data: `{"From":"on_call","To":"wrap_up","Call":"c1"}`},
				{OrgID: def.ID, At: t0, Agent: "98", Kind: "AgentStateChanged", Data: `{"From":"logged_out","To":"ready"}`},
				{OrgID: other.ID, At: t0, Agent: mid, Kind: "AgentStateChanged", Data: `{"From":"logged_out","To":"ready"}`},
			}
			if err := s.AppendCallEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			var calls, agents []config.CallEvent
			got, err := s.QueueHistory(ctx, def.ID, q.ID, t0.Add(-time.Hour), t0.Add(time.Hour), config.QueueHistoryReaders{
				Call:  func(e config.CallEvent) error { calls = append(calls, e); return nil },
				Agent: func(e config.CallEvent) error { agents = append(agents, e); return nil },
			})
			if err != nil || got.ID != q.ID {
				t.Fatalf("queue %v, %v", got.ID, err)
			}
			var kinds []string
			for _, e := range calls {
				kinds = append(kinds, e.CallID+" "+e.Kind)
				if e.Caller != "" {
					t.Errorf("caller's number read: %+v", e)
				}
			}
			if want := "[c1 CallJoined c1 Answered c1 CallCompleted]"; fmtList(kinds) != want {
				t.Errorf("call events %v, want %v", kinds, want)
			}
			var who []string
			for _, e := range agents {
				who = append(who, e.Agent)
			}
			if want := fmtList([]string{mid, "99"}); fmtList(who) != want {
				t.Errorf("agent events of %v, want %v", who, want)
			}
			// Org B cannot read org A's queue, nor A B's.
			noop := config.QueueHistoryReaders{Call: func(config.CallEvent) error { return nil }, Agent: func(config.CallEvent) error { return nil }}
			if _, err := s.QueueHistory(ctx, other.ID, q.ID, t0.Add(-time.Hour), t0.Add(time.Hour), noop); !errors.Is(err, config.ErrNotFound) {
				t.Errorf("other organisation's queue: %v", err)
			}
			if _, err := s.QueueHistory(ctx, def.ID, qb.ID, t0.Add(-time.Hour), t0.Add(time.Hour), noop); !errors.Is(err, config.ErrNotFound) {
				t.Errorf("other organisation's queue: %v", err)
			}
			// A reader's error stops the read and comes back.
			stop := errors.New("stop")
			_, err = s.QueueHistory(ctx, def.ID, q.ID, t0.Add(-time.Hour), t0.Add(time.Hour), config.QueueHistoryReaders{
				Call: func(config.CallEvent) error { return stop }, Agent: noop.Agent})
			if !errors.Is(err, stop) {
				t.Errorf("reader error: %v", err)
			}
		})
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

func TestQueueGoalValidation(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	def, err := s.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(def.ID)
	for _, tc := range []struct {
		sl, occ int
		field   string
	}{
		{101, 85, "service_level_percent"},
		{-1, 85, "service_level_percent"},
		{80, 101, "max_occupancy_percent"},
		{80, -5, "max_occupancy_percent"},
	} {
		qs := config.DefaultQueueSettings()
		qs.ServiceLevelPercent, qs.MaxOccupancyPercent = tc.sl, tc.occ
		_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs})
		var ve *config.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%d/%d: %v, want a validation error on %s", tc.sl, tc.occ, err, tc.field)
		}
	}
	qs := config.DefaultQueueSettings()
	qs.ServiceLevelPercent, qs.MaxOccupancyPercent = 0, 0 // 0: the defaults
	q, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs})
	if err != nil || q.ServiceLevelPercent != 80 || q.MaxOccupancyPercent != 85 {
		t.Errorf("zero goal: %+v %v", q.QueueSettings, err)
	}
	q, err = s.UpdateQueue(ctx, sys, q.ID, config.QueuePatch{Settings: func(qs *config.QueueSettings) { qs.ServiceLevelPercent, qs.MaxOccupancyPercent = 90, 75 }})
	if err != nil || q.ServiceLevelPercent != 90 || q.MaxOccupancyPercent != 75 {
		t.Errorf("update: %+v %v", q.QueueSettings, err)
	}
	q, err = s.GetQueue(ctx, def.ID, q.ID)
	if err != nil || q.ServiceLevelPercent != 90 || q.MaxOccupancyPercent != 75 {
		t.Errorf("reload: %+v %v", q.QueueSettings, err)
	}
}
