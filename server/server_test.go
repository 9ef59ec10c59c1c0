package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/server"
)

// fixture is a server on a real SQLite store with one user per role.
type fixture struct {
	t      *testing.T
	store  *config.Store
	srv    *server.Server
	org    config.OrgID
	users  map[config.Role]config.User
	tokens map[config.Role]string
	now    time.Time
}

const testPassword = "a long test password"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, config.Options{})
}

// newFixtureWith is newFixture on a store opened with opts (its clock is
// the fixture's).
func newFixtureWith(t *testing.T, opts config.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, users: map[config.Role]config.User{}, tokens: map[config.Role]string{},
		now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	opts.Now = clock
	f.store = configtest.SQLite(t, opts)
	ctx := context.Background()
	org, err := f.store.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.org = org.ID
	for _, r := range []config.Role{config.RoleAdmin, config.RoleSupervisor, config.RoleAgent} {
		u, err := f.store.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: string(r) + "1", Password: testPassword, Role: r})
		if err != nil {
			t.Fatal(err)
		}
		f.users[r] = u
		tok, _, err := f.store.CreateToken(ctx, config.SystemActor(org.ID), u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[r] = tok
	}
	f.srv, err = server.New(server.Options{Store: f.store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type req struct {
	method, path, body string
	token              string
	cookie             *http.Cookie
	header             map[string]string
	remote             string // the peer's host:port; default 192.0.2.10:5555
}

func (f *fixture) do(r req) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.RemoteAddr = "192.0.2.10:5555"
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, hr)
	return w
}

func (f *fixture) login(username, password string) (*http.Cookie, *httptest.ResponseRecorder) {
	w := f.do(req{method: "POST", path: "/api/v1/auth/login", body: fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)})
	for _, c := range w.Result().Cookies() {
		if c.Name == server.SessionCookie && c.Value != "" {
			return c, w
		}
	}
	return nil, w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("status %d: body %q is not the error shape", w.Code, w.Body.String())
	}
	return body.Error.Code
}

// TestEndpointRoles covers every endpoint × role × allowed/401/403.
func TestEndpointRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	agentID := f.users[config.RoleAgent].ID
	supID := f.users[config.RoleSupervisor].ID
	type ep struct {
		method, path, body string
		min                config.Role // "" = public
		okStatus           int
	}
	// Bodies are valid, so "allowed" shows up as the endpoint's success code.
	eps := []ep{
		{"GET", "/api/v1/openapi.json", "", "", 200},
		{"GET", "/api/v1/auth/me", "", config.RoleAgent, 200},
		{"GET", "/api/v1/users", "", config.RoleAdmin, 200},
		{"POST", "/api/v1/users", `{"username":"new-%s","password":"` + testPassword + `","role":"agent"}`, config.RoleAdmin, 201},
		{"GET", fmt.Sprintf("/api/v1/users/%d", agentID), "", config.RoleAdmin, 200},
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", supID), `{"display_name":"Sup"}`, config.RoleAdmin, 200},
		{"GET", fmt.Sprintf("/api/v1/users/%d/tokens", agentID), "", config.RoleAdmin, 200}, // own tokens: see below
		{"POST", fmt.Sprintf("/api/v1/users/%d/tokens", agentID), `{"name":"x"}`, config.RoleAdmin, 201},
		{"GET", "/api/v1/audit", "", config.RoleAdmin, 200},
	}
	roles := []config.Role{"", config.RoleAgent, config.RoleSupervisor, config.RoleAdmin}
	for _, e := range eps {
		for _, r := range roles {
			name := fmt.Sprintf("%s %s as %q", e.method, e.path, r)
			t.Run(name, func(t *testing.T) {
				body := e.body
				if strings.Contains(body, "%s") {
					body = fmt.Sprintf(body, r)
				}
				rq := req{method: e.method, path: e.path, body: body}
				if r != "" {
					rq.token = f.tokens[r]
				}
				w := f.do(rq)
				want := e.okStatus
				switch {
				case e.min == "":
				case r == "":
					want = 401
				case !r.AtLeast(e.min) && !(strings.Contains(e.path, "/tokens") && r == config.RoleAgent):
					want = 403
				}
				if w.Code != want {
					t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body.String())
				}
				if want >= 400 {
					errorCode(t, w)
				}
			})
		}
	}
	// Delete: 401, 403 for agent/supervisor, 204 for admin (on a fresh user each time).
	for _, r := range roles {
		u, err := f.store.CreateUser(context.Background(), config.SystemActor(f.org), config.NewUser{OrgID: f.org, Username: "victim-" + string(r) + "x", Password: testPassword, Role: config.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		rq := req{method: "DELETE", path: fmt.Sprintf("/api/v1/users/%d", u.ID)}
		want := 204
		switch r {
		case "":
			want = 401
		case config.RoleAgent, config.RoleSupervisor:
			want = 403
		default:
			rq.token = f.tokens[r]
		}
		if r != "" {
			rq.token = f.tokens[r]
		}
		if w := f.do(rq); w.Code != want {
			t.Errorf("DELETE user as %q: %d, want %d", r, w.Code, want)
		}
	}
	// Tokens of another user: an agent may not see a supervisor's tokens.
	w := f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/tokens", supID), token: f.tokens[config.RoleAgent]})
	if w.Code != 403 {
		t.Errorf("agent reading another user's tokens: %d", w.Code)
	}
	// Logout and login are public.
	if w := f.do(req{method: "POST", path: "/api/v1/auth/logout"}); w.Code != 204 {
		t.Errorf("logout: %d", w.Code)
	}
}

// TestOpenAPICoversEveryRoute keeps the OpenAPI document true.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	seen := 0
	for _, r := range f.srv.RouteList() {
		p, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok {
			continue
		}
		seen++
		p = param.ReplaceAllString(p, "{$1}")
		ops, ok := doc.Paths[p]
		if !ok {
			t.Errorf("route %s %s is not in openapi.json (as %s)", r.Method, r.Path, p)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s: method missing in openapi.json", r.Method, r.Path)
		}
	}
	if seen < 10 {
		t.Fatalf("only %d API routes registered", seen)
	}
	w := f.do(req{method: "GET", path: "/api/v1/openapi.json"})
	if w.Code != 200 || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("GET openapi.json: %d", w.Code)
	}
}

func TestLoginSessionAndCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if c, w := f.login("admin1", "wrong password!"); c != nil || w.Code != 401 || errorCode(t, w) != "bad_credentials" {
		t.Fatalf("wrong password: %d %s", w.Code, w.Body.String())
	}
	ck, w := f.login("ADMIN1", testPassword)
	if ck == nil || w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body.String())
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie flags: %+v", ck)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/users", cookie: ck}); w.Code != 200 {
		t.Fatalf("users with cookie: %d", w.Code)
	}
	create := `{"username":"csrf-victim","password":"` + testPassword + `","role":"admin"}`
	// A cross-site form post riding the cookie is refused and creates nothing.
	w = f.do(req{method: "POST", path: "/api/v1/users", body: create, cookie: ck,
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
	if w.Code != 403 || errorCode(t, w) != "csrf" {
		t.Fatalf("cross-site POST: %d %s", w.Code, w.Body.String())
	}
	if _, err := f.store.UserByUsername(context.Background(), "csrf-victim"); err == nil {
		t.Fatal("cross-site POST created the user")
	}
	// The same request from the page itself is fine.
	w = f.do(req{method: "POST", path: "/api/v1/users", body: create, cookie: ck,
		header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}})
	if w.Code != 201 {
		t.Fatalf("same-origin POST: %d %s", w.Code, w.Body.String())
	}
	// Logout ends the session server-side.
	if w := f.do(req{method: "POST", path: "/api/v1/auth/logout", cookie: ck}); w.Code != 204 {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/auth/me", cookie: ck}); w.Code != 401 {
		t.Fatalf("me after logout: %d", w.Code)
	}
}

func TestSecureCookieWithHTTPSPublicURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv, err := server.New(server.Options{Store: f.store, SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	ck, _ := f.login("agent1", testPassword)
	if ck == nil || !ck.Secure {
		t.Fatalf("cookie not Secure: %+v", ck)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	before, _ := f.store.ListUsers(context.Background(), f.org)
	cases := []struct{ name, body, code string }{
		{"malformed", `{"username":`, "bad_request"},
		{"unknown field", `{"username":"x1","password":"` + testPassword + `","role":"agent","admin":true}`, "bad_request"},
		{"unknown role", `{"username":"x2","password":"` + testPassword + `","role":"root"}`, "invalid"},
		{"short password", `{"username":"x3","password":"short","role":"agent"}`, "invalid"},
		{"duplicate", `{"username":"Agent1","password":"` + testPassword + `","role":"agent"}`, "conflict"},
		{"wrong type", `{"username":5,"password":"` + testPassword + `","role":"agent"}`, "invalid"},
		{"empty", ``, "bad_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/api/v1/users", body: c.body, token: admin})
			if w.Code < 400 || errorCode(t, w) != c.code {
				t.Fatalf("%d %s, want code %s", w.Code, w.Body.String(), c.code)
			}
		})
	}
	after, _ := f.store.ListUsers(context.Background(), f.org)
	if len(after) != len(before) {
		t.Fatalf("bad input changed the users: %d → %d", len(before), len(after))
	}
	entries, _ := f.store.ListAudit(context.Background(), f.org, config.AuditFilter{ObjectType: "user"})
	if len(entries) != 3 {
		t.Fatalf("audit rows for users = %d, want 3 (the fixture's)", len(entries))
	}
	// The last admin cannot demote themselves.
	w := f.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", f.users[config.RoleAdmin].ID), body: `{"role":"agent"}`, token: admin})
	if w.Code != 400 {
		t.Fatalf("demoting the last admin: %d", w.Code)
	}
	// Unknown routes and methods use the error shape too.
	if w := f.do(req{method: "GET", path: "/api/v1/nope", token: admin}); w.Code != 404 || errorCode(t, w) != "not_found" {
		t.Fatalf("unknown route: %d", w.Code)
	}
	if w := f.do(req{method: "PUT", path: "/api/v1/users", token: admin}); w.Code != 405 {
		t.Fatalf("wrong method: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/users", token: "omst_forged"}); w.Code != 401 {
		t.Fatalf("forged token: %d", w.Code)
	}
}

func TestAuditRecordsChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	w := f.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", f.users[config.RoleAgent].ID), body: `{"display_name":"Agent One","password":"another long password"}`, token: admin})
	if w.Code != 200 {
		t.Fatal(w.Body.String())
	}
	w = f.do(req{method: "GET", path: "/api/v1/audit?object_type=user&limit=1", token: admin})
	var entries []struct {
		Actor, Action string
		Before, After map[string]any
	}
	json.Unmarshal(w.Body.Bytes(), &entries)
	if len(entries) != 1 || entries[0].Actor != "admin1" || entries[0].Action != "update" ||
		entries[0].Before["display_name"] != "" || entries[0].After["display_name"] != "Agent One" || entries[0].After["password"] != "changed" {
		t.Fatalf("audit: %s", w.Body.String())
	}
	if bytes.Contains(w.Body.Bytes(), []byte("another long password")) {
		t.Fatal("audit leaks the password")
	}
	if w := f.do(req{method: "GET", path: "/api/v1/audit?limit=9999", token: admin}); w.Code != 400 {
		t.Fatalf("bad limit: %d", w.Code)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if w := f.do(req{method: "GET", path: "/healthz"}); w.Code != 200 {
		t.Fatalf("healthz: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: "/readyz"}); w.Code != 200 {
		t.Fatalf("readyz: %d %s", w.Code, w.Body.String())
	}
	ariDown := server.Check{Name: "ari", Check: func(context.Context) error { return fmt.Errorf("not connected") }}
	srv, _ := server.New(server.Options{Store: f.store, Checks: []server.Check{ariDown}})
	f.srv = srv
	w := f.do(req{method: "GET", path: "/readyz"})
	if w.Code != 503 || !strings.Contains(w.Body.String(), "not connected") {
		t.Fatalf("readyz with ARI down: %d %s", w.Code, w.Body.String())
	}
	f.do(req{method: "GET", path: "/api/v1/users"})
	w = f.do(req{method: "GET", path: "/metrics"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `omstil_http_requests_total{method="GET",route="/api/v1/users",status="401"} 1`) ||
		!strings.Contains(w.Body.String(), "omstil_http_request_duration_seconds_bucket") {
		t.Fatalf("metrics: %s", w.Body.String())
	}
	if w := f.do(req{method: "GET", path: "/healthz"}); w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers missing: %v", w.Header())
	}
}

// The login page hands only a same-site path to its script.
func TestLoginPageNext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for raw, want := range map[string]string{
		"/%09/evil.example/x":   `data-next=""`,
		"/%0d%0a/evil.example":  `data-next=""`,
		"/%5Cevil.example":      `data-next=""`,
		"%2F%2Fevil.example":    `data-next=""`,
		"https://evil.example":  `data-next=""`,
		"/admin/queues%3Fx%3D1": `data-next="/admin/queues?x=1"`,
	} {
		w := f.do(req{method: "GET", path: "/login?next=" + raw})
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("/login?next=%s: %d, want %s in the page", raw, w.Code, want)
		}
	}
}
