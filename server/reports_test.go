package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
)

type staffingReportJSON struct {
	Queue struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"queue"`
	Weeks           int       `json:"weeks"`
	Since, Until    time.Time `json:"-"`
	TimeZone        string    `json:"time_zone"`
	IntervalMinutes int       `json:"interval_minutes"`
	Goal            struct {
		ServiceLevelPercent int `json:"service_level_percent"`
		ServiceLevelSeconds int `json:"service_level_seconds"`
		MaxOccupancyPercent int `json:"max_occupancy_percent"`
	} `json:"goal"`
	AHTSeconds      float64  `json:"aht_seconds"`
	PatienceSeconds *float64 `json:"patience_seconds"`
	Intervals       []struct {
		Weekday         string   `json:"weekday"`
		Start           string   `json:"start"`
		Occurrences     int      `json:"occurrences"`
		Arrivals        float64  `json:"arrivals"`
		Answered        float64  `json:"answered"`
		Abandoned       float64  `json:"abandoned"`
		AHTSeconds      float64  `json:"aht_seconds"`
		AbandonRate     float64  `json:"abandon_rate"`
		PatienceSeconds *float64 `json:"patience_seconds"`
		LoggedIn        float64  `json:"logged_in"`
		ErlangC         *struct {
			Agents       int      `json:"agents"`
			ServiceLevel float64  `json:"service_level"`
			Occupancy    float64  `json:"occupancy"`
			ASASeconds   *float64 `json:"asa_seconds"`
		} `json:"erlang_c"`
		ErlangA *struct {
			Agents      int      `json:"agents"`
			AbandonRate *float64 `json:"abandon_rate"`
		} `json:"erlang_a"`
	} `json:"intervals"`
}

// staffingFixture is a queue of the fixture's organisation with one
// member and, on each of the two Mondays before the fixture's clock
// (Saturday 28 November 2026), calls between 09:00 and 09:15
// Copenhagen time.
func staffingFixture(t *testing.T) (*fixture, config.Queue) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	sys := config.SystemActor(f.org)
	qs := config.DefaultQueueSettings()
	qs.ServiceLevelSeconds, qs.ServiceLevelPercent, qs.MaxOccupancyPercent = 20, 80, 90
	q, err := f.store.CreateQueue(ctx, sys, config.NewQueue{Name: "borgerservice", Settings: qs})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := f.store.CreateAgent(ctx, sys, config.NewAgent{Name: "Anna", DeviceKind: config.DeviceWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateMembership(ctx, sys, config.Membership{AgentID: ag.ID, QueueID: q.ID}); err != nil {
		t.Fatal(err)
	}
	aid := string(config.EngineAgentID(ag.ID))
	eq := string(config.EngineQueueID("default", q.Name))
	var evs []config.CallEvent
	state := func(at time.Time, from, to, call string) {
		evs = append(evs, config.CallEvent{OrgID: f.org, At: at, Agent: aid, Kind: "AgentStateChanged",
			Data: fmt.Sprintf(`{"At":%q,"Agent":%q,"From":%q,"To":%q,"Reason":"","Call":%q}`, at.Format(time.RFC3339), aid, from, to, call)})
	}
	for _, day := range []time.Time{
		time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC), // 09:00 in Copenhagen
		time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
	} {
		state(day, "logged_out", "ready", "")
		for i := 0; i < 10; i++ {
			call := fmt.Sprintf("%s-%d", day.Format("0102"), i)
			join := day.Add(time.Duration(i) * time.Minute)
			evs = append(evs, config.CallEvent{OrgID: f.org, At: join, CallID: call, Kind: "CallJoined", Queue: eq, Caller: "+4512345678"})
			if i%5 == 4 { // 2 of 10 abandon after 30 s
				evs = append(evs, config.CallEvent{OrgID: f.org, At: join.Add(30 * time.Second), CallID: call, Kind: "Abandoned", Queue: eq, WaitMS: 30000})
				continue
			}
			ans := join.Add(10 * time.Second)
			evs = append(evs, config.CallEvent{OrgID: f.org, At: ans, CallID: call, Kind: "Answered", Queue: eq, Agent: aid, WaitMS: 10000})
			evs = append(evs, config.CallEvent{OrgID: f.org, At: ans.Add(40 * time.Second), CallID: call, Kind: "CallCompleted", Queue: eq, Agent: aid})
		}
		state(day.Add(30*time.Minute), "ready", "logged_out", "")
	}
	if err := f.store.AppendCallEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	return f, q
}

func TestStaffingReport(t *testing.T) {
	t.Parallel()
	f, q := staffingFixture(t)
	for _, role := range []config.Role{config.RoleSupervisor, config.RoleAdmin} {
		w := f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d&weeks=2", q.ID), token: f.tokens[role]})
		if w.Code != 200 {
			t.Fatalf("as %s: %d %s", role, w.Code, w.Body.String())
		}
		if role == config.RoleAdmin {
			continue
		}
		var r staffingReportJSON
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Queue.ID != int64(q.ID) || r.Weeks != 2 || r.TimeZone != "Europe/Copenhagen" || r.IntervalMinutes != 15 || len(r.Intervals) != 7*96 {
			t.Fatalf("report header %+v, %d intervals", r.Queue, len(r.Intervals))
		}
		if r.Goal.ServiceLevelPercent != 80 || r.Goal.ServiceLevelSeconds != 20 || r.Goal.MaxOccupancyPercent != 90 {
			t.Errorf("goal %+v", r.Goal)
		}
		iv := r.Intervals[9*4] // Monday 09:00
		if iv.Weekday != "monday" || iv.Start != "09:00" || iv.Occurrences != 2 {
			t.Fatalf("interval %+v", iv)
		}
		// 10 calls a Monday, 8 answered after 10 s with 40 s talk, 2
		// abandoned after 30 s; the agent logged in for 30 minutes.
		if iv.Arrivals != 10 || iv.Answered != 8 || iv.Abandoned != 2 || iv.AHTSeconds != 40 || iv.AbandonRate != 0.2 || iv.LoggedIn != 1 {
			t.Errorf("interval %+v", iv)
		}
		// Patience: (16·10 + 4·30) s of waiting / 4 abandonments = 70 s.
		if iv.PatienceSeconds == nil || *iv.PatienceSeconds != 70 || r.PatienceSeconds == nil || *r.PatienceSeconds != 70 {
			t.Errorf("patience %v / %v, want 70", iv.PatienceSeconds, r.PatienceSeconds)
		}
		// 10 calls per 15 min × 40 s = 0.44 Erlangs: 1 agent answers
		// 1 − 0.444·e^(−0.556·20/40) = 66.6 % within 20 s, 2 agents 97 %.
		if iv.ErlangC == nil || iv.ErlangC.Agents != 2 || iv.ErlangC.ASASeconds == nil || iv.ErlangC.ServiceLevel < 0.8 {
			t.Errorf("Erlang C %+v", iv.ErlangC)
		}
		if iv.ErlangA == nil || iv.ErlangA.Agents < 1 || iv.ErlangA.Agents > iv.ErlangC.Agents || iv.ErlangA.AbandonRate == nil {
			t.Errorf("Erlang A %+v", iv.ErlangA)
		}
		if other := r.Intervals[9*4+2]; other.Arrivals != 0 || other.LoggedIn != 0 || other.ErlangC == nil || other.ErlangC.Agents != 0 || other.PatienceSeconds != nil {
			t.Errorf("empty interval %+v", other)
		}
	}
	// The default is 8 weeks; the calls are the same, spread over 8.
	w := f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d", q.ID), token: f.tokens[config.RoleSupervisor]})
	var r staffingReportJSON
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &r) != nil || r.Weeks != 8 || r.Intervals[9*4].Arrivals != 2.5 {
		t.Errorf("default weeks: %d %+v", w.Code, r.Weeks)
	}
}

func TestStaffingReportErrors(t *testing.T) {
	t.Parallel()
	f, q := staffingFixture(t)
	tests := []struct {
		name   string
		query  string
		token  string
		status int
		field  string
	}{
		{"no login", fmt.Sprintf("queue=%d", q.ID), "", 401, ""},
		{"agent", fmt.Sprintf("queue=%d", q.ID), f.tokens[config.RoleAgent], 403, ""},
		{"no queue", "", f.tokens[config.RoleSupervisor], 400, "queue"},
		{"queue not a number", "queue=borgerservice", f.tokens[config.RoleSupervisor], 400, "queue"},
		{"queue negative", "queue=-1", f.tokens[config.RoleSupervisor], 400, "queue"},
		{"unknown queue", "queue=999999", f.tokens[config.RoleSupervisor], 404, ""},
		{"0 weeks", fmt.Sprintf("queue=%d&weeks=0", q.ID), f.tokens[config.RoleSupervisor], 400, "weeks"},
		{"53 weeks", fmt.Sprintf("queue=%d&weeks=53", q.ID), f.tokens[config.RoleSupervisor], 400, "weeks"},
		{"weeks not a number", fmt.Sprintf("queue=%d&weeks=many", q.ID), f.tokens[config.RoleSupervisor], 400, "weeks"},
		{"52 weeks", fmt.Sprintf("queue=%d&weeks=52", q.ID), f.tokens[config.RoleSupervisor], 200, ""},
		{"unknown format", fmt.Sprintf("queue=%d&format=xml", q.ID), f.tokens[config.RoleSupervisor], 400, "format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(req{method: "GET", path: "/api/v1/reports/staffing?" + tc.query, token: tc.token})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body.String())
			}
			if tc.status >= 400 {
				errorCode(t, w)
				var body struct{ Error struct{ Field string } }
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if body.Error.Field != tc.field {
					t.Errorf("field %q, want %q", body.Error.Field, tc.field)
				}
			}
		})
	}
}

// TestStaffingReportIsolation: organisation B's supervisor gets 404 for
// A's queue, as for any object of another organisation, and its own
// queue of the same name shows none of A's calls.
func TestStaffingReportIsolation(t *testing.T) {
	t.Parallel()
	f, q := staffingFixture(t)
	ctx := context.Background()
	b, err := f.store.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	sysB := config.SystemActor(b.ID)
	u, err := f.store.CreateUser(ctx, sysB, config.NewUser{OrgID: b.ID, Username: "bsup", Password: testPassword, Role: config.RoleSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.store.CreateToken(ctx, sysB, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	w := f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d", q.ID), token: tok})
	if w.Code != 404 || errorCode(t, w) != "not_found" {
		t.Fatalf("B's supervisor on A's queue: %d %s", w.Code, w.Body.String())
	}
	qb, err := f.store.CreateQueue(ctx, sysB, config.NewQueue{Name: q.Name, Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d&weeks=2", qb.ID), token: tok})
	var r staffingReportJSON
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &r) != nil {
		t.Fatalf("B's own queue: %d %s", w.Code, w.Body.String())
	}
	for _, iv := range r.Intervals {
		if iv.Arrivals != 0 || iv.LoggedIn != 0 {
			t.Fatalf("B's queue shows A's calls or agents: %+v", iv)
		}
	}
	// And A's supervisor cannot read B's queue either.
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d", qb.ID), token: f.tokens[config.RoleSupervisor]})
	if w.Code != 404 {
		t.Errorf("A's supervisor on B's queue: %d", w.Code)
	}
}

func TestStaffingReportCSV(t *testing.T) {
	t.Parallel()
	f, q := staffingFixture(t)
	w := f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/reports/staffing?queue=%d&weeks=2&format=csv", q.ID), token: f.tokens[config.RoleSupervisor]})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+7*96 || rows[0][0] != "weekday" || rows[0][10] != "erlang_c_agents" || len(rows[0]) != 18 {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	// Monday 09:00 as in the JSON (TestStaffingReport); 09:30 has no
	// patience (empty) but needs 0 agents.
	nine, half := rows[1+9*4], rows[1+9*4+2]
	if nine[0] != "monday" || nine[1] != "09:00" || nine[3] != "10" || nine[8] != "70" || nine[9] != "1" || nine[10] != "2" {
		t.Errorf("09:00 row %q", nine)
	}
	if half[1] != "09:30" || half[8] != "" || half[10] != "0" {
		t.Errorf("09:30 row %q", half)
	}
}
