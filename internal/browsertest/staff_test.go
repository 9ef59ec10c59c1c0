package browsertest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/telephony"
)

// TestAdminStaffMember: an admin makes a member of staff in one form, in
// Danish: name, a browser device, a new login, a skill and a queue with
// tier. A username that is taken, and an empty name, are shown at their
// fields and save nothing (checked through the API). The list warns about
// a browser agent without a login. Then the new member of staff logs in
// on /agent and sees the agent page with their name and queue.
func TestAdminStaffMember(t *testing.T) {
	ctx := NewBrowser(t)
	var reload *telephony.Reloader
	env := NewEnv(t, EnvOptions{Softphone: agentPage(&reload)})
	bg := context.Background()
	sys := config.SystemActor(env.Org)
	q, err := env.Store.CreateQueue(bg, sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice", Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	// a browser agent nobody can log in as
	if _, err := env.Store.CreateAgent(bg, sys, config.NewAgent{Name: "Uden Login", DeviceKind: config.DeviceWebRTC}); err != nil {
		t.Fatal(err)
	}
	type user struct{ Username string }
	type agent struct {
		ID         int64          `json:"id"`
		Name       string         `json:"name"`
		UserID     *int64         `json:"user_id"`
		DeviceKind string         `json:"device_kind"`
		Skills     map[string]int `json:"skills"`
	}
	saved := func() (users []user, agents []agent) {
		apiJSON(t, env, config.RoleAdmin, "/api/v1/users", &users)
		apiJSON(t, env, config.RoleAdmin, "/api/v1/agents", &agents)
		return users, agents
	}
	users0, agents0 := saved()
	nothingSaved := func(what string) {
		t.Helper()
		if us, as := saved(); len(us) != len(users0) || len(as) != len(agents0) {
			t.Fatalf("%s: saved something: %d users (had %d), %d agents (had %d)", what, len(us), len(users0), len(as), len(agents0))
		}
	}
	// errorAt waits for a message at the field named name and returns it.
	errorAt := func(name string) string {
		t.Helper()
		slot := `document.getElementById(document.querySelector('#agent-new [name="` + name + `"]').id + "-error")`
		WaitJS(t, ctx, "a message at "+name, `!`+slot+`.hidden && `+slot+`.textContent`)
		if inv := Get(t, ctx, "aria-invalid", chromedp.Evaluate[string](`document.querySelector('#agent-new [name="`+name+`"]').getAttribute("aria-invalid")`)); inv != "true" {
			t.Errorf("%s: aria-invalid = %q", name, inv)
		}
		return Get(t, ctx, "message", chromedp.Evaluate[string](slot+`.textContent`))
	}
	submit := chromedp.Click(chromedp.CSS(`#agent-new [type=submit]`))

	env.Login(t, ctx, config.RoleAdmin, "/admin/agents")
	adminReady(t, ctx, "agents")
	WaitText(t, ctx, `#agent-table tr[data-row="Uden Login"] [data-no-login]`, "kan ikke tage opkald i browseren")
	WaitText(t, ctx, "#agent-no-login-help", "kan ikke logge ind på /agent")

	// the form: a browser, a new login taken by another user, a skill and
	// the queue at tier 1
	Do(t, ctx, "fill in the staff member",
		chromedp.SendKeys(chromedp.CSS("#agent-new-name"), "Anna Holm"),
		SetField(`#agent-new [name="login"]`, "new"),
		chromedp.WaitVisible(chromedp.CSS(`#agent-new [name="login.username"]`)),
		chromedp.SendKeys(chromedp.CSS(`#agent-new [name="login.username"]`), "agent1"),
		chromedp.SendKeys(chromedp.CSS(`#agent-new [name="login.password"]`), "en lang adgangskode"),
		chromedp.Click(chromedp.CSS("#agent-new-add-skill")),
		chromedp.SendKeys(chromedp.CSS(`#agent-new [name="skills[0].name"]`), "tysk"),
		chromedp.SendKeys(chromedp.CSS(`#agent-new [name="skills[0].level"]`), "80"),
		chromedp.Click(chromedp.CSS("#agent-new-add-queue")),
		SetField(`#agent-new [name="memberships[0].queue_id"]`, strconv.FormatInt(int64(q.ID), 10)),
		SetField(`#agent-new [name="memberships[0].tier"]`, "1"),
	)
	if hidden := Get(t, ctx, "dial string hidden", chromedp.Evaluate[bool](`document.getElementById("agent-new-dial_string").closest(".field").hidden`)); !hidden {
		t.Error("a browser agent is asked for a dial string")
	}
	Accessible(t, ctx, "agents page with the staff form")
	Do(t, ctx, "save with a taken username", submit)
	if msg := errorAt("login.username"); !strings.Contains(msg, "Brugernavnet er optaget") {
		t.Errorf("message at the username: %q", msg)
	}
	nothingSaved("a taken username")

	// an empty name: at the name, nothing saved
	Do(t, ctx, "empty name", SetField("#agent-new-name", " "), SetField(`#agent-new [name="login.username"]`, "anna"), submit)
	errorAt("name")
	nothingSaved("an empty name")

	// a skill level out of range: at the level
	Do(t, ctx, "bad level", SetField("#agent-new-name", "Anna Holm"), SetField(`#agent-new [name="skills[0].level"]`, "101"), submit)
	errorAt("skills[0].level")
	nothingSaved("a bad skill level")

	Do(t, ctx, "save", SetField(`#agent-new [name="skills[0].level"]`, "80"), submit)
	WaitText(t, ctx, `#agent-table tr[data-row="Anna Holm"]`, "anna")
	users, agents := saved()
	var made *agent
	for i := range agents {
		if agents[i].Name == "Anna Holm" {
			made = &agents[i]
		}
	}
	if len(users) != len(users0)+1 || made == nil || made.UserID == nil || made.DeviceKind != "webrtc" || made.Skills["tysk"] != 80 {
		t.Fatalf("saved users %v, agent %+v", users, made)
	}
	var ms []struct {
		QueueID int64 `json:"queue_id"`
		Tier    int   `json:"tier"`
	}
	apiJSON(t, env, config.RoleAdmin, "/api/v1/agents/"+strconv.FormatInt(made.ID, 10)+"/memberships", &ms)
	if len(ms) != 1 || ms[0].QueueID != int64(q.ID) || ms[0].Tier != 1 {
		t.Errorf("memberships %+v", ms)
	}
	if n := Get(t, ctx, "badges", chromedp.Evaluate[int](`document.querySelectorAll("#agent-table [data-no-login]").length`)); n != 1 {
		t.Errorf("%d no-login badges, want Uden Login's only", n)
	}
	// the new login is offered to no other agent
	if n := Get(t, ctx, "anna offered", chromedp.Evaluate[int](`[...document.querySelectorAll('#agent-new [name="user_id"] option')].filter(o => o.textContent.startsWith("anna")).length`)); n != 0 {
		t.Error("the linked login is offered for a new agent")
	}
	Accessible(t, ctx, "agents page")
	Screenshot(t, ctx, "admin-staff")

	// Edit links a login to the agent without one: the warning goes.
	Do(t, ctx, "link agent1 to Uden Login",
		chromedp.Click(chromedp.CSS(`#agent-table tr[data-row="Uden Login"] button:nth-of-type(1)`)),
		chromedp.WaitVisible(chromedp.CSS(`#agent-edit [name="login"]`)),
		SetField(`#agent-edit [name="login"]`, "existing"),
		SetField(`#agent-edit [name="user_id"]`, strconv.FormatInt(int64(env.Users[config.RoleAgent].ID), 10)),
		chromedp.Click(chromedp.CSS(`#agent-edit [type=submit]`)))
	WaitText(t, ctx, `#agent-table tr[data-row="Uden Login"]`, "agent1")
	if n := Get(t, ctx, "badges", chromedp.Evaluate[int](`document.querySelectorAll("#agent-table [data-no-login]").length`)); n != 0 {
		t.Errorf("%d no-login badges after linking a login", n)
	}

	// Anna logs in on the agent page, in a browser of her own
	if err := reload.Now(bg); err != nil {
		t.Fatal(err)
	}
	anna, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	// the first action opens the tab, with no deadline (a cancelled
	// deadline would close it)
	if err := chromedp.Do(anna, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	Do(t, anna, "open /agent", chromedp.Navigate(env.URL+"/agent"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	Do(t, anna, "log in as anna",
		chromedp.SendKeys(chromedp.CSS("#login-username"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "en lang adgangskode"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#console")))
	WaitText(t, anna, "#agent-name", "Anna Holm")
	Do(t, anna, "her queue", chromedp.WaitVisible(chromedp.CSS(`[id="queue-default/borgerservice"]`)))
}
