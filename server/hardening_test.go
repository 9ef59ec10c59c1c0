package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/server"
)

// Every /api/v1 answer, success or error, is Cache-Control: no-store.
func TestAPINoStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, r := range []req{
		{method: "GET", path: "/api/v1/users", token: f.tokens[config.RoleAdmin]},
		{method: "GET", path: "/api/v1/auth/me", token: f.tokens[config.RoleAgent]},
		{method: "GET", path: "/api/v1/users"},
		{method: "GET", path: "/api/v1/nope", token: f.tokens[config.RoleAdmin]},
		{method: "GET", path: "/api/v1/openapi.json"},
		{method: "POST", path: "/api/v1/auth/login", body: `{"username":"admin1","password":"wrong password!"}`},
		{method: "GET", path: "/api/v1/live", token: f.tokens[config.RoleAdmin]},
	} {
		w := f.do(r)
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s (%d): Cache-Control %q", r.method, r.path, w.Code, got)
		}
	}
}

// A JSON object with a key twice is refused, naming the key, and
// changes nothing.
func TestDuplicateJSONKeysRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	for _, c := range []struct{ body, key string }{
		{`{"username":"dup1","password":"` + testPassword + `","role":"agent","role":"admin"}`, "role"},
		{`{"username":"dup2","password":"` + testPassword + `","role":"agent","Role":"admin"}`, "Role"},
		{`{"username":"dup3","username":"dup4","password":"` + testPassword + `","role":"agent"}`, "username"},
	} {
		w := f.do(req{method: "POST", path: "/api/v1/users", body: c.body, token: admin})
		var body struct {
			Error struct{ Code, Message, Field string }
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 400 || !strings.Contains(body.Error.Message, fmt.Sprintf("duplicate key %q", c.key)) {
			t.Errorf("%s: %d %s", c.body, w.Code, w.Body.String())
		}
	}
	for _, name := range []string{"dup1", "dup2", "dup3", "dup4"} {
		if _, err := f.store.UserByUsername(context.Background(), name); err == nil {
			t.Errorf("user %s was created", name)
		}
	}
	// Nested objects are checked too; the same key in sibling objects is fine.
	w := f.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", f.users[config.RoleAgent].ID), token: admin,
		body: `{"display_name":"x","display_name":"y"}`})
	if w.Code != 400 {
		t.Errorf("PATCH with a duplicate key: %d", w.Code)
	}
}

// One password rule: the API refuses what the UI's help text says is too
// short, and the help text names the same length in every language.
func TestPasswordRuleIsOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	short := strings.Repeat("x", config.MinPasswordLength-1)
	w := f.do(req{method: "POST", path: "/api/v1/users", token: admin,
		body: `{"username":"shorty","password":"` + short + `","role":"agent"}`})
	want := fmt.Sprintf("at least %d characters", config.MinPasswordLength)
	if w.Code != 400 || !strings.Contains(w.Body.String(), want) {
		t.Fatalf("%d-character password: %d %s", len(short), w.Code, w.Body.String())
	}
	w = f.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", f.users[config.RoleAgent].ID), token: admin,
		body: `{"password":"` + short + `"}`})
	if w.Code != 400 {
		t.Fatalf("PATCH with a %d-character password: %d", len(short), w.Code)
	}
	ok := strings.Repeat("x", config.MinPasswordLength)
	if w := f.do(req{method: "POST", path: "/api/v1/users", token: admin,
		body: `{"username":"longer","password":"` + ok + `","role":"agent"}`}); w.Code != 201 {
		t.Fatalf("%d-character password: %d %s", len(ok), w.Code, w.Body.String())
	}
	ck, _ := f.login("admin1", testPassword)
	for lang, text := range map[string]string{"da": fmt.Sprintf("Mindst %d tegn", config.MinPasswordLength),
		"en": fmt.Sprintf("At least %d characters", config.MinPasswordLength)} {
		w := f.do(req{method: "GET", path: "/admin/users", cookie: ck, header: map[string]string{"Cookie": "omstil_lang=" + lang + "; " + ck.Name + "=" + ck.Value}})
		if w.Code != 200 || !strings.Contains(w.Body.String(), text) {
			t.Errorf("%s /admin/users: %d, help text %q missing", lang, w.Code, text)
		}
	}
}

