package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/server"
)

type readyBody struct {
	Status string `json:"status"`
	Role   string `json:"role"`
	Leader string `json:"leader"`
	Error  struct {
		Code string `json:"code"`
	} `json:"error"`
}

func getReady(t *testing.T, h http.Handler, path string) (int, readyBody) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	var b readyBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("%s: %v %s", path, err, w.Body.String())
	}
	return w.Code, b
}

// TestReadyzRoles: /readyz names the role; ?role=leader answers 503 on a
// standby, so that a load balancer can send traffic to the leader only.
func TestReadyzRoles(t *testing.T) {
	t.Parallel()
	st := configtest.SQLite(t, config.Options{})
	role := atomic.Value{}
	role.Store(server.RoleLeader)
	leader, err := server.New(server.Options{Store: st, Role: func() string { return role.Load().(string) }})
	if err != nil {
		t.Fatal(err)
	}
	single, err := server.New(server.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var dbDown atomic.Bool
	sb := server.NewStandby(server.StandbyOptions{
		Ping: func(ctx context.Context) error {
			if dbDown.Load() {
				return errors.New("database down")
			}
			return st.Ping(ctx)
		},
		Leader: func() string { return "http://10.0.0.1:8080" },
	})
	cases := []struct {
		name       string
		h          http.Handler
		path       string
		code       int
		role, errc string
	}{
		{"leader", leader, "/readyz", 200, "leader", ""},
		{"leader asked for leader", leader, "/readyz?role=leader", 200, "leader", ""},
		{"leader asked for standby", leader, "/readyz?role=standby", 503, "leader", "wrong_role"},
		{"SQLite: the only process leads", single, "/readyz?role=leader", 200, "leader", ""},
		{"standby", sb, "/readyz", 200, "standby", ""},
		{"standby asked for leader", sb, "/readyz?role=leader", 503, "standby", "wrong_role"},
		{"standby asked for standby", sb, "/readyz?role=standby", 200, "standby", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b := getReady(t, c.h, c.path)
			if code != c.code || b.Role != c.role || b.Error.Code != c.errc {
				t.Fatalf("%s: %d %+v", c.path, code, b)
			}
		})
	}
	if _, b := getReady(t, sb, "/readyz"); b.Leader != "http://10.0.0.1:8080" {
		t.Errorf("standby's readyz does not name the leader: %+v", b)
	}
	dbDown.Store(true)
	if code, b := getReady(t, sb, "/readyz"); code != 503 || b.Error.Code != "not_ready" {
		t.Errorf("standby with the database down: %d %+v", code, b)
	}
}

// TestStandbyPassesToLeader: a standby hands every request but its own
// health to the leader, with the browser's Host and client address; with
// no leader, or one that does not answer, 503 in the API's error shape.
func TestStandbyPassesToLeader(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	lead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Host + " " + r.Header.Get("X-Forwarded-For") + " " + r.Method + " " + r.URL.RequestURI())
		io.WriteString(w, "from the leader")
	}))
	defer lead.Close()
	var leaderURL atomic.Value
	leaderURL.Store("")
	sb := server.NewStandby(server.StandbyOptions{
		Ping:   func(context.Context) error { return nil },
		Leader: func() string { return leaderURL.Load().(string) },
	})
	do := func(method, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://omstil.kommune.dk"+path, strings.NewReader(`{}`))
		r.RemoteAddr = "192.0.2.7:4000"
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/api/v1/queues"); w.Code != 503 || !strings.Contains(w.Body.String(), `"code":"no_leader"`) {
		t.Fatalf("no leader: %d %s", w.Code, w.Body.String())
	}
	leaderURL.Store(lead.URL)
	if w := do("POST", "/api/v1/queues?x=1"); w.Code != 200 || w.Body.String() != "from the leader" {
		t.Fatalf("passed: %d %s", w.Code, w.Body.String())
	}
	if got, want := seen.Load(), "omstil.kommune.dk 192.0.2.7 POST /api/v1/queues?x=1"; got != want {
		t.Fatalf("leader saw %q, want %q", got, want)
	}
	if w := do("GET", "/healthz"); w.Code != 200 || seen.Load() != "omstil.kommune.dk 192.0.2.7 POST /api/v1/queues?x=1" {
		t.Fatalf("healthz was passed on: %d", w.Code)
	}
	lead.Close()
	if w := do("GET", "/api/v1/queues"); w.Code != 503 || !strings.Contains(w.Body.String(), `"code":"no_leader"`) {
		t.Fatalf("leader gone: %d %s", w.Code, w.Body.String())
	}
}
