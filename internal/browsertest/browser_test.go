package browsertest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// wallboardSetup stores one queue and two agents (Anna, Bo) in the
// default organisation, loads them into the test engine (both logged
// out) and returns their engine IDs. The wallboard shows only the
// caller's organisation, so the engine must know them by the IDs the
// store gives them.
func wallboardSetup(t *testing.T, env *Env) (bs queue.QueueID, anna, bo queue.AgentID) {
	t.Helper()
	bg := context.Background()
	sys := config.SystemActor(env.Org)
	q, err := env.Store.CreateQueue(bg, sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []queue.AgentID
	for _, name := range []string{"Anna", "Bo"} {
		a, err := env.Store.CreateAgent(bg, sys, config.NewAgent{Name: name, DeviceKind: config.DeviceWebRTC})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.CreateMembership(bg, sys, config.Membership{AgentID: a.ID, QueueID: q.ID}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, AgentID(a))
	}
	env.LoadRuntime(t)
	return config.EngineQueueID("default", "borgerservice"), ids[0], ids[1]
}

func TestLogin(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})

	// the front page sends an anonymous visitor to the login page
	Do(t, ctx, "front page", chromedp.Navigate(env.URL+"/"))
	WaitJS(t, ctx, "login page from /", `location.pathname === "/login"`)
	if n := Get(t, ctx, "demo banner", chromedp.Evaluate[int](`document.querySelectorAll("#demo-banner").length`)); n != 0 {
		t.Errorf("not a demo, but the page shows %d demo banners", n)
	}

	// a wrong password shows the message in the form and logs nobody in
	Do(t, ctx, "wrong password",
		chromedp.Navigate(env.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-username")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), "admin1"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "not the password"),
		chromedp.Click(chromedp.CSS("#login-submit")),
	)
	WaitText(t, ctx, ".form-error", "Forkert brugernavn eller adgangskode")
	if got := Get(t, ctx, "url", chromedp.Evaluate[string]("location.pathname")); got != "/login" {
		t.Fatalf("after a wrong password the page is %s", got)
	}

	// the admin lands on the wallboard and can switch to English
	env.Login(t, ctx, config.RoleAdmin, "")
	WaitJS(t, ctx, "wallboard after login", `location.pathname === "/wallboard"`)
	// and / leads there too once logged in
	Do(t, ctx, "front page logged in", chromedp.Navigate(env.URL+"/"))
	WaitJS(t, ctx, "wallboard from /", `location.pathname === "/wallboard" && document.getElementById("board")`)
	Do(t, ctx, "switch to English", chromedp.Click(chromedp.CSS(`.langs a[lang="en"]`)))
	WaitText(t, ctx, "h1", "Wallboard")
	WaitText(t, ctx, "#logout", "Log out")
	// the scripts have run (the live status is theirs), so the button
	// has its handler
	WaitText(t, ctx, "#live-status", "Live")
	Do(t, ctx, "log out", chromedp.Click(chromedp.CSS("#logout")))
	WaitJS(t, ctx, "login page after logout", `location.pathname === "/login"`)
	WaitText(t, ctx, "h1", "Log in")
}

