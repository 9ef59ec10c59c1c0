package config_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/queue"
)

// testWAV makes a WAV file: a sine of freq Hz, seconds long, 16-bit PCM.
func testWAV(rate, channels int, freq float64, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	var b bytes.Buffer
	le := binary.LittleEndian
	data := n * channels * 2
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint16(channels))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*channels*2))
	binary.Write(&b, le, uint16(channels*2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(data))
	for i := 0; i < n; i++ {
		v := int16(0.5 * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for c := 0; c < channels; c++ {
			binary.Write(&b, le, v)
		}
	}
	return b.Bytes()
}

const testFlowJSON = `{
  "start": "åbent",
  "steps": [
    {"id": "åbent", "kind": "schedule", "schedule": {"schedule": "hverdage", "open": "velkomst", "closed": "læg-på"}},
    {"id": "velkomst", "kind": "announcement", "announcement": {"announcement": "velkomst", "next": "kø"}},
    {"id": "kø", "kind": "queue", "queue": {"queue": "borgerservice", "timeout": "læg-på"}},
    {"id": "læg-på", "kind": "hangup"}
  ]
}`

func mustFlow(t *testing.T, js string) callflow.Flow {
	t.Helper()
	var f callflow.Flow
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func weekdays() callflow.Schedule {
	r := []callflow.Range{{From: "08:00", To: "15:00"}}
	return callflow.Schedule{Weekly: callflow.Week{Monday: r, Tuesday: r, Wednesday: r, Thursday: r, Friday: r}, PublicHolidays: true}
}

// fixture creates one of everything a flow needs.
type callFixture struct {
	org    config.Organisation
	sys    config.Actor
	sched  config.Schedule
	ann    config.Announcement
	q      config.Queue
	agent  config.Agent
	flow   config.Flow
	number config.Number
}

func newCallFixture(t *testing.T, s *config.Store) callFixture {
	t.Helper()
	ctx := context.Background()
	var f callFixture
	var err error
	f.org, f.sys = mustAdmin(t, s)
	if f.sched, err = s.CreateSchedule(ctx, f.sys, config.NewSchedule{Name: "hverdage", Definition: weekdays()}); err != nil {
		t.Fatalf("schedule: %v", err)
	}
	if f.ann, err = s.CreateAnnouncement(ctx, f.sys, config.NewAnnouncement{Name: "velkomst", Filename: "C:\\lyd\\velkomst.wav", Data: testWAV(16000, 1, 440, 1)}); err != nil {
		t.Fatalf("announcement: %v", err)
	}
	qs := config.DefaultQueueSettings()
	qs.CustomAnnouncements = []config.QueueAnnouncement{{Announcement: "velkomst", EverySeconds: 60}}
	qs.Skills = []config.SkillReq{{Skill: "dansk", Level: 2}}
	if f.q, err = s.CreateQueue(ctx, f.sys, config.NewQueue{Name: "borgerservice", DisplayName: "Borgerservice", Settings: qs}); err != nil {
		t.Fatalf("queue: %v", err)
	}
	if f.agent, err = s.CreateAgent(ctx, f.sys, config.NewAgent{Name: "Anna Hansen", Skills: map[string]int{"dansk": 5}, DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1001"}); err != nil {
		t.Fatalf("agent: %v", err)
	}
	if _, err = s.CreateMembership(ctx, f.sys, config.Membership{AgentID: f.agent.ID, QueueID: f.q.ID, Tier: 1}); err != nil {
		t.Fatalf("membership: %v", err)
	}
	if f.flow, err = s.CreateFlow(ctx, f.sys, "hovednummer", mustFlow(t, testFlowJSON)); err != nil {
		t.Fatalf("flow: %v", err)
	}
	if f.number, err = s.CreateNumber(ctx, f.sys, "+4570101010", f.flow.ID, "hovednummer"); err != nil {
		t.Fatalf("number: %v", err)
	}
	return f
}

func TestCallConfigLifecycle(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			var changes atomic.Int64
			s.OnChange(func() { changes.Add(1) })
			f := newCallFixture(t, s)
			if got := changes.Load(); got != 7 {
				t.Fatalf("OnChange ran %d times for 7 changes", got)
			}
			if f.ann.DurationMS != 1000 || f.ann.OriginalFilename != "velkomst.wav" || f.ann.Audio != nil || len(f.ann.SHA256) != 64 {
				t.Fatalf("announcement %+v", f.ann)
			}

			rt, err := s.LoadRuntime(ctx)
			if err != nil {
				t.Fatal(err)
			}
			qid := queue.QueueID("default/borgerservice")
			if len(rt.Queues) != 1 || rt.Queues[0].ID != qid || rt.Queues[0].RingTimeout != 15*time.Second ||
				rt.Queues[0].Announce.Custom[0].Prompt != "default/velkomst" || rt.Queues[0].Skills[0] != (queue.SkillReq{Skill: "dansk", Level: 2}) {
				t.Fatalf("runtime queues %+v", rt.Queues)
			}
			aid := config.EngineAgentID(f.agent.ID)
			if len(rt.Agents) != 1 || rt.Agents[0].ID != aid || rt.Agents[0].Queues[0] != (queue.Membership{Queue: qid, Tier: 1, Weight: 1}) ||
				rt.AgentInfo[aid].DialString != "PJSIP/1001" {
				t.Fatalf("runtime agents %+v %+v", rt.Agents, rt.AgentInfo)
			}
			if d := rt.Dialing[f.org.ID]; !reflect.DeepEqual(d.Policy, config.UpgradeDialPolicy) {
				t.Fatalf("runtime dialing of the default organisation %+v", rt.Dialing)
			}
			num, ok := rt.Numbers["+4570101010"]
			if !ok || num.Flow.Steps[2].Queue.Queue != callflow.QueueRef(qid) || num.Flow.Steps[0].Schedule.Schedule != "default/hverdage" {
				t.Fatalf("runtime number %+v", num)
			}
			ra := rt.Announcements["default/velkomst"]
			if ra.ID != f.ann.ID || ra.DurationMS != 1000 || !strings.HasPrefix(ra.MediaName, "1-") {
				t.Fatalf("runtime announcement %+v", ra)
			}
			if _, ok := rt.Schedules["default/hverdage"]; !ok {
				t.Fatal("runtime schedule missing")
			}
			// The runtime flow runs: on a Monday morning the call reaches the queue.
			run, act := callflow.Start(num.Flow, callflow.CallInfo{Number: "+4570101010", Caller: "+4512345678",
				Now: time.Date(2026, 11, 30, 9, 0, 0, 0, callflow.Location())}, callflow.Options{Schedules: rt.Schedules})
			if p, ok := act.(callflow.Play); !ok || rt.Announcements[p.Announcement].ID != f.ann.ID {
				t.Fatalf("first action %#v", act)
			}
			if q, ok := run.Next(time.Now(), callflow.PlaybackDone{}).(callflow.Enqueue); !ok || queue.QueueID(q.Queue) != qid {
				t.Fatalf("second action %#v", q)
			}
			// The runtime's queues and agents are accepted by the engine.
			e := queue.New(queue.Options{})
			for _, qc := range rt.Queues {
				if err := e.SetQueue(qc); err != nil {
					t.Fatal(err)
				}
			}
			for _, ac := range rt.Agents {
				if err := e.SetAgent(ac); err != nil {
					t.Fatal(err)
				}
			}

			// References hold: in-use objects cannot be deleted.
			before := changes.Load()
			for name, del := range map[string]func() error{
				"queue":        func() error { return s.DeleteQueue(ctx, f.sys, f.q.ID) },
				"announcement": func() error { return s.DeleteAnnouncement(ctx, f.sys, f.ann.ID) },
				"schedule":     func() error { return s.DeleteSchedule(ctx, f.sys, f.sched.ID) },
				"flow":         func() error { return s.DeleteFlow(ctx, f.sys, f.flow.ID) },
			} {
				err := del()
				var iu *config.InUseError
				if !errors.Is(err, config.ErrInUse) || !errors.As(err, &iu) || len(iu.By) == 0 {
					t.Errorf("delete %s in use: %v", name, err)
				}
			}
			newName := "hverdage2"
			if _, err := s.UpdateSchedule(ctx, f.sys, f.sched.ID, config.SchedulePatch{Name: &newName}); !errors.Is(err, config.ErrInUse) {
				t.Errorf("rename schedule in use: %v", err)
			}
			if changes.Load() != before {
				t.Fatal("refused changes ran OnChange")
			}
			// Unwind in dependency order.
			if err := s.DeleteNumber(ctx, f.sys, f.number.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteFlow(ctx, f.sys, f.flow.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAnnouncement(ctx, f.sys, f.ann.ID); !errors.Is(err, config.ErrInUse) {
				t.Fatalf("announcement still used by the queue: %v", err)
			}
			if err := s.DeleteQueue(ctx, f.sys, f.q.ID); err != nil {
				t.Fatal(err)
			}
			if ms, _ := s.ListMemberships(ctx, f.org.ID, f.agent.ID, 0); len(ms) != 0 {
				t.Fatalf("memberships survived their queue: %+v", ms)
			}
			if err := s.DeleteAnnouncement(ctx, f.sys, f.ann.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSchedule(ctx, f.sys, f.sched.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAgent(ctx, f.sys, f.agent.ID); err != nil {
				t.Fatal(err)
			}
			entries, _ := s.ListAudit(ctx, f.org.ID, config.AuditFilter{Limit: 500})
			kinds := map[string]int{}
			for _, e := range entries {
				kinds[e.Action+" "+e.ObjectType]++
				if strings.Contains(e.AfterJSON, "UklGR") { // base64 of "RIFF"
					t.Fatal("audit holds audio bytes")
				}
			}
			for _, k := range []string{"create schedule", "create announcement", "create queue", "create agent", "create membership", "create flow", "create number",
				"delete number", "delete flow", "delete queue", "delete announcement", "delete schedule", "delete agent"} {
				if kinds[k] != 1 {
					t.Errorf("audit %q: %d entries", k, kinds[k])
				}
			}
		})
	}
}

func TestFlowRefusedNamesTheSteps(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			f := newCallFixture(t, s)
			cases := []struct {
				name, js string
				step     callflow.StepID
				code     callflow.Code
			}{
				{"unknown queue", `{"start":"a","steps":[{"id":"a","kind":"queue","queue":{"queue":"nowhere"}}]}`, "a", callflow.CodeUnknownQueue},
				{"unknown announcement", `{"start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"nope","next":"b"}},{"id":"b","kind":"hangup"}]}`, "a", callflow.CodeUnknownAnnouncement},
				{"dangling", `{"start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"velkomst","next":"ghost"}}]}`, "a", callflow.CodeDanglingBranch},
				{"loop", `{"start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"velkomst","next":"b"}},{"id":"b","kind":"announcement","announcement":{"announcement":"velkomst","next":"a"}}]}`, "", callflow.CodeLoop},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					_, err := s.CreateFlow(ctx, f.sys, "bad", mustFlow(t, c.js))
					var ve *callflow.ValidationError
					if !errors.As(err, &ve) {
						t.Fatalf("got %v, want a flow validation error", err)
					}
					found := false
					for _, p := range ve.Problems {
						if p.Code == c.code && (c.step == "" || p.Step == c.step) {
							found = true
						}
					}
					if !found {
						t.Fatalf("problems %+v lack %s at %q", ve.Problems, c.code, c.step)
					}
					// Nor may an update make a saved flow bad.
					def := mustFlow(t, c.js)
					if _, err := s.UpdateFlow(ctx, f.sys, f.flow.ID, config.FlowPatch{Definition: &def}); !errors.As(err, &ve) {
						t.Fatalf("update: %v", err)
					}
				})
			}
			flows, _ := s.ListFlows(ctx, f.org.ID)
			if len(flows) != 1 || flows[0].Definition.Steps[0].ID != "åbent" {
				t.Fatalf("refused flows changed the store: %+v", flows)
			}
		})
	}
}

