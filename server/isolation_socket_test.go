package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/agente2e"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/softphone"
)

// The agent socket's part of the isolation walk: A's agent sends every
// message type of the page (as docs/softphone.md lists them) naming B's
// call, B's queue, B's agent, B's number and B's pause reason. Whatever
// reaches the call-handling adapter is on behalf of A's agent, and B's
// page sees nothing of it. Whether a transfer target belongs to the
// caller's organisation is the adapter's decision (it alone knows the
// call's organisation); here the adapter is agente2e's fake.

// isoDirectory maps the organisations' agent users to their agents.
type isoDirectory struct {
	agents map[config.UserID]softphone.AgentID
}

func (d isoDirectory) AgentFor(_ context.Context, u config.User) (softphone.AgentID, error) {
	if a, ok := d.agents[u.ID]; ok {
		return a, nil
	}
	return "", fmt.Errorf("user %d: %w", u.ID, config.ErrNotFound)
}
func (isoDirectory) AgentSetup(context.Context, softphone.AgentID) (server.AgentSetup, error) {
	return server.AgentSetup{}, nil
}
func (isoDirectory) SetAgentQueues(context.Context, softphone.AgentID, []string) error { return nil }
func (isoDirectory) Colleagues(context.Context, softphone.AgentID) ([]server.Colleague, error) {
	return nil, nil
}

// ccOp is one call on the adapter.
type ccOp struct {
	kind  string
	agent softphone.AgentID
	call  softphone.CallID
	t     softphone.Transfer
}

// recordingControl records every call on the adapter, then hands it to
// the fake.
type recordingControl struct {
	*agente2e.FakeControl
	mu  sync.Mutex
	ops []ccOp
}

func (r *recordingControl) add(op ccOp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

func (r *recordingControl) take() []ccOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

func (r *recordingControl) Answer(ctx context.Context, a softphone.AgentID, c softphone.CallID) error {
	r.add(ccOp{kind: "answer", agent: a, call: c})
	return r.FakeControl.Answer(ctx, a, c)
}
func (r *recordingControl) Decline(ctx context.Context, a softphone.AgentID, c softphone.CallID) error {
	r.add(ccOp{kind: "decline", agent: a, call: c})
	return r.FakeControl.Decline(ctx, a, c)
}
func (r *recordingControl) Hangup(ctx context.Context, a softphone.AgentID, c softphone.CallID) error {
	r.add(ccOp{kind: "hangup", agent: a, call: c})
	return r.FakeControl.Hangup(ctx, a, c)
}
func (r *recordingControl) Hold(ctx context.Context, a softphone.AgentID, c softphone.CallID, on bool) error {
	r.add(ccOp{kind: "hold", agent: a, call: c})
	return r.FakeControl.Hold(ctx, a, c, on)
}
func (r *recordingControl) Transfer(ctx context.Context, a softphone.AgentID, c softphone.CallID, t softphone.Transfer) error {
	r.add(ccOp{kind: "transfer", agent: a, call: c, t: t})
	return r.FakeControl.Transfer(ctx, a, c, t)
}
func (r *recordingControl) SendDTMF(ctx context.Context, a softphone.AgentID, c softphone.CallID, d string) error {
	r.add(ccOp{kind: "dtmf", agent: a, call: c})
	return r.FakeControl.SendDTMF(ctx, a, c, d)
}
func (r *recordingControl) SetState(ctx context.Context, a softphone.AgentID, s softphone.AgentState, reason string) error {
	r.add(ccOp{kind: "state", agent: a})
	return r.FakeControl.SetState(ctx, a, s, reason)
}
func (r *recordingControl) PageOnline(a softphone.AgentID, on bool) {
	r.add(ccOp{kind: "online", agent: a})
	r.FakeControl.PageOnline(a, on)
}

// pageMessages reads the "From the page" table of docs/softphone.md: each
// message type with the fields it documents.
func pageMessages(t *testing.T) map[string][][]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/softphone.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### From the page")
	if !ok {
		t.Fatal("docs/softphone.md has no \"From the page\" section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| ([^|]*)\\|")
	field := regexp.MustCompile("`([a-z]+)")
	out := map[string][][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var fields []string
		for _, f := range field.FindAllStringSubmatch(m[2], -1) {
			fields = append(fields, f[1])
		}
		out[m[1]] = append(out[m[1]], fields)
	}
	if len(out) < 10 {
		t.Fatalf("only %d message types in docs/softphone.md", len(out))
	}
	return out
}

// isoPage is one agent page's socket.
type isoPage struct {
	t *testing.T
	c *websocket.Conn
}

func (p *isoPage) send(m map[string]any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageText, mustJSON(p.t, m)); err != nil {
		p.t.Fatalf("write %v: %v", m, err)
	}
}

func (p *isoPage) next() softphone.Message {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := p.c.Read(ctx)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	var m softphone.Message
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("non-JSON %q", b)
	}
	return m
}

// reply reads until the answer to request id, returning what came before.
func (p *isoPage) reply(id string) (softphone.Message, []softphone.Message) {
	p.t.Helper()
	var before []softphone.Message
	for {
		m := p.next()
		if m.ID == id {
			return m, before
		}
		before = append(before, m)
	}
}

