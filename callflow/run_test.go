package callflow

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// feed is one input and the action expected back.
type feed struct {
	in   Input
	want Action
}

func TestRun(t *testing.T) {
	var (
		welcome   = Play{StepID: "velkomst", Announcement: "velkomst"}
		prompt    = Play{StepID: "hovedmenu", Announcement: "hovedmenu", Interruptible: true}
		collect   = Collect{StepID: "hovedmenu", MaxDigits: 1, Timeout: 5 * time.Second}
		invalid   = Play{StepID: "ugyldigt", Announcement: "ugyldigt-valg"}
		qBorger   = Enqueue{StepID: "kø-borgerservice", Queue: "borgerservice"}
		qPension  = Enqueue{StepID: "pension", Queue: "pension", Priority: 1}
		closed    = Play{StepID: "lukket", Announcement: "lukket"}
		hangup    = Hangup{StepID: "læg-på", Cause: "normal", Reason: "hangup step"}
		wait      = func(id StepID) Wait { return Wait{StepID: id} }
		done      = PlaybackDone{}
		key       = func(k string) Digit { return Digit(k) }
		timeout   = Timeout{}
		normalNum = "+45 12 34 56 78"
	)
	tests := []struct {
		name     string
		caller   string
		now      time.Time
		first    Action
		feeds    []feed
		wantDone bool
	}{
		{"menu choice during the prompt", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("2"), qPension},
		}, false},
		{"menu choice after the prompt", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {done, collect}, {key("1"), qBorger},
		}, false},
		{"invalid key goes to the invalid branch, then the menu again", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {done, collect}, {key("7"), invalid}, {done, prompt}, {key("1"), qBorger},
		}, false},
		{"timeout without a noInput branch plays the menu again", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {done, collect}, {timeout, prompt}, {done, collect}, {key("2"), qPension},
		}, false},
		{"three failed attempts: exhausted", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {done, collect}, {timeout, prompt},
			{key("#"), invalid}, {done, prompt},
			{done, collect}, {timeout, qBorger},
		}, false},
		{"a valid choice resets the failed attempts", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("5"), invalid}, {done, prompt}, {done, collect}, {timeout, prompt},
			{key("9"), prompt}, // repeat: a valid choice
			{done, collect}, {timeout, prompt}, {done, collect}, {timeout, prompt},
			{done, collect}, {timeout, qBorger},
		}, false},
		{"transfer to the switchboard", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("0"), Transfer{StepID: "omstilling", Destination: "PJSIP/1000"}},
			{key("1"), Transfer{StepID: "omstilling", Destination: "PJSIP/1000"}},
		}, true},
		{"queue overflow: no agents, then timeout, then closed", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("2"), qPension}, {QueueNoAgents, qBorger}, {QueueTimeout, closed},
			{done, hangup}, {done, hangup},
		}, true},
		{"queue full", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("2"), qPension}, {QueueFull, closed},
		}, false},
		{"queue outcome without a branch hangs up", normalNum, mondayMorning, welcome, []feed{
			{done, prompt}, {key("1"), qBorger}, {QueueFull, Hangup{StepID: "kø-borgerservice", Cause: "busy", Reason: "queue full"}},
		}, true},
		{"input that does not fit is ignored", normalNum, mondayMorning, welcome, []feed{
			{key("1"), wait("velkomst")}, {QueueFull, wait("velkomst")}, {timeout, wait("velkomst")},
			{done, prompt}, {timeout, wait("hovedmenu")}, {QueueFull, wait("hovedmenu")},
			{key("1"), qBorger}, {done, wait("kø-borgerservice")}, {key("1"), wait("kø-borgerservice")},
			{QueueOutcome(99), wait("kø-borgerservice")},
		}, false},
		{"closed on saturday", normalNum, saturday, closed, []feed{{done, hangup}}, true},
		{"holiday branch on juleaften", normalNum, juleaften, Play{StepID: "helligdag", Announcement: "helligdag"}, []feed{{done, hangup}}, true},
		{"internal caller", "1234", mondayMorning, Enqueue{StepID: "kø-intern", Queue: "intern"}, nil, false},
		{"five digits is not internal", "12345", mondayMorning, welcome, nil, false},
		{"prefix rule", "004599887766", mondayMorning, Enqueue{StepID: "kø-erhverv", Queue: "erhverv", Priority: 5}, nil, false},
		{"exact rule with national number", "+4570102030", mondayMorning, Enqueue{StepID: "kø-erhverv", Queue: "erhverv", Priority: 5}, nil, false},
		{"anonymous caller", "anonymous", mondayMorning, welcome, nil, false},
		{"no caller ID", "", mondayMorning, welcome, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, a := Start(testFlow(), CallInfo{Number: "70203040", Caller: tt.caller, Now: tt.now}, Options{Schedules: testRefs().Schedules})
			if !reflect.DeepEqual(a, tt.first) {
				t.Fatalf("Start = %#v, want %#v", a, tt.first)
			}
			now := tt.now
			for i, f := range tt.feeds {
				now = now.Add(time.Second)
				got := run.Next(now, f.in)
				if !reflect.DeepEqual(got, f.want) {
					t.Fatalf("feed %d %#v: got %#v, want %#v", i, f.in, got, f.want)
				}
				if got.Step() != run.Current() {
					t.Errorf("feed %d: action step %q, Current %q", i, got.Step(), run.Current())
				}
			}
			if run.Done() != tt.wantDone {
				t.Errorf("Done = %v, want %v", run.Done(), tt.wantDone)
			}
			if err := run.Err(); err != nil {
				t.Errorf("Err = %v", err)
			}
		})
	}
}