func isField(err error, field string) bool {
	var ve *config.ValidationError
	return errors.As(err, &ve) && ve.Field == field
}

func TestCallConfigValidation(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	f := newCallFixture(t, s)
	sys := f.sys
	qs := func(mod func(*config.QueueSettings)) config.QueueSettings {
		q := config.DefaultQueueSettings()
		mod(&q)
		return q
	}
	cases := []struct {
		name  string
		err   error
		field string
	}{
		{"queue name", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "Borger Service", Settings: config.DefaultQueueSettings()})
			return err
		}(), "name"},
		{"queue strategy", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) { q.Strategy = "fastest" })})
			return err
		}(), "strategy"},
		{"queue weight", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) { q.Weight = 5000 })})
			return err
		}(), "weight"},
		{"queue empty policy", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) { q.EmptyPolicy = "maybe" })})
			return err
		}(), "empty_policy"},
		{"queue negative wait", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) { q.MaxWaitSeconds = -1 })})
			return err
		}(), "max_wait_seconds"},
		{"queue escalation narrows", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) {
				q.Escalation = []config.EscalationStep{{AfterSeconds: 30, MaxTier: 2}, {AfterSeconds: 60, MaxTier: 1}}
			})})
			return err
		}(), "escalation[1]"},
		{"queue escalation not later", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) {
				q.Escalation = []config.EscalationStep{{AfterSeconds: 60, MaxTier: 1}, {AfterSeconds: 60, MaxTier: 2}}
			})})
			return err
		}(), "escalation[1].after_seconds"},
		{"queue escalation negative", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) {
				q.Escalation = []config.EscalationStep{{AfterSeconds: 60, MaxTier: -1}}
			})})
			return err
		}(), "escalation[0]"},
		{"queue escalation after zero", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) {
				q.Escalation = []config.EscalationStep{{AfterSeconds: 0, MaxTier: 1}}
			})})
			return err
		}(), "escalation[0].after_seconds"},
		{"queue unknown custom announcement", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) {
				q.CustomAnnouncements = []config.QueueAnnouncement{{Announcement: "ghost", EverySeconds: 60}}
			})})
			return err
		}(), "custom_announcements[0].announcement"},
		{"queue music", func() error {
			_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "q1", Settings: qs(func(q *config.QueueSettings) { q.Music = "../etc" })})
			return err
		}(), "music"},
		{"agent device", func() error {
			_, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Bo", DeviceKind: "phone"})
			return err
		}(), "device_kind"},
		{"agent dial string", func() error {
			_, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Bo", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/10 01"})
			return err
		}(), "dial_string"},
		{"agent local without context", func() error {
			_, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Bo", DeviceKind: config.DeviceEndpoint, DialString: "Local/1001"})
			return err
		}(), "dial_string"},
		{"agent name", func() error {
			_, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: " ", DeviceKind: config.DeviceWebRTC})
			return err
		}(), "name"},
		{"agent unknown user", func() error {
			u := config.UserID(999)
			_, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Bo", UserID: &u, DeviceKind: config.DeviceWebRTC})
			return err
		}(), "user_id"},
		{"membership tier", func() error {
			_, err := s.CreateMembership(ctx, sys, config.Membership{AgentID: f.agent.ID, QueueID: f.q.ID, Tier: -1})
			return err
		}(), "tier"},
		{"number letters", func() error {
			_, err := s.CreateNumber(ctx, sys, "70ab", f.flow.ID, "")
			return err
		}(), "number"},
		{"number unknown flow", func() error {
			_, err := s.CreateNumber(ctx, sys, "70202020", 999, "")
			return err
		}(), "flow_id"},
		{"schedule name", func() error {
			_, err := s.CreateSchedule(ctx, sys, config.NewSchedule{Name: "", Definition: weekdays()})
			return err
		}(), "name"},
		{"announcement not audio", func() error {
			_, err := s.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "x", Data: []byte("hello")})
			return err
		}(), "file"},
		{"announcement mp3", func() error {
			_, err := s.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "x", Data: []byte("ID3\x03\x00rest")})
			return err
		}(), "file"},
		{"pause reasons", func() error {
			_, err := s.SetPauseReasons(ctx, sys, []string{"Frokost", "frokost"})
			return err
		}(), "reasons[1]"},
	}
	for _, c := range cases {
		if !isField(c.err, c.field) {
			t.Errorf("%s: got %v, want a validation error on %q", c.name, c.err, c.field)
		}
	}
	// Conflicts name the field.
	_, err := s.CreateQueue(ctx, sys, config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()})
	var ce *config.ConflictError
	if !errors.Is(err, config.ErrConflict) || !errors.As(err, &ce) || ce.Field != "name" {
		t.Errorf("duplicate queue: %v", err)
	}
	if _, err := s.CreateNumber(ctx, sys, "+4570101010", f.flow.ID, ""); !errors.Is(err, config.ErrConflict) {
		t.Errorf("duplicate number: %v", err)
	}
	if _, err := s.CreateMembership(ctx, sys, config.Membership{AgentID: f.agent.ID, QueueID: f.q.ID}); !errors.Is(err, config.ErrConflict) {
		t.Errorf("duplicate membership: %v", err)
	}
	// A user is at most one agent.
	u, err := s.CreateUser(ctx, sys, config.NewUser{OrgID: f.org.ID, Username: "anna", Password: "a long password!", Role: config.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAgent(ctx, sys, f.agent.ID, config.AgentPatch{UserID: &u.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Anna 2", UserID: &u.ID, DeviceKind: config.DeviceWebRTC}); !errors.Is(err, config.ErrConflict) {
		t.Errorf("second agent for a user: %v", err)
	}
	if a, err := s.AgentByUser(ctx, u.ID); err != nil || a.ID != f.agent.ID {
		t.Errorf("agent by user: %v %v", a, err)
	}
	qs2, _ := s.ListQueues(ctx, f.org.ID)
	ag, _ := s.ListAgents(ctx, f.org.ID)
	if len(qs2) != 1 || len(ag) != 1 {
		t.Fatalf("refused input was saved: %d queues, %d agents", len(qs2), len(ag))
	}
	// Pause reasons: defaults, then replaced.
	if pr, _ := s.PauseReasons(ctx, f.org.ID); len(pr) != len(config.DefaultPauseReasons) {
		t.Fatalf("default pause reasons %v", pr)
	}
	if _, err := s.SetPauseReasons(ctx, sys, []string{"Frokost", " Møde "}); err != nil {
		t.Fatal(err)
	}
	if pr, _ := s.PauseReasons(ctx, f.org.ID); strings.Join(pr, ",") != "Frokost,Møde" {
		t.Fatalf("pause reasons %v", pr)
	}
}

func TestQueuePatchAndOrgScope(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	f := newCallFixture(t, s)
	name := "Borgerservice (hovedkø)"
	q, err := s.UpdateQueue(ctx, f.sys, f.q.ID, config.QueuePatch{DisplayName: &name, Settings: func(qs *config.QueueSettings) {
		qs.Strategy = queue.StrategyRingAll
		qs.Music = "ringing"
	}})
	if err != nil || q.DisplayName != name || q.Strategy != "ringall" || q.Music != "ringing" || q.RingTimeoutSeconds != 15 {
		t.Fatalf("patch: %+v %v", q, err)
	}
	// Another organisation sees none of it.
	other := config.Actor{Username: "x", OrgID: f.org.ID + 100}
	if _, err := s.GetQueue(ctx, other.OrgID, f.q.ID); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("other org reads the queue: %v", err)
	}
	if err := s.DeleteAgent(ctx, other, f.agent.ID); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("other org deletes the agent: %v", err)
	}
	if _, err := s.CreateNumber(ctx, other, "70303030", f.flow.ID, ""); !isField(err, "flow_id") {
		t.Fatalf("other org routes to the flow: %v", err)
	}
}

