package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

var (
	adminPasswordRE = regexp.MustCompile(`user "admin" with password (\S+) \(shown once`)
	staffLoginRE    = regexp.MustCompile(`open (http://\S+)/agent, log in as user "([^"]+)" with password (\S+) \(shown once\)`)
)

// waitOutput waits until serve's stdout matches re and returns the match.
func (p *servedProcess) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	eventually(t, "serve prints "+re.String(), 30*time.Second, func() bool {
		m = re.FindStringSubmatch(p.out.String())
		return m != nil
	})
	return m
}

// session logs in and returns a client with the session cookie.
func session(t *testing.T, base, user, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := cl.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login as %s: %d", user, resp.StatusCode)
	}
	return cl
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	code, body := httpGet(t, c, url)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// TestServeDemoStaffLogin: a first `omstil serve` in demo mode prints,
// next to the admin's, a staff login with its password (on stdout only,
// never in the log). The login works; its agent is a browser agent in
// both demo queues, first in line before the simulated desk phones; and
// a second start on the same database prints no password again.
func TestServeDemoStaffLogin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "omstil.db")
	env := map[string]string{"OMSTIL_DB": db, "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_DEMO_CALLS_PER_MINUTE": "0"}
	p := startServe(t, env)
	m := p.waitOutput(t, staffLoginRE)
	base, user, password := m[1], m[2], m[3]
	adminPW := p.waitOutput(t, adminPasswordRE)[1]
	if user != "frida" || password == adminPW || len(password) < 16 {
		t.Fatalf("staff login %q / %q (admin's %q)", user, password, adminPW)
	}
	if b, _ := p.waitBanner(t); b != base {
		t.Errorf("the staff line names %s, the banner %s", base, b)
	}

	staff := session(t, base, user, password)
	var me struct {
		ID   int64  `json:"id"`
		Role string `json:"role"`
	}
	getJSON(t, staff, base+"/api/v1/auth/me", &me)
	if me.Role != "agent" {
		t.Errorf("the staff login has role %q", me.Role)
	}
	// /agent/setup answers only for a user with a browser agent.
	var setup struct {
		Name      string `json:"name"`
		Available bool   `json:"available"`
		Queues    []struct {
			ID string `json:"id"`
		} `json:"queues"`
	}
	eventually(t, "the staff member's browser agent is in the running configuration", 10*time.Second, func() bool {
		code, _ := httpGet(t, staff, base+"/agent/setup")
		return code == 200
	})
	getJSON(t, staff, base+"/agent/setup", &setup)
	var qs []string
	for _, q := range setup.Queues {
		qs = append(qs, q.ID)
	}
	slices.Sort(qs)
	if setup.Name != "Frida Jensen" || !setup.Available || !slices.Equal(qs, []string{"default/borgerservice", "default/sundhed"}) {
		t.Errorf("agent setup %+v, queues %v", setup, qs)
	}

	// Through the admin API: the agent is linked to the login, a browser
	// agent, tier 0 in both queues; the desk phones are tier 1.
	admin := session(t, base, "admin", adminPW)
	var agents []struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		UserID     *int64 `json:"user_id"`
		DeviceKind string `json:"device_kind"`
	}
	getJSON(t, admin, base+"/api/v1/agents", &agents)
	staffAgents := 0
	for _, a := range agents {
		var ms []struct {
			QueueID int64 `json:"queue_id"`
			Tier    int   `json:"tier"`
		}
		getJSON(t, admin, fmt.Sprintf("%s/api/v1/agents/%d/memberships", base, a.ID), &ms)
		wantTier := demoDeskTier
		if a.UserID != nil && *a.UserID == me.ID {
			staffAgents++
			wantTier = 0
			if a.DeviceKind != "webrtc" || len(ms) != 2 {
				t.Errorf("staff agent %+v with memberships %+v: want a webrtc agent in both queues", a, ms)
			}
		} else if a.DeviceKind != "endpoint" {
			t.Errorf("agent %+v: want a simulated desk phone", a)
		}
		for _, m := range ms {
			if m.Tier != wantTier {
				t.Errorf("agent %s: tier %d in queue %d, want %d", a.Name, m.Tier, m.QueueID, wantTier)
			}
		}
	}
	if staffAgents != 1 || len(agents) != len(demoAgents)+1 {
		t.Errorf("%d agents of the staff login among %d", staffAgents, len(agents))
	}

	p.cancel()
	<-p.done
	p.done <- 0
	if strings.Contains(p.err.String(), password) {
		t.Error("the staff password reached the log")
	}

	// Second start: the login stays, its password is not printed again.
	again := startServe(t, env)
	base, _ = again.waitBanner(t)
	eventually(t, "the second start is ready", 20*time.Second, func() bool {
		code, _ := httpGet(t, &http.Client{Timeout: 5 * time.Second}, base+"/readyz")
		return code == 200
	})
	if out := again.out.String(); strings.Contains(out, "password") {
		t.Errorf("a second start printed a password: %s", out)
	}
}