func TestRunCallerRules(t *testing.T) {
	rules := []CallerRule{
		{Match: MatchAnonymous, Next: "anon"},
		{Match: MatchInternal, MaxLength: 4, Next: "intern"},
		{Match: MatchPrefix, Numbers: []string{"+4530", "0046"}, Next: "intl"},
		{Match: MatchPrefix, Numbers: []string{"41"}, Next: "national"},
		{Match: MatchExact, Numbers: []string{"+45 20 00 00 01", "55555"}, Next: "exact"},
	}
	tests := []struct {
		caller string
		want   StepID
	}{
		{"", "anon"},
		{"Anonymous", "anon"},
		{"unknown", "anon"},
		{"restricted", "anon"},
		{"1001", "intern"},
		{"100", "intern"},
		{"10011", "other"},
		{"+4530123456", "intl"},
		{"30123456", "intl"}, // national number of a +45 caller
		{"004530123456", "intl"},
		{"+46701234567", "intl"},
		{"+4541234567", "national"},
		{"41234567", "national"},
		{"+4741234567", "other"}, // Norwegian number: not national
		{"20000001", "exact"},
		{"+4520000001", "exact"},
		{"+4520000002", "other"},
		{"55555", "exact"},
		{"+4755555", "other"},
		// A Danish caller ID without + (as some trunks send it) is the
		// same number as with +45 for every rule.
		{"4520000001", "exact"},
		{"004520000001", "exact"},
		{"4530123456", "intl"},
		{"4541234567", "national"},
		{"45 41 23 45 67", "national"},
		// A caller ID omstil cannot read as a number equals nothing.
		{"452000000", "other"},
	}
	f := &Flow{Start: "c", Steps: []Step{{ID: "c", Kind: KindCaller, Caller: &CallerStep{Rules: rules, Default: "other"}}}}
	for _, id := range []StepID{"anon", "intern", "intl", "national", "exact", "other"} {
		f.Steps = append(f.Steps, Step{ID: id, Kind: KindHangup})
	}
	for _, tt := range tests {
		_, a := Start(f, CallInfo{Caller: tt.caller, Now: mondayMorning}, Options{})
		if a.Step() != tt.want {
			t.Errorf("caller %q → %q, want %q", tt.caller, a.Step(), tt.want)
		}
	}
}

