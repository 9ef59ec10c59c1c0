package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// The isolation walk: two organisations share one installation, A (the
// default one) and B, each with one of every object. Every operation of
// the OpenAPI document is called as A's admin, supervisor and agent, with
// B's objects in the path and B's references in the body, query and
// nested flow definitions. Nothing of B may be returned, changed or
// deleted, and a reference to B is refused or resolved inside A. The walk
// reads the document at test time: a new route is covered without editing
// this file, and a path parameter the tables below cannot map fails.

// bMark is in every name of B's objects (users, queues, agents, flows…),
// so that a response holding any of them is found by one search.
const bMark = "bbb"

// isoOrg is one organisation's objects.
type isoOrg struct {
	id     config.OrgID
	slug   string
	prefix string
	users  map[config.Role]config.User
	tokens map[config.Role]string
	// spare is an agent-role user no test caller is: the target of the
	// user routes (a password change must not log out the callers).
	spare    config.User
	spareTok config.APIToken
	sched    config.Schedule
	ann      config.Announcement
	q        config.Queue
	agent    config.Agent // linked to users[RoleAgent]
	ms       config.Membership
	flow     config.Flow
	num      config.Number
}

// pathIDs maps a path parameter to the organisation's object, by the
// collection the parameter follows: /queues/{id} is a queue,
// /agents/{id}/memberships/{membershipId} a membership. A new kind of
// path parameter needs a line here.
func (o *isoOrg) pathIDs() map[string]int64 {
	return map[string]int64{
		"schedules":     int64(o.sched.ID),
		"announcements": int64(o.ann.ID),
		"queues":        int64(o.q.ID),
		"agents":        int64(o.agent.ID),
		"memberships":   int64(o.ms.ID),
		"flows":         int64(o.flow.ID),
		"numbers":       int64(o.num.ID),
		"users":         int64(o.spare.ID),
		"tokens":        o.spareTok.ID,
		"organisations": int64(o.id),
		"calls":         int64(o.id), // a call ID no engine has: 404
	}
}

// refs maps a property of a request body (at any depth, flow definitions
// included) or a query parameter that names another object to the
// organisation's object of that kind.
func (o *isoOrg) refs() map[string]any {
	return map[string]any{
		"queue_id":     int64(o.q.ID),
		"agent_id":     int64(o.agent.ID),
		"user_id":      int64(o.spare.ID),
		"flow_id":      int64(o.flow.ID),
		"schedule_id":  int64(o.sched.ID),
		"queue":        o.q.Name,                                              // a flow's queue step
		"announcement": o.ann.Name,                                            // a flow's menu and announcement steps
		"schedule":     o.sched.Name,                                          // a flow's schedule step
		"queues":       []any{string(config.EngineQueueID(o.slug, o.q.Name))}, // an agent's login
		"number":       o.num.Number,                                          // the dialled number of a dry-run
		"reason":       o.prefix + "frokost",                                  // a pause reason
	}
}

// isoNumbers are the organisations' phone numbers (B's has no bMark).
var isoNumbers = map[string]string{"aaa-": "+4570101010", bMark + "-": "+4570999999"}