// A taken username gets the same answer whether its owner is in the
// caller's organisation or another: it is taken, not whose it is.
func TestDuplicateUsernameSameAnswerAcrossOrganisations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other, err := f.store.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateUser(ctx, config.SystemActor(other.ID), config.NewUser{OrgID: other.ID, Username: "faxe-anna", Password: testPassword, Role: config.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	create := func(name string) (int, string) {
		w := f.do(req{method: "POST", path: "/api/v1/users", token: f.tokens[config.RoleAdmin],
			body: `{"username":"` + name + `","password":"` + testPassword + `","role":"agent"}`})
		return w.Code, w.Body.String()
	}
	sameCode, same := create("Agent1")          // in the caller's organisation
	otherCode, otherBody := create("FAXE-anna") // in another organisation
	if sameCode != 409 || otherCode != 409 || same != otherBody {
		t.Fatalf("same organisation: %d %s\nother organisation: %d %s", sameCode, same, otherCode, otherBody)
	}
	var body struct {
		Error struct{ Code, Message, Field string }
	}
	json.Unmarshal([]byte(same), &body)
	if body.Error.Field != "username" || !strings.Contains(body.Error.Message, "that username is taken") {
		t.Fatalf("body %s: want field username, \"that username is taken\"", same)
	}
}

// Deactivating a user ends their sessions and revokes their API tokens:
// reactivating them does not bring the tokens back.
func TestDeactivationRevokesTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	agent := f.users[config.RoleAgent]
	ck, _ := f.login("agent1", testPassword)
	if w := f.do(req{method: "GET", path: "/api/v1/auth/me", token: f.tokens[config.RoleAgent]}); w.Code != 200 {
		t.Fatalf("token before: %d", w.Code)
	}
	path := fmt.Sprintf("/api/v1/users/%d", agent.ID)
	for _, active := range []string{"false", "true"} {
		if w := f.do(req{method: "PATCH", path: path, token: admin, body: `{"active":` + active + `}`}); w.Code != 200 {
			t.Fatalf("active=%s: %d %s", active, w.Code, w.Body.String())
		}
	}
	if w := f.do(req{method: "GET", path: "/api/v1/auth/me", token: f.tokens[config.RoleAgent]}); w.Code != 401 {
		t.Fatalf("token after reactivation: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/auth/me", cookie: ck}); w.Code != 401 {
		t.Fatalf("session after reactivation: %d", w.Code)
	}
	if ts, err := f.store.ListTokens(context.Background(), agent.ID); err != nil || len(ts) != 0 {
		t.Fatalf("tokens after reactivation: %v %v", ts, err)
	}
	// The user logs in again with the password.
	if ck, w := f.login("agent1", testPassword); ck == nil {
		t.Fatalf("login after reactivation: %d", w.Code)
	}
}

// A browser that sends Origin without Sec-Fetch-Site is held to the
// site's scheme, host and port on state-changing requests.
func TestCrossOriginComparesScheme(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ck, _ := f.login("admin1", testPassword)
	create := `{"username":"scheme-victim","password":"` + testPassword + `","role":"admin"}`
	for _, origin := range []string{"https://example.com", "http://example.com:8080"} {
		w := f.do(req{method: "POST", path: "/api/v1/users", body: create, cookie: ck, header: map[string]string{"Origin": origin}})
		if w.Code != 403 || errorCode(t, w) != "csrf" {
			t.Fatalf("Origin %s on http://example.com: %d %s", origin, w.Code, w.Body.String())
		}
	}
	if w := f.do(req{method: "POST", path: "/api/v1/users", body: create, cookie: ck, header: map[string]string{"Origin": "http://example.com"}}); w.Code != 201 {
		t.Fatalf("same origin: %d %s", w.Code, w.Body.String())
	}
}

