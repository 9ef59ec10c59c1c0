package callflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// bytesource hands out fuzz bytes, zero when used up.
type bytesource struct{ b []byte }

func (s *bytesource) next() int {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return int(v)
}

// randomFlow builds a flow of up to 10 steps whose branches point anywhere:
// at other steps, at themselves, at nothing or at a missing step.
func randomFlow(src *bytesource) *Flow {
	n := 1 + src.next()%10
	target := func() StepID {
		v := src.next() % (n + 2)
		switch v {
		case n:
			return ""
		case n + 1:
			return "missing"
		}
		return StepID(fmt.Sprintf("s%d", v))
	}
	f := &Flow{Name: "fuzz", Start: "s0"}
	if src.next()%16 == 0 {
		f.Start = target()
	}
	for i := range n {
		s := Step{ID: StepID(fmt.Sprintf("s%d", i))}
		switch src.next() % 8 {
		case 0:
			s.Kind = KindSchedule
			p := &ScheduleStep{Open: target(), Closed: target(), Holiday: target()}
			switch src.next() % 3 {
			case 0:
				p.Schedule = "borgerservice"
			case 1:
				p.Schedule = "missing"
			default:
				p.Inline = &Schedule{Weekly: Week{Monday: []Range{{From: "08:00", To: "1" + fmt.Sprint(src.next()%10) + ":00"}}}, PublicHolidays: true}
			}
			s.Schedule = p
		case 1:
			s.Kind = KindMenu
			m := &MenuStep{Announcement: "a", Options: map[string]StepID{}, Attempts: src.next() % 4,
				Invalid: target(), NoInput: target(), Exhausted: target()}
			for range 1 + src.next()%3 {
				m.Options[string("0123456789*#x"[src.next()%13])] = target()
			}
			s.Menu = m
		case 2:
			s.Kind = KindAnnouncement
			s.Announcement = &AnnouncementStep{Announcement: "a", Next: target()}
		case 3:
			s.Kind = KindCaller
			c := &CallerStep{Default: target()}
			for range src.next() % 3 {
				c.Rules = append(c.Rules, CallerRule{
					Match:   []Match{MatchPrefix, MatchExact, MatchAnonymous, MatchInternal, "odd"}[src.next()%5],
					Numbers: []string{"+4512", "1001"}, MaxLength: src.next() % 9, Next: target(),
				})
			}
			s.Caller = c
		case 4:
			s.Kind = KindQueue
			s.Queue = &QueueStep{Queue: "q", Full: target(), Timeout: target(), NoAgents: target()}
		case 5:
			s.Kind = KindTransfer
			s.Transfer = &TransferStep{Destination: "PJSIP/1000"}
		case 6:
			s.Kind = KindHangup
		default:
			s.Kind = Kind("odd") // or a kind whose settings are missing
			if src.next()%2 == 0 {
				s.Kind = KindAnnouncement
			}
		}
		f.Steps = append(f.Steps, s)
	}
	return f
}

func FuzzValidateSimulate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 1, 0, 1, 0, 2, 2, 2, 1, 4, 5, 6, 1, 2, 3})
	f.Add([]byte{5, 0, 2, 0, 1, 1, 2, 0, 3, 0, 3, 0, 1, 0, 9, 9, 9, 9, 9, 9})
	f.Add([]byte("a menu loop with digits 1 2 3 and queue outcomes"))
	refs := StaticRefs{Queues: map[QueueRef]bool{"q": true}, Announcements: map[AnnouncementRef]bool{"a": true},
		Schedules: Schedules{"borgerservice": borgerservice()}}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &bytesource{b: data}
		exerciseFlow(t, randomFlow(src), src, refs)
	})
}

// fuzzTimes are the moments a fuzzed call happens at: open, closed, a
// closing day.
var fuzzTimes = []time.Time{mondayMorning, saturday, juleaften}