// makeIsoOrg creates one of every object in org, every name starting
// with prefix; the flow is the OpenAPI document's example, pointed at
// this organisation's schedule, announcement and queue.
func makeIsoOrg(t testing.TB, st *config.Store, doc *oaDoc, org config.Organisation, prefix string) *isoOrg {
	t.Helper()
	ctx := context.Background()
	sys := config.SystemActor(org.ID)
	o := &isoOrg{id: org.ID, slug: org.Slug, prefix: prefix, users: map[config.Role]config.User{}, tokens: map[config.Role]string{}}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s%s: %v", prefix, what, err)
		}
	}
	var err error
	for _, r := range []config.Role{config.RoleAdmin, config.RoleSupervisor, config.RoleAgent} {
		o.users[r], err = st.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: prefix + string(r), DisplayName: prefix + string(r), Password: testPassword, Role: r})
		must("user", err)
		o.tokens[r], _, err = st.CreateToken(ctx, sys, o.users[r].ID, prefix+"token")
		must("token", err)
	}
	o.spare, err = st.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: prefix + "spare", DisplayName: prefix + "spare", Password: testPassword, Role: config.RoleAgent})
	must("spare user", err)
	_, o.spareTok, err = st.CreateToken(ctx, sys, o.spare.ID, prefix+"spare-token")
	must("spare token", err)
	var sched callflow.Schedule
	must("schedule JSON", json.Unmarshal(doc.example(t, "ScheduleDefinition"), &sched))
	o.sched, err = st.CreateSchedule(ctx, sys, config.NewSchedule{Name: prefix + "tider", Definition: sched})
	must("schedule", err)
	o.ann, err = st.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: prefix + "velkomst", Description: prefix + "velkomst", Filename: prefix + "velkomst.wav", Data: sineWAV(8000, 0.2)})
	must("announcement", err)
	o.q, err = st.CreateQueue(ctx, sys, config.NewQueue{Name: prefix + "koe", DisplayName: prefix + "Kø", Settings: config.DefaultQueueSettings()})
	must("queue", err)
	uid := o.users[config.RoleAgent].ID
	o.agent, err = st.CreateAgent(ctx, sys, config.NewAgent{Name: prefix + "Agent", UserID: &uid, DeviceKind: config.DeviceWebRTC})
	must("agent", err)
	o.ms, err = st.CreateMembership(ctx, sys, config.Membership{AgentID: o.agent.ID, QueueID: o.q.ID})
	must("membership", err)
	var flow callflow.Flow
	must("flow JSON", json.Unmarshal(mustJSON(t, fillRefs(decodeAny(t, doc.example(t, "FlowDefinition")), o.refs())), &flow))
	o.flow, err = st.CreateFlow(ctx, sys, prefix+"flow", flow)
	must("flow", err)
	o.num, err = st.CreateNumber(ctx, sys, isoNumbers[prefix], o.flow.ID, prefix+"nummer")
	must("number", err)
	_, err = st.SetPauseReasons(ctx, sys, []string{prefix + "frokost"})
	must("pause reasons", err)
	return o
}

// isoWorld is a server on a copy of the two organisations' database.
type isoWorld struct {
	srv  *server.Server
	live *bothLive
	a, b *isoOrg
}

// isoTemplate builds the two organisations once in a database file that
// each operation's world copies (argon2 hashing makes building slow).
type isoTemplate struct {
	path string
	doc  *oaDoc
	a, b *isoOrg
}

var isoNow = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) // a Monday, open

