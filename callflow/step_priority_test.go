package callflow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// priorityFlow: a menu where 9 is "emergency" (priority 5) and 1 the
// ordinary queue step, which has priority 2 of its own.
const priorityFlowJSON = `{"name":"akut","start":"menu","steps":[
 {"id":"menu","kind":"menu","menu":{"announcement":"menu","options":{"1":"kø","9":"akut"}}},
 {"id":"akut","kind":"priority","priority":{"priority":5,"next":"kø"}},
 {"id":"kø","kind":"queue","queue":{"queue":"borgerservice","priority":2}}]}`

func priorityFlow(t *testing.T) *Flow {
	t.Helper()
	var f Flow
	if err := json.Unmarshal([]byte(priorityFlowJSON), &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

var priorityRefs = StaticRefs{Queues: map[QueueRef]bool{"borgerservice": true}, Announcements: map[AnnouncementRef]bool{"menu": true}}

func TestPriorityStepJSON(t *testing.T) {
	f := priorityFlow(t)
	p, _ := f.Steps[1].Settings.(*PriorityStep)
	if p == nil || p.Priority != 5 || p.Next != "kø" {
		t.Fatalf("priority step read as %+v", p)
	}
	b, err := json.Marshal(f.Steps[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"akut","kind":"priority","priority":{"priority":5,"next":"kø"}}`; string(b) != want {
		t.Errorf("written as %s, want %s", b, want)
	}
}

func TestPriorityStepRun(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, copenhagen)
	tests := []struct {
		name     string
		key      string
		set      int // the priority step's value
		wantPrio int
	}{
		{"menu choice without priority step keeps the queue step's", "1", 5, 2},
		{"priority step raises it", "9", 5, 5},
		{"queue step's own priority wins when higher", "9", 1, 2},
		{"priority 0 leaves the queue step's", "9", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := priorityFlow(t)
			f.Steps[1].Settings.(*PriorityStep).Priority = tt.set
			if err := f.Validate(priorityRefs); err != nil {
				t.Fatal(err)
			}
			r, a := Start(f, CallInfo{Caller: "+4512345678", Now: now}, Options{})
			if _, ok := a.(Play); !ok {
				t.Fatalf("first action %T, want Play", a)
			}
			a = r.Next(now, Digit(tt.key))
			e, ok := a.(Enqueue)
			if !ok {
				t.Fatalf("after key %s: %#v, want Enqueue", tt.key, a)
			}
			if e.Priority != tt.wantPrio || e.Queue != "borgerservice" || e.StepID != "kø" {
				t.Errorf("Enqueue %+v, want priority %d in borgerservice at kø", e, tt.wantPrio)
			}
		})
	}
}

func TestPriorityStepSimulate(t *testing.T) {
	path, err := Simulate(priorityFlow(t), SimInput{Caller: "+4512345678", Time: time.Date(2026, 3, 2, 10, 0, 0, 0, copenhagen), Digits: []string{"9"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range path {
		lines = append(lines, string(p.Step)+": "+p.Explanation)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{"akut: prioritet sat til 5 → step 'kø'", "kø: queue 'borgerservice' (priority 5)"} {
		if !strings.Contains(got, want) {
			t.Errorf("path lacks %q:\n%s", want, got)
		}
	}
}

func TestPriorityStepValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*PriorityStep)
		field string
		code  Code
	}{
		{"negative", func(p *PriorityStep) { p.Priority = -1 }, "priority.priority", CodeBadValue},
		{"above the maximum", func(p *PriorityStep) { p.Priority = MaxPriority + 1 }, "priority.priority", CodeBadValue},
		{"no next", func(p *PriorityStep) { p.Next = "" }, "priority.next", CodeMissingBranch},
		{"next does not exist", func(p *PriorityStep) { p.Next = "nope" }, "priority.next", CodeDanglingBranch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := priorityFlow(t)
			tt.edit(f.Steps[1].Settings.(*PriorityStep))
			var found bool
			for _, p := range f.Check(priorityRefs) {
				found = found || (p.Step == "akut" && p.Field == tt.field && p.Code == tt.code && p.Severity == SeverityError)
			}
			if !found {
				t.Errorf("no %s error on %s: %v", tt.code, tt.field, f.Check(priorityRefs))
			}
		})
	}
	t.Run("the maximum is valid", func(t *testing.T) {
		f := priorityFlow(t)
		f.Steps[1].Settings.(*PriorityStep).Priority = MaxPriority
		if err := f.Validate(priorityRefs); err != nil {
			t.Error(err)
		}
	})
	t.Run("settings missing", func(t *testing.T) {
		f := priorityFlow(t)
		f.Steps[1].Settings = nil
		if err := f.Validate(priorityRefs); err == nil || !strings.Contains(err.Error(), "priority settings missing") {
			t.Errorf("got %v, want priority settings missing", err)
		}
	})
}
