package main

import (
	"cmp"
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

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/config"
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
// (the simulator, or a real one with OMSTIL_TEST_ARI_URL); 1,000 citizens
// wait (OMSTIL_FAULT_CALLERS sets another number). The
// leader is killed with SIGKILL: the standby leads (the time is logged:
// the issue asks for 5 s), every caller still waits in the order they
// came, and the next agent who is ready gets the first.
func TestLeaderKilledWithWaitingCallers(t *testing.T) {
	dsn := configtest.PostgresDSN(t)
	if dsn == "" {
		t.Skip("OMSTIL_TEST_POSTGRES not set: a standby needs PostgreSQL")
	}
	callers := 1000
	if v := os.Getenv("OMSTIL_FAULT_CALLERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("OMSTIL_FAULT_CALLERS=%q: want a positive number", v)
		}
		callers = n
	}
	ctx := context.Background()
	st, err := openStore(ctx, mustSettings(t, map[string]string{"OMSTIL_DB": dsn}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seedDemo(ctx, st); err != nil {
		t.Fatal(err)
	}
	// the agent who takes the first caller: a test agent that answers at
	// once (deploy/asterisk's omstil-test-agents, or the simulator's).
	if err := addTestAgent(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Close()
	pbx := newFaultPBX(t)
	// OMSTIL_FAULT_TAKEOVER: a longer takeover time for a loaded machine,
	// where a 1 s one (a 400 ms lease) fences a leader whose lock check
	// is merely slow.
	takeover := cmp.Or(os.Getenv("OMSTIL_FAULT_TAKEOVER"), "1s")
	env := map[string]string{"OMSTIL_DB": dsn, "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_ARI_URL": pbx.url, "OMSTIL_ARI_USER": pbx.user,
		"OMSTIL_ARI_PASSWORD": pbx.pass, "OMSTIL_LEADER_TAKEOVER": takeover, "OMSTIL_ADMIN_PASSWORD": "a good long admin password"}

	leaderProc, baseA := startServeProcess(t, env)
	anon := &http.Client{Timeout: 10 * time.Second}
	eventually(t, "the child process leads", 30*time.Second, func() bool {
		code, _ := httpGet(t, anon, baseA+"/readyz?role=leader")
		return code == 200
	})
	b := startServe(t, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the standby's log:\n%s", tail(b.err.String(), 4000))
		}
	})
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
		placed = append(placed, pbx.place(t, "70101010", fmt.Sprintf("+45%08d", i)))
	}
	eventually(t, "every caller waits with the leader", 60*time.Second, func() bool { return len(waiting(t, cl, baseB)) == callers })
	// On a real Asterisk the originated citizens reach omstil in no fixed
	// order (each Local channel runs its own dialplan); their order is
	// then the one they wait in before the kill.
	before := waiting(t, cl, baseB)
	if pbx.sim != nil && !slices.Equal(before, placed) {
		t.Fatalf("waiting before the kill: %d calls, not in the order placed", len(before))
	}
	if !slices.Equal(slices.Sorted(slices.Values(before)), slices.Sorted(slices.Values(placed))) {
		t.Fatalf("waiting before the kill: %d calls, not the %d placed", len(before), len(placed))
	}
	placed = before
	// kill the leader only once every caller's place is in Asterisk: what
	// a leader had no time to write is not the standby's to adopt
	eventually(t, "every caller's place is saved in Asterisk", 60*time.Second, func() bool { return pbx.placesSaved(t) >= callers })

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
		return a.Name == testAgentName
	})
	if i < 0 {
		t.Fatalf("no agent %s in %s", testAgentName, body)
	}
	req, _ := http.NewRequest(http.MethodPut, baseB+"/api/v1/agents/"+strconv.FormatInt(agents[i].ID, 10)+"/state", strings.NewReader(`{"state":"ready"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("agent ready: %v %v", err, resp)
	}
	resp.Body.Close()
	eventually(t, "the ready agent gets the first caller", 30*time.Second, func() bool {
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
		t.Fatalf("after the agent took the first, %d wait, not the rest in order", len(got))
	}
}

const testAgentName = "Test Agent 101"

// addTestAgent adds an agent of the demo's borgerservice queue whose phone
// answers at once: Local/101@omstil-test-agents.
func addTestAgent(ctx context.Context, st *config.Store) error {
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		return err
	}
	sys := config.SystemActor(org.ID)
	qs, err := st.ListQueues(ctx, org.ID)
	if err != nil {
		return err
	}
	made, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: testAgentName, DeviceKind: config.DeviceEndpoint, DialString: "Local/101@omstil-test-agents"})
	if err != nil {
		return err
	}
	for _, q := range qs {
		if q.Name == "borgerservice" {
			_, err := st.CreateMembership(ctx, sys, config.Membership{OrgID: org.ID, AgentID: made.ID, QueueID: q.ID, Weight: 1})
			return err
		}
	}
	return fmt.Errorf("no queue borgerservice")
}

// faultPBX is the Asterisk of the kill -9 test: the simulator, or the
// real Asterisk at OMSTIL_TEST_ARI_URL, where citizens are originated
// into Local/<number>@omstil-inbound by a far-end app of the test's own.
type faultPBX struct {
	url, user, pass string
	sim             *arisim.Sim
	far             *ariclient.Client
	placed          []string // far-end (;1) channel ids
}

func newFaultPBX(t *testing.T) *faultPBX {
	t.Helper()
	if u := os.Getenv("OMSTIL_TEST_ARI_URL"); u != "" {
		p := &faultPBX{url: u, user: os.Getenv("OMSTIL_TEST_ARI_USER"), pass: os.Getenv("OMSTIL_TEST_ARI_PASSWORD")}
		cli, err := ariclient.New(ariclient.Config{URL: u, User: p.user, Password: p.pass, Apps: []string{"omstil-fault-far"}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		go cli.Run(context.Background(), func(context.Context, ariclient.Event) {})
		eventually(t, "the far end's app connects", 10*time.Second, func() bool { return cli.Connected() })
		p.far = cli
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for _, id := range p.placed {
				cli.Hangup(ctx, ariclient.ChannelID(id), "")
			}
			if chans, err := cli.ListChannels(ctx); err == nil {
				for _, ch := range chans {
					if strings.HasPrefix(string(ch.ID), "omstil-") {
						cli.Hangup(ctx, ch.ID, "")
					}
				}
			}
			cli.Close()
		})
		return p
	}
	u, pass, sim, stop, err := startSimulator(slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &faultPBX{url: u, user: "omstil", pass: pass, sim: sim}
}

// placesSaved counts the channels in a Stasis app whose OMSTIL_CALL holds
// a join time: the callers whose place a new leader can adopt. (The
// leader writes it a moment after the caller joins; one killed before
// that re-runs the caller's flow, joining at the back.)
func (p *faultPBX) placesSaved(t *testing.T) int {
	t.Helper()
	cli, err := ariclient.New(ariclient.Config{URL: p.url, User: p.user, Password: p.pass, Apps: []string{"omstil-fault-check"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	chans, err := cli.ListChannels(context.Background())
	if err != nil {
		return 0
	}
	n := 0
	for _, ch := range chans {
		if ch.Dialplan.AppName == "Stasis" && strings.Contains(ch.ChannelVars["OMSTIL_CALL"], "j=") {
			n++
		}
	}
	return n
}

// place makes a citizen call number; it returns the id of the citizen's
// channel in omstil's app.
func (p *faultPBX) place(t *testing.T, number, caller string) string {
	t.Helper()
	if p.sim != nil {
		ch, err := p.sim.PlaceCall(arisim.Call{Number: number, CallerID: caller})
		if err != nil {
			t.Fatal(err)
		}
		return ch.ID
	}
	id := fmt.Sprintf("fault-%d-%d", time.Now().UnixNano(), len(p.placed))
	p.placed = append(p.placed, id+"-1")
	if _, err := p.far.Originate(context.Background(), ariclient.OriginateRequest{Endpoint: "Local/" + number + "@omstil-inbound",
		App: "omstil-fault-far", CallerID: caller, ChannelID: ariclient.ChannelID(id + "-1"), OtherChannelID: ariclient.ChannelID(id + "-2")}); err != nil {
		t.Fatalf("originate: %v", err)
	}
	return id + "-2"
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
