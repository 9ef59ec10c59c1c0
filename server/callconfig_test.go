package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// engineLive is the running call handling for tests: a real queue engine
// loaded from the store's runtime configuration, behind server.Live.
type engineLive struct {
	mu    sync.Mutex
	e     *queue.Engine
	now   func() time.Time
	calls []server.LiveCall
}

func newEngineLive(t testing.TB, st *config.Store, now func() time.Time) *engineLive {
	t.Helper()
	rt, err := st.LoadRuntime(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := &engineLive{e: queue.New(queue.Options{}), now: now}
	for _, q := range rt.Queues {
		if err := l.e.SetQueue(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range rt.Agents {
		if err := l.e.SetAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func (l *engineLive) Snapshot(context.Context) (queue.Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.e.Advance(l.now())
	return l.e.Snapshot(), nil
}

func (l *engineLive) Calls(context.Context) ([]server.LiveCall, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]server.LiveCall(nil), l.calls...), nil
}

func (l *engineLive) handle(in queue.Input) error {
	for _, o := range l.e.Handle(l.now(), in) {
		if ig, ok := o.(queue.Ignored); ok {
			return fmt.Errorf("%w: %s", server.ErrStateRefused, ig.Reason)
		}
	}
	return nil
}

func (l *engineLive) SetAgentState(_ context.Context, a queue.AgentID, state queue.State, reason string, queues []queue.QueueID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	loggedIn := false
	for _, as := range l.e.Snapshot().Agents {
		if as.ID == a {
			loggedIn = as.State != queue.LoggedOut
		}
	}
	switch state {
	case queue.LoggedOut:
		return l.handle(queue.AgentLogout{Agent: a})
	case queue.Paused:
		if !loggedIn {
			return l.handle(queue.AgentLogin{Agent: a, Queues: queues, PauseReason: reason})
		}
		return l.handle(queue.AgentPause{Agent: a, Reason: reason})
	default:
		if !loggedIn || queues != nil {
			if err := l.handle(queue.AgentLogin{Agent: a, Queues: queues}); err != nil {
				return err
			}
		}
		if loggedIn {
			return l.handle(queue.AgentReady{Agent: a})
		}
		return nil
	}
}

func sineWAV(rate int, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := 0; i < n; i++ {
		binary.Write(&b, le, int16(10000*math.Sin(2*math.Pi*440*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// callSetup is one of every call-handling object, made through the store.
type callSetup struct {
	sched config.Schedule
	ann   config.Announcement
	q     config.Queue
	agent config.Agent // linked to the fixture's agent user
	other config.Agent // not linked
	ms    config.Membership
	flow  config.Flow
	num   config.Number
}

const setupFlow = `{"start":"åbent","steps":[
 {"id":"åbent","kind":"schedule","schedule":{"schedule":"hverdage","open":"menu","closed":"lukket"}},
 {"id":"menu","kind":"menu","menu":{"announcement":"velkomst","options":{"1":"kø"},"exhausted":"lukket"}},
 {"id":"kø","kind":"queue","queue":{"queue":"borgerservice","timeout":"lukket"}},
 {"id":"lukket","kind":"hangup"}]}`

func (f *fixture) callSetup() callSetup {
	t := f.t
	t.Helper()
	ctx := context.Background()
	sys := config.SystemActor(f.org)
	var cs callSetup
	var err error
	r := []callflow.Range{{From: "08:00", To: "15:00"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cs.sched, err = f.store.CreateSchedule(ctx, sys, config.NewSchedule{Name: "hverdage", Definition: callflow.Schedule{Weekly: callflow.Week{Monday: r, Tuesday: r, Wednesday: r, Thursday: r, Friday: r}, PublicHolidays: true}})
	must(err)
	cs.ann, err = f.store.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "velkomst", Filename: "velkomst.wav", Data: sineWAV(16000, 0.5)})
	must(err)
	cs.q, err = f.store.CreateQueue(ctx, sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice", Settings: config.DefaultQueueSettings()})
	must(err)
	uid := f.users[config.RoleAgent].ID
	cs.agent, err = f.store.CreateAgent(ctx, sys, config.NewAgent{Name: "Agent One", UserID: &uid, DeviceKind: config.DeviceWebRTC})
	must(err)
	cs.other, err = f.store.CreateAgent(ctx, sys, config.NewAgent{Name: "Bo", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1002"})
	must(err)
	cs.ms, err = f.store.CreateMembership(ctx, sys, config.Membership{AgentID: cs.agent.ID, QueueID: cs.q.ID})
	must(err)
	_, err = f.store.CreateMembership(ctx, sys, config.Membership{AgentID: cs.other.ID, QueueID: cs.q.ID})
	must(err)
	var def callflow.Flow
	must(json.Unmarshal([]byte(setupFlow), &def))
	cs.flow, err = f.store.CreateFlow(ctx, sys, "hovednummer", def)
	must(err)
	cs.num, err = f.store.CreateNumber(ctx, sys, "+4570101010", cs.flow.ID, "")
	must(err)
	return cs
}

func multipartBody(t *testing.T, fields map[string]string, filename string, data []byte) (string, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if data != nil {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	return b.String(), w.FormDataContentType()
}

// TestCallConfigEndpointRoles covers every call-handling endpoint × role ×
// allowed / 401 / 403.
func TestCallConfigEndpointRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cs := f.callSetup()
	live := newEngineLive(t, f.store, func() time.Time { return f.now })
	srv, err := server.New(server.Options{Store: f.store, Now: func() time.Time { return f.now }, Live: live})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	id := func(format string, v any) string { return fmt.Sprintf(format, v) }
	mpBody, mpType := multipartBody(t, map[string]string{"name": "ny-%s"}, "x.wav", sineWAV(8000, 0.2))
	type ep struct {
		method, path, body string
		min                config.Role
		okStatus           int
		contentType        string
	}
	const sup, adm, agt = config.RoleSupervisor, config.RoleAdmin, config.RoleAgent
	eps := []ep{
		{"GET", "/api/v1/schedules", "", sup, 200, ""},
		{"POST", "/api/v1/schedules", `{"name":"s-%s","definition":{"weekly":{}}}`, adm, 201, ""},
		{"GET", "/api/v1/schedules/holidays?year=2027", "", sup, 200, ""},
		{"GET", id("/api/v1/schedules/%d", cs.sched.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/schedules/%d", cs.sched.ID), `{"definition":{"weekly":{},"publicHolidays":true}}`, adm, 200, ""},
		{"GET", "/api/v1/announcements", "", sup, 200, ""},
		{"POST", "/api/v1/announcements", mpBody, adm, 201, mpType},
		{"GET", id("/api/v1/announcements/%d", cs.ann.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/announcements/%d", cs.ann.ID), `{"description":"Velkommen"}`, adm, 200, ""},
		{"GET", id("/api/v1/announcements/%d/audio", cs.ann.ID), "", sup, 200, ""},
		{"GET", "/api/v1/queues", "", sup, 200, ""},
		{"POST", "/api/v1/queues", `{"name":"q-%s"}`, adm, 201, ""},
		{"GET", id("/api/v1/queues/%d", cs.q.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/queues/%d", cs.q.ID), `{"wrap_up_seconds":10}`, adm, 200, ""},
		{"GET", id("/api/v1/queues/%d/status", cs.q.ID), "", agt, 200, ""},
		{"GET", "/api/v1/agents", "", sup, 200, ""},
		{"POST", "/api/v1/agents", `{"name":"a-%s","device_kind":"webrtc"}`, adm, 201, ""},
		{"GET", id("/api/v1/agents/%d", cs.agent.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/agents/%d", cs.other.ID), `{"skills":{"dansk":3}}`, adm, 200, ""},
		{"GET", id("/api/v1/agents/%d/memberships", cs.agent.ID), "", sup, 200, ""},
		{"PATCH", fmt.Sprintf("/api/v1/agents/%d/memberships/%d", cs.agent.ID, cs.ms.ID), `{"tier":1}`, sup, 200, ""},
		{"PUT", id("/api/v1/agents/%d/state", cs.other.ID), `{"state":"ready"}`, sup, 200, ""},
		{"GET", id("/api/v1/agents/%d/status", cs.other.ID), "", sup, 200, ""},
		{"PUT", id("/api/v1/agents/%d/state", cs.agent.ID), `{"state":"paused","reason":"frokost"}`, agt, 200, ""}, // their own
		{"GET", id("/api/v1/agents/%d/status", cs.agent.ID), "", agt, 200, ""},
		{"GET", "/api/v1/flows", "", sup, 200, ""},
		{"POST", "/api/v1/flows", `{"name":"f-%s","definition":{"start":"a","steps":[{"id":"a","kind":"hangup"}]}}`, adm, 201, ""},
		{"POST", "/api/v1/flows/validate", setupFlow, sup, 200, ""},
		{"POST", "/api/v1/flows/simulate", `{"number":"+4570101010","time":"2026-11-30T09:00:00+01:00","digits":["1"]}`, sup, 200, ""},
		{"GET", id("/api/v1/flows/%d", cs.flow.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/flows/%d", cs.flow.ID), `{"definition":` + setupFlow + `}`, adm, 200, ""},
		{"GET", "/api/v1/numbers", "", sup, 200, ""},
		{"POST", "/api/v1/numbers", `{"number":"7020202%d","flow_id":` + fmt.Sprint(cs.flow.ID) + `}`, adm, 201, ""},
		{"GET", id("/api/v1/numbers/%d", cs.num.ID), "", sup, 200, ""},
		{"PATCH", id("/api/v1/numbers/%d", cs.num.ID), `{"description":"hovednummer"}`, adm, 200, ""},
		{"GET", "/api/v1/pause-reasons", "", agt, 200, ""},
		{"PUT", "/api/v1/pause-reasons", `{"reasons":["Frokost","Møde"]}`, adm, 200, ""},
		{"GET", "/api/v1/calls", "", agt, 200, ""},
	}
	roles := []config.Role{"", agt, sup, adm}
	for _, e := range eps {
		for i, r := range roles {
			t.Run(fmt.Sprintf("%s %s as %q", e.method, e.path, r), func(t *testing.T) {
				body := e.body
				switch {
				case strings.Contains(body, "%s"):
					body = strings.ReplaceAll(body, "%s", string(r))
				case strings.Contains(body, "%d"):
					body = fmt.Sprintf(body, i)
				}
				rq := req{method: e.method, path: e.path, body: body}
				if r != "" {
					rq.token = f.tokens[r]
				}
				if e.contentType != "" {
					rq.header = map[string]string{"Content-Type": e.contentType}
				}
				w := f.do(rq)
				want := e.okStatus
				switch {
				case r == "":
					want = 401
				case !r.AtLeast(e.min):
					want = 403
				}
				if w.Code != want {
					t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body.String())
				}
				if want >= 400 {
					errorCode(t, w)
				}
			})
		}
	}
	// An agent may not act on another agent.
	if w := f.do(req{method: "PUT", path: id("/api/v1/agents/%d/state", cs.other.ID), body: `{"state":"ready"}`, token: f.tokens[agt]}); w.Code != 403 {
		t.Errorf("agent setting another's state: %d", w.Code)
	}
	if w := f.do(req{method: "GET", path: id("/api/v1/agents/%d/status", cs.other.ID), token: f.tokens[agt]}); w.Code != 403 {
		t.Errorf("agent reading another's status: %d", w.Code)
	}
	// Deletes: 401, 403 below the role, 204 (fresh objects each time).
	for i, r := range roles {
		ctx := context.Background()
		sys := config.SystemActor(f.org)
		sc, _ := f.store.CreateSchedule(ctx, sys, config.NewSchedule{Name: "del-" + string(r) + "x", Definition: callflow.Schedule{}})
		q, _ := f.store.CreateQueue(ctx, sys, config.NewQueue{Name: "del-" + string(r) + "x", Settings: config.DefaultQueueSettings()})
		ag, _ := f.store.CreateAgent(ctx, sys, config.NewAgent{Name: "del", DeviceKind: config.DeviceWebRTC})
		ms, _ := f.store.CreateMembership(ctx, sys, config.Membership{AgentID: ag.ID, QueueID: q.ID})
		an, _ := f.store.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "del-" + string(r) + "x", Data: sineWAV(8000, 0.1)})
		fl, _ := f.store.CreateFlow(ctx, sys, "del-"+string(r)+"x", callflow.Flow{Start: "a", Steps: []callflow.Step{{ID: "a", Kind: callflow.KindHangup}}})
		nu, _ := f.store.CreateNumber(ctx, sys, "7090909"+fmt.Sprint(i), fl.ID, "")
		for _, d := range []struct {
			path string
			min  config.Role
		}{
			{fmt.Sprintf("/api/v1/agents/%d/memberships/%d", ag.ID, ms.ID), sup},
			{id("/api/v1/numbers/%d", nu.ID), adm}, {id("/api/v1/flows/%d", fl.ID), adm},
			{id("/api/v1/schedules/%d", sc.ID), adm}, {id("/api/v1/queues/%d", q.ID), adm},
			{id("/api/v1/agents/%d", ag.ID), adm}, {id("/api/v1/announcements/%d", an.ID), adm},
		} {
			rq := req{method: "DELETE", path: d.path}
			want := 204
			switch {
			case r == "":
				want = 401
			case !r.AtLeast(d.min):
				want = 403
			}
			if r != "" {
				rq.token = f.tokens[r]
			}
			if w := f.do(rq); w.Code != want {
				t.Errorf("DELETE %s as %q: %d, want %d: %s", d.path, r, w.Code, want, w.Body.String())
			}
		}
	}
	// The Asterisk media URL needs no session, only the signature.
	name, err := f.store.AnnouncementMediaName(context.Background(), f.org, cs.ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w := f.do(req{method: "GET", path: "/media/announcements/" + name}); w.Code != 200 || w.Header().Get("Content-Type") != "audio/wav" {
		t.Errorf("media: %d %v", w.Code, w.Header())
	}
	if w := f.do(req{method: "GET", path: "/media/announcements/" + fmt.Sprint(cs.ann.ID) + "-0000.wav"}); w.Code != 404 {
		t.Errorf("forged media: %d", w.Code)
	}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body.String(), err)
	}
	return v
}

type problemsError struct {
	Error struct {
		Code, Message, Field string
		Problems             []callflow.Problem
	}
}

// TestCallConfigBadInput: each field is validated with a message naming
// it, and nothing is half-saved.
func TestCallConfigBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cs := f.callSetup()
	admin := f.tokens[config.RoleAdmin]
	ctx := context.Background()
	auditBefore, _ := f.store.ListAudit(ctx, f.org, config.AuditFilter{Limit: 500})
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"queue name", "POST", "/api/v1/queues", `{"name":"Borger Service"}`, 400, "invalid", "name"},
		{"queue strategy", "POST", "/api/v1/queues", `{"name":"q2","strategy":"fastest"}`, 400, "invalid", "strategy"},
		{"queue ring timeout", "PATCH", fmt.Sprintf("/api/v1/queues/%d", cs.q.ID), `{"ring_timeout_seconds":-5}`, 400, "invalid", "ring_timeout_seconds"},
		{"queue type", "POST", "/api/v1/queues", `{"name":"q2","weight":"heavy"}`, 400, "invalid", "weight"},
		{"queue unknown field", "POST", "/api/v1/queues", `{"name":"q2","colour":"red"}`, 400, "bad_request", ""},
		{"queue duplicate", "POST", "/api/v1/queues", `{"name":"borgerservice"}`, 409, "conflict", "name"},
		{"queue custom announcement", "PATCH", fmt.Sprintf("/api/v1/queues/%d", cs.q.ID), `{"custom_announcements":[{"announcement":"ghost","every_seconds":60}]}`, 400, "invalid", "custom_announcements[0].announcement"},
		{"agent device", "POST", "/api/v1/agents", `{"name":"X","device_kind":"phone"}`, 400, "invalid", "device_kind"},
		{"agent dial string", "POST", "/api/v1/agents", `{"name":"X","device_kind":"endpoint","dial_string":"PJSIP/1001;rm -rf"}`, 400, "invalid", "dial_string"},
		{"agent user taken", "POST", "/api/v1/agents", fmt.Sprintf(`{"name":"X","device_kind":"webrtc","user_id":%d}`, f.users[config.RoleAgent].ID), 409, "conflict", "user_id"},
		{"membership queue", "POST", fmt.Sprintf("/api/v1/agents/%d/memberships", cs.other.ID), `{"queue_id":9999}`, 400, "invalid", "queue_id"},
		{"membership twice", "POST", fmt.Sprintf("/api/v1/agents/%d/memberships", cs.agent.ID), fmt.Sprintf(`{"queue_id":%d}`, cs.q.ID), 409, "conflict", "queue_id"},
		{"membership weight", "PATCH", fmt.Sprintf("/api/v1/agents/%d/memberships/%d", cs.agent.ID, cs.ms.ID), `{"weight":5000}`, 400, "invalid", "weight"},
		{"number", "POST", "/api/v1/numbers", fmt.Sprintf(`{"number":"70-1a","flow_id":%d}`, cs.flow.ID), 400, "invalid", "number"},
		{"number taken", "POST", "/api/v1/numbers", fmt.Sprintf(`{"number":"+4570101010","flow_id":%d}`, cs.flow.ID), 409, "conflict", "number"},
		{"number flow", "POST", "/api/v1/numbers", `{"number":"70101011","flow_id":999}`, 400, "invalid", "flow_id"},
		{"schedule bad time", "POST", "/api/v1/schedules", `{"name":"s2","definition":{"weekly":{"monday":[{"from":"15:00","to":"08:00"}]}}}`, 400, "invalid", "definition"},
		{"delete queue in use", "DELETE", fmt.Sprintf("/api/v1/queues/%d", cs.q.ID), "", 409, "in_use", ""},
		{"delete flow in use", "DELETE", fmt.Sprintf("/api/v1/flows/%d", cs.flow.ID), "", 409, "in_use", ""},
		{"delete announcement in use", "DELETE", fmt.Sprintf("/api/v1/announcements/%d", cs.ann.ID), "", 409, "in_use", ""},
		{"pause reasons empty", "PUT", "/api/v1/pause-reasons", `{"reasons":[]}`, 400, "invalid", "reasons"},
		{"holidays year", "GET", "/api/v1/schedules/holidays?year=twenty", "", 400, "invalid", "year"},
		{"simulate neither", "POST", "/api/v1/flows/simulate", `{"caller":"+4512345678"}`, 400, "invalid", "number"},
		{"simulate unknown number", "POST", "/api/v1/flows/simulate", `{"number":"11111111"}`, 400, "invalid", "number"},
		{"not found", "GET", "/api/v1/queues/9999", "", 404, "not_found", ""},
		{"bad id", "GET", "/api/v1/flows/abc", "", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(req{method: c.method, path: c.path, body: c.body, token: admin})
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body.String())
			}
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			if body.Error.Code != c.code || body.Error.Field != c.field || body.Error.Message == "" {
				t.Fatalf("error %+v, want code %s field %q", body.Error, c.code, c.field)
			}
			if c.field != "" && c.field != "definition" && !strings.Contains(body.Error.Message, c.field) {
				t.Fatalf("message %q does not name %s", body.Error.Message, c.field)
			}
		})
	}
	// In-use messages say who uses it.
	w := f.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/queues/%d", cs.q.ID), token: admin})
	if !strings.Contains(w.Body.String(), "flow 'hovednummer'") {
		t.Errorf("in-use message: %s", w.Body.String())
	}
	// Bad flows list their problems by step, and the saved flow stays.
	flows := []struct{ name, def, step string }{
		{"loop", `{"start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"velkomst","next":"b"}},{"id":"b","kind":"announcement","announcement":{"announcement":"velkomst","next":"a"}}]}`, "a"},
		{"dangling", `{"start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"velkomst","next":"nowhere"}}]}`, "a"},
		{"unknown queue", `{"start":"kø","steps":[{"id":"kø","kind":"queue","queue":{"queue":"pension"}}]}`, "kø"},
	}
	for _, fl := range flows {
		for _, rq := range []req{
			{method: "POST", path: "/api/v1/flows", body: `{"name":"bad","definition":` + fl.def + `}`},
			{method: "PATCH", path: fmt.Sprintf("/api/v1/flows/%d", cs.flow.ID), body: `{"definition":` + fl.def + `}`},
		} {
			rq.token = admin
			w := f.do(rq)
			pe := decode[problemsError](t, w)
			if w.Code != 400 || pe.Error.Code != "invalid" || len(pe.Error.Problems) == 0 || !strings.Contains(pe.Error.Message, fl.step) {
				t.Errorf("%s %s: %d %s", fl.name, rq.method, w.Code, w.Body.String())
			}
			named := false
			for _, p := range pe.Error.Problems {
				named = named || p.Step == callflow.StepID(fl.step) || strings.Contains(p.Message, fl.step)
			}
			if !named {
				t.Errorf("%s: no problem names step %q: %+v", fl.name, fl.step, pe.Error.Problems)
			}
		}
		// validate says the same without saving
		w := f.do(req{method: "POST", path: "/api/v1/flows/validate", body: fl.def, token: admin})
		ck := decode[struct {
			Valid    bool
			Problems []callflow.Problem
		}](t, w)
		if w.Code != 200 || ck.Valid || len(ck.Problems) == 0 {
			t.Errorf("validate %s: %s", fl.name, w.Body.String())
		}
	}
	got, _ := f.store.GetFlow(ctx, f.org, cs.flow.ID)
	if got.Definition.Start != "åbent" || len(got.Definition.Steps) != 4 {
		t.Fatalf("a refused update changed the flow: %+v", got.Definition)
	}
	auditAfter, _ := f.store.ListAudit(ctx, f.org, config.AuditFilter{Limit: 500})
	if len(auditAfter) != len(auditBefore) {
		t.Fatalf("refused input was audited: %d → %d entries", len(auditBefore), len(auditAfter))
	}
	// Live endpoints without call handling: 503.
	for _, p := range []string{"/api/v1/calls", fmt.Sprintf("/api/v1/queues/%d/status", cs.q.ID)} {
		if w := f.do(req{method: "GET", path: p, token: admin}); w.Code != 503 || errorCode(t, w) != "not_running" {
			t.Errorf("%s without live: %d", p, w.Code)
		}
	}
}

func TestAnnouncementUploadAndPlayback(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tokens[config.RoleAdmin]
	body, ct := multipartBody(t, map[string]string{"name": "lukket", "description": "Vi har lukket"}, "lukket.wav", sineWAV(44100, 1.5))
	w := f.do(req{method: "POST", path: "/api/v1/announcements", body: body, token: admin, header: map[string]string{"Content-Type": ct}})
	if w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body.String())
	}
	a := decode[struct {
		ID         int64
		DurationMS int64  `json:"duration_ms"`
		Original   string `json:"original_filename"`
	}](t, w)
	if a.DurationMS != 1500 || a.Original != "lukket.wav" {
		t.Fatalf("announcement %+v", a)
	}
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/announcements/%d/audio", a.ID), token: admin})
	wav := w.Body.Bytes()
	if w.Code != 200 || len(wav) != 44+1500*16 || binary.LittleEndian.Uint32(wav[24:]) != 8000 || binary.LittleEndian.Uint16(wav[22:]) != 1 {
		t.Fatalf("audio: %d, %d bytes", w.Code, len(wav))
	}
	// The browser's player may ask for a range.
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/announcements/%d/audio", a.ID), token: admin, header: map[string]string{"Range": "bytes=0-43"}})
	if w.Code != 206 || w.Body.Len() != 44 {
		t.Fatalf("range: %d %d", w.Code, w.Body.Len())
	}
	bad := []struct {
		name, filename string
		data           []byte
		field          string
		noFile         bool
	}{
		{"mp3", "x.mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00rest"), "file", false},
		{"text", "x.wav", []byte("hello there"), "file", false},
		{"no file", "", nil, "file", true},
		{"bad name", "x.wav", sineWAV(8000, 0.1), "name", false},
	}
	for _, b := range bad {
		fields := map[string]string{"name": "ok-name"}
		if b.field == "name" {
			fields["name"] = "Bad Name"
		}
		var data []byte
		if !b.noFile {
			data = b.data
		}
		body, ct := multipartBody(t, fields, b.filename, data)
		w := f.do(req{method: "POST", path: "/api/v1/announcements", body: body, token: admin, header: map[string]string{"Content-Type": ct}})
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		json.Unmarshal(w.Body.Bytes(), &eb)
		if w.Code != 400 || eb.Error.Field != b.field {
			t.Errorf("%s: %d %s", b.name, w.Code, w.Body.String())
		}
		if b.name == "mp3" && !strings.Contains(eb.Error.Message, "MP3") {
			t.Errorf("mp3 message: %s", eb.Error.Message)
		}
	}
	if w := f.do(req{method: "POST", path: "/api/v1/announcements", body: `{"name":"x"}`, token: admin}); w.Code != 400 {
		t.Errorf("JSON instead of multipart: %d", w.Code)
	}
	list, _ := f.store.ListAnnouncements(context.Background(), f.org)
	if len(list) != 1 {
		t.Fatalf("bad uploads were saved: %d announcements", len(list))
	}
	// Replacing the recording changes its media name.
	n1, _ := f.store.AnnouncementMediaName(context.Background(), f.org, config.AnnouncementID(a.ID))
	body, ct = multipartBody(t, nil, "ny.wav", sineWAV(8000, 0.25))
	if w := f.do(req{method: "PUT", path: fmt.Sprintf("/api/v1/announcements/%d/audio", a.ID), body: body, token: admin, header: map[string]string{"Content-Type": ct}}); w.Code != 200 || !strings.Contains(w.Body.String(), `"duration_ms":250`) {
		t.Fatalf("replace: %d %s", w.Code, w.Body.String())
	}
	n2, _ := f.store.AnnouncementMediaName(context.Background(), f.org, config.AnnouncementID(a.ID))
	if n1 == n2 {
		t.Fatal("media name unchanged")
	}
	if w := f.do(req{method: "GET", path: "/media/announcements/" + n1}); w.Code != 404 {
		t.Fatalf("old media name still served: %d", w.Code)
	}
}

func TestFlowSimulateAndHolidays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cs := f.callSetup()
	sup := f.tokens[config.RoleSupervisor]
	type path struct {
		Flow string
		Path []callflow.PathStep
	}
	monday := `"2026-11-30T09:00:00+01:00"`
	sunday := `"2026-11-29T09:00:00+01:00"`
	cases := []struct {
		name, body string
		steps      []callflow.StepID
	}{
		{"open, presses 1", `{"number":"+4570101010","caller":"+4512345678","time":` + monday + `,"digits":["1"]}`, []callflow.StepID{"åbent", "menu", "kø"}},
		{"closed on Sunday", `{"number":"+4570101010","time":` + sunday + `}`, []callflow.StepID{"åbent", "lukket"}},
		{"queue times out", fmt.Sprintf(`{"flow_id":%d,"time":%s,"digits":["1"],"queueOutcomes":["timeout"]}`, cs.flow.ID, monday), []callflow.StepID{"åbent", "menu", "kø", "lukket"}},
		{"inline flow", `{"flow":{"start":"x","steps":[{"id":"x","kind":"hangup"}]}}`, []callflow.StepID{"x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/api/v1/flows/simulate", body: c.body, token: sup})
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			p := decode[path](t, w)
			var got []callflow.StepID
			for _, s := range p.Path {
				if len(got) == 0 || got[len(got)-1] != s.Step {
					got = append(got, s.Step)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.steps) {
				t.Fatalf("path %v, want %v: %s", got, c.steps, w.Body.String())
			}
		})
	}
	if w := f.do(req{method: "POST", path: "/api/v1/flows/simulate", body: `{"flow":{"start":"x","steps":[{"id":"x","kind":"queue","queue":{"queue":"ghost"}}]}}`, token: sup}); w.Code != 400 || !strings.Contains(w.Body.String(), "ghost") {
		t.Fatalf("simulating an invalid flow: %d %s", w.Code, w.Body.String())
	}
	w := f.do(req{method: "GET", path: "/api/v1/schedules/holidays?year=2027", token: sup})
	h := decode[struct {
		Year int
		Days []callflow.Holiday
	}](t, w)
	names := map[string]bool{}
	for _, d := range h.Days {
		names[d.Name] = true
	}
	if h.Year != 2027 || !names["Juledag"] || names["Store bededag"] {
		t.Fatalf("holidays 2027: %s", w.Body.String())
	}
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/schedules/holidays?year=2027&schedule_id=%d", cs.sched.ID), token: sup})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"schedule_id":`) {
		t.Fatalf("schedule holidays: %d %s", w.Code, w.Body.String())
	}
}

func TestAgentStateAndLiveViews(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cs := f.callSetup()
	clock := func() time.Time { return f.now }
	live := newEngineLive(t, f.store, clock)
	srv, err := server.New(server.Options{Store: f.store, Now: clock, Live: live})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	agentTok, supTok := f.tokens[config.RoleAgent], f.tokens[config.RoleSupervisor]
	state := func(tok string, id config.AgentID, body string) *httptest.ResponseRecorder {
		return f.do(req{method: "PUT", path: fmt.Sprintf("/api/v1/agents/%d/state", id), body: body, token: tok})
	}
	type status struct {
		State, Reason string
		Queues        []queue.QueueID
	}
	// The agent logs in ready, to the one queue.
	w := state(agentTok, cs.agent.ID, `{"state":"ready","queues":["borgerservice"]}`)
	if st := decode[status](t, w); w.Code != 200 || st.State != "ready" || len(st.Queues) != 1 || st.Queues[0] != "default/borgerservice" {
		t.Fatalf("ready: %d %s", w.Code, w.Body.String())
	}
	// Pause reasons come from the organisation's list, matched without case.
	if w := state(agentTok, cs.agent.ID, `{"state":"paused","reason":"skiing"}`); w.Code != 400 || !strings.Contains(w.Body.String(), "Frokost") {
		t.Fatalf("unknown reason: %d %s", w.Code, w.Body.String())
	}
	if w := state(agentTok, cs.agent.ID, `{"state":"paused","reason":"frokost"}`); decode[status](t, w).Reason != "Frokost" {
		t.Fatalf("pause: %s", w.Body.String())
	}
	// Only ready, paused and logged_out, spelt so: not the engine's other
	// states nor other spellings.
	for _, bad := range []string{`{"state":"sleeping"}`, `{"state":"ready","reason":"x"}`, `{"state":"ready","queues":["nowhere"]}`,
		`{"state":"loggedout"}`, `{"state":"logged-out"}`, `{"state":"on_call"}`, `{"state":"ringing"}`, `{"state":"Ready"}`} {
		if w := state(supTok, cs.agent.ID, bad); w.Code != 400 {
			t.Errorf("%s: %d %s", bad, w.Code, w.Body.String())
		}
	}
	// A supervisor logs Bo in; a call arrives and rings the ready agent.
	if w := state(supTok, cs.other.ID, `{"state":"ready"}`); w.Code != 200 {
		t.Fatal(w.Body.String())
	}
	live.mu.Lock()
	live.e.Handle(f.now, queue.CallArrived{Call: "c1", Queue: "default/borgerservice"})
	live.calls = []server.LiveCall{{Org: f.org, Call: "c1", Number: "+4570101010", Caller: "+4512345678", Step: "kø", Queue: "default/borgerservice", Waited: 5 * time.Second, Agent: config.EngineAgentID(cs.other.ID)},
		{Org: f.org + 1, Call: "other-org", Caller: "+4587654321"}}
	live.mu.Unlock()
	f.now = f.now.Add(3 * time.Second)
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/agents/%d/status", cs.other.ID), token: supTok})
	if st := decode[status](t, w); st.State != "ringing" {
		t.Fatalf("status while ringing: %s", w.Body.String())
	}
	w = f.do(req{method: "GET", path: fmt.Sprintf("/api/v1/queues/%d/status", cs.q.ID), token: agentTok})
	qs := decode[struct {
		Running bool
		Waiting []struct {
			Call    string
			Ringing int
			Waited  float64 `json:"waited_seconds"`
		}
		Agents struct {
			Ready   int
			Paused  int
			Ringing int
		}
	}](t, w)
	if !qs.Running || len(qs.Waiting) != 1 || qs.Waiting[0].Call != "c1" || qs.Waiting[0].Waited != 3 || qs.Agents.Ringing != 1 || qs.Agents.Paused != 1 {
		t.Fatalf("queue status: %s", w.Body.String())
	}
	// Live calls: only the organisation's; the number masked for every
	// role. A supervisor asks for it in clear, and that is audited with the
	// number's pseudonym; an agent may not.
	for _, tok := range []string{agentTok, supTok, f.tokens[config.RoleAdmin]} {
		w := f.do(req{method: "GET", path: "/api/v1/calls", token: tok})
		calls := decode[[]struct{ Call, Caller, Step string }](t, w)
		if len(calls) != 1 || calls[0].Call != "c1" || calls[0].Caller != "…78" || calls[0].Step != "kø" {
			t.Fatalf("calls: %s", w.Body.String())
		}
	}
	for tok, code := range map[string]int{agentTok: 403, supTok: 200} {
		w := f.do(req{method: "POST", path: "/api/v1/calls/c1/caller", token: tok})
		if w.Code != code || (code == 200 && decode[struct{ Call, Caller string }](t, w).Caller != "+4512345678") {
			t.Fatalf("caller in clear: %d %s", w.Code, w.Body.String())
		}
	}
	if w := f.do(req{method: "POST", path: "/api/v1/calls/nope/caller", token: supTok}); w.Code != 404 {
		t.Fatalf("caller of an unknown call: %d %s", w.Code, w.Body.String())
	}
	reveals, _ := f.store.ListAudit(context.Background(), f.org, config.AuditFilter{ObjectType: "caller"})
	if len(reveals) != 1 || reveals[0].Action != "reveal" || reveals[0].ObjectID != "c1" || reveals[0].Actor != f.users[config.RoleSupervisor].Username ||
		!strings.Contains(reveals[0].AfterJSON, `"pseud:`) || strings.Contains(reveals[0].AfterJSON, "12345678") {
		t.Fatalf("reveal audit: %+v", reveals)
	}
	// Logging out; a deactivated agent cannot log in.
	if w := state(agentTok, cs.agent.ID, `{"state":"logged_out"}`); decode[status](t, w).State != "logged_out" {
		t.Fatalf("logout: %s", w.Body.String())
	}
	off := false
	if _, err := f.store.UpdateAgent(context.Background(), config.SystemActor(f.org), cs.agent.ID, config.AgentPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if w := state(agentTok, cs.agent.ID, `{"state":"ready"}`); w.Code != 409 {
		t.Fatalf("inactive agent: %d", w.Code)
	}
}
