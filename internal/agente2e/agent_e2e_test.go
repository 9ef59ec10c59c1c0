package agente2e

import (
	"context"
	"fmt"
	"github.com/omstil/omstil/internal/g711"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/internal/browsertest"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
	"github.com/pion/rtp"
)

const password = "a long test password"

// directory is the configuration the page sees: two queues, two pause
// reasons, a short wrap-up that ends in Ready.
type directory struct {
	mu     sync.Mutex
	chosen []string
}

func (d *directory) AgentFor(ctx context.Context, u config.User) (softphone.AgentID, error) {
	return softphone.AgentID(u.Username), nil
}

func (d *directory) AgentSetup(ctx context.Context, agent softphone.AgentID) (server.AgentSetup, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	has := func(q string) bool {
		for _, c := range d.chosen {
			if c == q {
				return true
			}
		}
		return false
	}
	return server.AgentSetup{
		Queues: []server.AgentQueue{
			{ID: "borgerservice", Name: "Borgerservice", Selected: has("borgerservice")},
			{ID: "tandpleje", Name: "Skoletandplejen", Selected: has("tandpleje")},
		},
		PauseReasons:  []server.PauseReason{{ID: "lunch", Label: "Frokost"}, {ID: "meeting", Label: "Møde"}},
		WrapUpSeconds: 2, AutoReady: true,
	}, nil
}

func (d *directory) Colleagues(ctx context.Context, agent softphone.AgentID) ([]server.Colleague, error) {
	return nil, nil
}

func (d *directory) SetAgentQueues(ctx context.Context, agent softphone.AgentID, queues []string) error {
	d.mu.Lock()
	d.chosen = queues
	d.mu.Unlock()
	return nil
}

func (d *directory) queues() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.chosen...)
}

// citizen is the fake Asterisk end of a call: the UDP socket an
// externalMedia channel would use. It sends a tone to the relay and counts
// the agent's audio that arrives.
type citizen struct {
	conn      *net.UDPConn
	packets   atomic.Int64 // PCMU packets from the relay
	loud      atomic.Int64 // packets with audible sound (the fake microphone's beep)
	silentRun atomic.Int64 // consecutive packets of pure µ-law silence (0xFF)
}

func newCitizen(t *testing.T) *citizen {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &citizen{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go c.read()
	return c
}

func (c *citizen) addr() string { return c.conn.LocalAddr().String() }

func (c *citizen) read() {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
			continue
		}
		c.packets.Add(1)
		silent, peak := true, 0
		for _, b := range p.Payload {
			if b != 0xFF {
				silent = false
			}
			if v := abs(int(g711.DecodeUlaw(b))); v > peak {
				peak = v
			}
		}
		if silent {
			c.silentRun.Add(1)
		} else {
			c.silentRun.Store(0)
		}
		if peak > 2000 {
			c.loud.Add(1)
		}
	}
}

// sendTone sends a 440 Hz tone as 20 ms PCMU packets to addr until ctx
// ends, paced as Asterisk would.
func (c *citizen) sendTone(ctx context.Context, addr string) {
	dst, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x5eed}}
	n := 0
	for {
		payload := make([]byte, 160)
		for i := range payload {
			payload[i] = g711.EncodeUlaw(int16(8000 * math.Sin(2*math.Pi*440*float64(n)/8000)))
			n++
		}
		pkt.Payload = payload
		b, _ := pkt.Marshal()
		c.conn.WriteToUDP(b, dst)
		pkt.SequenceNumber++
		pkt.Timestamp += 160
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// trackingListener remembers accepted connections so a test can cut them.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackingListener) dropAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// harness is omstil's HTTP server with a real softphone.Manager, the fake
// adapter and a Chromium tab.
type harness struct {
	t   *testing.T
	url string
	hs  *httptest.Server
	m   *softphone.Manager
	cc  *FakeControl
	dir *directory
	cit *citizen
	tab context.Context
	// conns lets a test drop every connection, WebSockets included
	// (httptest forgets hijacked connections).
	conns *trackingListener
	logs  *strings.Builder
}

func newHarness(t *testing.T) *harness {
	browsertest.Chromium(t) // skip, or fail in CI, before building anything
	store := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	org, err := store.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: "anna", DisplayName: "Anna Agent", Password: password, Role: config.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	m, err := softphone.New(softphone.Config{LoopbackOnly: true, PortMin: 46200, PortMax: 46299}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	h := &harness{t: t, m: m, cc: NewFakeControl(m), dir: &directory{}, cit: newCitizen(t), logs: &strings.Builder{}}
	h.cc.AsteriskAddr = h.cit.addr()
	srv, err := server.New(server.Options{Store: store, Softphone: &server.AgentOptions{Manager: m, Directory: h.dir}})
	if err != nil {
		t.Fatal(err)
	}
	h.hs = httptest.NewUnstartedServer(srv)
	h.conns = &trackingListener{Listener: h.hs.Listener}
	h.hs.Listener = h.conns
	h.hs.Start()
	t.Cleanup(h.hs.Close)
	h.url = h.hs.URL

	h.tab = newBrowser(t)
	return h
}

// newBrowser starts Chromium with the browser tests' flags
// (browsertest.Flags: fake microphone, loopback ICE candidates) and returns
// its first tab. chromedp's Headless and DisableGPU presets add
// hide-scrollbars, mute-audio and enable-unsafe-swiftshader, with which
// these tests have always run. The browser stops when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.NewBrowser(t, chromedp.Headless, chromedp.DisableGPU)
}

// do runs browser steps with a deadline.
func (h *harness) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	h.t.Helper()
	browsertest.Do(h.t, h.tab, what, steps...)
}

