package server_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/server"
)

// fakeIdP is an OpenID Connect provider in the test: discovery, JWKS, an
// authorization endpoint that logs the person in at once, and a token
// endpoint that checks the code, the client and the PKCE verifier and
// signs an ID token with a test RSA key.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey

	mu      sync.Mutex
	person  map[string]any // claims of whoever logs in next
	codes   map[string]pending
	tamper  func(claims map[string]any) // changes the ID token's claims
	refuse  string                      // error to send back instead of a code
	tokenOK int                         // token requests that passed the checks
}

type pending struct {
	nonce, challenge, redirect string
	claims                     map[string]any
}

const (
	idpClient = "omstil-test"
	idpSecret = "client secret"
)

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeIdP{t: t, key: key, codes: map[string]pending{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.mu.Lock()
		defer p.mu.Unlock()
		redirect, _ := url.Parse(q.Get("redirect_uri"))
		back := redirect.Query()
		back.Set("state", q.Get("state"))
		switch {
		case p.refuse != "":
			back.Set("error", p.refuse)
		case q.Get("client_id") != idpClient || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid"):
			back.Set("error", "invalid_request")
		default:
			code := "code-" + base64.RawURLEncoding.EncodeToString(big.NewInt(int64(len(p.codes)+1)).Bytes())
			p.codes[code] = pending{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), claims: p.person}
			back.Set("code", code)
		}
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		user, pass, ok := r.BasicAuth()
		if ok { // RFC 6749 2.3.1: form-encoded, then Basic
			user, _ = url.QueryUnescape(user)
			pass, _ = url.QueryUnescape(pass)
		} else {
			user, pass = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		code := r.PostForm.Get("code")
		pd, found := p.codes[code]
		delete(p.codes, code)
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if user != idpClient || pass != idpSecret || !found || r.PostForm.Get("grant_type") != "authorization_code" ||
			r.PostForm.Get("redirect_uri") != pd.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != pd.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		p.tokenOK++
		claims := map[string]any{"iss": p.srv.URL, "aud": idpClient, "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(), "nonce": pd.nonce}
		for k, v := range pd.claims {
			claims[k] = v
		}
		if p.tamper != nil {
			p.tamper(claims)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": p.sign(claims)})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeIdP) sign(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	in := enc(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		p.t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (p *fakeIdP) set(person map[string]any, tamper func(map[string]any), refuse string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.person, p.tamper, p.refuse = person, tamper, refuse
}

type oidcEnv struct {
	idp   *fakeIdP
	st    *config.Store
	omst  *httptest.Server
	roles config.OIDCRoleMap
}

// newOIDCServer starts omstil with OIDC login against a fake provider.
func newOIDCServer(t *testing.T, roleMap string) *oidcEnv {
	t.Helper()
	idp := newFakeIdP(t)
	st := configtest.SQLite(t, config.Options{})
	rm, err := config.ParseOIDCRoleMap(roleMap)
	if err != nil {
		t.Fatal(err)
	}
	e := &oidcEnv{idp: idp, st: st, roles: rm}
	var h http.Handler
	e.omst = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.omst.Close)
	srv, err := server.New(server.Options{Store: st, Logger: slog.New(slog.NewTextHandler(tlog{t}, nil)), OIDC: &server.OIDCOptions{Issuer: idp.srv.URL, ClientID: idpClient, ClientSecret: idpSecret,
		RedirectURL: e.omst.URL + "/auth/oidc/callback", RoleClaim: "groups", RoleMap: rm}})
	if err != nil {
		t.Fatal(err)
	}
	h = srv
	return e
}

// login runs a browser's login through the provider and returns where it
// ended and the browser's client (with its cookies).
func (e *oidcEnv) login(t *testing.T, next string) (string, *http.Client) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	u := e.omst.URL + "/auth/oidc/login"
	if next != "" {
		u += "?next=" + url.QueryEscape(next)
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return strings.TrimPrefix(resp.Request.URL.String(), e.omst.URL), c
}

func me(t *testing.T, c *http.Client, base string) (config.Role, string, int) {
	t.Helper()
	resp, err := c.Get(base + "/api/v1/auth/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u struct {
		Role     config.Role `json:"role"`
		Username string      `json:"username"`
	}
	json.NewDecoder(resp.Body).Decode(&u)
	return u.Role, u.Username, resp.StatusCode
}

func TestOIDCLogin(t *testing.T) {
	t.Parallel()
	e := newOIDCServer(t, "omstil-admins=admin,omstil-supervisors=supervisor,*=agent")
	ctx := context.Background()
	org, err := e.st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: "lokal", Password: "a long local password", Role: config.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	anne := func(groups ...string) map[string]any {
		return map[string]any{"sub": "anne-123", "preferred_username": "anne.h", "name": "Anne Holm", "groups": groups}
	}
	for _, tc := range []struct {
		name     string
		person   map[string]any
		tamper   func(map[string]any)
		refuse   string
		next     string
		landing  string // path (and query) the browser ends on
		role     config.Role
		username string
	}{
		{name: "first login creates the user with the mapped role", person: anne("omstil-admins", "alle"), next: "/admin/users",
			landing: "/admin/users", role: config.RoleAdmin, username: "anne.h"},
		{name: "a hostile next lands on this site", person: anne("omstil-admins"), next: "/\t/evil/x",
			landing: "/wallboard", role: config.RoleAdmin, username: "anne.h"},
		{name: "a next with a dot is kept", person: anne("omstil-admins"), next: "/wallboard?v=1.2",
			landing: "/wallboard?v=1.2", role: config.RoleAdmin, username: "anne.h"},
		{name: "a next with a query is kept", person: anne("omstil-admins"), next: "/admin/queues?x=1",
			landing: "/admin/queues?x=1", role: config.RoleAdmin, username: "anne.h"},
		{name: "the role follows the groups on the next login", person: anne("omstil-supervisors"), landing: "/wallboard", role: config.RoleSupervisor, username: "anne.h"},
		{name: "the highest role of several groups", person: anne("omstil-supervisors", "omstil-admins"), landing: "/wallboard", role: config.RoleAdmin, username: "anne.h"},
		{name: "no group: the * role", person: map[string]any{"sub": "bo-9", "email": "bo@kommune.dk", "groups": "andet"}, landing: "/", role: config.RoleAgent, username: "bo@kommune.dk"},
		{name: "a local user's name is not taken over", person: map[string]any{"sub": "x-1", "preferred_username": "lokal", "groups": []string{"omstil-admins"}},
			landing: "/login?oidc_error=conflict"},
		{name: "a wrong nonce is refused", person: anne("omstil-admins"), tamper: func(c map[string]any) { c["nonce"] = "other" }, landing: "/login?oidc_error=failed"},
		{name: "another audience is refused", person: anne("omstil-admins"), tamper: func(c map[string]any) { c["aud"] = "someone-else" }, landing: "/login?oidc_error=failed"},
		{name: "an expired ID token is refused", person: anne("omstil-admins"), tamper: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, landing: "/login?oidc_error=failed"},
		{name: "the provider's refusal", person: anne("omstil-admins"), refuse: "access_denied", landing: "/login?oidc_error=refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.idp.set(tc.person, tc.tamper, tc.refuse)
			landing, c := e.login(t, tc.next)
			role, username, status := me(t, c, e.omst.URL)
			if tc.role == "" {
				if status != http.StatusUnauthorized {
					t.Errorf("refused login: /auth/me = %d (%s %s), want 401", status, username, role)
				}
			} else if status != http.StatusOK || role != tc.role || username != tc.username {
				t.Errorf("/auth/me = %d %q %q, want %q %q", status, username, role, tc.username, tc.role)
			}
			if landing != tc.landing {
				t.Errorf("ended on %s, want %s", landing, tc.landing)
			}
		})
	}
	// one OIDC user per subject; the local user untouched; audited
	us, err := e.st.ListUsers(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Username+":"+string(u.Role))
		if u.Username == "lokal" && config.IsOIDCUser(u) {
			t.Error("the local user became an OIDC user")
		}
	}
	if got := strings.Join(names, ","); got != "anne.h:admin,bo@kommune.dk:agent,lokal:admin" {
		t.Errorf("users = %s", got)
	}
	// an OIDC user cannot log in with a password
	if _, err := e.st.Authenticate(ctx, "anne.h", "oidc$"); err == nil {
		t.Error("password login of an OIDC user succeeded")
	}
	au, err := e.st.ListAudit(ctx, org.ID, config.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var creates, updates int
	for _, a := range au {
		if a.ObjectType == "user" && a.Actor == "anne.h" {
			switch a.Action {
			case "create":
				creates++
			case "update":
				updates++
			}
		}
	}
	if creates != 1 || updates != 2 {
		t.Errorf("audit of anne.h: %d creates, %d updates; want 1 and 2", creates, updates)
	}
}

// tlog writes the server's log to the test's log.
type tlog struct{ t *testing.T }

func (w tlog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	e := newOIDCServer(t, "omstil-admins=admin")
	ctx := context.Background()
	noCookies := &http.Client{Timeout: 10 * time.Second}

	// a callback with no login in progress (no cookie), or another state
	resp, err := noCookies.Get(e.omst.URL + "/auth/oidc/callback?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Request.URL.RequestURI(); got != "/login?oidc_error=expired" {
		t.Errorf("callback without a login: ended on %s", got)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = c.Get(e.omst.URL + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.idp.srv.URL+"/authorize?") {
		t.Fatalf("login: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == server.OIDCCookie {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("login cookie = %+v, want HttpOnly and SameSite=Lax", ck)
	}
	resp, err = c.Get(e.omst.URL + "/auth/oidc/callback?code=x&state=not-the-state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != "/login?oidc_error=failed" {
		t.Errorf("callback with another state: to %s", got)
	}

	// nobody in a mapped group, and no "*": no login, no user
	e.idp.set(map[string]any{"sub": "c-1", "preferred_username": "carl", "groups": []string{"andet"}}, nil, "")
	if landing, _ := e.login(t, ""); landing != "/login?oidc_error=norole" {
		t.Errorf("no role: ended on %s", landing)
	}
	if _, err := e.st.UserByUsername(ctx, "carl"); err == nil {
		t.Error("a user without a role was created")
	}

	// a deactivated OIDC user stays out
	e.idp.set(map[string]any{"sub": "d-1", "preferred_username": "dorte", "groups": []string{"omstil-admins"}}, nil, "")
	if landing, _ := e.login(t, ""); landing != "/wallboard" {
		t.Fatalf("first login: ended on %s", landing)
	}
	u, err := e.st.UserByUsername(ctx, "dorte")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateUser(ctx, config.SystemActor(u.OrgID), config.NewUser{OrgID: u.OrgID, Username: "admin", Password: "a long local password", Role: config.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := e.st.UpdateUser(ctx, config.SystemActor(u.OrgID), u.ID, config.UserPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if landing, c := e.login(t, ""); landing != "/login?oidc_error=deactivated" {
		t.Errorf("deactivated: ended on %s", landing)
	} else if _, _, st := me(t, c, e.omst.URL); st != http.StatusUnauthorized {
		t.Errorf("deactivated: /auth/me = %d", st)
	}
}

func TestOIDCButton(t *testing.T) {
	t.Parallel()
	page := func(t *testing.T, base, path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	e := newOIDCServer(t, "*=agent")
	if body := page(t, e.omst.URL, "/login?next=/wallboard"); !strings.Contains(body, `href="/auth/oidc/login?next=%2fwallboard"`) {
		t.Errorf("login page with OIDC has no button to /auth/oidc/login?next=…")
	}
	if body := page(t, e.omst.URL, "/login?oidc_error=norole"); !strings.Contains(body, `id="oidc-error"`) || !strings.Contains(body, "ikke i en gruppe") {
		t.Errorf("login page does not explain a refused OIDC login")
	}
	plain, err := server.New(server.Options{Store: configtest.SQLite(t, config.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(plain)
	defer hs.Close()
	if body := page(t, hs.URL, "/login"); strings.Contains(body, "/auth/oidc/login") {
		t.Errorf("login page without OIDC shows the OIDC button")
	}
	resp, err := http.Get(hs.URL + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/auth/oidc/login without OIDC: %d", resp.StatusCode)
	}
}