func TestRolesOnPages(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})

	// anonymous: sent to the login page, which returns to the page after
	Do(t, ctx, "anonymous admin", chromedp.Navigate(env.URL+"/admin/users"))
	WaitJS(t, ctx, "login page", `location.pathname === "/login" && location.search.includes("next=")`)

	env.Login(t, ctx, config.RoleAgent, "")
	for _, path := range []string{"/admin", "/admin/users", "/admin/audit", "/wallboard"} {
		resp := Get(t, ctx, "open "+path, chromedp.NavigateResponse(env.URL+path))
		if resp.Status != http.StatusForbidden {
			t.Errorf("agent opening %s: status %d, want 403", path, resp.Status)
		}
		WaitText(t, ctx, "#noaccess h1", "Ingen adgang")
		if n := Get(t, ctx, "admin links", chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/admin"]:not([hreflang])').length`)); n != 0 {
			t.Errorf("%s shows an agent %d admin links", path, n)
		}
	}
	// and the API refuses too
	got := Get(t, ctx, "API as agent", chromedp.Evaluate[int](`fetch("/api/v1/users").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if got != http.StatusForbidden {
		t.Errorf("GET /api/v1/users as agent: %d", got)
	}
	Accessible(t, ctx, "no-access page")
	Screenshot(t, ctx, "noaccess")
}

func TestAdminUsers(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	env.Login(t, ctx, config.RoleAdmin, "/admin/users")
	WaitJS(t, ctx, "users page", `location.pathname === "/admin/users"`)
	WaitText(t, ctx, "#users-table", "supervisor1")
	count := func() int {
		us, err := env.Store.ListUsers(context.Background(), env.Org)
		if err != nil {
			t.Fatal(err)
		}
		return len(us)
	}
	before := count()

	// a password that is too short: the API's message at the field,
	// nothing created
	Do(t, ctx, "bad user",
		chromedp.SendKeys(chromedp.CSS("#user-new-username"), "karen"),
		chromedp.SendKeys(chromedp.CSS("#user-new-display_name"), "Karen Jensen"),
		chromedp.SendKeys(chromedp.CSS("#user-new-password"), "short"),
		chromedp.Click(chromedp.CSS(`#user-new [type=submit]`)),
	)
	WaitJS(t, ctx, "field error", `!document.getElementById("user-new-password-error").hidden`)
	msg := Get(t, ctx, "field error text", chromedp.Text(chromedp.CSS("#user-new-password-error")))
	if !strings.Contains(msg, "password") {
		t.Errorf("error at the password field = %q", msg)
	}
	if inv := Get(t, ctx, "aria-invalid", chromedp.Evaluate[string](`document.getElementById("user-new-password").getAttribute("aria-invalid")`)); inv != "true" {
		t.Errorf("password field aria-invalid = %q", inv)
	}
	if n := count(); n != before {
		t.Fatalf("a refused form created a user: %d users, had %d", n, before)
	}
	Screenshot(t, ctx, "admin-users-error")

	// fixed: created and listed
	Do(t, ctx, "good user",
		chromedp.SetValue(chromedp.CSS("#user-new-password"), "a good long password"),
		chromedp.SetValue(chromedp.CSS("#user-new-role"), "supervisor"),
		chromedp.Click(chromedp.CSS(`#user-new [type=submit]`)),
	)
	WaitText(t, ctx, `#users-table tr[data-user="karen"]`, "Karen Jensen")
	if n := count(); n != before+1 {
		t.Fatalf("users: %d, want %d", n, before+1)
	}

	// deactivate her
	Do(t, ctx, "edit",
		chromedp.Click(chromedp.CSS(`tr[data-user="karen"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#user-edit-active")),
		chromedp.Click(chromedp.CSS("#user-edit-active")),
		chromedp.Click(chromedp.CSS(`#user-edit [type=submit]`)),
	)
	WaitText(t, ctx, `#users-table tr[data-user="karen"]`, "Deaktiveret")

	// an API token for the wallboard TV, with its kiosk address
	Do(t, ctx, "token",
		chromedp.Click(chromedp.CSS(`tr[data-user="supervisor1"] button:nth-of-type(2)`)),
		chromedp.WaitVisible(chromedp.CSS("#token-new-name")),
		chromedp.SendKeys(chromedp.CSS("#token-new-name"), "Reception TV"),
		chromedp.SetValue(chromedp.CSS("#token-new-scope"), "kiosk"),
		chromedp.Click(chromedp.CSS(`#token-new [type=submit]`)),
	)
	WaitText(t, ctx, "#token-created", "/wallboard?token=omst_")
	Accessible(t, ctx, "users page")
	Screenshot(t, ctx, "admin-users")

	// the audit log shows the changes with before and after
	Do(t, ctx, "audit", chromedp.Navigate(env.URL+"/admin/audit"))
	WaitText(t, ctx, "#audit-table", "karen")
	Accessible(t, ctx, "audit page")
	Screenshot(t, ctx, "admin-audit")
}

func TestWallboardLive(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	bs, anna, bo := wallboardSetup(t, env)
	annaRow, boRow := `tr[data-agent="`+string(anna)+`"]`, `tr[data-agent="`+string(bo)+`"]`
	env.Submit(t, queue.AgentLogin{Agent: anna, PauseReason: "frokost"})
	env.Login(t, ctx, config.RoleSupervisor, "")
	WaitJS(t, ctx, "wallboard", `location.pathname === "/wallboard"`)
	WaitText(t, ctx, "#live-status", "Direkte")
	WaitText(t, ctx, annaRow, "Pause (frokost)")
	q := `[data-queue="` + string(bs) + `"] `
	WaitText(t, ctx, q+`[data-figure="waiting"]`, "0")

	// a citizen calls: nobody is ready, so the call waits
	env.Submit(t, queue.CallArrived{Call: "c1", Queue: bs})
	WaitJS(t, ctx, "one waiting", `document.querySelector('`+q+`[data-figure="waiting"]').textContent === "1"`)
	// anna becomes ready and rings, then answers
	env.Submit(t, queue.AgentReady{Agent: anna})
	WaitText(t, ctx, annaRow, "Ringer")
	env.Submit(t, queue.OfferAnswered{Call: "c1", Agent: anna})
	WaitText(t, ctx, annaRow, "I samtale")
	WaitJS(t, ctx, "answered", `document.querySelector('`+q+`[data-figure="answered"]').textContent === "1"`)
	WaitJS(t, ctx, "none waiting", `document.querySelector('`+q+`[data-figure="waiting"]').textContent === "0"`)

	// more traffic for the picture: bo ready, two callers waiting
	env.Submit(t, queue.AgentLogin{Agent: bo})
	env.Submit(t, queue.CallArrived{Call: "c2", Queue: bs})
	env.Submit(t, queue.CallArrived{Call: "c3", Queue: bs})
	WaitText(t, ctx, boRow, "Ringer")
	Accessible(t, ctx, "wallboard")
	Screenshot(t, ctx, "wallboard")
}

func TestWallboardKiosk(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	bs, _, bo := wallboardSetup(t, env)
	boRow := `tr[data-agent="` + string(bo) + `"]`
	env.Submit(t, queue.AgentLogin{Agent: bo})

	// an agent's token is not enough
	resp := Get(t, ctx, "agent token", chromedp.NavigateResponse(env.URL+"/wallboard?token="+env.KioskTokens[config.RoleAgent]))
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("kiosk with an agent's token: %d", resp.Status)
	}
	if resp := Get(t, ctx, "API token", chromedp.NavigateResponse(env.URL+"/wallboard?token="+env.Tokens[config.RoleSupervisor])); resp.Status != http.StatusUnauthorized {
		t.Errorf("kiosk with a full API token: %d", resp.Status)
	}
	Do(t, ctx, "kiosk", chromedp.Navigate(env.URL+"/wallboard?token="+env.KioskTokens[config.RoleSupervisor]))
	WaitJS(t, ctx, "token gone from the address", `location.pathname === "/wallboard" && location.search === ""`)
	WaitText(t, ctx, boRow, "Klar")
	if n := Get(t, ctx, "controls", chromedp.Evaluate[int](`document.querySelectorAll("#logout, nav a").length`)); n != 0 {
		t.Errorf("kiosk wallboard shows %d controls", n)
	}
	// the kiosk cookie opens nothing but the wallboard and its feed
	got := Get(t, ctx, "API as kiosk", chromedp.Evaluate[int](`fetch("/api/v1/auth/me").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/auth/me in kiosk mode: %d", got)
	}
	env.Submit(t, queue.CallArrived{Call: "k1", Queue: bs})
	WaitText(t, ctx, boRow, "Ringer")
}

func TestLoginPageAccessibility(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	for _, lang := range []string{"da", "en"} {
		Do(t, ctx, "login page", chromedp.Navigate(env.URL+"/login?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#login-username")))
		if got := Get(t, ctx, "lang", chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
			t.Errorf("lang = %q, want %q", got, lang)
		}
		Accessible(t, ctx, "login page ("+lang+")")
	}
	if n := Get(t, ctx, "OIDC button", chromedp.Evaluate[int](`document.querySelectorAll("#login-oidc").length`)); n != 0 {
		t.Errorf("login page without OIDC shows %d OIDC buttons", n)
	}

	// with OIDC configured: the button (the provider is not contacted
	// until it is used)
	rm, err := config.ParseOIDCRoleMap("omstil-admins=admin,*=agent")
	if err != nil {
		t.Fatal(err)
	}
	oenv := NewEnv(t, EnvOptions{OIDC: &server.OIDCOptions{Issuer: "https://login.kommune.example", ClientID: "omstil", RoleClaim: "groups", RoleMap: rm}})
	Do(t, ctx, "login page with OIDC", chromedp.Navigate(oenv.URL+"/login?lang=da"), chromedp.WaitVisible(chromedp.CSS("#login-oidc")))
	WaitText(t, ctx, "#login-oidc", "Log ind med kommunens konto")
	Accessible(t, ctx, "login page with OIDC")
	Screenshot(t, ctx, "login")
}

// TestAccessibilityCheckFindsProblems shows that the check is live: a
// page with an unlabelled field and low contrast fails it.
func TestAccessibilityCheckFindsProblems(t *testing.T) {
	ctx := NewBrowser(t)
	page := `<!doctype html><html lang="en"><head><title>bad</title></head><body><main><h1>Bad</h1>` +
		`<input id="x"><p style="color:#bbb;background:#fff">faint text</p></main></body></html>`
	Do(t, ctx, "bad page", chromedp.Navigate("data:text/html,"+url.PathEscape(page)), chromedp.WaitVisible(chromedp.CSS("#x")))
	found := map[string]bool{}
	for _, v := range Accessibility(t, ctx) {
		found[v.ID] = true
	}
	for _, want := range []string{"label", "color-contrast"} {
		if !found[want] {
			t.Errorf("axe did not report %s; got %v", want, found)
		}
	}
}

// openAdmin opens an admin section and waits until it has loaded.
func openAdmin(t *testing.T, ctx context.Context, env *Env, section string) {
	t.Helper()
	Do(t, ctx, "open /admin/"+section, chromedp.Navigate(env.URL+"/admin/"+section))
	adminReady(t, ctx, section)
}

// adminReady waits until the admin section on screen has loaded.
func adminReady(t *testing.T, ctx context.Context, section string) {
	t.Helper()
	WaitJS(t, ctx, section+" page", `document.getElementById("section-body").dataset.ready === "1"`)
}

// TestAdminQueueStrategies: the queue form offers every strategy of the
// engine's registry, the default chosen, each with its Danish name and
// help; a new strategy needs no edit in web/.
func TestAdminQueueStrategies(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	env.Login(t, ctx, config.RoleAdmin, "/admin/queues")
	adminReady(t, ctx, "queues")
	got := Get(t, ctx, "strategy options", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#queue-new-strategy option")].map(o => o.value + "|" + o.textContent + "|" + o.title + "|" + o.selected)`))
	var want []string
	for _, s := range queue.Strategies() {
		want = append(want, fmt.Sprintf("%s|%s|%s|%v", s.Name, s.Label.Da, s.Help.Da, s.Name == queue.DefaultStrategy))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("strategy options\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAdminQueuesAndFlows(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	env.Login(t, ctx, config.RoleAdmin, "/admin/queues")
	adminReady(t, ctx, "queues")
	rows := func() int {
		return Get(t, ctx, "queue rows", chromedp.Evaluate[int](`document.querySelectorAll("#queue-table tbody tr").length`))
	}
	before := rows()

	// a bad setting: the API's message at the field, nothing saved
	Do(t, ctx, "bad queue",
		chromedp.SendKeys(chromedp.CSS("#queue-new-name"), "borgerservice"),
		chromedp.SendKeys(chromedp.CSS("#queue-new-skills"), "[{"),
		chromedp.Click(chromedp.CSS(`#queue-new [type=submit]`)),
	)
	WaitJS(t, ctx, "field error", `!document.getElementById("queue-new-skills-error").hidden`)
	Do(t, ctx, "bad weight",
		SetField("#queue-new-skills", ""),
		SetField("#queue-new-weight", "5000"),
		chromedp.Click(chromedp.CSS(`#queue-new [type=submit]`)),
	)
	WaitJS(t, ctx, "API error shown", `[...document.querySelectorAll("#queue-new .field-error, #queue-new .form-error")].some(e => !e.hidden && e.textContent)`)
	if n := rows(); n != before {
		t.Fatalf("a refused queue was saved: %d rows, had %d", n, before)
	}
	Screenshot(t, ctx, "admin-queue-error")
	Do(t, ctx, "good queue",
		SetField("#queue-new-weight", ""),
		chromedp.SendKeys(chromedp.CSS("#queue-new-display_name"), "Borgerservice"),
		chromedp.Click(chromedp.CSS(`#queue-new [type=submit]`)),
	)
	WaitText(t, ctx, `#queue-table tr[data-row="borgerservice"]`, "Borgerservice")
	Accessible(t, ctx, "queues page")
	Screenshot(t, ctx, "admin-queues")

	// an agent, a member of the queue
	openAdmin(t, ctx, env, "agents")
	Do(t, ctx, "new agent",
		chromedp.SendKeys(chromedp.CSS("#agent-new-name"), "Anna Hansen"),
		chromedp.Click(chromedp.CSS(`#agent-new [type=submit]`)),
	)
	WaitText(t, ctx, `#agent-table tr[data-row="Anna Hansen"]`, "Browser")
	Do(t, ctx, "membership",
		chromedp.Click(chromedp.CSS(`#agent-table tr[data-row="Anna Hansen"] button:nth-of-type(2)`)),
		chromedp.WaitVisible(chromedp.CSS("#membership-new-queue_id")),
		chromedp.Click(chromedp.CSS(`#membership-new [type=submit]`)),
	)
	WaitText(t, ctx, "#memberships", "borgerservice")
	Screenshot(t, ctx, "admin-agents")

	// an announcement for the menu, uploaded as WAV
	wav := filepath.Join(t.TempDir(), "hovedmenu.wav")
	if err := os.WriteFile(wav, testWAV(8000, 4000), 0o644); err != nil {
		t.Fatal(err)
	}
	openAdmin(t, ctx, env, "announcements")
	Do(t, ctx, "upload",
		chromedp.SendKeys(chromedp.CSS("#announcement-new-name"), "hovedmenu"),
		chromedp.SendKeys(chromedp.CSS("#announcement-new-description"), "Tast 1 for borgerservice"),
		chromedp.SetUploadFiles(chromedp.CSS("#announcement-new-file"), []string{wav}),
		chromedp.Click(chromedp.CSS(`#announcement-new [type=submit]`)),
	)
	WaitText(t, ctx, `#announcement-table tr[data-row="hovedmenu"]`, "0.5 s")
	Screenshot(t, ctx, "admin-announcements")

	// a flow with a menu, shown as a tree with problems at their step; a
	// number; the dry-run
	openAdmin(t, ctx, env, "flows")
	flow := `{"start": "menu", "steps": [
	  {"id": "menu", "kind": "menu", "menu": {"announcement": "%s", "options": {"1": "kø"}, "exhausted": "kø"}},
	  {"id": "kø", "kind": "queue", "queue": {"queue": "borgerservice"}}]}`
	Do(t, ctx, "new flow",
		chromedp.SendKeys(chromedp.CSS("#flow-new-name"), "hovednummer"),
		SetField("#flow-new-definition", fmt.Sprintf(flow, "")),
	)
	WaitJS(t, ctx, "problem at the menu step", `document.querySelector('#flow-tree li[data-step="menu"] [data-problem]')`)
	Do(t, ctx, "fix flow", SetField("#flow-new-definition", fmt.Sprintf(flow, "hovedmenu")))
	WaitJS(t, ctx, "no problems", `document.querySelector('#flow-tree li[data-step="menu"]') && !document.querySelector('#flow-tree [data-problem]')`)
	WaitText(t, ctx, "#flow-tree", "tast 1")
	WaitText(t, ctx, "#flow-tree", "(kø: borgerservice)") // the kind's name from GET /step-kinds
	Do(t, ctx, "save flow", chromedp.Click(chromedp.CSS(`#flow-new [type=submit]`)))
	WaitText(t, ctx, `#flow-table tr[data-row="hovednummer"]`, "menu")
	Screenshot(t, ctx, "admin-flows")

	openAdmin(t, ctx, env, "numbers")
	Do(t, ctx, "new number",
		chromedp.SendKeys(chromedp.CSS("#number-new-number"), "+4572360000"),
		chromedp.Click(chromedp.CSS(`#number-new [type=submit]`)),
	)
	WaitText(t, ctx, `#number-table tr[data-row="+4572360000"]`, "hovednummer")

	openAdmin(t, ctx, env, "flows")
	Do(t, ctx, "try it",
		chromedp.SendKeys(chromedp.CSS("#simulate-number"), "+4572360000"),
		chromedp.SendKeys(chromedp.CSS("#simulate-caller"), "+4512345678"),
		chromedp.SendKeys(chromedp.CSS("#simulate-digits"), "1"),
		chromedp.Click(chromedp.CSS(`#simulate [type=submit]`)),
	)
	WaitJS(t, ctx, "path", `document.querySelectorAll("#simulate-steps li").length >= 2`)
	steps := Get(t, ctx, "path steps", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#simulate-steps li")].map(li => li.dataset.step)`))
	if len(steps) < 2 || steps[0] != "menu" || steps[len(steps)-1] != "kø" {
		t.Errorf("dry-run path = %v, want menu … kø", steps)
	}
	Accessible(t, ctx, "flows page")
	Do(t, ctx, "show the result", chromedp.ScrollIntoView(chromedp.CSS("#simulate-result")))
	Screenshot(t, ctx, "admin-flows-try")

	// the announcement shows where it is used, and deleting it is refused
	// with the API's message
	openAdmin(t, ctx, env, "announcements")
	row := `#announcement-table tr[data-row="hovedmenu"]`
	WaitText(t, ctx, row+" .used-by", "Opkaldsforløb hovednummer (trin menu)")
	Do(t, ctx, "delete it",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(row+" button.danger")),
	)
	WaitText(t, ctx, "#announcement-list .form-error", "Er i brug og kan ikke slettes")
	WaitText(t, ctx, "#announcement-list .form-error", "flow 'hovednummer'")
	as, err := env.Store.ListAnnouncements(context.Background(), env.Org)
	if err != nil || len(as) != 1 {
		t.Fatalf("announcements after a refused delete: %d, %v", len(as), err)
	}
	Accessible(t, ctx, "announcements page")
	Do(t, ctx, "show the list", chromedp.ScrollIntoView(chromedp.CSS("#announcement-list")))
	Screenshot(t, ctx, "admin-announcements-in-use")
}

// testWAV is a PCM 16-bit mono WAV of n samples at rate, a quiet tone.
func testWAV(rate, n int) []byte {
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(1000)
		if (i/10)%2 == 0 {
			v = -1000
		}
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

// TestWallboardSupervisorControls: a supervisor pauses an agent from the
// wallboard with a reason and the wallboard shows it; adds and removes a
// queue membership; the demo banner is on the page.
func TestWallboardSupervisorControls(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{Demo: true})
	bg := context.Background()
	sys := config.SystemActor(env.Org)
	bs, err := env.Store.CreateQueue(bg, sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice"})
	if err != nil {
		t.Fatal(err)
	}
	pas, err := env.Store.CreateQueue(bg, sys, config.NewQueue{Name: "pas", DisplayName: "Pas og kørekort"})
	if err != nil {
		t.Fatal(err)
	}
	anna, err := env.Store.CreateAgent(bg, sys, config.NewAgent{Name: "Anna Hansen", DeviceKind: config.DeviceWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.CreateMembership(bg, sys, config.Membership{AgentID: anna.ID, QueueID: bs.ID}); err != nil {
		t.Fatal(err)
	}
	env.LoadRuntime(t)
	aid := AgentID(anna)
	env.Submit(t, queue.AgentLogin{Agent: aid})

	env.Login(t, ctx, config.RoleSupervisor, "")
	WaitJS(t, ctx, "wallboard", `location.pathname === "/wallboard"`)
	WaitText(t, ctx, "#demo-banner", "Demo: simulerede opkald")
	row := fmt.Sprintf(`tr[data-agent="%s"]`, aid)
	WaitText(t, ctx, row, "Anna Hansen")
	WaitText(t, ctx, row, "Klar")
	WaitText(t, ctx, `[data-queue="default/borgerservice"] h2`, "Borgerservice")

	// pause her for a meeting
	Do(t, ctx, "open the controls",
		chromedp.Click(chromedp.CSS(row+" button[data-control]")),
		chromedp.WaitVisible(chromedp.CSS("#agent-state-state")),
	)
	WaitText(t, ctx, "#agent-dialog-now", "Klar")
	Do(t, ctx, "pause with a reason",
		SetField("#agent-state-state", "paused"),
		SetField("#agent-state-reason", "Møde"),
		chromedp.Click(chromedp.CSS(`#agent-state [type=submit]`)),
	)
	WaitText(t, ctx, row, "Pause (Møde)")
	WaitJS(t, ctx, "dialog closed", `!document.getElementById("agent-dialog").open`)
	snap, err := env.Runner.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Agents {
		if a.ID == aid && (a.State != queue.Paused || a.Reason != "Møde") {
			t.Errorf("engine: agent %s is %v (%q), want paused (Møde)", aid, a.State, a.Reason)
		}
	}

	// add her to a second queue at tier 1
	memberships := func() map[config.QueueID]int {
		ms, err := env.Store.ListMemberships(bg, env.Org, anna.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[config.QueueID]int{}
		for _, m := range ms {
			out[m.QueueID] = m.Tier
		}
		return out
	}
	Do(t, ctx, "open the controls again",
		chromedp.Click(chromedp.CSS(row+" button[data-control]")),
		chromedp.WaitVisible(chromedp.CSS("#agent-membership-queue_id")),
	)
	WaitText(t, ctx, "#agent-memberships", "Borgerservice")
	Do(t, ctx, "add a queue",
		SetField("#agent-membership-queue_id", fmt.Sprint(pas.ID)),
		SetField("#agent-membership-tier", "1"),
		chromedp.Click(chromedp.CSS(`#agent-membership [type=submit]`)),
	)
	WaitText(t, ctx, "#agent-memberships", "Pas og kørekort")
	if got := memberships(); len(got) != 2 || got[pas.ID] != 1 {
		t.Errorf("memberships after adding = %v, want borgerservice and pas at tier 1", got)
	}
	Accessible(t, ctx, "wallboard with the agent controls")
	Screenshot(t, ctx, "wallboard-control")
	Do(t, ctx, "remove the queue", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#agent-memberships li[data-queue-id="%d"] button`, pas.ID))))
	WaitJS(t, ctx, "one membership", `document.querySelectorAll("#agent-memberships li").length === 1`)
	if got := memberships(); len(got) != 1 {
		t.Errorf("memberships after removing = %v, want borgerservice only", got)
	}

	// and ready again
	Do(t, ctx, "ready", SetField("#agent-state-state", "ready"), chromedp.Click(chromedp.CSS(`#agent-state [type=submit]`)))
	WaitText(t, ctx, row, "Klar")
	Accessible(t, ctx, "wallboard")
}

// TestAdminSchedules: an admin builds opening hours with the form (two
// ranges on Monday, closing days, a special day); a bad time shows the
// API's message at that range and saves nothing; the calendar shows the
// public holidays and the schedule's own days.
func TestAdminSchedules(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	env.Login(t, ctx, config.RoleAdmin, "/admin/schedules")
	adminReady(t, ctx, "schedules")
	WaitJS(t, ctx, "calendar of public holidays", `document.querySelector('#calendar td.cal-public[data-date$="-12-25"]')`)
	count := func() int {
		ss, err := env.Store.ListSchedules(context.Background(), env.Org)
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	monday := `#schedule-new [data-day="monday"] `
	Do(t, ctx, "a second range on Monday with a bad end",
		chromedp.SendKeys(chromedp.CSS("#schedule-new-name"), "borgerservice"),
		chromedp.Click(chromedp.CSS(monday+"button.secondary")),
		SetField(monday+`li.range:nth-child(2) [data-part="from"]`, "16:00"),
		SetField(monday+`li.range:nth-child(2) [data-part="to"]`, "25:00"),
		chromedp.Click(chromedp.CSS(`#schedule-new [type=submit]`)),
	)
	slot := `#schedule-new [data-error-for="weekly.monday[1]"]`
	WaitJS(t, ctx, "the API's message at the range", `!document.querySelector('`+slot+`').hidden`)
	if msg := Get(t, ctx, "message", chromedp.Text(chromedp.CSS(slot))); !strings.Contains(msg, `"25:00"`) {
		t.Errorf("message at Monday's second range = %q", msg)
	}
	if inv := Get(t, ctx, "aria-invalid", chromedp.Evaluate[string](`document.querySelector('`+monday+`li.range:nth-child(2) [data-part="to"]').getAttribute("aria-invalid")`)); inv != "true" {
		t.Errorf("bad range aria-invalid = %q", inv)
	}
	if n := count(); n != 0 {
		t.Fatalf("a refused schedule was saved (%d schedules)", n)
	}
	Do(t, ctx, "show the error", chromedp.ScrollIntoView(chromedp.CSS(slot)))
	Screenshot(t, ctx, "admin-schedules-error")

	Do(t, ctx, "fix it, add closing and special days",
		SetField(monday+`li.range:nth-child(2) [data-part="to"]`, "18:00"),
		chromedp.Click(chromedp.CSS(`#schedule-new-closingDays + button + button`)),
		chromedp.Click(chromedp.CSS(`#schedule-new-specialDays + button`)),
		SetField(`#schedule-new-specialDays li.day input.date`, "12-23"),
		SetField(`#schedule-new-specialDays li.day .inline-field:nth-child(2) input`, "Lillejuleaften"),
		chromedp.Click(chromedp.CSS(`#schedule-new-specialDays li.day .range-box > button`)),
		SetField(`#schedule-new-specialDays li.range [data-part="from"]`, "08:00"),
		SetField(`#schedule-new-specialDays li.range [data-part="to"]`, "12:00"),
		chromedp.Click(chromedp.CSS(`#schedule-new [type=submit]`)),
	)
	WaitText(t, ctx, `#schedule-table tr[data-row="borgerservice"]`, "08:00–15:00, 16:00–18:00")
	ss, err := env.Store.ListSchedules(context.Background(), env.Org)
	if err != nil || len(ss) != 1 {
		t.Fatalf("schedules: %v, %v", ss, err)
	}
	def := ss[0].Definition
	if len(def.Weekly.Monday) != 2 || len(def.Weekly.Friday) != 1 || !def.PublicHolidays || len(def.ClosingDays) != 2 ||
		len(def.SpecialDays) != 1 || def.SpecialDays[0].Date != "12-23" || len(def.SpecialDays[0].Hours) != 1 {
		t.Errorf("saved definition = %+v", def)
	}
	Accessible(t, ctx, "schedules page")
	Screenshot(t, ctx, "admin-schedules")

	Do(t, ctx, "calendar of the schedule", chromedp.Click(chromedp.CSS(`#schedule-table tr[data-row="borgerservice"] button:nth-of-type(2)`)))
	WaitText(t, ctx, "#calendar-title", "borgerservice")
	WaitJS(t, ctx, "closing and special days in the calendar",
		`document.querySelector('#calendar td.cal-closing[data-date$="-12-24"]') && document.querySelector('#calendar td.cal-special[data-date$="-12-23"]') && document.querySelector('#calendar td.cal-public[data-date$="-12-25"]')`)
	WaitText(t, ctx, "#holidays-table", "Lillejuleaften")
	Accessible(t, ctx, "schedule calendar")
	Do(t, ctx, "show the calendar", chromedp.ScrollIntoView(chromedp.CSS("#calendar")))
	Screenshot(t, ctx, "admin-schedules-calendar")
}