func TestRunMenuDefaultsAndBranches(t *testing.T) {
	f := &Flow{Start: "m", Steps: []Step{
		{ID: "m", Kind: KindMenu, Menu: &MenuStep{
			Announcement: "a", Options: map[string]StepID{"1": "q"}, TimeoutSeconds: 8, Attempts: 2, NoInput: "hjælp",
		}},
		{ID: "hjælp", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "tryk-1", Next: "m"}},
		{ID: "q", Kind: KindQueue, Queue: &QueueStep{Queue: "q"}},
	}}
	run, a := Start(f, CallInfo{Now: mondayMorning}, Options{})
	steps := []struct {
		in   Input
		want Action
	}{
		{PlaybackDone{}, Collect{StepID: "m", MaxDigits: 1, Timeout: 8 * time.Second}},
		{Timeout{}, Play{StepID: "hjælp", Announcement: "tryk-1"}},
		{PlaybackDone{}, Play{StepID: "m", Announcement: "a", Interruptible: true}},
		{Digit("12"), Hangup{StepID: "m", Cause: "normal", Reason: "menu attempts exhausted"}},
	}
	if _, ok := a.(Play); !ok {
		t.Fatalf("Start = %#v", a)
	}
	for i, s := range steps {
		if got := run.Next(mondayMorning, s.in); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: got %#v, want %#v", i, got, s.want)
		}
	}
	if !run.Done() || run.Err() != nil {
		t.Errorf("Done %v, Err %v", run.Done(), run.Err())
	}
}

func TestRunFlowErrors(t *testing.T) {
	loop := &Flow{Start: "a", Steps: []Step{
		{ID: "a", Kind: KindCaller, Caller: &CallerStep{Default: "b"}},
		{ID: "b", Kind: KindCaller, Caller: &CallerStep{Default: "a"}},
	}}
	menuLoop := &Flow{Start: "m", Steps: []Step{
		{ID: "m", Kind: KindMenu, Menu: &MenuStep{Announcement: "a", Options: map[string]StepID{"1": "m"}}},
	}}
	tests := []struct {
		name  string
		f     *Flow
		feeds []Input
		steps int
	}{
		{"nil flow", nil, nil, 0},
		{"no start", &Flow{Steps: []Step{{ID: "x", Kind: KindHangup}}}, nil, 0},
		{"start missing", &Flow{Start: "y", Steps: []Step{{ID: "x", Kind: KindHangup}}}, nil, 0},
		{"loop without menu hits the cap", loop, nil, MaxSteps},
		{"dangling next", &Flow{Start: "a", Steps: []Step{{ID: "a", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "x", Next: "nope"}}}}, []Input{PlaybackDone{}}, 1},
		{"kind without settings", &Flow{Start: "a", Steps: []Step{{ID: "a", Kind: KindQueue}}}, nil, 1},
		{"unknown kind", &Flow{Start: "a", Steps: []Step{{ID: "a", Kind: "dance"}}}, nil, 1},
		{"pressing repeat forever hits the cap", menuLoop, repeatInputs(3 * MaxSteps), MaxSteps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, a := Start(tt.f, CallInfo{Now: mondayMorning}, Options{})
			for _, in := range tt.feeds {
				if run.Done() {
					break
				}
				a = run.Next(mondayMorning, in)
			}
			h, ok := a.(Hangup)
			if !ok || h.Cause != "normal" || !run.Done() {
				t.Fatalf("final action %#v (done %v), want a hangup", a, run.Done())
			}
			if !errors.Is(run.Err(), ErrFlowBroken) {
				t.Errorf("Err = %v, want ErrFlowBroken", run.Err())
			}
			if run.Steps() != tt.steps {
				t.Errorf("Steps = %d, want %d", run.Steps(), tt.steps)
			}
			if again := run.Next(mondayMorning, PlaybackDone{}); !reflect.DeepEqual(again, a) {
				t.Errorf("Next after done = %#v, want %#v", again, a)
			}
		})
	}
	// A zero Run is not usable but does not panic.
	var zero Run
	if _, ok := zero.Next(mondayMorning, PlaybackDone{}).(Hangup); !ok {
		t.Error("zero Run: want a hangup")
	}
}

func repeatInputs(n int) []Input {
	var ins []Input
	for range n {
		ins = append(ins, Digit("1"))
	}
	return ins
}

func TestRunMissingSchedule(t *testing.T) {
	// A schedule deleted after the flow was saved counts as closed.
	run, a := Start(testFlow(), CallInfo{Caller: "12345678", Now: mondayMorning}, Options{Schedules: Schedules{}})
	if want := (Play{StepID: "lukket", Announcement: "lukket"}); a != want {
		t.Errorf("Start = %#v, want %#v", a, want)
	}
	if run.Err() != nil {
		t.Errorf("Err = %v", run.Err())
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{"+4512345678": "…78", "": "anonymous", "anonymous": "anonymous", "7": "…", "12 34": "…34"} {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
