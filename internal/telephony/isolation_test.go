package telephony_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/internal/telephony/telephonytest"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

const isoPassword = "a long test password"

// TestAgentPageIsolation: the agent page's endpoints, served by the real
// AgentDirectory over a running adapter (on the ARI simulator) that holds
// two organisations, show an agent of A nothing of B: not B's queues or
// pause reasons in /agent/setup, not B's agents in /agent/colleagues, and
// PUT /agent/queues with B's queue is refused and logs A's agent in to
// nothing of B's.
func TestAgentPageIsolation(t *testing.T) {
	ctx := context.Background()
	st := configtest.SQLite(t, config.Options{})
	orgA, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := st.CreateOrg(ctx, "bbb", "BBB Kommune")
	if err != nil {
		t.Fatal(err)
	}
	type made struct {
		user  config.User
		agent queue.AgentID
		queue queue.QueueID
	}
	mk := func(org config.Organisation, p string) made {
		t.Helper()
		sys := config.SystemActor(org.ID)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		_, err := st.SetPauseReasons(ctx, sys, []string{p + "frokost"})
		must(err)
		q, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: p + "koe", DisplayName: p + "Kø", Settings: config.DefaultQueueSettings()})
		must(err)
		var m made
		for i, name := range []string{"agent", "kollega"} {
			u, err := st.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: p + name, DisplayName: p + name, Password: isoPassword, Role: config.RoleAgent})
			must(err)
			uid := u.ID
			a, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: p + name, UserID: &uid, DeviceKind: config.DeviceWebRTC})
			must(err)
			_, err = st.CreateMembership(ctx, sys, config.Membership{AgentID: a.ID, QueueID: q.ID})
			must(err)
			if i == 0 {
				m = made{user: u, agent: config.EngineAgentID(a.ID), queue: config.EngineQueueID(org.Slug, q.Name)}
			}
		}
		flow, err := st.CreateFlow(ctx, sys, p+"flow", callflow.Flow{Name: p + "flow", Start: "k", Steps: []callflow.Step{
			{ID: "k", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: callflow.QueueRef(q.Name)}}}})
		must(err)
		_, err = st.CreateNumber(ctx, sys, map[string]string{"aaa-": "+4570101010", "bbb-": "+4570999999"}[p], flow.ID, "")
		must(err)
		return m
	}
	b := mk(orgB, "bbb-")
	a := mk(orgA, "aaa-")

	ad, reload := telephonytest.SimAdapter(t, st, orgA.ID)
	// B's agent is logged in to B's queue: the engine holds both. The
	// adapter takes commands once Run has started (real goroutine, polled
	// as the real-path tests poll real I/O).
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ad.SetAgentState(ctx, b.agent, queue.Ready, "", nil)
		if err == nil {
			break
		}
		if !errors.Is(err, ari.ErrStopped) || time.Now().After(deadline) {
			t.Fatalf("log in B's agent: %v", err)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-t.Context().Done():
		}
	}

	srv, err := server.New(server.Options{Store: st, Logger: slog.New(slog.DiscardHandler),
		Softphone: &server.AgentOptions{Directory: telephony.AgentDirectory{Adapter: ad, Runtime: reload.Runtime}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	do := func(method, path, body string, ck *http.Cookie) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if ck != nil {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if ck == nil {
			for _, c := range resp.Cookies() {
				if c.Name == server.SessionCookie && c.Value != "" {
					return resp.StatusCode, c.Name + "=" + c.Value
				}
			}
		}
		return resp.StatusCode, string(out)
	}
	code, cookieText := do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, a.user.Username, isoPassword), nil)
	name, value, _ := strings.Cut(cookieText, "=")
	if code != 200 || name != server.SessionCookie {
		t.Fatalf("login: %d %s", code, cookieText)
	}
	ck := &http.Cookie{Name: name, Value: value}

	for _, tc := range []struct {
		method, path, body string
		status             int
		own                string // a sign that A's own data is there
	}{
		{"GET", "/agent/setup", "", 200, string(a.queue)},
		{"GET", "/agent/colleagues", "", 200, "aaa-kollega"},
		{"PUT", "/agent/queues", fmt.Sprintf(`{"queues":[%q]}`, b.queue), 400, ""},
		{"PUT", "/agent/queues", fmt.Sprintf(`{"queues":[%q,%q]}`, a.queue, b.queue), 400, ""},
		{"GET", "/agent/setup", "", 200, "aaa-frokost"},
	} {
		code, body := do(tc.method, tc.path, tc.body, ck)
		if code != tc.status || !strings.Contains(body, tc.own) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.status, tc.own)
		}
		shown := strings.ReplaceAll(body, string(b.queue), "") // an error may repeat what it was sent
		if strings.Contains(tc.body, string(b.queue)) {
			body = shown
		}
		if strings.Contains(body, "bbb") || strings.Contains(body, `"id":"`+string(b.agent)+`"`) {
			t.Errorf("%s %s %s: shows B's data: %s", tc.method, tc.path, tc.body, body)
		}
	}
	for _, as := range ad.Snapshot().Agents {
		if as.ID == a.agent && slices.Contains(as.Queues, b.queue) {
			t.Errorf("A's agent is logged in to B's queue: %+v", as)
		}
	}
}
