package config_test

import (
	"context"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

func TestRestartState(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			for i, id := range []string{"c2", "c1"} {
				if err := s.SavePendingCallback(ctx, config.PendingCallback{CallID: id, Queue: "default/bs", Number: "+4512345678", Priority: i, JoinedAt: t0.Add(time.Duration(i) * time.Minute), RequestedAt: t0.Add(2 * time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			// Saving again replaces, never duplicates.
			if err := s.SavePendingCallback(ctx, config.PendingCallback{CallID: "c1", Queue: "default/bs", Number: "+4587654321", Priority: 3, JoinedAt: t0.Add(time.Minute), RequestedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if err := s.SavePendingCallback(ctx, config.PendingCallback{CallID: "c3"}); err == nil {
				t.Fatal("a callback without queue and number was saved")
			}
			cbs, err := s.PendingCallbacks(ctx)
			if err != nil || len(cbs) != 2 || cbs[0].CallID != "c2" || cbs[1].Number != "+4587654321" || cbs[1].Priority != 3 || !cbs[1].JoinedAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("pending: %+v %v", cbs, err)
			}
			if err := s.DeletePendingCallback(ctx, "c2"); err != nil {
				t.Fatal(err)
			}
			if cbs, _ := s.PendingCallbacks(ctx); len(cbs) != 1 {
				t.Fatalf("after delete: %+v", cbs)
			}

			if err := s.SaveAgentState(ctx, config.AgentState{Agent: "7", State: "paused", Reason: "Frokost", Queues: []string{"default/bs"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveAgentState(ctx, config.AgentState{Agent: "8", State: "ready"}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveAgentState(ctx, config.AgentState{Agent: "7", State: "ready", Queues: []string{"default/bs"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveAgentState(ctx, config.AgentState{Agent: "9", State: "asleep"}); err == nil {
				t.Fatal("an unknown state was saved")
			}
			if err := s.SaveAgentState(ctx, config.AgentState{Agent: "8", State: "logged_out"}); err != nil {
				t.Fatal(err)
			}
			sts, err := s.AgentStates(ctx)
			if err != nil || len(sts) != 1 || sts[0].Agent != "7" || sts[0].State != "ready" || sts[0].Reason != "" || len(sts[0].Queues) != 1 {
				t.Fatalf("agent states: %+v %v", sts, err)
			}
		})
	}
}
