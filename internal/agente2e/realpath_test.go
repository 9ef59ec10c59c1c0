package agente2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/browsertest"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
)

// The real call path: the agent page in Chromium, server.Server on a real
// SQLite store, softphone.Manager, ari.Adapter with its queue engine,
// ariclient, and the ARI simulator as Asterisk (externalMedia RTP to the
// relay, audio mixed in bridges, what each channel hears recorded), joined
// by the same glue as cmd/omstil uses (internal/telephony).

const (
	// citizenHz is the tone the citizen's side sends; no other source in
	// the simulator uses it (sounds 400, say 600, MOH 330, ringing 425).
	citizenHz = 1000
	// inboundNumber is the number the citizens call.
	inboundNumber = "70101010"
)

// realPath is omstil assembled as cmd/omstil assembles it, on the
// simulator.
type realPath struct {
	t      *testing.T
	st     *config.Store
	sim    *arisim.Sim
	ad     *ari.Adapter
	phones *softphone.Manager
	url    string
	// agent is each user's engine agent ID.
	agent map[string]queue.AgentID
}

// queue IDs of the test's queues in the engine (organisation "default").
var (
	qBorger  = config.EngineQueueID("default", "borgerservice")
	qSundhed = config.EngineQueueID("default", "sundhed")
)

// newRealPath creates the configuration through the store API (two
// queues, users anna and bo with webrtc agents, a flow and a number), then
// starts the simulator, the ARI client and adapter, the softphone bridge
// and the HTTP server.
func newRealPath(t *testing.T) *realPath { return newRealPathWith(t, false) }

// newRealPathWith is newRealPath with the softphone relay on one shared
// port (softphone.Config.SharedPort) when shared is true.
func newRealPathWith(t *testing.T, shared bool) *realPath {
	t.Helper()
	browsertest.Chromium(t) // skip, or fail in CI, before building anything
	ctx := context.Background()
	st := configtest.SQLite(t, config.Options{})
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if org.Slug != "default" {
		t.Fatalf("default organisation slug %q", org.Slug)
	}
	sys := config.SystemActor(org.ID)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = st.SetPauseReasons(ctx, sys, []string{"Frokost", "Møde"})
	must("pause reasons", err)
	queues := map[string]config.QueueID{}
	for _, q := range []struct{ name, display string }{{"borgerservice", "Borgerservice"}, {"sundhed", "Sundhed og omsorg"}} {
		set := config.DefaultQueueSettings()
		set.WrapUpSeconds = 2
		set.RingTimeoutSeconds = 120 // no offer times out while the test looks
		set.EmptyPolicy = "join"
		made, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: q.name, DisplayName: q.display, Settings: set})
		must("queue "+q.name, err)
		queues[q.name] = made.ID
	}
	rp := &realPath{t: t, st: st, agent: map[string]queue.AgentID{}}
	for _, u := range []struct {
		user, name string
		queues     []string
	}{
		{"anna", "Anna Agent", []string{"borgerservice"}},
		{"bo", "Bo Kollega", []string{"borgerservice", "sundhed"}},
	} {
		usr, err := st.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: u.user, DisplayName: u.name, Password: password, Role: config.RoleAgent})
		must("user "+u.user, err)
		uid := usr.ID
		ag, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: u.name, UserID: &uid, DeviceKind: config.DeviceWebRTC})
		must("agent "+u.user, err)
		for _, q := range u.queues {
			_, err := st.CreateMembership(ctx, sys, config.Membership{OrgID: org.ID, AgentID: ag.ID, QueueID: queues[q], Weight: 1})
			must("membership", err)
		}
		rp.agent[u.user] = config.EngineAgentID(ag.ID)
	}
	flow, err := st.CreateFlow(ctx, sys, "borgerservice", callflow.Flow{Name: "borgerservice", Start: "koe", Steps: []callflow.Step{
		{ID: "koe", Kind: callflow.KindQueue, Queue: &callflow.QueueStep{Queue: "borgerservice"}},
	}})
	must("flow", err)
	_, err = st.CreateNumber(ctx, sys, inboundNumber, flow.ID, "Borgerservice")
	must("number", err)

	// Asterisk: the simulator on loopback.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rp.sim = arisim.New(arisim.Options{DefaultSoundLength: 200 * time.Millisecond, Logger: quiet})
	simSrv := httptest.NewServer(rp.sim.Handler())
	t.Cleanup(func() { simSrv.Close(); rp.sim.Close() })

	client, err := ariclient.New(ariclient.Config{URL: simSrv.URL + "/ari", User: "omstil", Password: "omstil", Apps: []string{"omstil"}, Logger: quiet})
	must("ari client", err)
	t.Cleanup(func() { client.Close() })
	rp.phones, err = softphone.New(softphone.Config{LoopbackOnly: true, PortMin: 46300, PortMax: 46399, SharedPort: shared}, quiet)
	must("softphone", err)
	t.Cleanup(func() { rp.phones.Close() })

	// As startCallHandling wires them.
	glue := telephony.NewPhoneGlue(rp.phones)
	rp.ad, err = ari.New(ari.Options{Client: client, App: "omstil", Logger: quiet, WebRTC: glue, Location: callflow.Location()})
	must("adapter", err)
	glue.SetAdapter(rp.ad)
	rp.phones.SetCallControl(glue)
	reload := telephony.NewReloader(st, rp.ad, telephony.NewOrgIndex(org.ID), "http://127.0.0.1:1", quiet)
	t.Cleanup(reload.Stop)
	must("reload", reload.Now(ctx))
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rp.ad.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("adapter: %v", err)
		}
	})
	rp.eventually("ARI connected", 10*time.Second, client.Connected)

	srv, err := server.New(server.Options{Store: st, Logger: quiet,
		Softphone: &server.AgentOptions{Manager: rp.phones, Directory: telephony.AgentDirectory{Adapter: rp.ad, Runtime: reload.Runtime}}})
	must("server", err)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	rp.url = hs.URL
	return rp
}

