package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/omstil/omstil/config"
)

// orgFixture adds a system administrator (in the default organisation) and
// a second organisation, faxe, with an admin of its own.
type orgFixture struct {
	*fixture
	system, faxeAdmin string
	faxe              config.Organisation
}

func newOrgFixture(t *testing.T) *orgFixture {
	t.Helper()
	f := &orgFixture{fixture: newFixture(t)}
	ctx := context.Background()
	root, err := f.store.CreateUser(ctx, config.SystemActor(f.org), config.NewUser{OrgID: f.org, Username: "root", Password: testPassword, Role: config.RoleAdmin, SystemAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.system, _, err = f.store.CreateToken(ctx, config.SystemActor(f.org), root.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if f.faxe, err = f.store.CreateOrg(ctx, "faxe", "Faxe Kommune"); err != nil {
		t.Fatal(err)
	}
	fa, err := f.store.CreateUser(ctx, config.SystemActor(f.faxe.ID), config.NewUser{OrgID: f.faxe.ID, Username: "faxe-admin", Password: testPassword, Role: config.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if f.faxeAdmin, _, err = f.store.CreateToken(ctx, config.SystemActor(f.faxe.ID), fa.ID, "test"); err != nil {
		t.Fatal(err)
	}
	return f
}

type orgBody struct {
	ID            config.OrgID `json:"id"`
	Slug          string       `json:"slug"`
	Endpoints     []string     `json:"endpoints"`
	Trunk         string       `json:"trunk"`
	LocalContexts []string     `json:"local_contexts"`
	CallerID      string       `json:"caller_id"`
	Allowed       string       `json:"allowed"`
}

func TestOrganisationEndpointsAreForSystemAdministrators(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	faxe := fmt.Sprintf("/api/v1/organisations/%d", f.faxe.ID)
	own := fmt.Sprintf("/api/v1/organisations/%d", f.org)
	widen := `{"endpoints":["PJSIP/*"],"trunk":"PJSIP/{number}@any-trunk"}`
	tests := []struct {
		name, method, path, body, token string
		status                          int
	}{
		{"anonymous list", "GET", "/api/v1/organisations", "", "", 401},
		{"org admin lists", "GET", "/api/v1/organisations", "", f.tokens[config.RoleAdmin], 403},
		{"org admin reads another", "GET", faxe, "", f.tokens[config.RoleAdmin], 403},
		{"org admin changes another", "PATCH", faxe, widen, f.tokens[config.RoleAdmin], 403},
		{"org admin widens its own", "PATCH", fmt.Sprintf("/api/v1/organisations/%d", f.faxe.ID), widen, f.faxeAdmin, 403},
		{"org admin creates", "POST", "/api/v1/organisations", `{"slug":"roskilde","name":"Roskilde"}`, f.tokens[config.RoleAdmin], 403},
		{"supervisor reads own", "GET", "/api/v1/organisation", "", f.tokens[config.RoleSupervisor], 403},
		{"org admin reads own", "GET", "/api/v1/organisation", "", f.faxeAdmin, 200},
		{"system lists", "GET", "/api/v1/organisations", "", f.system, 200},
		{"system reads", "GET", own, "", f.system, 200},
		{"system reads unknown", "GET", "/api/v1/organisations/999", "", f.system, 404},
		{"system creates", "POST", "/api/v1/organisations", `{"slug":"roskilde","name":"Roskilde"}`, f.system, 201},
		{"system creates again", "POST", "/api/v1/organisations", `{"slug":"roskilde","name":"Roskilde"}`, f.system, 409},
		{"system bad slug", "POST", "/api/v1/organisations", `{"slug":"Ros Kilde","name":"Roskilde"}`, f.system, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{method: tt.method, path: tt.path, body: tt.body, token: tt.token})
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.status)
			}
			if tt.status >= 400 {
				errorCode(t, w)
			}
		})
	}
	got, err := f.store.GetOrg(context.Background(), f.faxe.ID)
	if err != nil || len(got.DialEndpoints) != 0 || got.DialTrunk != "" {
		t.Fatalf("faxe's limits changed by someone not allowed to: %+v, %v", got, err)
	}
}

func TestSystemAdministratorSetsDialLimits(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	path := fmt.Sprintf("/api/v1/organisations/%d", f.faxe.ID)

	// Before limits: faxe's admin is told why a desk phone is refused.
	agent := `{"name":"Bo","device_kind":"endpoint","dial_string":%q}`
	w := f.do(req{method: "POST", path: "/api/v1/agents", body: fmt.Sprintf(agent, "PJSIP/faxe-1001"), token: f.faxeAdmin})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"dial_string"`) || !strings.Contains(w.Body.String(), "may dial nothing yet") {
		t.Fatalf("agent before limits: %d %s", w.Code, w.Body)
	}

	w = f.do(req{method: "PATCH", path: path, token: f.system, body: `{"endpoints":["PJSIP/faxe-*"],"trunk":"PJSIP/{number}@faxe-trunk","local_contexts":["faxe-agents"],"caller_id":"\"Faxe Kommune\" <56203000>"}`})
	var o orgBody
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &o) != nil || o.Trunk != "PJSIP/{number}@faxe-trunk" || len(o.Endpoints) != 1 || !strings.Contains(o.Allowed, "PJSIP/faxe-*") {
		t.Fatalf("PATCH limits: %d %s", w.Code, w.Body)
	}
	w = f.do(req{method: "PATCH", path: path, token: f.system, body: `{"trunk":"PJSIP/faxe-trunk"}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"trunk"`) {
		t.Fatalf("PATCH bad trunk: %d %s", w.Code, w.Body)
	}

	// faxe's admin sees its limits, read-only.
	w = f.do(req{method: "GET", path: "/api/v1/organisation", token: f.faxeAdmin})
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &o) != nil || o.Slug != "faxe" || o.Trunk != "PJSIP/{number}@faxe-trunk" {
		t.Fatalf("GET own organisation: %d %s", w.Code, w.Body)
	}

	tests := []struct {
		dial   string
		status int
	}{
		{"PJSIP/faxe-1001", 201},
		{"PJSIP/guld-1001", 400},
		{"PJSIP/faxe-1@guld-trunk", 400},
		{"Local/1000@omstil-inbound", 400},
	}
	for i, tt := range tests {
		t.Run(tt.dial, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/api/v1/agents", body: fmt.Sprintf(agent, tt.dial), token: f.faxeAdmin})
			if w.Code != tt.status || (tt.status == 400 && !strings.Contains(w.Body.String(), `"field":"dial_string"`)) {
				t.Fatalf("agent %q: %d %s", tt.dial, w.Code, w.Body)
			}
			flow := fmt.Sprintf(`{"name":"f%d","definition":{"start":"v","steps":[{"id":"v","kind":"transfer","transfer":{"destination":%q}}]}}`, i, tt.dial)
			w = f.do(req{method: "POST", path: "/api/v1/flows", body: flow, token: f.faxeAdmin})
			if w.Code != tt.status || (tt.status == 400 && (!strings.Contains(w.Body.String(), `"field":"transfer.destination"`) || !strings.Contains(w.Body.String(), "not-allowed"))) {
				t.Fatalf("flow transfer %q: %d %s", tt.dial, w.Code, w.Body)
			}
		})
	}

	// Narrowing the limits under a saved agent is refused with the list.
	w = f.do(req{method: "PATCH", path: path, token: f.system, body: `{"endpoints":["PJSIP/faxe-2*"]}`})
	if w.Code != 409 || errorCode(t, w) != "in_use" || !strings.Contains(w.Body.String(), "agent 'Bo' (PJSIP/faxe-1001)") {
		t.Fatalf("stranding PATCH: %d %s", w.Code, w.Body)
	}

	// faxe's audit log shows the system administrator's change.
	w = f.do(req{method: "GET", path: "/api/v1/audit?object_type=organisation", token: f.faxeAdmin})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"actor":"root"`) {
		t.Fatalf("audit: %d %s", w.Code, w.Body)
	}
}