// Names shown to people refuse bidirectional overrides and isolates and
// zero-width characters, which make a name display as another.
func TestNamesRefuseHiddenCharacters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	agentPath := fmt.Sprintf("/api/v1/users/%d", f.users[config.RoleAgent].ID)
	for _, c := range []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/users", `{"username":"hid1","display_name":"Anna \u202eevil","password":"` + testPassword + `","role":"agent"}`, "display_name"},
		{"PATCH", agentPath, `{"display_name":"Bo\u200b"}`, "display_name"},
		{"PATCH", agentPath, `{"display_name":"\ufeffBo"}`, "display_name"},
		{"POST", "/api/v1/queues", `{"name":"hid-q","display_name":"Borger\u2066service"}`, "display_name"},
		{"POST", "/api/v1/agents", `{"name":"Karen\u200d","device_kind":"webrtc"}`, "name"},
		{"POST", "/api/v1/agents", `{"name":"Karen\u2060","device_kind":"webrtc"}`, "name"},
		{"POST", fmt.Sprintf("/api/v1/users/%d/tokens", f.users[config.RoleAgent].ID), `{"name":"tv\u202a"}`, "name"},
	} {
		w := f.do(req{method: c.method, path: c.path, body: c.body, token: admin})
		var body struct {
			Error struct{ Code, Message, Field string }
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 400 || body.Error.Field != c.field || !strings.Contains(body.Error.Message, "invisible") {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, w.Code, w.Body.String())
		}
	}
	if _, err := f.store.UserByUsername(context.Background(), "hid1"); err == nil {
		t.Error("the user was created")
	}
	// Ordinary Danish names are fine.
	if w := f.do(req{method: "PATCH", path: agentPath, token: admin, body: `{"display_name":"Søren Ærø-Åberg"}`}); w.Code != 200 {
		t.Errorf("plain name: %d %s", w.Code, w.Body.String())
	}
}

// A kiosk token reads the live feed and the wallboard and nothing else;
// the kiosk address takes only kiosk tokens, and an API token's create
// call chooses the scope.
func TestTokenScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sup := f.users[config.RoleSupervisor]
	w := f.do(req{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", sup.ID), token: f.tokens[config.RoleAdmin],
		body: `{"name":"Reception TV","scope":"kiosk"}`})
	var created struct{ Token, Scope string }
	json.Unmarshal(w.Body.Bytes(), &created)
	if w.Code != 201 || created.Scope != "kiosk" || created.Token == "" {
		t.Fatalf("create kiosk token: %d %s", w.Code, w.Body.String())
	}
	kiosk := created.Token
	if w := f.do(req{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", sup.ID), token: f.tokens[config.RoleAdmin],
		body: `{"name":"x","scope":"root"}`}); w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"scope"`) {
		t.Fatalf("unknown scope: %d %s", w.Code, w.Body.String())
	}
	// As a bearer token: the live feed yes, anything else no.
	if w := f.do(req{method: "GET", path: "/api/v1/live", token: kiosk}); w.Code == 401 || w.Code == 403 {
		t.Fatalf("kiosk token on the live feed: %d %s", w.Code, w.Body.String())
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/auth/me"},
		{method: "GET", path: "/api/v1/queues"},
		{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/tokens", sup.ID)},
		{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", sup.ID), body: `{"name":"more"}`},
	} {
		r.token = kiosk
		if w := f.do(r); w.Code != 403 {
			t.Errorf("kiosk token on %s %s: %d %s", r.method, r.path, w.Code, w.Body.String())
		}
	}
	// The kiosk address refuses a full API token: it would sit in a cookie.
	if w := f.do(req{method: "GET", path: "/wallboard?token=" + f.tokens[config.RoleSupervisor]}); w.Code != 401 {
		t.Fatalf("kiosk address with an API token: %d", w.Code)
	}
	w = f.do(req{method: "GET", path: "/wallboard?token=" + kiosk})
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == server.KioskCookie {
			ck = c
		}
	}
	if w.Code != 303 || ck == nil {
		t.Fatalf("kiosk address with a kiosk token: %d %v", w.Code, w.Header())
	}
	if w := f.do(req{method: "GET", path: "/wallboard", cookie: ck}); w.Code != 200 {
		t.Fatalf("wallboard with the kiosk cookie: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: "/api/v1/queues", cookie: ck}); w.Code != 401 {
		t.Fatalf("kiosk cookie on the API: %d", w.Code)
	}
	// An API token's scope is api, and listed.
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/tokens", sup.ID), token: f.tokens[config.RoleAdmin]})
	if !strings.Contains(w.Body.String(), `"scope":"api"`) || !strings.Contains(w.Body.String(), `"scope":"kiosk"`) {
		t.Fatalf("token list: %s", w.Body.String())
	}
}
