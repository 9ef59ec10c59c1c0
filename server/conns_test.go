package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/agente2e"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
)

// closeBound is how soon an open connection must end after its login did.
const closeBound = 5 * time.Second

// testClock is the store's and server's clock, moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// connFixture is a server with the agent softphone and the live feed, an
// agent (anna), a supervisor (sam) and an admin, each with an API token.
type connFixture struct {
	*agentFixture
	store    *config.Store
	clock    *testClock
	org      config.OrgID
	users    map[string]config.User
	tokens   map[string]string
	tokenIDs map[string]int64
}

func newConnFixture(t *testing.T) *connFixture {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	store := configtest.SQLite(t, config.Options{Now: clk.Now})
	ctx := context.Background()
	org, err := store.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &connFixture{store: store, clock: clk, org: org.ID,
		users: map[string]config.User{}, tokens: map[string]string{}, tokenIDs: map[string]int64{}}
	for _, u := range []struct {
		name string
		role config.Role
	}{{"anna", config.RoleAgent}, {"sam", config.RoleSupervisor}, {"admin1", config.RoleAdmin}} {
		nu, err := store.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: u.name, Password: testPassword, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		// sam's token is a kiosk token: it opens the live feed as a bearer
		// token and as the wallboard's kiosk cookie.
		scope := config.ScopeAPI
		if u.name == "sam" {
			scope = config.ScopeKiosk
		}
		tok, at, err := store.CreateScopedToken(ctx, config.SystemActor(org.ID), nu.ID, "test", scope)
		if err != nil {
			t.Fatal(err)
		}
		f.users[u.name], f.tokens[u.name], f.tokenIDs[u.name] = nu, tok, at.ID
	}
	m, err := softphone.New(softphone.Config{LoopbackOnly: true, PortMin: 46400, PortMax: 46499}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cc := agente2e.NewFakeControl(m)
	srv, err := server.New(server.Options{Store: store, Now: clk.Now,
		Softphone:  &server.AgentOptions{Manager: m, Directory: &fakeDirectory{}},
		LiveSource: staticLive{queue.Snapshot{At: clk.Now()}},
		// Short re-checks keep the expiry case quick; the bound holds
		// with the default (2 s) too.
		ConnRecheck: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.agentFixture = &agentFixture{t: t, url: hs.URL, m: m, cc: cc}
	return f
}

// cred is how a test opens a connection: a session cookie, a bearer token
// or a kiosk cookie.
type cred struct {
	cookie *http.Cookie
	bearer string
}

func (c cred) apply(h http.Header) {
	if c.cookie != nil {
		h.Set("Cookie", c.cookie.Name+"="+c.cookie.Value)
	}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
}

// api sends an API request as the admin (bearer token) or with c.
func (f *connFixture) api(method, path, body string, c cred) int {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c.apply(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (f *connFixture) admin() cred { return cred{bearer: f.tokens["admin1"]} }

// openSocket opens anna's agent socket with c and says hello.
func (f *connFixture) openSocket(c cred) *page {
	f.t.Helper()
	h := http.Header{}
	c.apply(h)
	h.Set("Origin", f.url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(f.url, "http", "ws", 1)+"/agent/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { ws.CloseNow() })
	p := &page{t: f.t, c: ws}
	p.send(`{"type":"hello","id":"h"}`)
	p.expect("welcome")
	return p
}

// stream is an open live feed; done is closed when the server ends it.
type stream struct {
	done chan struct{}
}

// openStream opens the live feed with c and waits for its first snapshot.
func (f *connFixture) openStream(c cred) *stream {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/api/v1/live", nil)
	c.apply(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		f.t.Fatalf("live: %d", resp.StatusCode)
	}
	s := &stream{done: make(chan struct{})}
	first := make(chan struct{})
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		seen := false
		for sc.Scan() {
			if !seen && strings.HasPrefix(sc.Text(), "data: ") {
				seen = true
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-s.done:
		f.t.Fatal("live feed ended before its first snapshot")
	case <-time.After(5 * time.Second):
		f.t.Fatal("no first snapshot")
	}
	return s
}

// expectStreamEnd fails unless the server ends the stream within the bound.
func (s *stream) expectEnd(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(closeBound):
		t.Errorf("the live feed is still streaming %s after the login ended", closeBound)
	}
}

// expectRevoked sends a command and fails unless it is refused: the page
// gets error logged-out (no ack) and the socket is closed within the
// bound.
func (p *page) expectRevoked(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), closeBound)
	defer cancel()
	// The socket may be closed already; then the command is refused too.
	_ = p.c.Write(ctx, websocket.MessageText, []byte(`{"type":"ready","id":"after"}`))
	loggedOut := false
	var lastErr error
	for {
		_, b, err := p.c.Read(ctx)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				t.Errorf("the agent socket is still open %s after the login ended", closeBound)
				return
			}
			break
		}
		var m softphone.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("non-JSON %q", b)
		}
		switch {
		case m.ID == "after" && m.Type == "ack":
			t.Error("a command after the login ended was carried out")
		case m.Type == "error" && m.Code == softphone.CodeLoggedOut:
			loggedOut = true
		}
	}
	if !loggedOut {
		t.Errorf("the page was not told logged-out before the socket closed (%v)", lastErr)
	}
}

// TestConnectionsEndWithTheLogin: an open agent socket and an open live
// feed end within the bound once the login they were opened with ends,
// and a command the page sends after that is refused; the agent is logged
// out of call handling.
func TestConnectionsEndWithTheLogin(t *testing.T) {
	t.Parallel()
	type setup struct {
		sock, feed cred
	}
	sessions := func(f *connFixture) setup {
		return setup{cred{cookie: f.login("anna")}, cred{cookie: f.login("sam")}}
	}
	patch := func(f *connFixture, user, body string) {
		if st := f.api("PATCH", fmt.Sprintf("/api/v1/users/%d", f.users[user].ID), body, f.admin()); st != http.StatusOK {
			t.Fatalf("patch %s: %d", user, st)
		}
	}
	deleteToken := func(f *connFixture, user string) {
		path := fmt.Sprintf("/api/v1/users/%d/tokens/%d", f.users[user].ID, f.tokenIDs[user])
		if st := f.api("DELETE", path, "", f.admin()); st != http.StatusNoContent {
			t.Fatalf("delete token of %s: %d", user, st)
		}
	}
	tests := []struct {
		name   string
		open   func(f *connFixture) setup
		change func(f *connFixture, s setup)
	}{
		{"logout", sessions, func(f *connFixture, s setup) {
			for _, c := range []cred{s.sock, s.feed} {
				if st := f.api("POST", "/api/v1/auth/logout", "", c); st != http.StatusNoContent {
					t.Fatalf("logout: %d", st)
				}
			}
		}},
		{"deactivation", sessions, func(f *connFixture, s setup) {
			patch(f, "anna", `{"active":false}`)
			patch(f, "sam", `{"active":false}`)
		}},
		{"role change", sessions, func(f *connFixture, s setup) {
			patch(f, "anna", `{"role":"supervisor"}`) // the agent page admits every role: any change ends it
			patch(f, "sam", `{"role":"agent"}`)       // below the live feed's role
		}},
		{"session expiry", sessions, func(f *connFixture, s setup) {
			f.clock.Add(config.SessionTTL + time.Minute)
		}},
		{"token deletion", func(f *connFixture) setup {
			return setup{cred{bearer: f.tokens["anna"]}, cred{bearer: f.tokens["sam"]}}
		}, func(f *connFixture, s setup) {
			deleteToken(f, "anna")
			deleteToken(f, "sam")
		}},
		{"kiosk token deletion", func(f *connFixture) setup {
			return setup{cred{bearer: f.tokens["anna"]}, cred{cookie: &http.Cookie{Name: server.KioskCookie, Value: f.tokens["sam"]}}}
		}, func(f *connFixture, s setup) {
			deleteToken(f, "anna")
			deleteToken(f, "sam")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newConnFixture(t)
			s := tc.open(f)
			p := f.openSocket(s.sock)
			live := f.openStream(s.feed)
			tc.change(f, s)
			p.expectRevoked(t)
			live.expectEnd(t)
			// The agent was logged out of call handling, as the page's
			// logout does, and nothing else reached the adapter.
			if op := f.cc.Next(t, "state", closeBound); op.Agent != "agent-anna" || op.State != softphone.StateLoggedOut {
				t.Errorf("adapter got %+v, want anna logged out", op)
			}
			// (the session ends after the logout reached the adapter: wait
			// for it within the same bound.)
			for end := time.Now().Add(closeBound); ; time.Sleep(5 * time.Millisecond) {
				if _, ok := f.m.Session("agent-anna"); !ok {
					break
				}
				if time.Now().After(end) {
					t.Error("the agent's softphone session outlived the login")
					break
				}
			}
		})
	}
}

// TestConnectionsOfOthersStay: ending one login leaves another user's
// connections and the same user's other session alone.
func TestConnectionsOfOthersStay(t *testing.T) {
	t.Parallel()
	f := newConnFixture(t)
	annaPhone := cred{cookie: f.login("anna")}
	annaOther := cred{cookie: f.login("anna")}
	p := f.openSocket(annaPhone)
	feed := f.openStream(cred{cookie: f.login("sam")})
	if st := f.api("POST", "/api/v1/auth/logout", "", annaOther); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	if st := f.api("PATCH", fmt.Sprintf("/api/v1/users/%d", f.users["admin1"].ID), `{"display_name":"Ad"}`, f.admin()); st != http.StatusOK {
		t.Fatalf("patch: %d", st)
	}
	p.send(`{"type":"ping","id":"still"}`)
	if m := p.expect("pong"); m.ID != "still" {
		t.Fatalf("pong %+v", m)
	}
	select {
	case <-feed.done:
		t.Fatal("another user's live feed ended")
	default:
	}
}

// TestRevokedAgentLeavesNoCall: an agent on a call whose login ends does
// not keep the citizen: the citizen goes back to the queue at its place
// and the agent is logged out.
func TestRevokedAgentLeavesNoCall(t *testing.T) {
	t.Parallel()
	f := newConnFixture(t)
	p := f.openSocket(cred{cookie: f.login("anna")})
	if err := f.cc.Offer("agent-anna", "c1", "Borgerservice", "", 0); err != nil {
		t.Fatal(err)
	}
	p.expect("ring")
	p.send(`{"type":"answer","call":"c1","id":"a"}`)
	p.expect("connected")
	if st := f.api("PATCH", fmt.Sprintf("/api/v1/users/%d", f.users["anna"].ID), `{"active":false}`, f.admin()); st != http.StatusOK {
		t.Fatalf("deactivate: %d", st)
	}
	p.expectRevoked(t)
	// the citizen goes back to the queue rather than being cut off.
	if op := f.cc.Next(t, "transfer", closeBound); op.Agent != "agent-anna" || op.Call != "c1" || op.Transfer.Mode != softphone.ModeRequeue {
		t.Errorf("transfer %+v, want the citizen of c1 back to its queue", op)
	}
	if _, ok := f.cc.Relay("c1"); ok {
		t.Error("the call is still with the agent")
	}
}