func TestMediaNames(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			f := newCallFixture(t, s)
			name, err := s.AnnouncementMediaName(ctx, f.org.ID, f.ann.ID)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.AnnouncementByMediaName(ctx, name)
			if err != nil || a.ID != f.ann.ID || len(a.Audio) != 44+16000 {
				t.Fatalf("by media name: %v %d", err, len(a.Audio))
			}
			for _, forged := range []string{"1-00000000000000000000000000000000.wav", "1.wav", "x-y.wav", "2" + name[1:], name + "x"} {
				if _, err := s.AnnouncementByMediaName(ctx, forged); !errors.Is(err, config.ErrNotFound) {
					t.Errorf("forged %q: %v", forged, err)
				}
			}
			// New audio, new name: Asterisk's cache never serves the old recording.
			if _, err := s.UpdateAnnouncement(ctx, f.sys, f.ann.ID, config.AnnouncementPatch{Filename: "ny.wav", Data: testWAV(8000, 1, 500, 2)}); err != nil {
				t.Fatal(err)
			}
			name2, _ := s.AnnouncementMediaName(ctx, f.org.ID, f.ann.ID)
			if name2 == name {
				t.Fatal("media name did not change with the audio")
			}
			if _, err := s.AnnouncementByMediaName(ctx, name); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("old name still valid: %v", err)
			}
			// The key is stable across handles on the same database.
			s2 := rawStore(t, b.DSN)
			if n, _ := s2.AnnouncementMediaName(ctx, f.org.ID, f.ann.ID); n != name2 {
				t.Fatalf("second handle signs %q, first %q", n, name2)
			}
		})
	}
}

