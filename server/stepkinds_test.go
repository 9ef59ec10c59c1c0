package server_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/server"
)

// TestStepKindsFromRegistry: the API lists and documents exactly the step
// kinds registered in callflow, so a new kind needs no edit in server, and
// a flow using the priority kind is accepted.
func TestStepKindsFromRegistry(t *testing.T) {
	f := newFixture(t)
	names := callflow.KindNames()

	w := f.do(req{method: "GET", path: "/api/v1/step-kinds", token: f.tokens[config.RoleSupervisor]})
	if w.Code != 200 {
		t.Fatalf("GET /step-kinds: %d %s", w.Code, w.Body.String())
	}
	var list []struct {
		Kind  string
		Label struct{ Da, En string }
		Help  struct{ Da, En string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range list {
		got = append(got, k.Kind)
		if k.Label.Da == "" || k.Label.En == "" || k.Help.Da == "" || k.Help.En == "" {
			t.Errorf("%s: a text is missing: %+v", k.Kind, k)
		}
	}
	if !slices.Equal(got, names) || !slices.Contains(got, "priority") {
		t.Fatalf("GET /step-kinds %v, want %v with priority", got, names)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/step-kinds", token: f.tokens[config.RoleAgent]}); w.Code != 403 {
		t.Errorf("an agent lists step kinds: %d", w.Code)
	}

	var doc struct {
		Components struct {
			Schemas map[string]struct{ Enum []string }
		}
	}
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	if e := doc.Components.Schemas["StepKind"].Enum; !slices.Equal(e, names) {
		t.Errorf("OpenAPI StepKind enum %v, want %v", e, names)
	}

	// a flow with a priority step validates (its next step exists).
	w = f.do(req{method: "POST", path: "/api/v1/flows/validate", token: f.tokens[config.RoleSupervisor],
		body: `{"start":"p","steps":[{"id":"p","kind":"priority","priority":{"priority":5,"next":"slut"}},{"id":"slut","kind":"hangup"}]}`})
	var check struct {
		Valid    bool
		Problems []callflow.Problem
	}
	if err := json.Unmarshal(w.Body.Bytes(), &check); err != nil || w.Code != 200 || !check.Valid {
		t.Errorf("validate a priority flow: %d %s", w.Code, w.Body.String())
	}
}
