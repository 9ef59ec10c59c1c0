// Package browsertest runs omstil's pages in real headless Chromium
// (chromedp) against a real server on a real SQLite store, with a real
// queue engine behind the wallboard's live feed.
//
// Chromium is found at $OMSTIL_TEST_CHROMIUM, /usr/bin/chromium or as
// chromium / chromium-browser on the PATH. When it is missing the tests
// fail in CI (CI=true) and are skipped elsewhere, with the reason printed.
package browsertest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// Password of every user the environment creates.
const Password = "a long test password"

// Chromium returns the browser's path, or ends the test when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	cands := []string{"/usr/bin/chromium", "chromium", "chromium-browser"}
	if p := os.Getenv("OMSTIL_TEST_CHROMIUM"); p != "" {
		cands = []string{p}
	}
	for _, c := range cands {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "browser tests need Chromium: install the Debian package chromium or set OMSTIL_TEST_CHROMIUM (looked for " + cands[0] + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("skipped: " + msg)
	return ""
}

// Flags are the Chromium flags the tests run with (see DESIGN.md,
// "Browser ↔ pion WebRTC in CI").
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("allow-loopback-in-peer-connection", true),
	chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	chromedp.WindowSize(1280, 800),
}

// NewBrowser starts Chromium with a fresh profile and Flags, then extra
// (which may override a flag), and returns the context of one tab.
// Everything stops when the test ends; each action should still carry its
// own deadline (see Do and Get).
func NewBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Chromium(t)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoDefaultBrowserCheck,
	}, Flags...)
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelA()
	})
	// start the browser now so a broken installation fails here
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium %s: %v", path, err)
	}
	cl := &consoleLog{}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			cl.add(m.String())
		}
	}()
	return context.WithValue(ctx, consoleKey{}, cl)
}

type consoleKey struct{}

// consoleLog keeps what the page wrote to its console, for failures.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleLog) add(m string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.msgs, "\n")
}

// failure adds the page's address, console and body to a failed step.
func failure(ctx context.Context) string {
	var b strings.Builder
	if cl, ok := ctx.Value(consoleKey{}).(*consoleLog); ok {
		fmt.Fprintf(&b, "\nconsole:\n%s", cl)
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if html, err := chromedp.Run(sctx, chromedp.Evaluate[string](`location.href + "\n" + document.querySelector("main").innerText.slice(0, 3000)`)); err == nil {
		fmt.Fprintf(&b, "\npage: %s", html)
	}
	return b.String()
}

// StepTimeout bounds one browser step (page load, waiting for a change).
const StepTimeout = 20 * time.Second

// Do runs actions with a deadline and fails the test on error.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, failure(ctx))
	}
}

// Get runs one action that returns a value, with a deadline.
func Get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, failure(ctx))
	}
	return v
}

// Env is a running omstil: a real store, the real HTTP server and a queue
// engine whose snapshots feed the wallboard.
type Env struct {
	URL         string
	Store       *config.Store
	Org         config.OrgID
	Users       map[config.Role]config.User
	Tokens      map[config.Role]string // an API token per role
	KioskTokens map[config.Role]string // a kiosk-scoped token per role (the wallboard TV)
	Runner      *queue.Runner
	Feed        *server.LiveFeed
	Server      *server.Server
}

// EnvOptions adjust the environment.
type EnvOptions struct {
	// Engine is configured before the runner starts (queues, agents).
	Engine func(e *queue.Engine) error
	// Demo is server.Options.Demo (the demo banner).
	Demo bool
	// Softphone, when set, gives server.Options.Softphone (the agent
	// page's /agent endpoints) over the environment's store.
	Softphone func(t testing.TB, st *config.Store) *server.AgentOptions
	// OIDC is server.Options.OIDC (the provider is only contacted when
	// the button is used).
	OIDC *server.OIDCOptions
}

// NewEnv starts omstil on a fresh SQLite store with one user per role
// (admin1, supervisor1, agent1; password Password).
func NewEnv(t testing.TB, o EnvOptions) *Env {
	t.Helper()
	ctx := context.Background()
	st := configtest.SQLite(t, config.Options{})
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Store: st, Org: org.ID, Users: map[config.Role]config.User{}, Tokens: map[config.Role]string{}, KioskTokens: map[config.Role]string{}}
	for _, r := range []config.Role{config.RoleAdmin, config.RoleSupervisor, config.RoleAgent} {
		u, err := st.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: string(r) + "1",
			DisplayName: string(r) + " one", Password: Password, Role: r})
		if err != nil {
			t.Fatal(err)
		}
		env.Users[r] = u
		tok, _, err := st.CreateToken(ctx, config.SystemActor(org.ID), u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		env.Tokens[r] = tok
		kiosk, _, err := st.CreateScopedToken(ctx, config.SystemActor(org.ID), u.ID, "kiosk", config.ScopeKiosk)
		if err != nil {
			t.Fatal(err)
		}
		env.KioskTokens[r] = kiosk
	}

	eng := queue.New(queue.Options{Location: time.UTC})
	if o.Engine != nil {
		if err := o.Engine(eng); err != nil {
			t.Fatal(err)
		}
	}
	var feed *server.LiveFeed
	env.Runner = queue.NewRunner(eng, queue.SystemClock{}, func([]queue.Output) { feed.Notify() })
	feed = server.NewLiveFeed(env.Runner.Snapshot)
	env.Feed = feed
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.Runner.Run(rctx)
	}()

	var phone *server.AgentOptions
	if o.Softphone != nil {
		phone = o.Softphone(t, st)
	}
	env.Server, err = server.New(server.Options{Store: st, LiveSource: feed, Demo: o.Demo, OIDC: o.OIDC,
		Live: runnerLive{r: env.Runner, notify: feed.Notify}, Softphone: phone})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(env.Server)
	env.URL = hs.URL
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		stop()
		<-done
	})
	return env
}

// Submit feeds the engine an input.
func (e *Env) Submit(t testing.TB, in queue.Input) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StepTimeout)
	defer cancel()
	if err := e.Runner.Submit(ctx, in); err != nil {
		t.Fatalf("submit %T: %v", in, err)
	}
}

// Login logs the browser in through the login page as the user of role
// and waits for the page the login leads to.
func (e *Env) Login(t testing.TB, ctx context.Context, role config.Role, next string) {
	t.Helper()
	u := e.URL + "/login"
	if next != "" {
		u += "?next=" + next
	}
	Do(t, ctx, "log in as "+string(role),
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS("#login-username")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), string(role)+"1"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), Password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#logout")),
	)
}