func newIsoTemplate(t testing.TB) *isoTemplate {
	t.Helper()
	ctx := context.Background()
	tp := &isoTemplate{path: filepath.Join(t.TempDir(), "template.db"), doc: loadOADoc(t)}
	st, err := config.Open(ctx, tp.path, config.Options{Now: func() time.Time { return isoNow }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	orgA, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := st.CreateOrg(ctx, bMark, "BBB Kommune")
	if err != nil {
		t.Fatal(err)
	}
	// B first: its objects get the lower IDs, so an ID of B's found in
	// an answer to A cannot be an object A made during the walk.
	tp.b = makeIsoOrg(t, st, tp.doc, orgB, bMark+"-")
	tp.a = makeIsoOrg(t, st, tp.doc, orgA, "aaa-")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return tp
}

func (tp *isoTemplate) world(t testing.TB) *isoWorld { return tp.worldWith(t, nil) }

// worldWith is world with the server's options changed by opts.
func (tp *isoTemplate) worldWith(t testing.TB, opts func(*server.Options)) *isoWorld {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(tp.path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "omstil.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return isoNow }
	st, err := config.Open(ctx, path, config.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &isoWorld{a: tp.a, b: tp.b}
	w.live = &bothLive{engineLive: newEngineLive(t, st, clock)}
	// One call in each organisation, and B's agent logged in.
	w.live.calls = []server.LiveCall{
		{Org: tp.a.id, Call: "aaa-call", Number: tp.a.num.Number, Caller: "+4511111111", Queue: config.EngineQueueID(tp.a.slug, tp.a.q.Name)},
		{Org: tp.b.id, Call: bMark + "-call", Number: tp.b.num.Number, Caller: "+4599999999", Queue: config.EngineQueueID(tp.b.slug, tp.b.q.Name)},
	}
	if err := w.live.SetAgentState(ctx, config.EngineAgentID(tp.b.agent.ID), queue.Ready, "", nil); err != nil {
		t.Fatal(err)
	}
	so := server.Options{Store: st, Now: clock, Live: w.live, LiveSource: w.live}
	if opts != nil {
		opts(&so)
	}
	w.srv, err = server.New(so)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// bothLive is the engine of both organisations as the live feed's source.
type bothLive struct{ *engineLive }

func (l *bothLive) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// --- the OpenAPI document ---

type oaDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]map[string]any `json:"schemas"`
		Parameters map[string]oaParam        `json:"parameters"`
	} `json:"components"`
}

type oaParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type oaOperation struct {
	Parameters  []oaParam `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"responses"`
}

// op is one operation of the document.
type op struct {
	method, path string   // path as in the document: /queues/{id}
	query        []string // query parameter names
	bodyType     string   // "", application/json or multipart/form-data
	schema       map[string]any
	stream       bool // answers text/event-stream
}

func (o op) String() string { return o.method + " " + o.path }

func loadOADoc(t testing.TB) *oaDoc {
	t.Helper()
	var d oaDoc
	if err := json.Unmarshal(server.OpenAPIDocument(), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &d
}

// example returns the example of a component schema.
func (d *oaDoc) example(t testing.TB, name string) []byte {
	t.Helper()
	ex, ok := d.Components.Schemas[name]["example"]
	if !ok {
		t.Fatalf("openapi.json: schema %s has no example", name)
	}
	return mustJSON(t, ex)
}

// ops lists every operation, sorted.
func (d *oaDoc) ops(t testing.TB) []op {
	t.Helper()
	var out []op
	for path, methods := range d.Paths {
		for method, raw := range methods {
			if method == "parameters" {
				continue
			}
			var o oaOperation
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("openapi.json %s %s: %v", method, path, err)
			}
			x := op{method: strings.ToUpper(method), path: path}
			for _, p := range o.Parameters {
				if p.Ref != "" {
					p = d.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "query" {
					x.query = append(x.query, p.Name)
				}
			}
			if o.RequestBody != nil {
				for ct, c := range o.RequestBody.Content {
					x.bodyType, x.schema = ct, c.Schema
				}
			}
			for _, r := range o.Responses {
				if _, ok := r.Content["text/event-stream"]; ok {
					x.stream = true
				}
			}
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (d *oaDoc) resolve(s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
}

var pathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// fillPath puts the organisation's objects into the path's parameters,
// choosing the kind by the collection each parameter follows.
func fillPath(t testing.TB, path string, ids map[string]int64) string {
	t.Helper()
	segs := strings.Split(path, "/")
	for i, s := range segs {
		m := pathParam.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		kind := ""
		if i > 0 {
			kind = segs[i-1]
		}
		id, ok := ids[kind]
		if !ok {
			t.Fatalf("%s: path parameter {%s} follows %q, which isoOrg.pathIDs in isolation_test.go does not map: add the kind of object it names", path, m[1], kind)
		}
		segs[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(segs, "/")
}

// genCounter makes generated strings unique within a world.
type generator struct {
	doc  *oaDoc
	refs map[string]any
	n    int
}

// value generates a value for schema: a reference by property name, the
// schema's example (its references pointed at the organisation), the
// first enum value, or a plain value of its type. Objects get their
// required properties, their references and the properties that have an
// example.
func (g *generator) value(s map[string]any, key string) any {
	s = g.doc.resolve(s)
	if r, ok := g.refs[key]; ok && kindMatches(r, s) {
		return clone(r)
	}
	if ex, ok := s["example"]; ok {
		return fillRefs(clone(ex), g.refs)
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch s["type"] {
	case "object":
		return g.object(s, nil, nil)
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{g.value(items, "")}
	case "string":
		if s["format"] == "date-time" {
			return isoNow.Format(time.RFC3339)
		}
		g.n++
		return fmt.Sprintf("iso%04dvalue", g.n)
	case "integer", "number":
		return int64(1)
	case "boolean":
		return true
	}
	return nil
}

// object generates an object: its required properties and those of
// also, its references and the properties that have an example, but
// none of skip.
func (g *generator) object(s map[string]any, also, skip []any) map[string]any {
	out := map[string]any{}
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	req, _ := s["required"].([]any)
	for _, r := range append(req, also...) {
		required[r.(string)] = true
	}
	for name, p := range props {
		ps := g.doc.resolve(p.(map[string]any))
		_, isRef := g.refs[name]
		_, hasEx := ps["example"]
		if slices.Contains(skip, any(name)) && !required[name] {
			continue
		}
		if required[name] || (isRef && kindMatches(g.refs[name], ps)) || hasEx {
			out[name] = g.value(ps, name)
		}
	}
	return out
}

// bodies generates the request bodies of a schema: one, or one per
// alternative of a oneOf of required properties ("exactly one of").
func (g *generator) bodies(s map[string]any) []any {
	s = g.doc.resolve(s)
	alts, _ := s["oneOf"].([]any)
	if len(alts) == 0 {
		return []any{g.value(s, "")}
	}
	var all []any
	for _, a := range alts {
		req, _ := a.(map[string]any)["required"].([]any)
		all = append(all, req...)
	}
	var out []any
	for _, a := range alts {
		req, _ := a.(map[string]any)["required"].([]any)
		out = append(out, g.object(s, req, all))
	}
	return out
}

// kindMatches says whether a reference value fits a schema's type.
func kindMatches(v any, s map[string]any) bool {
	switch v.(type) {
	case int64:
		return s["type"] == "integer"
	case string:
		return s["type"] == "string" || s["type"] == nil
	case []any:
		return s["type"] == "array"
	}
	return false
}

// fillRefs points the references in a JSON value (decoded) at refs:
// every object key of refs whose value has the same kind.
func fillRefs(v any, refs map[string]any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if r, ok := refs[k]; ok && sameKind(e, r) {
				x[k] = clone(r)
				continue
			}
			x[k] = fillRefs(e, refs)
		}
	case []any:
		for i, e := range x {
			x[i] = fillRefs(e, refs)
		}
	}
	return v
}

func sameKind(a, b any) bool {
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case float64, int64:
		_, ok := b.(int64)
		return ok
	case []any:
		_, ok := b.([]any)
		return ok
	}
	return false
}

// refPaths lists where in a generated body a reference sits: each
// location is the chain of object keys and array indexes to it.
func refPaths(v any, refs map[string]any, at []any, out *[][]any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			here := append(slices.Clone(at), k)
			if r, ok := refs[k]; ok && sameKind(x[k], r) {
				*out = append(*out, here)
				continue
			}
			refPaths(x[k], refs, here, out)
		}
	case []any:
		for i, e := range x {
			refPaths(e, refs, append(slices.Clone(at), i), out)
		}
	}
}

// setAt returns a copy of v with the value at loc replaced by refs' value
// for loc's last key.
func setAt(v any, loc []any, refs map[string]any) any {
	v = clone(v)
	cur := v
	for i, k := range loc {
		last := i == len(loc)-1
		switch key := k.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				m[key] = clone(refs[key])
			}
			cur = m[key]
		case int:
			cur = cur.([]any)[key]
		}
	}
	return v
}

func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	}
	return v
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// --- calling ---

// isoCall is one request of the walk.
type isoCall struct {
	method, target string // target: path and query
	body           any    // generated body (nil: none)
	bodyType       string
}

func (c isoCall) String() string {
	if c.body == nil {
		return c.method + " " + c.target
	}
	b, _ := json.Marshal(c.body)
	return fmt.Sprintf("%s %s %s", c.method, c.target, b)
}

// encode renders the body as JSON or as a multipart form (binary fields
// get a short WAV).
func (c isoCall) encode(t *testing.T, doc *oaDoc, schema map[string]any) (string, string) {
	t.Helper()
	switch {
	case c.body == nil:
		return "", ""
	case c.bodyType == "multipart/form-data":
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		props, _ := doc.resolve(schema)["properties"].(map[string]any)
		m, _ := c.body.(map[string]any)
		for k, v := range m {
			if p, _ := props[k].(map[string]any); p != nil && p["format"] == "binary" {
				fw, err := mw.CreateFormFile(k, "iso.wav")
				if err != nil {
					t.Fatal(err)
				}
				fw.Write(sineWAV(8000, 0.2))
				continue
			}
			mw.WriteField(k, fmt.Sprint(v))
		}
		mw.Close()
		return b.String(), mw.FormDataContentType()
	default:
		return string(mustJSON(t, c.body)), "application/json"
	}
}

func (w *isoWorld) do(method, target, body, contentType, token string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	hr := httptest.NewRequest(method, target, r)
	hr.RemoteAddr = "192.0.2.10:5555"
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	hr.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, hr)
	return rec
}