// exerciseFlow checks a flow's invariants with inputs drawn from src:
// Check and Validate agree, the dry-run ends in a path or ErrFlowBroken and
// never breaks on a flow that validates, and a live-style run keeps to its
// step cap and never hands out a nil action.
func exerciseFlow(t *testing.T, flow *Flow, src *bytesource, refs StaticRefs) {
	t.Helper()
	in := SimInput{Caller: []string{"", "1001", "+4512345678"}[src.next()%3], Time: fuzzTimes[src.next()%3]}
	for range src.next() % 8 {
		in.Digits = append(in.Digits, []string{"", "1", "2", "9", "*", "#"}[src.next()%6])
	}
	for range src.next() % 4 {
		in.QueueOutcomes = append(in.QueueOutcomes, QueueOutcome(1+src.next()%3))
	}

	problems := flow.Check(refs)
	verr := flow.Validate(refs)
	hasErr := false
	for _, p := range problems {
		hasErr = hasErr || p.Severity == SeverityError
		if p.Message == "" || p.Code == "" {
			t.Fatalf("problem without code or message: %+v", p)
		}
	}
	if hasErr != (verr != nil) {
		t.Fatalf("Check errors %v but Validate = %v", hasErr, verr)
	}

	path, err := Simulate(flow, in, refs.Schedules)
	if err != nil && !errors.Is(err, ErrFlowBroken) {
		t.Fatalf("Simulate: unexpected error %v", err)
	}
	if verr == nil && err != nil && !errors.Is(err, ErrStepLimit) {
		t.Fatalf("valid flow broke in the dry-run: %v\npath: %v", err, pathLines(path))
	}
	if len(path) > 4*MaxSteps+4 {
		t.Fatalf("path of %d lines exceeds the step cap", len(path))
	}

	// The same inputs, live-style, under a small cap: never exceeded.
	const limit = 12
	run, a := Start(flow, CallInfo{Caller: in.Caller, Now: in.Time}, Options{Schedules: refs.Schedules, MaxSteps: limit})
	digits, outcomes := in.Digits, in.QueueOutcomes
	for range 100 {
		if run.Steps() > limit {
			t.Fatalf("%d steps, cap %d", run.Steps(), limit)
		}
		if run.Done() {
			break
		}
		var next Input = PlaybackDone{}
		switch a.(type) {
		case Collect:
			next = Timeout{}
			if len(digits) > 0 {
				if digits[0] != "" {
					next = Digit(digits[0])
				}
				digits = digits[1:]
			}
		case Enqueue:
			if len(outcomes) == 0 {
				next = QueueOutcome(1 + src.next()%3)
			} else {
				next, outcomes = outcomes[0], outcomes[1:]
			}
		}
		a = run.Next(in.Time, next)
		if a == nil {
			t.Fatal("nil action")
		}
		if run.Current() != a.Step() && !run.Done() {
			t.Fatalf("action at %q, run at %q", a.Step(), run.Current())
		}
	}
	if run.Steps() > limit {
		t.Fatalf("%d steps, cap %d", run.Steps(), limit)
	}
}

// FuzzValidateFlow: any JSON that decodes as a flow, as the flows API takes
// it, validates without panicking, survives the JSON round trip the store
// makes with the same verdict, and, when it validates, runs its dry-run and
// a live-style run without a flow error. drive chooses the call's inputs.
func FuzzValidateFlow(f *testing.F) {
	fixture, err := json.Marshal(testFlow())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture, []byte{1, 0, 2, 1, 1})
	f.Add(fixture, []byte{2, 1, 3, 0, 9, 2})
	f.Add([]byte(`{"name":"x","start":"a","steps":[{"id":"a","kind":"hangup"}]}`), []byte{})
	f.Add([]byte(`{"name":"x","start":"a","steps":[{"id":"a","kind":"menu","menu":{"announcement":"a","options":{"1":"a"},"attempts":2}}]}`), []byte{0, 0, 3, 1, 1, 5})
	f.Add([]byte(`{"name":"x","start":"a","steps":[{"id":"a","kind":"schedule","schedule":{"inline":{"weekly":{"monday":[{"from":"08:00","to":"16:00"}]},"publicHolidays":true},"open":"b","closed":"b"}},{"id":"b","kind":"queue","queue":{"queue":"q","full":"b"}}]}`), []byte{1, 0})
	f.Add([]byte(`{"name":"x","start":"a","steps":[{"id":"a","kind":"caller","caller":{"rules":[{"match":"internal","maxLength":4,"next":"a"}],"default":"b"}},{"id":"b","kind":"transfer","transfer":{"destination":"PJSIP/1000"}}]}`), []byte{2, 1})
	f.Add([]byte(`{"name":"x","start":"a","steps":[{"id":"a","kind":"announcement","announcement":{"announcement":"a","next":"a"}}]}`), []byte{})
	f.Add([]byte(`{"steps":[{"kind":"menu"},{"id":"","kind":"queue","queue":null}]}`), []byte{})
	f.Add([]byte(`null`), []byte{})
	refs := testRefs()
	refs.Queues["q"] = true
	refs.Announcements["a"] = true
	f.Fuzz(func(t *testing.T, data, drive []byte) {
		var flow Flow
		if json.Unmarshal(data, &flow) != nil {
			return
		}
		verr := flow.Validate(refs)
		again, err := json.Marshal(&flow)
		if err != nil {
			t.Fatalf("marshal a decoded flow: %v", err)
		}
		var back Flow
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("a marshalled flow does not decode: %v\n%s", err, again)
		}
		if berr := back.Validate(refs); (berr == nil) != (verr == nil) {
			t.Fatalf("validate %v, after the JSON round trip %v\n%s", verr, berr, again)
		}
		exerciseFlow(t, &flow, &bytesource{b: drive}, refs)
	})
}
