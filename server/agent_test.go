package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/agente2e"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
)

// fakeDirectory maps users to agents by username, except "nobody".
type fakeDirectory struct {
	mu     sync.Mutex
	queues map[softphone.AgentID][]string
}

func (d *fakeDirectory) AgentFor(ctx context.Context, u config.User) (softphone.AgentID, error) {
	if u.Username == "admin1" {
		return "", fmt.Errorf("no agent for %s: %w", u.Username, config.ErrNotFound)
	}
	return softphone.AgentID("agent-" + u.Username), nil
}

func (d *fakeDirectory) AgentSetup(ctx context.Context, agent softphone.AgentID) (server.AgentSetup, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sel := d.queues[agent]
	return server.AgentSetup{
		Queues: []server.AgentQueue{
			{ID: "borgerservice", Name: "Borgerservice", Selected: slices.Contains(sel, "borgerservice")},
			{ID: "skat", Name: "Skat", Selected: slices.Contains(sel, "skat")},
		},
		PauseReasons:  []server.PauseReason{{ID: "lunch", Label: "Frokost"}},
		WrapUpSeconds: 30, AutoReady: true,
	}, nil
}

func (d *fakeDirectory) Colleagues(ctx context.Context, agent softphone.AgentID) ([]server.Colleague, error) {
	all := []server.Colleague{
		{ID: "agent-anna", Name: "Anna", State: "ready"},
		{ID: "agent-eva", Name: "Eva", State: "busy"},
		{ID: "agent-bo", Name: "Bo", State: "paused"},
		{ID: "agent-cy", Name: "Cy", State: "ready"},
		{ID: "agent-di", Name: "Di", State: "logged_out"},
	}
	var out []server.Colleague
	for _, c := range all {
		if c.ID != string(agent) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (d *fakeDirectory) SetAgentQueues(ctx context.Context, agent softphone.AgentID, queues []string) error {
	for _, q := range queues {
		if q != "borgerservice" && q != "skat" {
			return config.Invalid("queues", "unknown queue %q", q)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.queues == nil {
		d.queues = map[softphone.AgentID][]string{}
	}
	d.queues[agent] = queues
	return nil
}

// agentFixture is a real server with a real softphone.Manager behind an
// httptest server, and the fake adapter.
type agentFixture struct {
	t   *testing.T
	url string
	m   *softphone.Manager
	cc  *agente2e.FakeControl
}

func newAgentFixture(t *testing.T, dir server.AgentDirectory) *agentFixture {
	t.Helper()
	store := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	org, err := store.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role config.Role
	}{{"anna", config.RoleAgent}, {"bo", config.RoleAgent}, {"admin1", config.RoleAdmin}} {
		if _, err := store.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: u.name, Password: testPassword, Role: u.role}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := softphone.New(softphone.Config{LoopbackOnly: true, PortMin: 46100, PortMax: 46199}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cc := agente2e.NewFakeControl(m)
	srv, err := server.New(server.Options{Store: store, Softphone: &server.AgentOptions{Manager: m, Directory: dir}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &agentFixture{t: t, url: hs.URL, m: m, cc: cc}
}

func (f *agentFixture) login(user string) *http.Cookie {
	f.t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, user, testPassword)
	resp, err := http.Post(f.url+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie && c.Value != "" {
			return c
		}
	}
	f.t.Fatalf("login %s: %d", user, resp.StatusCode)
	return nil
}

// dial opens the signalling socket; origin "" sends the server's own.
func (f *agentFixture) dial(cookie *http.Cookie, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if cookie != nil {
		h.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	if origin == "" {
		origin = f.url
	}
	h.Set("Origin", origin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, strings.Replace(f.url, "http", "ws", 1)+"/agent/ws", &websocket.DialOptions{HTTPHeader: h})
}

// page is a test's view of one agent page's socket.
type page struct {
	t *testing.T
	c *websocket.Conn
}

func (f *agentFixture) open(user string) *page {
	f.t.Helper()
	c, _, err := f.dial(f.login(user), "")
	if err != nil {
		f.t.Fatalf("dial as %s: %v", user, err)
	}
	f.t.Cleanup(func() { c.CloseNow() })
	p := &page{t: f.t, c: c}
	p.send(`{"type":"hello","id":"h"}`)
	p.expect("welcome")
	return p
}

func (p *page) send(s string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		p.t.Fatalf("write %s: %v", s, err)
	}
}

// expect reads messages until one of type typ arrives (media-state and
// candidate messages are skipped over).
func (p *page) expect(typ string) softphone.Message {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := p.c.Read(ctx)
		if err != nil {
			p.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m softphone.Message
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Fatalf("server sent non-JSON %q", b)
		}
		if m.Type == typ {
			return m
		}
		if m.Type == "error" {
			p.t.Fatalf("waiting for %s: got error %s: %s", typ, m.Code, m.Message)
		}
	}
}

func TestAgentSocketRefusals(t *testing.T) {
	t.Parallel()
	f := newAgentFixture(t, &fakeDirectory{})
	anna := f.login("anna")
	admin := f.login("admin1")
	tests := []struct {
		name   string
		cookie *http.Cookie
		origin string
		status int
	}{
		{"no session", nil, "", http.StatusUnauthorized},
		{"bad session", &http.Cookie{Name: server.SessionCookie, Value: "forged"}, "", http.StatusUnauthorized},
		{"cross-origin", anna, "https://evil.example", http.StatusForbidden},
		{"origin with other port", anna, "http://127.0.0.1:1", http.StatusForbidden},
		{"https origin on an http site", anna, strings.Replace(f.url, "http://", "https://", 1), http.StatusForbidden},
		{"garbage origin", anna, "::not a url", http.StatusForbidden},
		{"user who is not an agent", admin, "", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := f.dial(tc.cookie, tc.origin)
			if err == nil {
				c.CloseNow()
				t.Fatal("handshake succeeded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status %v, want %d (%v)", resp, tc.status, err)
			}
		})
	}
	if st := f.m.Stats(); st.Sessions != 0 {
		t.Errorf("refused handshakes opened %d sessions", st.Sessions)
	}
}

func TestAgentSocketUnavailableWithoutManager(t *testing.T) {
	t.Parallel()
	store := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	org, _ := store.DefaultOrg(ctx)
	if _, err := store.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: "anna", Password: testPassword, Role: config.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	f := &agentFixture{t: t, url: hs.URL}
	ck := f.login("anna")
	if _, resp, err := f.dial(ck, ""); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("without a softphone: %v %v", resp, err)
	}
	// The setup says so, and names the username as the agent.
	req, _ := http.NewRequest("GET", hs.URL+"/agent/setup", nil)
	req.AddCookie(ck)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var setup struct {
		Agent     string
		Available bool
		Queues    []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&setup); err != nil || resp.StatusCode != 200 {
		t.Fatalf("setup: %d %v", resp.StatusCode, err)
	}
	if setup.Agent != "anna" || setup.Available || setup.Queues == nil {
		t.Errorf("setup = %+v", setup)
	}
}

func TestAgentSocketBadMessages(t *testing.T) {
	t.Parallel()
	f := newAgentFixture(t, &fakeDirectory{})
	p := f.open("anna")
	for _, tc := range []struct {
		name, msg, code string
	}{
		{"not JSON", `hello there`, softphone.CodeBadMessage},
		{"no type", `{"id":"x"}`, softphone.CodeBadMessage},
		{"unknown type", `{"type":"explode","id":"x"}`, softphone.CodeBadMessage},
		{"answer without call", `{"type":"answer","id":"x"}`, softphone.CodeBadMessage},
		{"hold without on", `{"type":"hold","call":"c1","id":"x"}`, softphone.CodeBadMessage},
		{"dtmf with letters", `{"type":"dtmf","call":"c1","digits":"hej","id":"x"}`, softphone.CodeBadMessage},
		{"SDP without PCMU", `{"type":"offer","id":"x","sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"}`, softphone.CodeNoPCMU},
		{"hangup of a call never offered", `{"type":"hangup","call":"nope","id":"x"}`, "not-your-call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.send(tc.msg)
			m := p.expect("error")
			if m.Code != tc.code || m.Message == "" {
				t.Errorf("error %q %q, want code %q", m.Code, m.Message, tc.code)
			}
		})
	}
	// A binary frame is not a message either.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if m := p.expect("error"); m.Code != softphone.CodeBadMessage {
		t.Errorf("binary: %s", m.Code)
	}
	// The connection still works.
	p.send(`{"type":"ping","id":"p1"}`)
	if m := p.expect("pong"); m.ID != "p1" {
		t.Errorf("pong id %q", m.ID)
	}
	p.send(`{"type":"ready","id":"r1"}`)
	if m := p.expect("ack"); m.ID != "r1" {
		t.Errorf("ack id %q", m.ID)
	}
	if op := f.cc.Next(t, "state", 5*time.Second); op.Agent != "agent-anna" || op.State != softphone.StateReady {
		t.Errorf("ready reached the adapter as %+v", op)
	}
}