func TestIsolationAgentSocket(t *testing.T) {
	t.Parallel()
	tp := newIsoTemplate(t)
	m, err := softphone.New(softphone.Config{LoopbackOnly: true, PortMin: 46200, PortMax: 46299}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	rc := &recordingControl{FakeControl: agente2e.NewFakeControl(m)}
	m.SetCallControl(rc)
	aAgent := softphone.AgentID(config.EngineAgentID(tp.a.agent.ID))
	bAgent := softphone.AgentID(config.EngineAgentID(tp.b.agent.ID))
	dir := isoDirectory{agents: map[config.UserID]softphone.AgentID{
		tp.a.users[config.RoleAgent].ID: aAgent, tp.b.users[config.RoleAgent].ID: bAgent}}
	w := tp.worldWith(t, func(o *server.Options) { o.Softphone = &server.AgentOptions{Manager: m, Directory: dir} })
	hs := httptest.NewServer(w.srv)
	t.Cleanup(hs.Close)
	open := func(user string) *isoPage {
		t.Helper()
		resp, err := http.Post(hs.URL+"/api/v1/auth/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, testPassword)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == server.SessionCookie && c.Value != "" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatalf("login %s: %d", user, resp.StatusCode)
		}
		h := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}, "Origin": {hs.URL}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, strings.Replace(hs.URL, "http", "ws", 1)+"/agent/ws", &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatalf("dial as %s: %v", user, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		p := &isoPage{t: t, c: c}
		p.send(map[string]any{"type": "hello", "id": "h"})
		if r, _ := p.reply("h"); r.Type != "welcome" {
			t.Fatalf("hello as %s: %+v", user, r)
		}
		return p
	}
	pb := open(w.b.users[config.RoleAgent].Username)
	pa := open(w.a.users[config.RoleAgent].Username)
	const bCall, aCall = softphone.CallID(bMark + "-call"), softphone.CallID("aaa-call")
	if err := rc.Offer(bAgent, bCall, w.b.q.Name, "+4599999999", time.Second); err != nil {
		t.Fatal(err)
	}
	if r := pb.next(); r.Type != "ring" || r.Call != bCall {
		t.Fatalf("B's page: %+v, want the ring of B's call", r)
	}
	rc.take()

	bTargets := map[string]string{"queue": string(config.EngineQueueID(w.b.slug, w.b.q.Name)), "agent": string(bAgent), "number": w.b.num.Number}
	var adapterDecides []string
	n := 0
	for typ, rows := range pageMessages(t) {
		for _, fields := range rows {
			var msgs []map[string]any
			base := map[string]any{"type": typ}
			media := false
			for _, f := range fields {
				switch f {
				case "call":
					base["call"] = bCall
				case "on":
					base["on"] = true
				case "digits":
					base["digits"] = "1"
				case "reason":
					base["reason"] = bMark + "-frokost"
				case "sdp", "candidate":
					media = true // negotiation names no object
				case "transfer":
				default:
					t.Fatalf("docs/softphone.md: message %s has field %q, which TestIsolationAgentSocket cannot fill with B's object: add it", typ, f)
				}
			}
			if media {
				continue
			}
			msgs = append(msgs, base)
			if slices.Contains(fields, "transfer") {
				msgs = nil
				for _, call := range []softphone.CallID{bCall, aCall} {
					for kind, to := range bTargets {
						for _, mode := range []string{"blind", "attended"} {
							msgs = append(msgs, map[string]any{"type": typ, "call": call, "transfer": map[string]any{"kind": kind, "to": to, "mode": mode}})
						}
					}
					for _, mode := range []string{"complete", "cancel"} {
						msgs = append(msgs, map[string]any{"type": typ, "call": call, "transfer": map[string]any{"mode": mode}})
					}
				}
			}
			for _, msg := range msgs {
				if msg["call"] == aCall {
					// A's own call, offered anew: only the target names B.
					if err := rc.Offer(aAgent, aCall, w.a.q.Name, "+4511111111", time.Second); err != nil {
						t.Fatal(err)
					}
				}
				n++
				id := fmt.Sprintf("iso-%d", n)
				msg["id"] = id
				pa.send(msg)
				r, _ := pa.reply(id)
				if msg["call"] == bCall && r.Type != "error" {
					t.Errorf("A's agent naming B's call %v: answered %+v, want an error", msg, r)
				}
				for _, op := range rc.take() {
					if op.agent != aAgent {
						t.Errorf("A's page sent %v; the adapter was asked on behalf of %s (A's agent is %s)", msg, op.agent, aAgent)
					}
					if op.kind == "transfer" && op.call == aCall && op.t.To != "" {
						adapterDecides = append(adapterDecides, fmt.Sprintf("%s %s→%s", op.t.Mode, op.t.Kind, op.t.To))
					}
				}
			}
		}
	}
	// B's page got nothing from all that: its next message answers its
	// own ping.
	pb.send(map[string]any{"type": "ping", "id": "b-ping"})
	if r, before := pb.reply("b-ping"); r.Type != "pong" || len(before) > 0 {
		t.Errorf("B's page received %+v before its pong %+v", before, r)
	}
	if n < 15 {
		t.Fatalf("only %d messages sent", n)
	}
	t.Logf("%d messages; transfers of A's own call to B's targets that only the adapter can refuse: %s", n, strings.Join(adapterDecides, ", "))
}