// bView is everything B's admin can read through the API: every GET of
// the document (streams aside) with B's objects in the path. A's calls
// must leave it as it was.
func (w *isoWorld) bView(t testing.TB, ops []op) map[string]string {
	return w.view(t, ops, w.b)
}

// view is everything org's admin can read through the API.
func (w *isoWorld) view(t testing.TB, ops []op, org *isoOrg) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range ops {
		if o.method != "GET" || o.stream {
			continue
		}
		target := "/api/v1" + fillPath(t, o.path, org.pathIDs())
		rec := w.do("GET", target, "", "", org.tokens[config.RoleAdmin])
		out[target] = fmt.Sprintf("%d %s", rec.Code, rec.Body.String())
	}
	return out
}

// leak returns the first of B's names in an answer that the request did
// not send itself (an error may repeat what it was given), or "".
func (w *isoWorld) leak(answer []byte, sent string) string {
	a := strings.ToLower(string(answer))
	for _, s := range strings.FieldsFunc(strings.ToLower(sent), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '/' || r == '+' || r > 127)
	}) {
		if strings.Contains(s, bMark) || s == w.b.num.Number {
			a = strings.ReplaceAll(a, s, "")
		}
	}
	for _, needle := range []string{bMark, strings.TrimPrefix(w.b.num.Number, "+45"), "99999999"} {
		if i := strings.Index(a, needle); i >= 0 {
			return a[max(0, i-60):min(len(a), i+60)]
		}
	}
	return ""
}