func rawStore(t *testing.T, dsn string) *config.Store {
	t.Helper()
	s, err := config.Open(context.Background(), dsn, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCallEvents(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			org, _ := mustAdmin(t, s)
			t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			var evs []config.CallEvent
			for i := 0; i < 1200; i++ {
				evs = append(evs, config.CallEvent{OrgID: org.ID, At: t0.Add(time.Duration(i) * time.Second), CallID: "c" + string(rune('a'+i%3)),
					Kind: "joined", Queue: "default/borgerservice", Caller: "+4512345678", WaitMS: int64(i), Data: `{"position":1}`})
			}
			if err := s.AppendCallEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendCallEvents(ctx, []config.CallEvent{{OrgID: org.ID, Kind: "x"}}); err == nil {
				t.Fatal("an event without a call id was accepted")
			}
			// An agent's state change has no call but names the agent.
			if err := s.AppendCallEvents(ctx, []config.CallEvent{{OrgID: org.ID, At: t0.Add(2000 * time.Second), Kind: "AgentStateChanged", Agent: "7"}}); err != nil {
				t.Fatalf("agent event: %v", err)
			}
			got, err := s.CallEventsSince(ctx, config.CallEventQuery{Since: t0.Add(1000 * time.Second), Limit: 150})
			if err != nil || len(got) != 150 || got[0].WaitMS != 1000 || !got[0].At.Equal(t0.Add(1000*time.Second)) || got[0].Caller != "+4512345678" {
				t.Fatalf("since: %d %v %+v", len(got), err, got[0])
			}
			more, _ := s.CallEventsSince(ctx, config.CallEventQuery{Org: org.ID, Since: t0, AfterID: got[len(got)-1].ID})
			if len(more) != 51 {
				t.Fatalf("next page: %d", len(more))
			}
			call, _ := s.CallEventsForCall(ctx, "cb")
			if len(call) != 400 || call[0].WaitMS != 1 || call[1].WaitMS != 4 {
				t.Fatalf("for call: %d", len(call))
			}
			n, err := s.DeleteCallEventsBefore(ctx, t0.Add(600*time.Second))
			if err != nil || n != 600 {
				t.Fatalf("retention: %d %v", n, err)
			}
			left, _ := s.CallEventsSince(ctx, config.CallEventQuery{Limit: 10000})
			if len(left) != 601 {
				t.Fatalf("left %d", len(left))
			}
		})
	}
}