// fakeInjector records the audio injected into each channel.
type fakeInjector struct {
	got  chan string
	gone map[string]bool
}

func (f *fakeInjector) InjectAudio(ch string, pcm []int16) error {
	if f.gone[ch] {
		return fmt.Errorf("no channel %s", ch)
	}
	f.got <- ch
	return nil
}

// TestDemoVoice: a citizen bridged with a browser agent speaks, again
// after each round, until the call is gone; one bridged with a desk phone
// does not, nor does a second bridging of the same call start a second
// voice.
func TestDemoVoice(t *testing.T) {
	speech, err := demoSpeech()
	if err != nil {
		t.Fatal(err)
	}
	// five Danish words with gaps: seconds of speech, not a click or a tone
	if d := time.Duration(len(speech)) * time.Second / demoSampleRate; d < 2*time.Second || d > 10*time.Second {
		t.Errorf("one round of speech lasts %v", d)
	}
	var loud int
	for _, s := range speech {
		if s > 2000 || s < -2000 {
			loud++
		}
	}
	if loud < len(speech)/20 {
		t.Errorf("the speech is nearly silent: %d loud samples of %d", loud, len(speech))
	}

	ctx, cancel := context.WithCancel(context.Background())
	inj := &fakeInjector{got: make(chan string, 10), gone: map[string]bool{}}
	browser := queue.AgentID("7")
	v := newDemoVoice(ctx, inj, speech, func(a queue.AgentID) bool { return a == browser })
	rounds := make(chan time.Time)
	var asked []time.Duration
	v.after = func(d time.Duration) <-chan time.Time { asked = append(asked, d); return rounds }

	v.callEvent(ari.CallEvent{Kind: ari.CallBridged, Call: "desk-call", Agent: "3"})
	v.callEvent(ari.CallEvent{Kind: ari.CallArrived, Call: "c1", Agent: browser})
	v.callEvent(ari.CallEvent{Kind: ari.CallBridged, Call: "c1", Agent: browser})
	if ch := <-inj.got; ch != "c1" {
		t.Fatalf("audio into %s", ch)
	}
	v.callEvent(ari.CallEvent{Kind: ari.CallBridged, Call: "c1", Agent: browser}) // bridged again: one voice
	rounds <- time.Time{}
	if ch := <-inj.got; ch != "c1" {
		t.Fatalf("second round into %s", ch)
	}
	inj.gone["c1"] = true // hung up: the next round ends the voice
	rounds <- time.Time{}
	cancel()
	v.wait()
	select {
	case ch := <-inj.got:
		t.Errorf("unexpected audio into %s", ch)
	default:
	}
	if want := time.Duration(len(speech))*time.Second/demoSampleRate + demoSpeechPause; len(asked) != 2 || asked[0] != want {
		t.Errorf("waits %v, want two of %v", asked, want)
	}
}