// refersToB returns a reference to one of B's objects in a successful
// answer (problems, which report refused references, aside), or "".
func (w *isoWorld) refersToB(answer []byte) string {
	var v any
	if json.Unmarshal(answer, &v) != nil {
		return ""
	}
	bRefs := w.b.refs()
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "problems" {
					continue
				}
				if r, ok := bRefs[k]; ok {
					if f, ok := e.(float64); ok {
						if id, ok := r.(int64); ok && int64(f) == id {
							found = fmt.Sprintf("%s: %v", k, e)
						}
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return found
}

var isoRoles = []config.Role{config.RoleAgent, config.RoleSupervisor, config.RoleAdmin}

// TestIsolationEveryRoute walks every operation of the OpenAPI document.
func TestIsolationEveryRoute(t *testing.T) {
	t.Parallel()
	tp := newIsoTemplate(t)
	ops := tp.doc.ops(t)
	if len(ops) < 40 {
		t.Fatalf("only %d operations in openapi.json", len(ops))
	}
	for _, o := range ops {
		if o.stream {
			continue // GET /live: TestIsolationLiveFeed
		}
		t.Run(o.String(), func(t *testing.T) {
			w := tp.world(t)
			before := w.bView(t, ops)
			for _, c := range isoCalls(t, tp.doc, o, w) {
				for _, role := range isoRoles {
					w.check(t, tp.doc, o, c, role, ops, before)
				}
			}
			w.sameBView(t, ops, before, o.String())
		})
	}
}

// isoCalls are the requests made of one operation: with B's objects in
// the path and B's references in the body; and, where the body or query
// holds references, with A's objects in the path and one reference at a
// time pointed at B.
func isoCalls(t *testing.T, doc *oaDoc, o op, w *isoWorld) []isoCall {
	t.Helper()
	aRefs, bRefs := w.a.refs(), w.b.refs()
	gen := func(refs map[string]any) []any {
		if o.schema == nil {
			return []any{nil}
		}
		return (&generator{doc: doc, refs: refs}).bodies(o.schema)
	}
	query := func(refs map[string]any, only string) string {
		q := url.Values{}
		for _, name := range o.query {
			if r, ok := refs[name]; ok && (only == "" || only == name) {
				q.Set(name, fmt.Sprint(r))
			} else if r, ok := aRefs[name]; ok {
				q.Set(name, fmt.Sprint(r))
			}
		}
		if len(q) == 0 {
			return ""
		}
		return "?" + q.Encode()
	}
	var calls []isoCall
	hasParams := pathParam.MatchString(o.path)
	if hasParams {
		for _, body := range gen(bRefs) {
			calls = append(calls, isoCall{o.method, "/api/v1" + fillPath(t, o.path, w.b.pathIDs()) + query(bRefs, ""), body, o.bodyType})
		}
	}
	aPath := "/api/v1" + fillPath(t, o.path, w.a.pathIDs())
	named := false
	for _, base := range gen(aRefs) {
		var locs [][]any
		refPaths(base, aRefs, nil, &locs)
		for _, loc := range locs {
			calls = append(calls, isoCall{o.method, aPath + query(aRefs, ""), setAt(base, loc, bRefs), o.bodyType})
			named = true
		}
	}
	for _, name := range o.query {
		if _, ok := bRefs[name]; ok {
			calls = append(calls, isoCall{o.method, aPath + query(bRefs, name), gen(aRefs)[0], o.bodyType})
			named = true
		}
	}
	if !hasParams && !named {
		// Lists and the like: nothing of B's to name, but nothing of B's
		// may come back either.
		for _, body := range gen(aRefs) {
			calls = append(calls, isoCall{o.method, aPath, body, o.bodyType})
		}
	}
	return calls
}

// check makes one call as A's role and asserts B saw nothing of it.
func (w *isoWorld) check(t *testing.T, doc *oaDoc, o op, c isoCall, role config.Role, ops []op, before map[string]string) {
	t.Helper()
	body, ct := c.encode(t, doc, o.schema)
	rec := w.do(c.method, c.target, body, ct, w.a.tokens[role])
	what := fmt.Sprintf("as A's %s: %s", role, c)
	t.Logf("%.300s -> %d %.200s", what, rec.Code, rec.Body.String())
	if rec.Code >= 500 {
		t.Errorf("%s: %d %s", what, rec.Code, rec.Body.String())
	}
	bPath := strings.Contains(c.target, "/api/v1"+fillPath(t, o.path, w.b.pathIDs())) && pathParam.MatchString(o.path)
	if bPath && (rec.Code < 400 || rec.Code == http.StatusConflict) {
		t.Errorf("%s: B's object in the path answered %d, want 403 or 404: %s", what, rec.Code, rec.Body.String())
	}
	if l := w.leak(rec.Body.Bytes(), c.target+" "+body); l != "" {
		t.Errorf("%s: %d answer shows B's data: …%s…", what, rec.Code, l)
	}
	if rec.Code < 300 {
		if r := w.refersToB(rec.Body.Bytes()); r != "" {
			t.Errorf("%s: %d answer refers to B's object (%s): %s", what, rec.Code, r, rec.Body.String())
		}
		sent := string(mustJSON(t, c.body))
		for _, name := range []string{w.b.q.Name, w.b.ann.Name, w.b.sched.Name, string(config.EngineQueueID(w.b.slug, w.b.q.Name))} {
			if strings.Contains(sent, name) && strings.Contains(withoutProblems(rec.Body.Bytes()), name) {
				t.Errorf("%s: accepted B's %q (%d): %s", what, name, rec.Code, rec.Body.String())
			}
		}
	}
	if c.method != "GET" { // reads are compared once, after the operation
		w.sameBView(t, ops, before, what)
	}
}

// sameBView fails t where B's view differs from before.
func (w *isoWorld) sameBView(t *testing.T, ops []op, before map[string]string, what string) {
	t.Helper()
	after := w.bView(t, ops)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed B's %s:\nbefore %s\nafter  %s", what, k, v, after[k])
		}
	}
}

