package browsertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/internal/telephony/telephonytest"
	"github.com/omstil/omstil/server"
)

// agentPage wires the agent page as cmd/omstil does: the telephony
// AgentDirectory over an adapter on the ARI simulator, with the runtime
// reloaded from the store on every change. It returns the reloader.
func agentPage(reload **telephony.Reloader) func(t testing.TB, st *config.Store) *server.AgentOptions {
	return func(t testing.TB, st *config.Store) *server.AgentOptions {
		ctx := context.Background()
		org, err := st.DefaultOrg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ad, r := telephonytest.SimAdapter(t, st, org.ID)
		*reload = r
		return &server.AgentOptions{Directory: telephony.AgentDirectory{Adapter: ad, Runtime: r.Runtime}}
	}
}

// apiJSON GETs path with the token of role and decodes the answer.
func apiJSON(t *testing.T, env *Env, role config.Role, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", env.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+env.Tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// An admin edits the pause reasons in the browser: adds, renames,
// reorders and removes, saves with PUT; the API and an agent's
// /agent/setup then list them in that order. An empty, too long or
// repeated reason shows the API's message at that reason and saves
// nothing.
func TestAdminPauseReasons(t *testing.T) {
	ctx := NewBrowser(t)
	var reload *telephony.Reloader
	env := NewEnv(t, EnvOptions{Softphone: agentPage(&reload)})
	// agent1 answers calls in the browser
	uid := env.Users[config.RoleAgent].ID
	if _, err := env.Store.CreateAgent(context.Background(), config.SystemActor(env.Org),
		config.NewAgent{Name: "agent one", UserID: &uid, DeviceKind: config.DeviceWebRTC}); err != nil {
		t.Fatal(err)
	}
	stored := func() []string {
		var body struct{ Reasons []string }
		apiJSON(t, env, config.RoleAgent, "/api/v1/pause-reasons", &body)
		return body.Reasons
	}
	shown := func() []string {
		js := `[...document.querySelectorAll("#pausereasons-list input")].map((i) => i.value)`
		return Get(t, ctx, "reasons on the page", chromedp.Evaluate[[]string](js))
	}
	input := func(i int) string { return `#pausereasons-list > li:nth-child(` + string(rune('0'+i)) + `) input` }
	button := func(i int, what string) string {
		return `#pausereasons-list > li:nth-child(` + string(rune('0'+i)) + `) [data-do="` + what + `"]`
	}

	env.Login(t, ctx, config.RoleAdmin, "/admin/pausereasons")
	adminReady(t, ctx, "pausereasons")
	WaitText(t, ctx, "#section-title", "Pauseårsager")
	if got := shown(); !slices.Equal(got, config.DefaultPauseReasons) {
		t.Fatalf("page shows %q, want the defaults %q", got, config.DefaultPauseReasons)
	}

	Do(t, ctx, "add two, rename one, move the last up, remove one",
		chromedp.Click(chromedp.CSS("#pausereasons-add")),
		SetField(input(5), "Kursus"),
		chromedp.Click(chromedp.CSS("#pausereasons-add")),
		SetField(input(6), "Telefonvagt"),
		SetField(input(1), "Kort pause"),
		chromedp.Click(chromedp.CSS(button(6, "up"))),
		chromedp.Click(chromedp.CSS(button(5, "up"))),
		chromedp.Click(chromedp.CSS(button(3, "remove"))), // Møde
	)
	want := []string{"Kort pause", "Frokost", "Telefonvagt", "Sagsbehandling", "Kursus"}
	if got := shown(); !slices.Equal(got, want) {
		t.Fatalf("after editing the page shows %q, want %q", got, want)
	}
	if got := stored(); !slices.Equal(got, config.DefaultPauseReasons) {
		t.Fatalf("saved before Gem: %q", got)
	}
	Accessible(t, ctx, "pause reasons page")
	Do(t, ctx, "save", chromedp.Click(chromedp.CSS(`#pausereasons [type=submit]`)))
	WaitText(t, ctx, "#pausereasons .notice", "Gemt")
	if got := stored(); !slices.Equal(got, want) {
		t.Fatalf("API returns %q, want %q", got, want)
	}

	// the agent page offers them, in that order
	if err := reload.Now(context.Background()); err != nil {
		t.Fatal(err)
	}
	var setup struct {
		PauseReasons []struct{ ID, Label string } `json:"pauseReasons"`
	}
	apiJSON(t, env, config.RoleAgent, "/agent/setup", &setup)
	var labels []string
	for _, r := range setup.PauseReasons {
		labels = append(labels, r.Label)
	}
	if !slices.Equal(labels, want) {
		t.Errorf("/agent/setup pause reasons %q, want %q", labels, want)
	}

	bad := []struct {
		name, value, msg string
	}{
		{"empty", "  ", "is empty"},
		{"too long", strings.Repeat("x", 65), "at most 64 characters"},
		{"twice", "kursus", `"kursus" is listed twice`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			openAdmin(t, ctx, env, "pausereasons")
			Do(t, ctx, "add a bad reason and save",
				chromedp.Click(chromedp.CSS("#pausereasons-add")),
				SetField(input(6), b.value),
				chromedp.Click(chromedp.CSS(`#pausereasons [type=submit]`)),
			)
			slot := `document.getElementById(document.querySelector('[name="reasons[5]"]').id + "-error")`
			WaitJS(t, ctx, "the API's message at the reason", `!`+slot+`.hidden`)
			if msg := Get(t, ctx, "message", chromedp.Evaluate[string](slot+`.textContent`)); !strings.Contains(msg, b.msg) {
				t.Errorf("message at the reason = %q, want %q", msg, b.msg)
			}
			if inv := Get(t, ctx, "aria-invalid", chromedp.Evaluate[string](`document.querySelector('[name="reasons[5]"]').getAttribute("aria-invalid")`)); inv != "true" {
				t.Errorf("aria-invalid = %q", inv)
			}
			if focused := Get(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.name`)); focused != "reasons[5]" {
				t.Errorf("focus on %q, want the bad reason", focused)
			}
			if got := stored(); !slices.Equal(got, want) {
				t.Errorf("a refused list changed the reasons: %q", got)
			}
		})
	}
}
