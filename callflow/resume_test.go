package callflow

import (
	"errors"
	"reflect"
	"testing"
)

func TestResume(t *testing.T) {
	var (
		closed  = Play{StepID: "lukket", Announcement: "lukket"}
		qBorger = Enqueue{StepID: "kø-borgerservice", Queue: "borgerservice"}
	)
	tests := []struct {
		name  string
		step  StepID
		feeds []feed
	}{
		{"full takes the full branch", "pension", []feed{{QueueFull, closed}}},
		{"no agents takes the no-agents branch into another queue", "pension", []feed{
			{QueueNoAgents, qBorger}, {QueueTimeout, closed}, {PlaybackDone{}, Hangup{StepID: "læg-på", Cause: "normal", Reason: "hangup step"}},
		}},
		{"timeout branch", "kø-borgerservice", []feed{{QueueTimeout, closed}}},
		{"no branch: hang up busy", "kø-erhverv", []feed{{QueueFull, Hangup{StepID: "kø-erhverv", Cause: "busy", Reason: "queue full"}}}},
		{"no timeout branch: hang up normal", "kø-erhverv", []feed{{QueueTimeout, Hangup{StepID: "kø-erhverv", Cause: "normal", Reason: "queue timeout"}}}},
		{"other input waits", "pension", []feed{
			{PlaybackDone{}, Wait{StepID: "pension"}}, {Digit("1"), Wait{StepID: "pension"}}, {Timeout{}, Wait{StepID: "pension"}},
			{QueueFull, closed},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var trace []PathStep
			r, err := Resume(testFlow(), CallInfo{Number: "70101010", Caller: "+4512345678", Now: mondayMorning},
				tc.step, Options{Trace: func(p PathStep) { trace = append(trace, p) }})
			if err != nil {
				t.Fatal(err)
			}
			if r.Current() != tc.step || r.Done() || r.Steps() != 1 {
				t.Fatalf("resumed at %q done=%v steps=%d, want at %q, not done, 1 step", r.Current(), r.Done(), r.Steps(), tc.step)
			}
			if len(trace) != 0 {
				t.Fatalf("Resume traced %v, want nothing", trace)
			}
			for i, f := range tc.feeds {
				if got := r.Next(mondayMorning, f.in); !reflect.DeepEqual(got, f.want) {
					t.Fatalf("feed %d (%#v): got %#v, want %#v", i, f.in, got, f.want)
				}
			}
			if len(trace) == 0 || trace[0].Step != tc.step {
				t.Fatalf("trace %v, want the queue step's outcome first", trace)
			}
		})
	}
}

func TestResumeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		flow *Flow
		step StepID
	}{
		{"no flow", nil, "pension"},
		{"unknown step", testFlow(), "findes-ikke"},
		{"empty step", testFlow(), ""},
		{"menu step", testFlow(), "hovedmenu"},
		{"queue step without settings", &Flow{Name: "x", Start: "q", Steps: []Step{{ID: "q", Kind: KindQueue}}}, "q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Resume(tc.flow, CallInfo{Now: mondayMorning}, tc.step, Options{})
			if !errors.Is(err, ErrCannotResume) || r != nil {
				t.Fatalf("Resume = %v, %v; want nil and ErrCannotResume", r, err)
			}
		})
	}
}