// page opens a browser for user: a new Chromium for the first page, a
// separate browser context (own cookies, own storage) in the same
// Chromium for the next.
func (rp *realPath) page(first *harness, user string) *harness {
	rp.t.Helper()
	h := &harness{t: rp.t, url: rp.url, m: rp.phones, logs: &strings.Builder{}}
	if first == nil {
		h.tab = newBrowser(rp.t)
	} else {
		tab, cancel := chromedp.NewContext(first.tab, chromedp.WithNewBrowserContext())
		rp.t.Cleanup(cancel)
		if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
			rp.t.Fatalf("open a browser context for %s: %v", user, err)
		}
		h.tab = tab
	}
	h.do("open /agent for "+user, chromedp.Navigate(rp.url+"/agent"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	h.signIn(user)
	return h
}

// logIn ticks queue q on the page, saves, and waits until the engine has
// the agent in it.
func (rp *realPath) logIn(h *harness, user string, q queue.QueueID) {
	rp.t.Helper()
	h.click(fmt.Sprintf(`[id="queue-%s"]`, q))
	h.click("#queues-save")
	rp.eventually(user+" logged in to "+string(q), 10*time.Second, func() bool {
		a, ok := rp.agentState(user)
		return ok && slices.Contains(a.Queues, q)
	})
}

// ready clicks Ready and waits until the engine has the agent ready.
func (rp *realPath) ready(h *harness, user string) {
	rp.t.Helper()
	h.click("#btn-ready")
	h.visible(`#state-text[data-state="ready"]`)
	rp.eventually(user+" ready in the engine", 10*time.Second, func() bool {
		a, ok := rp.agentState(user)
		return ok && a.State == queue.Ready
	})
}

func (rp *realPath) agentState(user string) (queue.AgentSnapshot, bool) {
	for _, a := range rp.ad.Snapshot().Agents {
		if a.ID == rp.agent[user] {
			return a, true
		}
	}
	return queue.AgentSnapshot{}, false
}

// call returns the adapter's view of a call.
func (rp *realPath) call(id string) (ari.LiveCall, bool) {
	for _, c := range rp.ad.Calls() {
		if string(c.Call) == id {
			return c, true
		}
	}
	return ari.LiveCall{}, false
}

// ringingAt checks that call rings at user's page, in the adapter and in
// the engine.
func (rp *realPath) ringingAt(call, user string) {
	rp.t.Helper()
	c, live := rp.call(call)
	a, _ := rp.agentState(user)
	if !live || c.State != "ringing" || string(a.Call) != call {
		rp.t.Errorf("call %+v (live %v), %s's call %q: want it ringing at %s", c, live, user, a.Call, user)
	}
}

// answers has user's page answer the call ch and waits until the adapter
// has connected them and audio flows both ways.
func (rp *realPath) answers(h *harness, user, ch string) {
	rp.t.Helper()
	h.click("#btn-answer")
	h.visible("#incall")
	rp.eventually("the call is connected to "+user, 10*time.Second, func() bool {
		c, ok := rp.call(ch)
		return ok && c.State == "connected" && c.Agent == rp.agent[user]
	})
	h.hearsTone()
	rp.citizenHearsAgent(ch)
}

// placeCall: a citizen calls the number, sending citizenHz.
// annaRings opens Anna's and Bo's pages, logs Anna in to Borgerservice,
// makes her ready and has a citizen call; it returns when Anna's page
// rings.
func (rp *realPath) annaRings() (anna, bo *harness, citizen string) {
	anna = rp.page(nil, "anna")
	bo = rp.page(anna, "bo")
	rp.logIn(anna, "anna", qBorger)
	rp.ready(anna, "anna")
	citizen = rp.placeCall("+4512345678")
	anna.visible("#incoming")
	return anna, bo, citizen
}

func (rp *realPath) placeCall(caller string) string {
	rp.t.Helper()
	ch, err := rp.sim.PlaceCall(arisim.Call{Number: inboundNumber, CallerID: caller, ToneHz: citizenHz})
	if err != nil {
		rp.t.Fatalf("place call: %v", err)
	}
	return ch.ID
}

// heard is what Asterisk sent the citizen during the last second.
func (rp *realPath) heard(ch string) arisim.Audio {
	a, err := rp.sim.Heard(ch)
	if err != nil {
		return arisim.Audio{}
	}
	return a
}

func peak(a arisim.Audio) int {
	p := 0
	for _, s := range a.Samples {
		p = max(p, abs(int(s)))
	}
	return p
}

// freshAudio waits until the page has sent at least 1.2 s of audio towards
// Asterisk since now, so the simulator's one-second window of what the
// citizen heard holds nothing older.
func (rp *realPath) freshAudio(what string) {
	rp.t.Helper()
	mark := rp.phones.Stats().ToAsterisk
	rp.eventually(what+": 1.2 s of new audio from the page", 15*time.Second, func() bool {
		return rp.phones.Stats().ToAsterisk >= mark+60
	})
}

// citizenHearsAgent waits until the citizen hears the fake microphone's
// beep, in audio sent after this call.
func (rp *realPath) citizenHearsAgent(ch string) {
	rp.t.Helper()
	rp.freshAudio("agent's microphone")
	rp.eventually("the page's microphone is heard by the citizen (arisim Heard peak > 2000)", 15*time.Second, func() bool {
		return peak(rp.heard(ch)) > 2000
	})
}

// citizenHearsSilence waits until a whole second of fresh audio is
// silent, then checks it stays silent for another 1.5 s of page audio
// (the fake microphone beeps more often than that).
func (rp *realPath) citizenHearsSilence(ch string) {
	rp.t.Helper()
	rp.freshAudio("muted microphone")
	rp.eventually("the citizen hears silence (arisim Heard RMS < 50)", 10*time.Second, func() bool {
		return rp.heard(ch).RMS() < 50
	})
	mark := rp.phones.Stats().ToAsterisk
	for rp.phones.Stats().ToAsterisk < mark+75 {
		if a := rp.heard(ch); a.RMS() >= 50 || peak(a) > 2000 {
			rp.t.Fatalf("the citizen hears the muted agent: RMS %.0f, peak %d", a.RMS(), peak(a))
		}
		rp.poll()
	}
}

// mohLevel is the 330 Hz music on hold in what the citizen heard.
func (rp *realPath) mohLevel(ch string) float64 { return rp.heard(ch).ToneLevel(arisim.MOHHz) }

func (rp *realPath) poll() {
	select {
	case <-time.After(50 * time.Millisecond):
	case <-rp.t.Context().Done():
	}
}

// eventually polls cond (real network I/O, a real browser, the simulator's
// real-time media clock) until it holds or the deadline passes.
func (rp *realPath) eventually(what string, within time.Duration, cond func() bool) {
	rp.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			rp.t.Fatalf("%s: not within %s", what, within)
		}
		rp.poll()
	}
}

