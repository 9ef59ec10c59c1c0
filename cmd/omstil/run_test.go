package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func runCmd(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runEnv(context.Background(), args, envOf(env), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCmd(t, nil, "", "version"); code != 0 || !strings.HasPrefix(out, "omstil ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

func TestBadSettingsAreClearErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"OMSTIL_DB":              {"OMSTIL_DB": "mysql://nope"},
		"OMSTIL_LOG_FORMAT":      {"OMSTIL_LOG_FORMAT": "yaml"},
		"OMSTIL_LEADER_TAKEOVER": {"OMSTIL_LEADER_TAKEOVER": "500ms"},
		"OMSTIL_ADVERTISE_URL":   {"OMSTIL_ADVERTISE_URL": "http://" + strings.Repeat("x", 50) + ".kommune.dk:8080"},
	}
	for name, env := range cases {
		code, _, errOut := runCmd(t, env, "", "migrate")
		if code != 1 || !strings.Contains(errOut, name) {
			t.Errorf("%s: exit %d, stderr %q", name, code, errOut)
		}
	}
}

func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	for _, dsn := range dsns(t) {
		t.Run(dsn.name, func(t *testing.T) {
			env := map[string]string{"OMSTIL_DB": dsn.dsn}
			if code, out, errOut := runCmd(t, env, "", "migrate"); code != 0 || !strings.Contains(out, "up to date") {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			code, out, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--username", "karen", "--role", "supervisor", "--password-stdin")
			if code != 0 || !strings.Contains(out, "created user karen") {
				t.Fatalf("user create: %d %q %q", code, out, errOut)
			}
			// duplicate username, unknown role, missing password: clear errors
			if code, _, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--username", "Karen", "--role", "agent", "--password-stdin"); code != 1 || !strings.Contains(errOut, "already exists") {
				t.Fatalf("duplicate: %d %q", code, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "user", "create", "--username", "x1", "--role", "boss", "--password-stdin"); code != 1 || !strings.Contains(errOut, "role") {
				t.Fatalf("unknown role: %d %q", code, errOut)
			}
			// the one password rule (config.MinPasswordLength) holds here too
			short := strings.Repeat("p", config.MinPasswordLength-1) + "\n"
			if code, _, errOut := runCmd(t, env, short, "user", "create", "--username", "x1", "--role", "agent", "--password-stdin"); code != 1 || !strings.Contains(errOut, fmt.Sprintf("at least %d characters", config.MinPasswordLength)) {
				t.Fatalf("short password: %d %q", code, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "user", "create", "--username", "x1", "--role", "agent"); code != 1 || !strings.Contains(errOut, "password") {
				t.Fatalf("no password: %d %q", code, errOut)
			}
			if code, out, errOut := runCmd(t, env, "", "org", "create", "--slug", "faxe", "--name", "Faxe Kommune"); code != 0 || !strings.Contains(out, "created organisation faxe") || !strings.Contains(out, "may dial nothing yet") || !strings.Contains(errOut, "narrow them") {
				t.Fatalf("org create: %d %q %q", code, out, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "org", "create", "--slug", "faxe", "--name", "Igen"); code != 1 || !strings.Contains(errOut, "already exists") {
				t.Fatalf("duplicate org: %d %q", code, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "org", "create", "--slug", "Bad Slug", "--name", "x"); code != 1 || !strings.Contains(errOut, "slug") {
				t.Fatalf("bad slug: %d %q", code, errOut)
			}
			if code, out, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--org", "faxe", "--username", "faxe-admin", "--role", "admin", "--password-stdin"); code != 0 || !strings.Contains(out, "created user faxe-admin") {
				t.Fatalf("user in org: %d %q %q", code, out, errOut)
			}
			// a system administrator, and the dial limits of an organisation.
			if code, out, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--username", "root", "--role", "system", "--password-stdin"); code != 0 || !strings.Contains(out, "system administrator") {
				t.Fatalf("system user: %d %q %q", code, out, errOut)
			}
			if code, out, errOut := runCmd(t, env, "", "org", "set", "--slug", "faxe", "--endpoints", "PJSIP/faxe-*, PJSIP/*@faxe-trunk", "--trunk", "PJSIP/{number}@faxe-trunk", "--local-contexts", "faxe-agents", "--caller-id", "Faxe <56203000>"); code != 0 || !strings.Contains(out, "PJSIP/faxe-*, PJSIP/*@faxe-trunk") || !strings.Contains(out, "Faxe <56203000>") {
				t.Fatalf("org set: %d %q %q", code, out, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "org", "set", "--slug", "faxe", "--trunk", "PJSIP/faxe-trunk"); code != 1 || !strings.Contains(errOut, "{number}") {
				t.Fatalf("org set bad trunk: %d %q", code, errOut)
			}
			if code, out, errOut := runCmd(t, env, "", "org", "show", "--slug", "faxe"); code != 0 || !strings.Contains(out, "PJSIP/{number}@faxe-trunk") || !strings.Contains(out, "faxe-agents") {
				t.Fatalf("org show: %d %q %q", code, out, errOut)
			}
			if code, out, errOut := runCmd(t, env, "", "org", "list"); code != 0 || !strings.Contains(out, "default\t") || !strings.Contains(out, "faxe\t") {
				t.Fatalf("org list: %d %q %q", code, out, errOut)
			}
			code, out, _ = runCmd(t, env, "", "token", "create", "--username", "karen", "--name", "wallboard")
			if code != 0 || !strings.HasPrefix(out, "omst_") {
				t.Fatalf("token: %d %q", code, out)
			}
			if code, out, errOut := runCmd(t, env, "", "token", "create", "--username", "karen", "--scope", "kiosk"); code != 0 || !strings.HasPrefix(out, "omst_") {
				t.Fatalf("kiosk token: %d %q %q", code, out, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "token", "create", "--username", "karen", "--scope", "root"); code != 1 || !strings.Contains(errOut, "scope") {
				t.Fatalf("bad scope: %d %q", code, errOut)
			}
			if code, out, _ := runCmd(t, env, "", "migrate", "--status"); code != 0 || !strings.Contains(out, "schema version") {
				t.Fatalf("status: %d %q", code, out)
			}
		})
	}
}

type namedDSN struct{ name, dsn string }

func dsns(t *testing.T) []namedDSN {
	out := []namedDSN{{"sqlite", filepath.Join(t.TempDir(), "omstil.db")}}
	if pg := configtest.PostgresDSN(t); pg != "" {
		out = append(out, namedDSN{"postgres", pg})
	}
	return out
}

// syncBuffer is a goroutine-safe buffer for the server's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeFirstStart runs `omstil serve` as a newcomer would (on SQLite
// and PostgreSQL): it prints the URL and a generated admin password, serves
// health, metrics and the OpenAPI document, refuses anonymous API calls,
// lets the admin log in, and stops cleanly on cancel.
func TestServeFirstStart(t *testing.T) {
	for _, dsn := range dsns(t) {
		t.Run(dsn.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			var errb syncBuffer
			env := map[string]string{"OMSTIL_DB": dsn.dsn, "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_DEMO_CALLS_PER_MINUTE": "600"}
			done := make(chan int, 1)
			go func() {
				done <- runEnv(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), pw, &errb)
				pw.Close()
			}()
			sc := bufio.NewScanner(pr)
			var base, password string
			urlRE := regexp.MustCompile(`open (http://\S+)/\n?$`)
			pwRE := adminPasswordRE
			deadline := time.After(30 * time.Second)
			lines := make(chan string)
			go func() {
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			for base == "" || password == "" {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("serve ended early: %s", errb.String())
					}
					if m := urlRE.FindStringSubmatch(l); m != nil {
						base = m[1]
					}
					if m := pwRE.FindStringSubmatch(l); m != nil {
						password = m[1]
					}
				case <-deadline:
					t.Fatalf("no banner; stderr: %s", errb.String())
				}
			}
			go func() {
				for range lines {
				}
			}()
			get := func(c *http.Client, path string) (int, string) {
				resp, err := c.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			anon := &http.Client{Timeout: 10 * time.Second}
			if code, _ := get(anon, "/healthz"); code != 200 {
				t.Fatalf("healthz %d", code)
			}
			// Ready once the built-in simulator's ARI socket is connected
			// (on PostgreSQL: once it leads, after the lease of a leader
			// that might have been running).
			for ready := time.Now().Add(20 * time.Second); ; {
				code, body := get(anon, "/readyz?role=leader")
				if code == 200 {
					break
				}
				if time.Now().After(ready) {
					t.Fatalf("readyz: %d %s", code, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code, body := get(anon, "/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
				t.Fatalf("metrics %d", code)
			} else if !strings.Contains(body, "omstil_softphone_relay_delay_seconds_bucket{le=\"0.002\"}") || !strings.Contains(body, "omstil_ari_connected") || !strings.Contains(body, "omstil_softphone_sessions 0") ||
				!strings.Contains(body, `omstil_softphone_packets_total{direction="to_browser"} 0`) || !strings.Contains(body, `omstil_softphone_dropped_packets_total{reason="foreign"} 0`) {
				t.Fatalf("metrics without the softphone relay's delay histogram or the ARI gauges:\n%s", body)
			}
			if code, body := get(anon, "/api/v1/openapi.json"); code != 200 || !json.Valid([]byte(body)) {
				t.Fatalf("openapi %d", code)
			}
			if code, _ := get(anon, "/api/v1/users"); code != 401 {
				t.Fatalf("anonymous users: %d", code)
			}
			// Asterisk fetches the Danish prompts without a session.
			if code, body := get(anon, "/media/prompts/da/number-21.wav"); code != 200 || !strings.HasPrefix(body, "RIFF") {
				t.Fatalf("prompt: %d", code)
			}
			if code, body := get(anon, "/media/prompts/da/nope.wav"); code != 404 || !strings.Contains(body, `"not_found"`) {
				t.Fatalf("missing prompt: %d %s", code, body)
			}
			jar, _ := cookiejar.New(nil)
			cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			resp, err := cl.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("login: %v %v", err, resp)
			}
			resp.Body.Close()
			if code, body := get(cl, "/api/v1/users"); code != 200 || !strings.Contains(body, `"username":"admin"`) {
				t.Fatalf("users after login: %d %s", code, body)
			}
			// Demo mode: synthetic calls are answered by the demo agents.
			for moved := time.Now().Add(40 * time.Second); ; {
				_, body := get(cl, "/api/v1/queues/1/status")
				var st struct {
					Answered int `json:"answered_today"`
				}
				json.Unmarshal([]byte(body), &st)
				if st.Answered > 0 {
					break
				}
				if time.Now().After(moved) {
					t.Fatalf("no demo call was answered: %s", body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("serve exit %d: %s", code, errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
			if strings.Contains(errb.String(), password) {
				t.Fatal("the admin password reached the log")
			}
		})
	}
}

func TestAdminPasswordFromEnvironmentIsNotPrinted(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("the chosen admin password\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	env := map[string]string{"OMSTIL_DB": filepath.Join(dir, "o.db"), "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_ADMIN_PASSWORD_FILE": pwFile, "OMSTIL_DEMO_CALLS_PER_MINUTE": "0"}
	done := make(chan int, 1)
	go func() { done <- runEnv(ctx, nil, envOf(env), strings.NewReader(""), &out, &errb) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "omstil is running") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if strings.Contains(out.String()+errb.String(), "the chosen admin password") || strings.Contains(out.String(), "First start") {
		t.Fatalf("printed the chosen password: %s", out.String())
	}
}
