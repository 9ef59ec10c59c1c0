package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/omstil/omstil/config"
)

// TestCreateStaff: POST /api/v1/staff makes a login, its agent and its
// queues in one step for an admin; a refused part is shown at its field
// and saves nothing (no user, agent, membership or audit entry).
func TestCreateStaff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cs := f.callSetup()
	ctx := context.Background()
	admin := f.tokens[config.RoleAdmin]
	count := func() (users, agents, memberships, audit int) {
		us, _ := f.store.ListUsers(ctx, f.org)
		as, _ := f.store.ListAgents(ctx, f.org)
		ms, _ := f.store.ListMemberships(ctx, f.org, 0, 0)
		au, _ := f.store.ListAudit(ctx, f.org, config.AuditFilter{Limit: 1000})
		return len(us), len(as), len(ms), len(au)
	}
	u0, a0, m0, au0 := count()
	refused := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"empty name", `{"name":" ","device_kind":"webrtc","login":{"username":"anna","password":"a long test password"}}`, 400, "invalid", "name"},
		{"username taken", fmt.Sprintf(`{"name":"Anna","device_kind":"webrtc","login":{"username":"ADMIN1","password":"a long test password"},"memberships":[{"queue_id":%d}]}`, cs.q.ID), 409, "conflict", "login.username"},
		{"short password", `{"name":"Anna","device_kind":"webrtc","login":{"username":"anna","password":"kort"}}`, 400, "invalid", "login.password"},
		{"login and user", fmt.Sprintf(`{"name":"Anna","device_kind":"webrtc","user_id":%d,"login":{"username":"anna","password":"a long test password"}}`, f.users[config.RoleSupervisor].ID), 400, "invalid", "login"},
		{"user linked already", fmt.Sprintf(`{"name":"Anna","device_kind":"webrtc","user_id":%d}`, f.users[config.RoleAgent].ID), 409, "conflict", "user_id"},
		{"unknown queue", `{"name":"Anna","device_kind":"webrtc","login":{"username":"anna","password":"a long test password"},"memberships":[{"queue_id":9999}]}`, 400, "invalid", "memberships[0].queue_id"},
		{"bad tier", fmt.Sprintf(`{"name":"Anna","device_kind":"webrtc","login":{"username":"anna","password":"a long test password"},"memberships":[{"queue_id":%d,"tier":-1}]}`, cs.q.ID), 400, "invalid", "memberships[0].tier"},
		{"unknown login field", `{"name":"Anna","device_kind":"webrtc","login":{"username":"anna","password":"a long test password","role":"admin"}}`, 400, "bad_request", ""},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/api/v1/staff", body: c.body, token: admin})
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != c.status || body.Error.Code != c.code || body.Error.Field != c.field {
				t.Fatalf("%d %s, want %d %s field %q", w.Code, w.Body.String(), c.status, c.code, c.field)
			}
			if u, a, m, au := count(); u != u0 || a != a0 || m != m0 || au != au0 {
				t.Fatalf("something was saved: users %d→%d, agents %d→%d, memberships %d→%d, audit %d→%d", u0, u, a0, a, m0, m, au0, au)
			}
		})
	}

	// a supervisor may not
	if w := f.do(req{method: "POST", path: "/api/v1/staff", body: `{"name":"Anna","device_kind":"webrtc"}`, token: f.tokens[config.RoleSupervisor]}); w.Code != 403 {
		t.Fatalf("supervisor: %d", w.Code)
	}

	w := f.do(req{method: "POST", path: "/api/v1/staff", token: admin, body: fmt.Sprintf(
		`{"name":"Anna Holm","device_kind":"webrtc","skills":{"tysk":80},"login":{"username":"anna","password":"a long test password"},"memberships":[{"queue_id":%d,"tier":2}]}`, cs.q.ID)})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	var got struct {
		Agent struct {
			ID         int64          `json:"id"`
			UserID     *int64         `json:"user_id"`
			DeviceKind string         `json:"device_kind"`
			Skills     map[string]int `json:"skills"`
		} `json:"agent"`
		User *struct {
			ID          int64  `json:"id"`
			Username    string `json:"username"`
			DisplayName string `json:"display_name"`
			Role        string `json:"role"`
			OIDC        bool   `json:"oidc"`
		} `json:"user"`
		Memberships []struct {
			QueueID int64 `json:"queue_id"`
			Tier    int   `json:"tier"`
		} `json:"memberships"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.User == nil || got.User.Username != "anna" || got.User.Role != "agent" || got.User.DisplayName != "Anna Holm" || got.User.OIDC ||
		got.Agent.UserID == nil || *got.Agent.UserID != got.User.ID || got.Agent.DeviceKind != "webrtc" || got.Agent.Skills["tysk"] != 80 ||
		len(got.Memberships) != 1 || got.Memberships[0].QueueID != int64(cs.q.ID) || got.Memberships[0].Tier != 2 {
		t.Fatalf("created %s", w.Body.String())
	}
	if _, err := f.store.Authenticate(ctx, "anna", "a long test password"); err != nil {
		t.Errorf("the new login: %v", err)
	}

	// linking an existing login (the supervisor's): no user in the answer
	w = f.do(req{method: "POST", path: "/api/v1/staff", token: admin, body: fmt.Sprintf(`{"name":"Sune","device_kind":"endpoint","dial_string":"PJSIP/1003","user_id":%d}`, f.users[config.RoleSupervisor].ID)})
	if w.Code != 201 {
		t.Fatalf("link: %d %s", w.Code, w.Body.String())
	}
	a, err := f.store.AgentByUser(ctx, f.users[config.RoleSupervisor].ID)
	if err != nil || a.Name != "Sune" {
		t.Fatalf("linked agent %+v, %v", a, err)
	}
	if _, err := f.store.UserByUsername(ctx, "Sune"); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("a user was made for a link: %v", err)
	}
}
