package server_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// staticLive is a live source with one fixed snapshot.
type staticLive struct{ snap queue.Snapshot }

func (l staticLive) Snapshot(context.Context) (queue.Snapshot, error) { return l.snap, nil }
func (l staticLive) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// TestLiveShowsOnlyOwnOrganisation: one engine serves every municipality,
// but a supervisor's wallboard stream holds only their own organisation's
// queues and agents.
func TestLiveShowsOnlyOwnOrganisation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	faxe, err := f.store.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.store.CreateAgent(ctx, config.SystemActor(f.org), config.NewAgent{Name: "Anna", DeviceKind: config.DeviceWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.store.CreateAgent(ctx, config.SystemActor(faxe.ID), config.NewAgent{Name: "Fie", DeviceKind: config.DeviceWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	snap := queue.Snapshot{At: time.Now(),
		Queues: []queue.QueueSnapshot{{ID: "default/borgerservice"}, {ID: "faxe/borgerservice"}},
		Agents: []queue.AgentSnapshot{{ID: config.EngineAgentID(mine.ID)}, {ID: config.EngineAgentID(theirs.ID)}},
	}
	srv, err := server.New(server.Options{Store: f.store, LiveSource: staticLive{snap}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "GET", hs.URL+"/api/v1/live", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[config.RoleSupervisor])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("live: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var data string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = d
			break
		}
	}
	if !strings.Contains(data, `"default/borgerservice"`) || !strings.Contains(data, `"id":"`+string(config.EngineAgentID(mine.ID))+`"`) {
		t.Fatalf("own organisation missing: %s", data)
	}
	if strings.Contains(data, "faxe/") || strings.Contains(data, `"id":"`+string(config.EngineAgentID(theirs.ID))+`"`) {
		t.Fatalf("another organisation's data leaked: %s", data)
	}
}
