package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/config/configtest"
)

// TestServeChild is `omstil serve` in a child process of its own for
// TestLeaderKilledWithWaitingCallers, which kills it with SIGKILL. It runs
// only when that test starts it.
func TestServeChild(t *testing.T) {
	if os.Getenv("OMSTIL_TEST_SERVE_CHILD") == "" {
		t.Skip("a child process of TestLeaderKilledWithWaitingCallers only")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, []string{"serve"}, strings.NewReader(""), os.Stdout, os.Stderr))
}

// startServeProcess runs `omstil serve` with env in a child process (this
// test binary running TestServeChild) and returns it with its URL.
func startServeProcess(t *testing.T, env map[string]string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestServeChild$")
	cmd.Env = append(os.Environ(), "OMSTIL_TEST_SERVE_CHILD=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	errb := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if m := bannerRE.FindStringSubmatch(out.String()); m != nil {
			return cmd, m[1]
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve process ended: %v: %s", err, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve process printed no banner: %s", errb.String())
		}
	}
}

// TestLeaderKilledWithWaitingCallers: the fault test of issue 14. A
// leader (its own process) and a standby share PostgreSQL and Asterisk
// (the simulator); 1,000 citizens wait. The
// leader is killed with SIGKILL: the standby leads (the time is logged:
// the issue asks for 5 s), every caller still waits in the order they
// came, and the next agent who is ready gets the first.
func TestLeaderKilledWithWaitingCallers(t *testing.T) {
	dsn := configtest.PostgresDSN(t)
	if dsn == "" {
		t.Skip("OMSTIL_TEST_POSTGRES not set: a standby needs PostgreSQL")
	}
	const callers = 1000
	ctx := context.Background()
	st, err := openStore(ctx, mustSettings(t, map[string]string{"OMSTIL_DB": dsn}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ariURL, ariPass, sim, stopSim, err := startSimulator(slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSim()
	sim.SetEndpoint("demo-anna", arisim.EndpointBehavior{Mode: arisim.Answer})
	env := map[string]string{"OMSTIL_DB": dsn, "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_ARI_URL": ariURL, "OMSTIL_ARI_USER": "omstil",
		"OMSTIL_ARI_PASSWORD": ariPass, "OMSTIL_LEADER_TAKEOVER": "1s", "OMSTIL_ADMIN_PASSWORD": "a good long admin password"}

	leaderProc, baseA := startServeProcess(t, env)
	anon := &http.Client{Timeout: 10 * time.Second}
	eventually(t, "the child process leads", 30*time.Second, func() bool {
		code, _ := httpGet(t, anon, baseA+"/readyz?role=leader")
		return code == 200
	})
	b := startServe(t, env)
	baseB, code := b.waitBanner(t)
	if baseB == "" {
		t.Fatalf("the standby ended with %d: %s", code, b.err.String())
	}
	var ready struct{ Role, Leader string }
	eventually(t, "the second serve is a standby", 30*time.Second, func() bool {
		code, body := httpGet(t, anon, baseB+"/readyz")
		json.Unmarshal([]byte(body), &ready)
		return code == 200 && ready.Role == "standby" && ready.Leader == baseA
	})
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := cl.Post(baseB+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"a good long admin password"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()

	placed := make([]string, 0, callers)
	for i := range callers {
		ch, err := sim.PlaceCall(arisim.Call{Number: "70101010", CallerID: fmt.Sprintf("+45%08d", i)})
		if err != nil {
			t.Fatal(err)
		}
		placed = append(placed, ch.ID)
	}
	eventually(t, "every caller waits with the leader", 60*time.Second, func() bool { return len(waiting(t, cl, baseB)) == callers })
	if got := waiting(t, cl, baseB); !slices.Equal(got, placed) {
		t.Fatalf("waiting before the kill: %d calls, not in the order placed", len(got))
	}

	kill := time.Now()
	if err := leaderProc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the standby leads", 30*time.Second, func() bool {
		code, _ := httpGet(t, anon, baseB+"/readyz?role=leader")
		return code == 200
	})
	leads := time.Since(kill)
	eventually(t, "the new leader has adopted every caller", 60*time.Second, func() bool { return len(waiting(t, cl, baseB)) == callers })
	adopted := time.Since(kill)
	if got := waiting(t, cl, baseB); !slices.Equal(got, placed) {
		t.Fatalf("after the kill %d callers wait, not in the order they came", len(got))
	}
	t.Logf("leader killed (SIGKILL) with %d waiting callers: the standby led after %v, all %d adopted in order after %v (reported; the issue asks for 5 s)",
		callers, leads.Round(time.Millisecond), callers, adopted.Round(time.Millisecond))

	// the next ready agent gets the first caller.
	code, body := httpGet(t, cl, baseB+"/api/v1/agents")
	var agents []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &agents) != nil {
		t.Fatalf("agents: %d %s", code, body)
	}
	i := slices.IndexFunc(agents, func(a struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}) bool {
		return a.Name == "Anna Holm"
	})
	if i < 0 {
		t.Fatalf("no demo agent Anna Holm in %s", body)
	}
	req, _ := http.NewRequest(http.MethodPut, baseB+"/api/v1/agents/"+strconv.FormatInt(agents[i].ID, 10)+"/state", strings.NewReader(`{"state":"ready"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("anna ready: %v %v", err, resp)
	}
	resp.Body.Close()
	eventually(t, "anna gets the first caller", 30*time.Second, func() bool {
		code, body := httpGet(t, cl, baseB+"/api/v1/calls")
		var calls []liveCall
		if code != 200 || json.Unmarshal([]byte(body), &calls) != nil {
			return false
		}
		for _, c := range calls {
			if c.Call == placed[0] {
				return c.Agent != ""
			}
		}
		return false
	})
	if got := waiting(t, cl, baseB); !slices.Equal(got, placed[1:]) {
		t.Fatalf("after anna took the first, %d wait, not the rest in order", len(got))
	}
}
