package config_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

// BenchmarkRetentionBatch: one batch of the retention worker, 1,000
// events pseudonymised and then 1,000 deleted (the time each holds the
// database; internal/retention pauses 200 ms between batches).
func BenchmarkRetentionBatch(b *testing.B) {
	for _, be := range configtest.Backends(b, config.Options{}) {
		ctx := context.Background()
		s := be.Store
		org, err := s.DefaultOrg(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		evs := make([]config.CallEvent, 1000)
		for i := range evs {
			evs[i] = config.CallEvent{OrgID: org.ID, At: t0.Add(time.Duration(i) * time.Second), CallID: fmt.Sprint(i), Kind: "call.arrived",
				Caller: fmt.Sprintf("+45%08d", i), Data: `{"number":"+4570101010","step":"s","step_kind":"queue","detail":"queue 'x' (priority 0)"}`}
		}
		for _, op := range []string{"pseudonymise", "delete"} {
			b.Run(be.Name+"/"+op, func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					if _, err := s.DeleteOldCallEvents(ctx, org.ID, t0.Add(time.Hour), 10000); err != nil {
						b.Fatal(err)
					}
					if err := s.AppendCallEvents(ctx, evs); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					var n int64
					if op == "pseudonymise" {
						var m int
						m, err = s.PseudonymiseCallEvents(ctx, org.ID, t0.Add(time.Hour), 1000)
						n = int64(m)
					} else {
						n, err = s.DeleteOldCallEvents(ctx, org.ID, t0.Add(time.Hour), 1000)
					}
					if err != nil || n != 1000 {
						b.Fatal(n, err)
					}
				}
			})
		}
	}
}
