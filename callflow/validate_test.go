package callflow

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidateFixture(t *testing.T) {
	f := testFlow()
	if err := f.Validate(testRefs()); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if ps := f.Check(testRefs()); len(ps) != 0 {
		t.Errorf("Check = %v, want no warnings", ps)
	}
}

// want is one expected problem.
type want struct {
	step  StepID
	field string
	code  Code
	msg   string // substring
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *Flow) *Flow
		want   []want // errors, in order
	}{
		{"nil flow", func(f *Flow) *Flow { return nil }, []want{{"", "steps", CodeEmptyFlow, "no steps"}}},
		{"no steps", func(f *Flow) *Flow { return &Flow{Name: "tom", Start: "a"} }, []want{{"", "steps", CodeEmptyFlow, "no steps"}}},
		{"no start", func(f *Flow) *Flow { f.Start = ""; return f }, []want{{"", "start", CodeMissingStart, "no start step"}}},
		{"start does not exist", func(f *Flow) *Flow { f.Start = "begyndelse"; return f }, []want{{"", "start", CodeMissingStart, "start step 'begyndelse' does not exist"}}},
		{"empty ID", func(f *Flow) *Flow {
			f.Steps = append(f.Steps, Step{ID: "", Kind: KindHangup})
			return f
		}, []want{{"", "steps[13].id", CodeBadID, "step ID must be"}}},
		{"ID with trailing space", func(f *Flow) *Flow {
			f.Steps = append(f.Steps, Step{ID: "x ", Kind: KindHangup})
			return f
		}, []want{{"x ", "steps[13].id", CodeBadID, "step ID"}}},
		{"duplicate ID", func(f *Flow) *Flow {
			f.Steps = append(f.Steps, Step{ID: "lukket", Kind: KindHangup})
			return f
		}, []want{{"lukket", "steps[13].id", CodeDuplicateID, "used by more than one step"}}},
		{"unknown kind", func(f *Flow) *Flow { f.step("læg-på").Kind = "dans"; return f }, []want{
			{"læg-på", "kind", CodeBadKind, `unknown kind "dans"`},
			// The steps that led only there are now dead ends.
			{"lukket", "", CodeDeadEnd, "no path from here reaches"},
			{"helligdag", "", CodeDeadEnd, ""},
		}},
		{"settings of another kind", func(f *Flow) *Flow {
			f.step("velkomst").Queue = &QueueStep{Queue: "pension"}
			return f
		}, []want{{"velkomst", "queue", CodeBadKind, "has queue settings, but the step's kind is announcement"}}},
		{"settings missing", func(f *Flow) *Flow { f.step("pension").Queue = nil; return f }, []want{{"pension", "queue", CodeBadKind, "queue settings missing"}}},
		{"missing branch", func(f *Flow) *Flow { f.step("velkomst").Announcement.Next = ""; return f }, []want{
			{"velkomst", "announcement.next", CodeMissingBranch, "no next step"},
		}},
		{"dangling branch", func(f *Flow) *Flow { f.step("hovedmenu").Menu.Options["2"] = "pensoin"; return f }, []want{
			{"hovedmenu", "menu.options[2]", CodeDanglingBranch, "next step 'pensoin' does not exist"},
		}},
		{"dangling overflow branch", func(f *Flow) *Flow { f.step("pension").Queue.NoAgents = "x"; return f }, []want{
			{"pension", "queue.noAgents", CodeDanglingBranch, "'x'"},
		}},
		{"loop without a menu", func(f *Flow) *Flow {
			f.step("lukket").Announcement.Next = "helligdag"
			f.step("helligdag").Announcement.Next = "lukket"
			return f
		}, []want{{"lukket", "", CodeLoop, "steps 'lukket', 'helligdag' form a loop with no menu in it"}}},
		{"caller step pointing at itself", func(f *Flow) *Flow { f.step("hvem").Caller.Default = "hvem"; return f }, []want{
			{"hvem", "", CodeLoop, "steps 'hvem' form a loop"},
		}},
		{"queue overflow back into the same queue", func(f *Flow) *Flow {
			f.step("kø-erhverv").Queue.Full = "kø-erhverv"
			return f
		}, []want{{"kø-erhverv", "", CodeLoop, "'kø-erhverv'"}}},
		{"menu without an exit", func(f *Flow) *Flow {
			m := f.step("hovedmenu").Menu
			m.Options = map[string]StepID{"1": "ugyldigt", "9": "hovedmenu"}
			m.Exhausted = "ugyldigt"
			return f
		}, []want{
			{"velkomst", "", CodeDeadEnd, "no path from here reaches a queue, transfer or hangup step"},
			{"hovedmenu", "", CodeDeadEnd, ""},
			{"ugyldigt", "", CodeDeadEnd, ""},
		}},
		{"unknown queue", func(f *Flow) *Flow { f.step("pension").Queue.Queue = "pensioner"; return f }, []want{
			{"pension", "queue.queue", CodeUnknownQueue, "queue 'pensioner' does not exist"},
		}},
		{"no queue", func(f *Flow) *Flow { f.step("pension").Queue.Queue = ""; return f }, []want{
			{"pension", "queue.queue", CodeBadValue, "no queue"},
		}},
		{"negative priority", func(f *Flow) *Flow { f.step("pension").Queue.Priority = -1; return f }, []want{
			{"pension", "queue.priority", CodeBadValue, "priority -1"},
		}},
		{"unknown announcement", func(f *Flow) *Flow { f.step("velkomst").Announcement.Announcement = "godmorgen"; return f }, []want{
			{"velkomst", "announcement.announcement", CodeUnknownAnnouncement, "announcement 'godmorgen' does not exist"},
		}},
		{"unknown menu announcement", func(f *Flow) *Flow { f.step("hovedmenu").Menu.Announcement = ""; return f }, []want{
			{"hovedmenu", "menu.announcement", CodeBadValue, "no announcement"},
		}},
		{"unknown schedule", func(f *Flow) *Flow { f.step("åbent").Schedule.Schedule = "rådhus"; return f }, []want{
			{"åbent", "schedule.schedule", CodeUnknownSchedule, "schedule 'rådhus' does not exist"},
		}},
		{"both schedule and inline", func(f *Flow) *Flow { f.step("åbent").Schedule.Inline = borgerservice(); return f }, []want{
			{"åbent", "schedule.schedule", CodeBadValue, "not both"},
		}},
		{"neither schedule nor inline", func(f *Flow) *Flow { f.step("åbent").Schedule.Schedule = ""; return f }, []want{
			{"åbent", "schedule.schedule", CodeBadValue, "no schedule"},
		}},
		{"bad inline time", func(f *Flow) *Flow {
			p := f.step("åbent").Schedule
			p.Schedule, p.Inline = "", borgerservice()
			p.Inline.Weekly.Monday = []Range{r("16:00", "09:00")}
			return f
		}, []want{{"åbent", "schedule.inline.weekly.monday[0]", CodeBadTime, "16:00–09:00: the start must be before the end"}}},
		{"overlapping inline ranges", func(f *Flow) *Flow {
			p := f.step("åbent").Schedule
			p.Schedule, p.Inline = "", borgerservice()
			p.Inline.Weekly.Thursday = []Range{r("08:00", "12:00"), r("11:00", "17:30")}
			return f
		}, []want{{"åbent", "schedule.inline.weekly.thursday[1]", CodeBadTime, "11:00–17:30 overlaps 08:00–12:00"}}},
		{"bad inline date", func(f *Flow) *Flow {
			p := f.step("åbent").Schedule
			p.Schedule, p.Inline = "", borgerservice()
			p.Inline.ClosingDays[0].Date = "24/12"
			return f
		}, []want{{"åbent", "schedule.inline.closingDays[0].date", CodeBadDate, `"24/12"`}}},
		{"schedule without open branch", func(f *Flow) *Flow { f.step("åbent").Schedule.Open = ""; return f }, []want{
			{"åbent", "schedule.open", CodeMissingBranch, "no next step"},
			// velkomst, hovedmenu … are now unreachable: warnings only.
		}},
		{"bad digits", func(f *Flow) *Flow {
			o := f.step("hovedmenu").Menu.Options
			o["10"], o["a"], o[""] = "pension", "pension", "pension"
			return f
		}, []want{
			{"hovedmenu", "menu.options[]", CodeBadDigit, `key ""`},
			{"hovedmenu", "menu.options[10]", CodeBadDigit, `key "10": want one of 0-9, * or #`},
			{"hovedmenu", "menu.options[a]", CodeBadDigit, `key "a"`},
		}},
		{"menu without options", func(f *Flow) *Flow { f.step("hovedmenu").Menu.Options = nil; return f }, []want{
			// Its exhausted branch still leads on: no dead end.
			{"hovedmenu", "menu.options", CodeMissingBranch, "at least one option"},
		}},
		{"menu timeout and attempts", func(f *Flow) *Flow {
			m := f.step("hovedmenu").Menu
			m.TimeoutSeconds, m.Attempts = 61, -1
			return f
		}, []want{
			{"hovedmenu", "menu.timeoutSeconds", CodeBadValue, "61: want 1–60 seconds"},
			{"hovedmenu", "menu.attempts", CodeBadValue, "-1: want 1–10"},
		}},
		{"caller rules", func(f *Flow) *Flow {
			f.step("hvem").Caller.Rules = []CallerRule{
				{Match: "land", Next: "velkomst"},
				{Match: MatchPrefix, Next: "velkomst"},
				{Match: MatchExact, Numbers: []string{"12ab"}, Next: "velkomst"},
				{Match: MatchInternal, MaxLength: 8, Next: "velkomst"},
				{Match: MatchAnonymous},
			}
			return f
		}, []want{
			{"hvem", "caller.rules[0].match", CodeBadValue, `unknown match "land"`},
			{"hvem", "caller.rules[1].numbers", CodeBadValue, "at least one number"},
			{"hvem", "caller.rules[2].numbers[0]", CodeBadValue, `"12ab" is not a phone number`},
			{"hvem", "caller.rules[3].maxLength", CodeBadValue, "8: want 1–7"},
			{"hvem", "caller.rules[4].next", CodeMissingBranch, "no next step"},
		}},
		{"caller rule numbers", func(f *Flow) *Flow {
			f.step("hvem").Caller.Rules = []CallerRule{
				{Match: MatchExact, Numbers: []string{"123456789", "+45 1234", "80 80 80 80", "1813"}, Next: "velkomst"},
				{Match: MatchPrefix, Numbers: []string{"12ab", "+", "0045", "80"}, Next: "velkomst"},
			}
			return f
		}, []want{
			{"hvem", "caller.rules[0].numbers[0]", CodeBadValue, `"123456789" is not a phone number: 9 digits`},
			{"hvem", "caller.rules[0].numbers[1]", CodeBadValue, `"+45 1234" is not a phone number: a Danish number (+45) has 8 digits`},
			{"hvem", "caller.rules[1].numbers[0]", CodeBadValue, `"12ab" is not a number prefix`},
			{"hvem", "caller.rules[1].numbers[1]", CodeBadValue, `"+" is not a number prefix`},
		}},
		{"bad transfer destinations", func(f *Flow) *Flow {
			f.step("omstilling").Transfer.Destination = "PJSIP/10 00"
			return f
		}, []want{{"omstilling", "transfer.destination", CodeBadValue, "want a phone number"}}},
		{"empty transfer destination", func(f *Flow) *Flow {
			f.step("omstilling").Transfer.Destination = ""
			return f
		}, []want{{"omstilling", "transfer.destination", CodeBadValue, ""}}},
		{"hangup cause", func(f *Flow) *Flow { f.step("læg-på").Hangup = &HangupStep{Cause: "farvel"}; return f }, []want{
			{"læg-på", "hangup.cause", CodeBadValue, `unknown cause "farvel"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.mutate(testFlow())
			err := f.Validate(testRefs())
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(ve.Problems), len(tt.want), problemLines(ve.Problems))
			}
			for i, w := range tt.want {
				p := ve.Problems[i]
				if p.Step != w.step || p.Field != w.field || p.Code != w.code || !strings.Contains(p.Message, w.msg) || p.Severity != SeverityError {
					t.Errorf("problem %d = %+v\nwant step %q field %q code %s message containing %q", i, p, w.step, w.field, w.code, w.msg)
				}
			}
			// The error text names the step.
			if s := err.Error(); tt.want[0].step != "" && !strings.Contains(s, "step '"+string(tt.want[0].step)+"'") {
				t.Errorf("Error() = %q does not name step %q", s, tt.want[0].step)
			}
		})
	}
}

func problemLines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + string(p.Severity) + " " + string(p.Code) + " " + p.String() + "\n")
	}
	return b.String()
}

func TestCheckWarnings(t *testing.T) {
	f := testFlow()
	f.Steps = append(f.Steps, Step{ID: "gammel", Kind: KindHangup})
	f.step("hovedmenu").Menu.Exhausted = ""
	if err := f.Validate(testRefs()); err != nil {
		t.Fatalf("Validate = %v; warnings must not refuse a flow", err)
	}
	ps := f.Check(testRefs())
	if len(ps) != 2 {
		t.Fatalf("Check =\n%s want 2 warnings", problemLines(ps))
	}
	if p := ps[0]; p.Step != "hovedmenu" || p.Field != "menu.exhausted" || p.Severity != SeverityWarning || !strings.Contains(p.Message, "hung up") {
		t.Errorf("warning 0 = %+v", p)
	}
	if p := ps[1]; p.Step != "gammel" || p.Code != CodeUnreachable || p.Severity != SeverityWarning {
		t.Errorf("warning 1 = %+v", p)
	}
}

func TestValidateLoopsThroughMenus(t *testing.T) {
	// A menu that re-prompts itself through an announcement, and a
	// sub-menu with a "back" key, are fine: the caller chooses each round.
	f := &Flow{Start: "hoved", Steps: []Step{
		{ID: "hoved", Kind: KindMenu, Menu: &MenuStep{Announcement: "a", Options: map[string]StepID{"1": "under", "2": "q", "9": "igen"}, Exhausted: "q"}},
		{ID: "igen", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "a", Next: "hoved"}},
		{ID: "under", Kind: KindMenu, Menu: &MenuStep{Announcement: "a", Options: map[string]StepID{"0": "hoved", "1": "slut"}, Exhausted: "hoved"}},
		{ID: "q", Kind: KindQueue, Queue: &QueueStep{Queue: "q", Timeout: "hoved"}},
		{ID: "slut", Kind: KindHangup, Hangup: &HangupStep{Cause: "busy"}},
	}}
	refs := StaticRefs{Queues: map[QueueRef]bool{"q": true}, Announcements: map[AnnouncementRef]bool{"a": true}}
	if err := f.Validate(refs); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	// Without refs nothing external exists.
	if err := f.Validate(nil); err == nil {
		t.Fatal("Validate(nil refs) = nil, want unknown queue and announcements")
	}
}

func TestValidateDeepChain(t *testing.T) {
	// A long chain must not overflow anything (the SCC search is iterative).
	const n = 20000
	f := &Flow{Start: "s0"}
	for i := range n {
		f.Steps = append(f.Steps, Step{ID: sid(i), Kind: KindCaller, Caller: &CallerStep{Default: sid(i + 1)}})
	}
	f.Steps = append(f.Steps, Step{ID: sid(n), Kind: KindHangup})
	if err := f.Validate(StaticRefs{}); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	f.Steps[n].Kind, f.Steps[n].Caller = KindCaller, &CallerStep{Default: "s0"}
	err := f.Validate(StaticRefs{})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Code != CodeLoop {
		t.Fatalf("Validate = %v, want one loop", err)
	}
}

func sid(i int) StepID { return StepID("s" + strconv.Itoa(i)) }