// within is eventually that reports instead of failing.
func (rp *realPath) within(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		rp.poll()
	}
	return true
}

// TestRealPathCall takes calls through the whole of omstil: log in, pick a
// queue, Ready; a citizen calls the number and the page rings with the
// queue's name and the number; Answer; the citizen's tone reaches the page
// and the page's microphone reaches the citizen; mute, hold, a reload in
// the call, hang-up and wrap-up back to Ready; then a withheld number is
// answered and transferred to another queue, where a colleague answers.
func TestRealPathCall(t *testing.T) {
	rp := newRealPath(t)
	t.Logf("in a network namespace: %v", os.Getenv(netnsEnv) == "inside")
	anna := rp.page(nil, "anna")
	if got := anna.text("#agent-name"); got != "Anna Agent" {
		t.Errorf("agent name %q", got)
	}
	rp.logIn(anna, "anna", qBorger)
	rp.ready(anna, "anna")

	// A citizen calls; the engine offers the call to Anna's page.
	cit := rp.placeCall("+4512345678")
	anna.visible("#incoming")
	if q, c := anna.text("#incoming-queue"), anna.text("#incoming-caller"); q != "Borgerservice" || c != "+4512345678" {
		t.Errorf("ringing shows queue %q, caller %q", q, c)
	}
	if !anna.eval(`window.omstilAgent.ringing()`) {
		t.Error("no ring tone while ringing")
	}
	rp.ringingAt(cit, "anna")
	if rp.mohLevel(cit) < 0.3 {
		t.Errorf("the waiting citizen does not hear music on hold (330 Hz level %.2f)", rp.mohLevel(cit))
	}

	// Answer: the adapter bridges the citizen with an externalMedia
	// channel to Anna's relay; audio flows both ways.
	rp.answers(anna, "anna", cit)
	if l := rp.mohLevel(cit); l > 0.1 {
		t.Errorf("the citizen still hears music on hold in the conversation (level %.2f)", l)
	}

	// Mute: the citizen hears silence; unmute: the voice is back.
	anna.click("#btn-mute")
	anna.visible(`#btn-mute[aria-pressed="true"]`)
	rp.citizenHearsSilence(cit)
	anna.click("#btn-mute")
	anna.visible(`#btn-mute[aria-pressed="false"]`)
	rp.citizenHearsAgent(cit)

	// Hold: the citizen hears music on hold, not the agent.
	anna.click("#btn-hold")
	anna.visible(`#btn-hold[aria-pressed="true"]`)
	if !strings.Contains(anna.text("#call-flags"), "parkeret") {
		t.Errorf("hold is not shown in words: %q", anna.text("#call-flags"))
	}
	rp.freshAudio("on hold")
	if !rp.within(5*time.Second, func() bool { return rp.mohLevel(cit) > 0.3 }) {
		a := rp.heard(cit)
		t.Errorf("on hold the citizen hears no music on hold (330 Hz level %.2f, peak %d)", rp.mohLevel(cit), peak(a))
	}
	anna.click("#btn-hold")
	anna.visible(`#btn-hold[aria-pressed="false"]`)
	rp.citizenHearsAgent(cit)

	// Reload in the call: the citizen stays, the page comes back into the
	// call and the audio resumes both ways.
	anna.do("reload", chromedp.Reload())
	anna.visible("#incall")
	anna.visible(`#media-status[data-ok="yes"]`)
	if got := anna.text("#call-queue"); got != "Borgerservice" {
		t.Errorf("after reload the call shows queue %q", got)
	}
	if c, ok := rp.call(cit); !ok || c.State != "connected" {
		t.Fatalf("the call did not survive the reload: %+v (live %v)", c, ok)
	}
	anna.hearsTone()
	rp.citizenHearsAgent(cit)

	// Hang up: the citizen is released, the relay port freed, wrap-up
	// counts down and the page goes Ready by itself.
	anna.click("#btn-hangup")
	anna.visible("#wrapup")
	rp.eventually("anna in wrap-up in the engine", 10*time.Second, func() bool {
		a, ok := rp.agentState("anna")
		return ok && a.State == queue.WrapUp
	})
	rp.eventually("the citizen is hung up", 10*time.Second, func() bool {
		_, live := rp.call(cit)
		return !live
	})
	rp.eventually("the relay port is freed", 10*time.Second, func() bool { return rp.phones.Stats().Calls == 0 })
	anna.visible(`#state-text[data-state="ready"]`)
	rp.eventually("anna ready again in the engine after wrap-up", 15*time.Second, func() bool {
		a, ok := rp.agentState("anna")
		return ok && a.State == queue.Ready
	})

	// A withheld number, answered, then transferred to another queue,
	// where Bo (his own browser context) takes it.
	bo := rp.page(anna, "bo")
	rp.logIn(bo, "bo", qSundhed)
	rp.ready(bo, "bo")
	cit2 := rp.placeCall("anonymous")
	anna.visible("#incoming")
	if c := anna.text("#incoming-caller"); c != "skjult nummer" {
		t.Errorf("withheld caller shows %q", c)
	}
	anna.click("#btn-answer")
	anna.visible("#incall")
	anna.hearsTone()
	anna.do("transfer to Sundhed og omsorg",
		chromedp.SetValue(chromedp.CSS("#transfer-kind"), "queue"),
		chromedp.SendKeys(chromedp.CSS("#transfer-to"), string(qSundhed)),
		chromedp.Click(chromedp.CSS("#btn-transfer-blind")))
	anna.visible("#wrapup")
	rp.eventually("the citizen is in the other queue", 10*time.Second, func() bool {
		c, ok := rp.call(cit2)
		return ok && c.Queue == qSundhed && (c.State == "waiting" || c.State == "ringing")
	})
	rp.eventually("the transferred citizen hears music on hold", 10*time.Second, func() bool { return rp.mohLevel(cit2) > 0.3 })
	bo.visible("#incoming")
	if q, c := bo.text("#incoming-queue"), bo.text("#incoming-caller"); q != "Sundhed og omsorg" || c != "skjult nummer" {
		t.Errorf("bo's page rings with queue %q, caller %q", q, c)
	}
	rp.ringingAt(cit2, "bo")
	rp.answers(bo, "bo", cit2)
	if a, _ := rp.agentState("anna"); a.Call != "" {
		t.Errorf("anna still has call %q after the transfer", a.Call)
	}
	if err := rp.sim.HangupFarEnd(cit2, 16); err != nil {
		t.Fatal(err)
	}
	bo.visible("#wrapup")
	rp.eventually("the transferred citizen's hang-up is seen", 10*time.Second, func() bool {
		_, live := rp.call(cit2)
		return !live
	})
	rp.eventually("every relay port is freed", 10*time.Second, func() bool { return rp.phones.Stats().Calls == 0 })
	t.Logf("relay stats %+v", rp.phones.Stats())
}