func (h *harness) text(sel string) string {
	h.t.Helper()
	return strings.TrimSpace(browsertest.Get(h.t, h.tab, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

// signIn logs user in on the page's own form, which is showing, and waits
// until the console is up with signalling, media and microphone.
func (h *harness) signIn(user string) {
	h.t.Helper()
	browsertest.AgentSignIn(h.t, h.tab, user, password)
}

// visible waits for a CSS selector to match a visible element.
func (h *harness) visible(sel string) {
	h.t.Helper()
	h.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (h *harness) click(sel string) {
	h.t.Helper()
	h.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

type audioStats = browsertest.AudioStats

func (h *harness) stats() audioStats {
	h.t.Helper()
	return browsertest.PageAudioStats(h.t, h.tab)
}

func (h *harness) eval(expr string) bool {
	h.t.Helper()
	return browsertest.Get(h.t, h.tab, expr, chromedp.Evaluate[bool](expr))
}

// eventually polls cond (real network I/O and a real browser) until it
// holds or the deadline passes.
func (h *harness) eventually(what string, within time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within %s", what, within)
		}
		<-poll.C
	}
}

// hearsTone waits until the page's inbound audio carries energy.
func (h *harness) hearsTone() {
	h.t.Helper()
	h.eventually("the citizen's tone is heard in the page (inbound-rtp totalAudioEnergy)", 15*time.Second, func() bool {
		s := h.stats()
		return s.TotalAudioEnergy > 0.01 && s.AudioLevel > 0.01
	})
}

// micArrives waits until the fake microphone's beep reaches the citizen.
func (h *harness) micArrives() {
	h.t.Helper()
	start := h.cit.loud.Load()
	h.eventually("the page's microphone arrives as RTP at the citizen", 15*time.Second, func() bool {
		return h.cit.loud.Load() > start+5
	})
}

func TestAgentPageEndToEnd(t *testing.T) {
	h := newHarness(t)
	t.Logf("in a network namespace: %v", os.Getenv(netnsEnv) == "inside")

	// Log in on the page's own form.
	h.do("open /agent", chromedp.Navigate(h.url+"/agent"))
	h.visible("#login-form")
	if got := h.eval(`document.documentElement.lang === "da"`); !got {
		t.Error("the page is not Danish by default")
	}
	h.signIn("anna")
	if got := h.text("#agent-name"); got != "Anna Agent" {
		t.Errorf("agent name %q", got)
	}
	if op := h.cc.Next(t, "online", 10*time.Second); !op.On || op.Agent != "anna" {
		t.Errorf("page online: %+v", op)
	}

	// Choose a queue, pause with a reason, then go Ready.
	h.click("#queue-borgerservice")
	h.click("#queues-save")
	h.eventually("queues saved", 5*time.Second, func() bool {
		q := h.dir.queues()
		return len(q) == 1 && q[0] == "borgerservice"
	})
	h.do("pause for lunch", chromedp.SetValue(chromedp.CSS("#pause-reason"), "lunch"), chromedp.Click(chromedp.CSS("#btn-pause")))
	if op := h.cc.Next(t, "state", 10*time.Second); op.State != softphone.StatePaused || op.Reason != "lunch" {
		t.Errorf("pause: %+v", op)
	}
	h.visible(`#state-text[data-state="paused"]`)
	if got := h.text("#state-text"); !strings.Contains(got, "Frokost") {
		t.Errorf("paused state shows %q, want the reason", got)
	}
	h.click("#btn-ready")
	if op := h.cc.Next(t, "state", 10*time.Second); op.State != softphone.StateReady {
		t.Errorf("ready: %+v", op)
	}
	h.visible(`#state-text[data-state="ready"]`)

	// A call rings: queue name, withheld number, how long they waited.
	if err := h.cc.Offer("anna", "call-1", "borgerservice", "", 75*time.Second); err != nil {
		t.Fatal(err)
	}
	h.visible("#incoming")
	if q, c, w := h.text("#incoming-queue"), h.text("#incoming-caller"), h.text("#incoming-waited"); q != "Borgerservice" || c != "skjult nummer" || !strings.HasPrefix(w, "1 min 1") {
		t.Errorf("ringing shows queue %q, caller %q, waited %q", q, c, w)
	}
	if !h.eval(`window.omstilAgent.ringing()`) {
		t.Error("no ring tone while ringing")
	}
	if !h.eval(`document.activeElement.id === "btn-answer"`) {
		t.Error("focus is not on Answer while ringing")
	}

	// Answer: audio flows both ways through the relay.
	h.click("#btn-answer")
	if op := h.cc.Next(t, "answer", 10*time.Second); op.Call != "call-1" || op.Agent != "anna" {
		t.Errorf("answer: %+v", op)
	}
	h.visible("#incall")
	if h.eval(`window.omstilAgent.ringing()`) {
		t.Error("still ringing after answer")
	}
	relay, ok := h.cc.Relay("call-1")
	if !ok {
		t.Fatal("no relay attached")
	}
	toneCtx, stopTone := context.WithCancel(context.Background())
	defer stopTone()
	go h.cit.sendTone(toneCtx, relay)
	h.hearsTone()
	h.micArrives()

	// Mute: the citizen gets only silence; unmute: the voice is back.
	h.click("#btn-mute")
	h.visible(`#btn-mute[aria-pressed="true"]`)
	h.eventually("silence after mute", 10*time.Second, func() bool { return h.cit.silentRun.Load() >= 50 })
	loud := h.cit.loud.Load()
	seen := h.cit.packets.Load()
	h.eventually("two more seconds of muted audio", 10*time.Second, func() bool { return h.cit.packets.Load() > seen+100 })
	if got := h.cit.loud.Load(); got != loud {
		t.Errorf("%d audible packets reached the citizen while muted", got-loud)
	}
	if !strings.Contains(h.text("#call-flags"), "slået fra") {
		t.Errorf("muted is not shown in words: %q", h.text("#call-flags"))
	}
	h.click("#btn-mute")
	h.visible(`#btn-mute[aria-pressed="false"]`)
	h.micArrives()

	// Hold and take back.
	h.click("#btn-hold")
	if op := h.cc.Next(t, "hold", 10*time.Second); !op.On {
		t.Errorf("hold: %+v", op)
	}
	h.visible(`#btn-hold[aria-pressed="true"]`)
	if !strings.Contains(h.text("#call-flags"), "parkeret") {
		t.Errorf("hold is not shown in words: %q", h.text("#call-flags"))
	}
	h.click("#btn-hold")
	if op := h.cc.Next(t, "hold", 10*time.Second); op.On {
		t.Errorf("unhold: %+v", op)
	}

	// DTMF from the keypad.
	h.do("open the keypad", chromedp.Click(chromedp.CSS(".keypad-box summary")))
	h.click("#dtmf-5")
	if op := h.cc.Next(t, "dtmf", 10*time.Second); op.Digits != "5" {
		t.Errorf("dtmf: %+v", op)
	}

	// The microphone goes away: the page says so in words; trying again
	// brings it back into the call.
	h.eval(`(window.omstilAgent.microphone().stop(), true)`)
	h.visible(`#mic-status[data-ok="no"]`)
	if !strings.Contains(h.text("#mic-status"), "Mikrofon mangler") {
		t.Errorf("lost microphone reads %q", h.text("#mic-status"))
	}
	h.click("#btn-mic-retry")
	h.visible(`#mic-status[data-ok="yes"]`)
	h.micArrives()

	// Reload during the call: the call survives and the audio resumes.
	h.do("reload", chromedp.Reload())
	h.visible("#incall")
	h.visible(`#media-status[data-ok="yes"]`)
	if got := h.text("#call-queue"); got != "Borgerservice" {
		t.Errorf("after reload the call shows queue %q", got)
	}
	h.hearsTone()
	h.micArrives()

	// The connection to omstil drops: the page says so, then reconnects.
	h.conns.dropAll()
	h.visible(`#conn-status[data-ok="no"]`)
	h.visible(`#conn-status[data-ok="yes"]`)
	h.visible("#incall")
	h.hearsTone()

	// Hang up: wrap-up counts down, then Ready by itself.
	h.click("#btn-hangup")
	if op := h.cc.Next(t, "hangup", 10*time.Second); op.Call != "call-1" {
		t.Errorf("hangup: %+v", op)
	}
	stopTone()
	h.visible("#wrapup")
	h.visible(`#state-text[data-state="wrap_up"]`)
	if op := h.cc.Next(t, "state", 15*time.Second); op.State != softphone.StateReady {
		t.Errorf("after wrap-up: %+v", op)
	}
	h.visible(`#state-text[data-state="ready"]`)
	if st := h.m.Stats(); st.Calls != 0 {
		t.Errorf("%d relay ports still in use after hang-up", st.Calls)
	}

	// A second call, with a number, transferred to a queue.
	if err := h.cc.Offer("anna", "call-2", "tandpleje", "+4512345678", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	h.visible("#incoming")
	if c := h.text("#incoming-caller"); c != "+4512345678" {
		t.Errorf("caller %q", c)
	}
	h.click("#btn-answer")
	h.visible("#incall")
	h.do("transfer to a queue",
		chromedp.SetValue(chromedp.CSS("#transfer-kind"), "queue"),
		chromedp.SendKeys(chromedp.CSS("#transfer-to"), "borgerservice"),
		chromedp.Click(chromedp.CSS("#btn-transfer-blind")))
	op := h.cc.Next(t, "transfer", 10*time.Second)
	if op.Transfer != (softphone.Transfer{Kind: "queue", To: "borgerservice", Mode: "blind"}) {
		t.Errorf("transfer: %+v", op.Transfer)
	}
	h.visible("#wrapup")
	h.click("#btn-wrapup-ready")
	if op := h.cc.Next(t, "state", 10*time.Second); op.State != softphone.StateReady {
		t.Errorf("ready now: %+v", op)
	}

	// A third call is declined.
	if err := h.cc.Offer("anna", "call-3", "borgerservice", "+4587654321", 0); err != nil {
		t.Fatal(err)
	}
	h.visible("#incoming")
	h.click("#btn-decline")
	if op := h.cc.Next(t, "decline", 10*time.Second); op.Call != "call-3" {
		t.Errorf("decline: %+v", op)
	}
	h.do("incoming gone", chromedp.WaitNotVisible(chromedp.CSS("#incoming")))

	// English is available.
	h.click("#lang-en")
	if got := h.text("#btn-ready"); got != "Ready" {
		t.Errorf("English Ready button reads %q", got)
	}
	fmt.Fprintf(h.logs, "relay stats %+v\n", h.m.Stats())
	t.Log(h.logs.String())
}

// TestAgentPageSecondTab opens the page twice: the first tab says it was
// replaced and offers to take the phone back.
func TestAgentPageSecondTab(t *testing.T) {
	h := newHarness(t)
	h.do("log in",
		chromedp.Navigate(h.url+"/agent"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-ok="yes"]`)))
	second, cancel := chromedp.NewContext(h.tab) // a new tab, same cookies
	defer cancel()
	if err := chromedp.Do(second, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err) // opens the tab on an un-timed context
	}
	ctx, cancel2 := context.WithTimeout(second, 30*time.Second)
	defer cancel2()
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/agent"),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-ok="yes"]`))); err != nil {
		t.Fatalf("second tab: %v", err)
	}
	h.visible("#replaced-section")
	h.visible(`#conn-status[data-ok="no"]`)
	// Taking it back replaces the second tab in turn.
	h.click("#btn-takeover")
	h.visible(`#conn-status[data-ok="yes"]`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#replaced-section"))); err != nil {
		t.Fatalf("second tab not told: %v", err)
	}
}
