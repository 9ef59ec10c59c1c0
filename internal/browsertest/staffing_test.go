package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

// An admin opens the staffing page, picks a queue, 2 weeks and the
// weekday a week ago, and sees the quarter with that day's calls: the
// calls per quarter, what Erlang C and Erlang A ask for and who was
// logged in, as the API computes them. A bad number of weeks shows the
// API's message at the field.
func TestAdminStaffing(t *testing.T) {
	ctx := NewBrowser(t)
	env := NewEnv(t, EnvOptions{})
	bg := context.Background()
	sys := config.SystemActor(env.Org)
	q, err := env.Store.CreateQueue(bg, sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice", Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	loc := callflow.Location()
	day := time.Now().In(loc).AddDate(0, 0, -7)
	start := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc)
	eq := string(config.EngineQueueID("default", q.Name))
	var evs []config.CallEvent
	for i := 0; i < 12; i++ {
		id := fmt.Sprint("c", i)
		join := start.Add(time.Duration(i) * time.Minute)
		evs = append(evs,
			config.CallEvent{OrgID: env.Org, At: join, CallID: id, Kind: "CallJoined", Queue: eq},
			config.CallEvent{OrgID: env.Org, At: join.Add(5 * time.Second), CallID: id, Kind: "Answered", Queue: eq, Agent: "1", WaitMS: 5000},
			config.CallEvent{OrgID: env.Org, At: join.Add(185 * time.Second), CallID: id, Kind: "CallCompleted", Queue: eq, Agent: "1"})
	}
	if err := env.Store.AppendCallEvents(bg, evs); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Intervals []struct {
			Weekday, Start string
			Arrivals       float64
			ErlangC        struct{ Agents int } `json:"erlang_c"`
			ErlangA        struct{ Agents int } `json:"erlang_a"`
		}
	}
	apiJSON(t, env, config.RoleSupervisor, fmt.Sprintf("/api/v1/reports/staffing?queue=%d&weeks=2", q.ID), &want)
	weekday := strings.ToLower(start.Weekday().String())
	var erlC, erlA int
	for _, iv := range want.Intervals {
		if iv.Weekday == weekday && iv.Start == "10:00" {
			if iv.Arrivals != 6 {
				t.Fatalf("API: %v arrivals at 10:00, want 6 (12 calls over 2 weeks)", iv.Arrivals)
			}
			erlC, erlA = iv.ErlangC.Agents, iv.ErlangA.Agents
		}
	}

	env.Login(t, ctx, config.RoleAdmin, "/admin/staffing")
	adminReady(t, ctx, "staffing")
	WaitText(t, ctx, "#section-title", "Bemanding")
	Do(t, ctx, "choose 2 weeks and the weekday, show",
		SetField("#staffing-queue", fmt.Sprint(q.ID)),
		SetField("#staffing-weeks", "2"),
		SetField("#staffing-weekday", weekday),
		chromedp.Click(chromedp.CSS(`#staffing [type=submit]`)))
	WaitJS(t, ctx, "the table", `!!document.querySelector('#staffing-table tr[data-start="10:00"]')`)
	cells := Get(t, ctx, "the 10:00 row", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#staffing-table tr[data-start="10:00"] > *')].map((c) => c.textContent.trim())`))
	if len(cells) < 7 || cells[1] != "6" || cells[4] != fmt.Sprint(erlC) || cells[5] != fmt.Sprint(erlA) || cells[6] != "0" {
		t.Errorf("row %q; want 6 calls, Erlang C %d, Erlang A %d, 0 logged in", cells, erlC, erlA)
	}
	if rows := Get(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#staffing-table tbody tr').length`)); rows != 1 {
		t.Errorf("%d rows, want only the quarter with calls", rows)
	}
	Accessible(t, ctx, "staffing page")

	Do(t, ctx, "ask for 60 weeks",
		SetField("#staffing-weeks", "60"),
		chromedp.Click(chromedp.CSS(`#staffing [type=submit]`)))
	WaitJS(t, ctx, "the API's message at weeks", `!document.getElementById("staffing-weeks-error").hidden`)
	if msg := Get(t, ctx, "message", chromedp.Evaluate[string](`document.getElementById("staffing-weeks-error").textContent`)); !strings.Contains(msg, "1-52") {
		t.Errorf("message at weeks %q", msg)
	}
}