// TestRealPathNotYourCall: Bo's page is told about (or makes up) a call
// that is offered to Anna and tries to answer it. The adapter refuses, the
// page says so, and Anna's call is not disturbed; it ends when the citizen
// hangs up.
func TestRealPathNotYourCall(t *testing.T) {
	rp := newRealPath(t)
	anna, bo, cit := rp.annaRings()
	boSession, ok := rp.phones.Session(softphone.AgentID(rp.agent["bo"]))
	if !ok {
		t.Fatal("bo has no softphone session")
	}
	if err := boSession.Notify(softphone.RingMessage(softphone.CallID(cit), "Borgerservice", "", 0)); err != nil {
		t.Fatal(err)
	}
	bo.visible("#incoming")
	bo.click("#btn-answer")
	bo.visible("#notice")
	if got := bo.text("#notice"); !strings.Contains(got, "Opkaldet er ikke til dig") {
		t.Errorf("bo's page says %q, want that the call is not his", got)
	}
	// and it stops ringing for a call that is not his
	rp.eventually("bo's page drops the ring", 10*time.Second, func() bool {
		return bo.eval(`document.getElementById("incoming").hidden || getComputedStyle(document.getElementById("incoming")).display === "none"`)
	})
	rp.ringingAt(cit, "anna")
	if _, attached := boSession.Call(); attached {
		t.Error("a relay was attached to bo's session")
	}

	// Anna answers as usual; audio flows; nothing reaches Bo.
	anna.click("#btn-answer")
	anna.visible("#incall")
	anna.hearsTone()
	rp.citizenHearsAgent(cit)
	if _, attached := boSession.Call(); attached {
		t.Error("a relay was attached to bo's session")
	}
	if s := bo.stats(); s.TotalAudioEnergy > 0.001 {
		t.Errorf("bo's page received audio energy %.4f from a call that is not his", s.TotalAudioEnergy)
	}

	// The citizen hangs up: Anna's page ends the call and starts wrap-up;
	// the relay port is freed.
	if err := rp.sim.HangupFarEnd(cit, 16); err != nil {
		t.Fatal(err)
	}
	anna.visible("#wrapup")
	rp.eventually("the relay port is freed after the citizen hung up", 10*time.Second, func() bool { return rp.phones.Stats().Calls == 0 })
	if _, live := rp.call(cit); live {
		t.Error("the adapter still has the call after the citizen hung up")
	}
}