// TestUpgradeFromVersion1 migrates a database that an omstil with only the
// foundation schema created and used.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	dsns := []string{filepath.Join(t.TempDir(), "v1.db")}
	if pg := configtest.PostgresDSN(t); pg != "" {
		dsns = append(dsns, pg)
	}
	for _, dsn := range dsns {
		ctx := context.Background()
		s := rawStore(t, dsn)
		if err := config.MigrateToForTest(ctx, s, 1); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.SchemaVersion(ctx); v != 1 {
			t.Fatalf("at version %d", v)
		}
		org, sys := mustAdmin(t, s)
		// Rows written as omstil at version 1 wrote them: a local user and
		// a user of an OIDC login (its link then stood in password_hash).
		hash, _ := config.HashPassword("a long password!")
		db := config.GormForTest(s)
		for _, row := range [][]any{{org.ID, "anna", hash}, {org.ID, "oidc-anne", "oidc$abc123"}} {
			if err := db.Exec("INSERT INTO users (org_id, username, display_name, password_hash, role, active, created_at, updated_at) VALUES (?, ?, '', ?, 'agent', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", row...).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		u, err := s.UserByUsername(ctx, "anna")
		if err != nil || config.IsOIDCUser(u) {
			t.Fatalf("local user after upgrade: %+v %v", u, err)
		}
		// Version 3 moved the OIDC link into its own column.
		o, err := s.UserByUsername(ctx, "oidc-anne")
		if err != nil || !config.IsOIDCUser(o) || *o.OIDCSubject != "oidc$abc123" || o.PasswordHash != "" {
			t.Fatalf("OIDC user after upgrade: %+v %v", o, err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
		// Old data is there and works with the new tables.
		if _, err := s.Authenticate(ctx, "anna", "a long password!"); err != nil {
			t.Fatal(err)
		}
		a, err := s.CreateAgent(ctx, sys, config.NewAgent{Name: "Anna", UserID: &u.ID, DeviceKind: config.DeviceWebRTC})
		if err != nil {
			t.Fatal(err)
		}
		// Deleting the user keeps the agent, unlinked.
		if err := s.DeleteUser(ctx, sys, u.ID); err != nil {
			t.Fatal(err)
		}
		if a, err = s.GetAgent(ctx, org.ID, a.ID); err != nil || a.UserID != nil {
			t.Fatalf("agent after its user went: %+v %v", a, err)
		}
	}
}

// TestQueueStrategiesFromRegistry: the store accepts exactly the engine's
// registered strategies and names them all when it refuses one.
func TestQueueStrategiesFromRegistry(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	f := newCallFixture(t, s)
	for i, name := range queue.StrategyNames() {
		q := config.DefaultQueueSettings()
		q.Strategy = name
		got, err := s.CreateQueue(ctx, f.sys, config.NewQueue{Name: "q" + string(rune('a'+i)), Settings: q})
		if err != nil || got.Strategy != name {
			t.Errorf("strategy %q: %v (stored %q)", name, err, got.Strategy)
		}
	}
	q := config.DefaultQueueSettings()
	q.Strategy = "fastest"
	_, err := s.CreateQueue(ctx, f.sys, config.NewQueue{Name: "refused", Settings: q})
	if !isField(err, "strategy") {
		t.Fatalf("unknown strategy: %v", err)
	}
	for _, name := range queue.StrategyNames() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error %q does not name %q", err, name)
		}
	}
}

// A new queue's stored settings are the engine's defaults: config keeps
// no defaults of its own (queue.DefaultQueueConfig owns them).
func TestDefaultQueueSettingsAreTheEngines(t *testing.T) {
	t.Parallel()
	got := config.DefaultQueueSettings().EngineConfig("q", nil)
	if want := queue.DefaultQueueConfig("q"); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored defaults as engine config\n%+v\nengine defaults\n%+v", got, want)
	}
}
