// Package telephonytest runs call handling for tests as cmd/omstil wires
// it, on the built-in ARI simulator: an adapter whose runtime is loaded
// from a store by the same Reloader production uses.
package telephonytest

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/telephony"
)

// SimAdapter starts an adapter on a fresh ARI simulator with st's
// configuration loaded (unattributed call events go to fallback) and runs
// it until the test ends. Reload the returned Reloader (Now) after
// changing st, as a change in the store does in production.
func SimAdapter(t testing.TB, st *config.Store, fallback config.OrgID) (*ari.Adapter, *telephony.Reloader) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	sim := arisim.New(arisim.Options{Logger: quiet})
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	client, err := ariclient.New(ariclient.Config{URL: simSrv.URL + "/ari", User: "omstil", Password: "omstil", Apps: []string{"omstil"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ad, err := ari.New(ari.Options{Client: client, App: "omstil", Logger: quiet, Location: callflow.Location()})
	if err != nil {
		t.Fatal(err)
	}
	r := telephony.NewReloader(st, ad, telephony.NewOrgIndex(fallback), "http://127.0.0.1:1", quiet)
	t.Cleanup(r.Stop)
	if err := r.Now(context.Background()); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("adapter: %v", err)
		}
	})
	return ad, r
}