// TestRealPathConsult: an attended transfer between two browser agents.
// Anna talks to a citizen and consults her colleague Bo, who declines
// (Anna's page says so, the citizen hears her again); she consults him
// again: Bo's page rings
// as a transfer from Anna with the citizen's number and the queue, the
// citizen hears music on hold; Bo answers and hears Anna; Anna completes:
// she wraps up, Bo talks with the citizen as the call's agent (hold shown,
// the engine has him on the call) and hangs up into his own wrap-up, and
// every relay port is freed.
//
// It runs twice: with a relay socket per call, and with every call on one
// shared relay port (softphone.Config.SharedPort), where Anna's, Bo's and
// the consultation's audio must still each reach only the right page.
func TestRealPathConsult(t *testing.T) {
	t.Run("port per call", func(t *testing.T) { testRealPathConsult(t, false) })
	t.Run("shared port", func(t *testing.T) { testRealPathConsult(t, true) })
}

func testRealPathConsult(t *testing.T, shared bool) {
	rp := newRealPathWith(t, shared)
	anna, bo, cit := rp.annaRings()
	rp.answers(anna, "anna", cit)
	// Anna picks Bo from the list of colleagues (GET /agent/colleagues,
	// served from the engine's state), shown with his state now.
	boOption := `#transfer-agent option[value="` + string(rp.agent["bo"]) + `"]`
	chooseBo := func(state string) {
		anna.do("choose a colleague", chromedp.SetValue(chromedp.CSS("#transfer-kind"), "agent"))
		anna.eval(`document.getElementById("transfer-kind").dispatchEvent(new Event("change")) && true`)
		rp.eventually("Bo is in anna's colleague list: "+state, 10*time.Second, func() bool {
			return anna.eval(`(document.querySelector('` + boOption + `') || {}).textContent === "Bo Kollega – ` + state + `"`)
		})
		anna.do("choose Bo", chromedp.SetValue(chromedp.CSS("#transfer-agent"), string(rp.agent["bo"])))
	}
	rp.logIn(bo, "bo", qSundhed)
	// Logged in but paused: consulting Bo is refused, and Anna reads why
	// in Danish; the conversation goes on.
	chooseBo("pause")
	anna.click("#btn-transfer-attended")
	rp.eventually("anna is told Bo is not ready", 10*time.Second, func() bool {
		return strings.Contains(anna.text("#notice"), "Kollegaen er ikke klar")
	})
	anna.visible("#transfer-form")
	rp.ready(bo, "bo")

	consult := func() {
		chooseBo("klar")
		anna.click("#btn-transfer-attended")
	}
	// Bo declines first: Anna is told and talks with the citizen again.
	consult()
	bo.visible("#incoming")
	bo.click("#btn-decline")
	rp.eventually("anna's page says Bo declined", 10*time.Second, func() bool {
		return strings.Contains(anna.text("#notice"), "Bo Kollega afviste")
	})
	anna.visible("#transfer-form")
	rp.eventually("the citizen is back with anna", 10*time.Second, func() bool {
		c, _ := rp.call(cit)
		a, _ := rp.agentState("bo")
		return c.State == "connected" && c.Agent == rp.agent["anna"] && !a.DeviceBusy
	})
	rp.citizenHearsAgent(cit)

	// Again; this time Bo answers.
	consult()
	bo.visible("#incoming")
	if from, q, c := bo.text("#incoming-from"), bo.text("#incoming-queue"), bo.text("#incoming-caller"); !strings.Contains(from, "Anna Agent") || q != "Borgerservice" || c != "+4512345678" {
		t.Errorf("bo's page rings with from %q, queue %q, caller %q", from, q, c)
	}
	if k := bo.text("#incoming-kind"); k != "Viderestilling fra kollega" {
		t.Errorf("bo's ring is titled %q", k)
	}
	anna.visible("#attended")
	rp.eventually("anna's page says Bo is rung", 10*time.Second, func() bool {
		return strings.Contains(anna.text("#attended-text"), "Ringer til Bo Kollega")
	})
	rp.freshAudio("consulting")
	rp.eventually("the citizen hears music on hold", 10*time.Second, func() bool { return rp.mohLevel(cit) > 0.3 })
	if a, _ := rp.agentState("bo"); !a.DeviceBusy {
		t.Error("bo is not marked busy while rung for the transfer")
	}

	bo.click("#btn-answer")
	bo.visible("#incall")
	bo.visible("#call-consult")
	rp.eventually("anna's page says she talks with Bo", 10*time.Second, func() bool {
		return strings.Contains(anna.text("#attended-text"), "Du taler med Bo Kollega")
	})
	bo.hearsTone() // Anna's fake microphone, through the bridge
	if l := rp.mohLevel(cit); l < 0.3 {
		t.Errorf("the citizen does not hear music during the consultation (level %.2f)", l)
	}

	anna.click("#btn-transfer-complete")
	anna.visible("#wrapup")
	rp.eventually("the call is Bo's", 10*time.Second, func() bool {
		c, ok := rp.call(cit)
		a, _ := rp.agentState("bo")
		return ok && c.State == "connected" && c.Agent == rp.agent["bo"] && a.State == queue.OnCall
	})
	bo.visible("#btn-hold")
	rp.eventually("bo's page shows the call as his", 10*time.Second, func() bool {
		return strings.Contains(bo.text("#notice"), "Samtalen er nu din")
	})
	rp.citizenHearsAgent(cit)
	if l := rp.mohLevel(cit); l > 0.1 {
		t.Errorf("the citizen still hears music after the transfer (level %.2f)", l)
	}
	if rp.phones.Stats().Calls != 1 {
		t.Errorf("%d relays attached after the transfer, want bo's only", rp.phones.Stats().Calls)
	}

	bo.click("#btn-hangup")
	bo.visible("#wrapup")
	rp.eventually("the citizen is hung up", 10*time.Second, func() bool { _, live := rp.call(cit); return !live })
	rp.eventually("every relay port is freed", 10*time.Second, func() bool { return rp.phones.Stats().Calls == 0 })
}