// withoutProblems is an answer with its "problems" lists (which name the
// references a flow was refused for) left out.
func withoutProblems(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	var strip func(v any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "problems")
			for k, e := range x {
				x[k] = strip(e)
			}
		case []any:
			for i, e := range x {
				x[i] = strip(e)
			}
		}
		return v
	}
	out, _ := json.Marshal(strip(v))
	return string(out)
}

// TestIsolationLiveFeed: A's supervisor's wallboard stream, fed by an
// engine holding both organisations (B's agent logged in), shows none of
// B's queues, agents or calls.
func TestIsolationLiveFeed(t *testing.T) {
	t.Parallel()
	tp := newIsoTemplate(t)
	w := tp.world(t)
	hs := httptest.NewServer(w.srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read := func(token string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/v1/live", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("live: %d", resp.StatusCode)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return d
			}
		}
		t.Fatalf("live: no event: %v", sc.Err())
		return ""
	}
	bQueue := string(config.EngineQueueID(w.b.slug, w.b.q.Name))
	bAgent := `"id":"` + string(config.EngineAgentID(w.b.agent.ID)) + `"`
	// B's own supervisor sees B's queue and agent: the feed does carry them.
	if d := read(w.b.tokens[config.RoleSupervisor]); !strings.Contains(d, bQueue) || !strings.Contains(d, bAgent) {
		t.Fatalf("B's feed lacks B's queue or agent: %s", d)
	}
	d := read(w.a.tokens[config.RoleSupervisor])
	if !strings.Contains(d, string(config.EngineQueueID(w.a.slug, w.a.q.Name))) {
		t.Fatalf("A's feed lacks A's queue: %s", d)
	}
	if strings.Contains(d, bMark) || strings.Contains(d, bAgent) {
		t.Fatalf("A's feed shows B's data: %s", d)
	}
}