func TestAgentSecondTabReplacesFirst(t *testing.T) {
	t.Parallel()
	f := newAgentFixture(t, &fakeDirectory{})
	first := f.open("anna")
	second := f.open("anna")
	m := first.expect("error")
	if m.Code != softphone.CodeReplaced {
		t.Fatalf("first tab got %s", m.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := first.c.Read(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("first tab's socket stays open after it was replaced: %v", err)
	}
	// Calls now go to the second tab.
	if err := f.cc.Offer("agent-anna", "c1", "borgerservice", "+4512345678", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	ring := second.expect("ring")
	if ring.Call != "c1" || ring.Queue != "borgerservice" || ring.Waited != 40 {
		t.Errorf("ring = %+v", ring)
	}
	if st := f.m.Stats(); st.Sessions != 1 || st.Pages != 1 {
		t.Errorf("stats %+v: want one session with one page", st)
	}
}

func TestAgentCannotControlAnotherAgentsCall(t *testing.T) {
	t.Parallel()
	f := newAgentFixture(t, &fakeDirectory{})
	anna := f.open("anna")
	bo := f.open("bo")
	if err := f.cc.Offer("agent-anna", "c1", "skat", "", time.Second); err != nil {
		t.Fatal(err)
	}
	anna.expect("ring")
	for _, msg := range []string{
		`{"type":"answer","call":"c1","id":"b1"}`,
		`{"type":"decline","call":"c1","id":"b2"}`,
		`{"type":"hangup","call":"c1","id":"b3"}`,
		`{"type":"transfer","call":"c1","transfer":{"kind":"number","to":"112"},"id":"b4"}`,
	} {
		bo.send(msg)
		if m := bo.expect("error"); m.Code != "not-your-call" {
			t.Errorf("%s: %s", msg, m.Code)
		}
	}
	op := f.cc.Next(t, "answer", 5*time.Second)
	if op.Agent != "agent-bo" {
		t.Errorf("the adapter was asked on behalf of %q: the page's identity must come from its session", op.Agent)
	}
	if s, ok := f.m.Session("agent-anna"); !ok {
		t.Fatal("anna has no session")
	} else if _, attached := s.Call(); attached {
		t.Error("bo's answer attached anna's call")
	}
	// Anna can answer her own call.
	anna.send(`{"type":"answer","call":"c1","id":"a1"}`)
	if m := anna.expect("connected"); m.Call != "c1" {
		t.Errorf("connected %+v", m)
	}
	anna.expect("ack")
}

func TestAgentSetupAndQueues(t *testing.T) {
	t.Parallel()
	dir := &fakeDirectory{}
	f := newAgentFixture(t, dir)
	anna := f.login("anna")
	do := func(method, path, body string, ck *http.Cookie, origin string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if ck != nil {
			req.AddCookie(ck)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		name, method, path, body string
		ck                       *http.Cookie
		origin                   string
		status                   int
		contains                 string
	}{
		{"setup needs a session", "GET", "/agent/setup", "", nil, "", 401, `"unauthorized"`},
		{"setup", "GET", "/agent/setup", "", anna, "", 200, `"pauseReasons":[{"id":"lunch","label":"Frokost"}]`},
		{"queues need a session", "PUT", "/agent/queues", `{"queues":["skat"]}`, nil, "", 401, `"unauthorized"`},
		{"queues cross-site", "PUT", "/agent/queues", `{"queues":["skat"]}`, anna, "https://evil.example", 403, `"csrf"`},
		{"unknown queue", "PUT", "/agent/queues", `{"queues":["nope"]}`, anna, "", 400, `"invalid"`},
		{"unknown field", "PUT", "/agent/queues", `{"queue":["skat"]}`, anna, "", 400, ``},
		{"choose a queue", "PUT", "/agent/queues", `{"queues":["skat"]}`, anna, "", 204, ``},
		{"setup shows the choice", "GET", "/agent/setup", "", anna, "", 200, `{"id":"skat","name":"Skat","selected":true}`},
		{"colleagues need a session", "GET", "/agent/colleagues", "", nil, "", 401, `"unauthorized"`},
		// ready first, then paused, busy, logged out; not anna herself
		{"colleagues", "GET", "/agent/colleagues", "", anna, "", 200,
			`[{"id":"agent-cy","name":"Cy","state":"ready"},{"id":"agent-bo","name":"Bo","state":"paused"},{"id":"agent-eva","name":"Eva","state":"busy"},{"id":"agent-di","name":"Di","state":"logged_out"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(tc.method, tc.path, tc.body, tc.ck, tc.origin)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%d %s, want %d containing %s", resp.StatusCode, body, tc.status, tc.contains)
			}
		})
	}
	if got := dir.queues["agent-anna"]; !slices.Equal(got, []string{"skat"}) {
		t.Errorf("queues %v", got)
	}
}

// TestAgentPageAssets checks the page against the CSP (no inline script,
// style or handler), that every asset it names is served, and that both
// languages have the same strings.
func TestAgentPageAssets(t *testing.T) {
	t.Parallel()
	f := newAgentFixture(t, nil)
	get := func(path string) (int, http.Header, string) {
		resp, err := http.Get(f.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	code, h, html := get("/agent")
	if code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("/agent: %d %v", code, h)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+=`),
	} {
		if loc := bad.FindStringIndex(html); loc != nil {
			t.Errorf("inline code in the page: %q", html[loc[0]:min(loc[1]+40, len(html))])
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, `src="/agent/assets/`) {
			t.Errorf("script without an asset src: %s", tag)
		}
	}
	assets := regexp.MustCompile(`(?:src|href)="(/agent/assets/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(assets) < 2 {
		t.Fatalf("page names %d assets", len(assets))
	}
	_, _, js := get("/agent/assets/agent.js")
	for _, imp := range regexp.MustCompile(`from "\./([a-z0-9]+\.js)"`).FindAllStringSubmatch(js, -1) {
		assets = append(assets, []string{"", "/agent/assets/" + imp[1]})
	}
	for _, a := range assets {
		if code, _, _ := get(a[1]); code != 200 {
			t.Errorf("%s: %d", a[1], code)
		}
	}

	// Strings: every data-i18n key exists, and da and en have the same keys.
	src, err := os.ReadFile("../web/agent/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	da, en, ok := strings.Cut(string(src), "\n  en: {")
	if !ok {
		t.Fatal("i18n.js: no en block")
	}
	keyRE := regexp.MustCompile(`(?m)^\s+"([a-z0-9.-]+)":`)
	keys := func(s string) []string {
		var out []string
		for _, m := range keyRE.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	dk, ek := keys(da), keys(en)
	if len(dk) < 50 || !slices.Equal(dk, ek) {
		t.Errorf("da has %d keys, en %d; they differ", len(dk), len(ek))
	}
	used := regexp.MustCompile(`data-i18n(?:-label)?="([^"]+)"`).FindAllStringSubmatch(html, -1)
	used = append(used, regexp.MustCompile(`\bt\("([a-z0-9.-]+)"[,)]`).FindAllStringSubmatch(js, -1)...)
	for _, u := range used {
		if _, found := slices.BinarySearch(dk, u[1]); !found {
			t.Errorf("string %q is used but not defined", u[1])
		}
	}
}
