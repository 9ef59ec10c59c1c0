package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// TestStrategiesFromRegistry: the API lists, documents and accepts exactly
// the strategies registered in the queue engine, so a new strategy needs no
// edit in server.
func TestStrategiesFromRegistry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	names := queue.StrategyNames()

	w := f.do(req{method: "GET", path: "/api/v1/strategies", token: f.tokens[config.RoleSupervisor]})
	var list []struct {
		Name    string
		Default bool
		Label   struct{ Da, En string }
		Help    struct{ Da, En string }
	}
	if w.Code != 200 {
		t.Fatalf("GET /strategies: %d %s", w.Code, w.Body.String())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.Name)
		if s.Label.Da == "" || s.Label.En == "" || s.Help.Da == "" || s.Help.En == "" {
			t.Errorf("%s: a text is missing: %+v", s.Name, s)
		}
		if s.Default != (s.Name == queue.DefaultStrategy) {
			t.Errorf("%s: default %v", s.Name, s.Default)
		}
	}
	if !slices.Equal(got, names) {
		t.Fatalf("GET /strategies %v, want %v", got, names)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/strategies", token: f.tokens[config.RoleAgent]}); w.Code != 403 {
		t.Errorf("an agent lists strategies: %d", w.Code)
	}

	// the OpenAPI document's enum is the registry, and every queue schema
	// refers to it.
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum       []string
				Properties map[string]struct {
					Ref string `json:"$ref"`
				}
			}
		}
	}
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	if e := doc.Components.Schemas["Strategy"].Enum; !slices.Equal(e, names) {
		t.Errorf("OpenAPI Strategy enum %v, want %v", e, names)
	}
	for _, s := range []string{"Queue", "QueueCreate", "QueuePatch"} {
		if ref := doc.Components.Schemas[s].Properties["strategy"].Ref; ref != "#/components/schemas/Strategy" {
			t.Errorf("OpenAPI %s.strategy refers to %q", s, ref)
		}
	}

	// the API accepts each one.
	admin := f.tokens[config.RoleAdmin]
	for i, name := range names {
		w := f.do(req{method: "POST", path: "/api/v1/queues", token: admin, body: fmt.Sprintf(`{"name":"s%d","strategy":%q}`, i, name)})
		if w.Code != 201 {
			t.Errorf("POST queue with %s: %d %s", name, w.Code, w.Body.String())
		}
	}
}