// TestOpenAPIMatchesRoutes: every route under /api/v1 is in the document
// and every operation of the document is a route, so the isolation walk,
// which reads the document, reaches every route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	tp := newIsoTemplate(t)
	w := tp.world(t)
	routes := map[string]bool{}
	for _, r := range w.srv.RouteList() {
		if p, ok := strings.CutPrefix(r.Path, "/api/v1"); ok {
			routes[r.Method+" "+regexp.MustCompile(`:([A-Za-z]+)`).ReplaceAllString(p, "{$1}")] = true
		}
	}
	documented := map[string]bool{}
	for _, o := range tp.doc.ops(t) {
		documented[o.String()] = true
		if !routes[o.String()] {
			t.Errorf("openapi.json documents %s, which no route serves", o)
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
}

// names maps a collection to the name of the organisation's object in it.
func (o *isoOrg) names() map[string]string {
	return map[string]string{
		"schedules":     o.sched.Name,
		"announcements": o.ann.Name,
		"queues":        o.q.Name,
		"agents":        o.agent.Name,
		"staff":         o.agent.Name, // a member of staff is an agent
		"flows":         o.flow.Name,
	}
}

// TestIsolationNamesPerOrganisation: names are unique within an
// organisation only. Creating an object named as B's object of the same
// kind succeeds for A: a refusal would tell A that B has it (and let A
// take names from B). Usernames are unique in the installation, as a
// login names no organisation; that is not walked here.
func TestIsolationNamesPerOrganisation(t *testing.T) {
	t.Parallel()
	tp := newIsoTemplate(t)
	n := 0
	for _, o := range tp.doc.ops(t) {
		if o.method != "POST" || pathParam.MatchString(o.path) || o.schema == nil {
			continue
		}
		req, _ := tp.doc.resolve(o.schema)["required"].([]any)
		if !slices.Contains(req, any("name")) {
			continue
		}
		kind := o.path[strings.LastIndex(o.path, "/")+1:]
		if kind == "organisations" {
			// installation-wide, made by a system administrator only: no
			// organisation's admin creates one (TestIsolationEveryRoute
			// walks the route with A's callers: 403).
			continue
		}
		name, ok := tp.b.names()[kind]
		if !ok {
			t.Fatalf("%s creates a named object; isoOrg.names in isolation_test.go has no name of B's %s: add it", o, kind)
		}
		t.Run(o.String(), func(t *testing.T) {
			w := tp.world(t)
			body := (&generator{doc: tp.doc, refs: w.a.refs()}).bodies(o.schema)[0].(map[string]any)
			body["name"] = name
			c := isoCall{o.method, "/api/v1" + o.path, body, o.bodyType}
			enc, ct := c.encode(t, tp.doc, o.schema)
			rec := w.do(c.method, c.target, enc, ct, w.a.tokens[config.RoleAdmin])
			if rec.Code != http.StatusCreated {
				t.Errorf("A's admin: %s: %d %s, want 201", c, rec.Code, rec.Body.String())
			}
		})
		n++
	}
	if n < 4 {
		t.Fatalf("only %d named creates in openapi.json", n)
	}
}
