package staffing

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

var cph = func() *time.Location {
	l, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return l
}()

func stateJSON(from, to, call string) string {
	return fmt.Sprintf(`{"At":"2026-01-01T00:00:00Z","Agent":"7","From":%q,"To":%q,"Reason":"","Call":%q}`, from, to, call)
}

// TestHistoryPlan: two weeks; on each Monday calls join at 09:00-09:15
// local time; one agent is logged in for half an hour on the first
// Monday only.
func TestHistoryPlan(t *testing.T) {
	until := time.Date(2026, 11, 30, 0, 0, 0, 0, cph) // a Monday, midnight
	w := Window{Until: until, Weeks: 2, Location: cph, Target: 20, Goal: Goal{SL: 0.8, MaxOccupancy: 0.85}, DefaultAHT: 180}
	h, err := NewHistory(w)
	if err != nil {
		t.Fatal(err)
	}
	mon1 := time.Date(2026, 11, 16, 9, 0, 0, 0, cph)
	mon2 := mon1.AddDate(0, 0, 7)
	at := func(d time.Time, min, sec int) time.Time {
		return d.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
	}
	// Week 1: 4 calls; c1 answered after 10 s, talks 120 s, 30 s wrap-up;
	// c2 abandons after 40 s; c3 answered after 20 s, talks 60 s, no
	// wrap-up; c4 overflows after 30 s.
	calls := []Event{
		{At: at(mon1, 1, 0), Kind: "CallJoined", Call: "c1"},
		{At: at(mon1, 1, 10), Kind: "Answered", Call: "c1", Agent: "7", WaitMS: 10000},
		{At: at(mon1, 3, 10), Kind: "CallCompleted", Call: "c1", Agent: "7"},
		{At: at(mon1, 2, 0), Kind: "CallJoined", Call: "c2"},
		{At: at(mon1, 2, 40), Kind: "Abandoned", Call: "c2", WaitMS: 40000},
		{At: at(mon1, 4, 0), Kind: "CallJoined", Call: "c3"},
		{At: at(mon1, 4, 20), Kind: "Answered", Call: "c3", Agent: "8", WaitMS: 20000},
		{At: at(mon1, 5, 20), Kind: "CallCompleted", Call: "c3", Agent: "8"},
		{At: at(mon1, 5, 0), Kind: "CallJoined", Call: "c4"},
		{At: at(mon1, 5, 30), Kind: "Overflowed", Call: "c4", WaitMS: 30000},
		// Week 2: 2 calls, both abandon after 20 s.
		{At: at(mon2, 0, 0), Kind: "CallJoined", Call: "d1"},
		{At: at(mon2, 0, 20), Kind: "Abandoned", Call: "d1", WaitMS: 20000},
		{At: at(mon2, 14, 50), Kind: "CallJoined", Call: "d2"},
		{At: at(mon2, 15, 10), Kind: "Abandoned", Call: "d2", WaitMS: 20000}, // joined 09:14:50: counts at 09:00
		// Before the window and at its end: not counted.
		{At: mon1.AddDate(0, 0, -7), Kind: "CallJoined", Call: "old"},
		{At: until, Kind: "CallJoined", Call: "late"},
		{At: at(mon1, 6, 0), Kind: "Ignored", Call: "x"},
	}
	for _, e := range calls {
		h.Call(e)
	}
	agents := []Event{
		{At: mon1, Agent: "7", Data: stateJSON("logged_out", "ready", "")},
		{At: at(mon1, 1, 5), Agent: "7", Data: stateJSON("ready", "ringing", "c1")},
		{At: at(mon1, 1, 10), Agent: "7", Data: stateJSON("ringing", "on_call", "c1")},
		{At: at(mon1, 3, 10), Agent: "7", Data: stateJSON("on_call", "wrap_up", "c1")},
		{At: at(mon1, 3, 40), Agent: "7", Data: stateJSON("wrap_up", "ready", "")},
		{At: at(mon1, 30, 0), Agent: "7", Data: stateJSON("ready", "logged_out", "logout")},
		// Agent 8 is logged out all the time.
		{At: at(mon1, 4, 20), Agent: "8", Data: stateJSON("logged_out", "logged_out", "")},
	}
	for _, e := range agents {
		if err := h.Agent(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Agent(Event{At: mon1, Agent: "9", Data: `{"x":1}`}); !errors.Is(err, ErrBadEvent) {
		t.Errorf("bad data: %v", err)
	}
	p := h.Plan()
	if len(p.Intervals) != 7*96 || p.Intervals[0].Weekday != time.Monday || p.Intervals[0].Start != 0 {
		t.Fatalf("%d intervals, first %+v", len(p.Intervals), p.Intervals[0])
	}
	if !p.Since.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, cph)) || !p.Until.Equal(until) {
		t.Errorf("window %v – %v", p.Since, p.Until)
	}
	nine := p.Intervals[9*4] // Monday 09:00
	quarter := p.Intervals[9*4+1]
	if nine.Weekday != time.Monday || nine.Start != 9*60 || nine.Count != 2 {
		t.Fatalf("interval %+v", nine)
	}
	// 6 arrivals in 2 weeks; answered 2, abandoned 3 (c2, d1, d2).
	if nine.Arrivals != 3 || nine.Answered != 1 || nine.Abandoned != 1.5 {
		t.Errorf("arrivals %v answered %v abandoned %v; want 3, 1, 1.5", nine.Arrivals, nine.Answered, nine.Abandoned)
	}
	// Handling: c1 120 + 30 s, c3 60 s → 105 s.
	if nine.AHT != 105 || p.AHT != 105 {
		t.Errorf("AHT %v (window %v), want 105", nine.AHT, p.AHT)
	}
	// Ended: 2 answered + 3 abandoned + 1 overflowed.
	if !near(nine.AbandonRate, 0.5, 1e-12) {
		t.Errorf("abandon rate %v, want 0.5", nine.AbandonRate)
	}
	// Waiting: 10 + 40 + 20 + 30 + 20 + 20 = 140 s over 3 abandonments.
	if !near(nine.Patience, 140.0/3, 1e-9) || !near(p.Patience, 140.0/3, 1e-9) {
		t.Errorf("patience %v (window %v), want 46.7", nine.Patience, p.Patience)
	}
	// Agent 7: 30 minutes on one of two Mondays → 0.5 in 09:00 and 09:15.
	if nine.LoggedIn != 0.5 || quarter.LoggedIn != 0.5 || p.Intervals[9*4+2].LoggedIn != 0 {
		t.Errorf("logged in %v, %v, %v; want 0.5, 0.5, 0", nine.LoggedIn, quarter.LoggedIn, p.Intervals[9*4+2].LoggedIn)
	}
	// 3 calls per 15 min at 105 s: A = 0.35 Erlangs. One agent answers
	// 1 − 0.35·e^(−0.65·20/105) = 69 % within 20 s, so 2 are needed.
	if !nine.ErlangC.OK || nine.ErlangC.Agents != 2 || !nine.ErlangA.OK || nine.ErlangA.Agents != 2 {
		t.Errorf("staffing %+v / %+v", nine.ErlangC, nine.ErlangA)
	}
	// An empty interval needs nobody and has no patience estimate.
	empty := p.Intervals[3]
	if empty.Arrivals != 0 || empty.ErlangC.Agents != 0 || !empty.ErlangC.OK || !math.IsInf(empty.Patience, 1) || empty.AHT != 105 {
		t.Errorf("empty interval %+v", empty)
	}
}

// TestHistoryDST: the window over the end of summer time has one 02:00
// interval more on that Sunday; counts follow the clock.
func TestHistoryDST(t *testing.T) {
	until := time.Date(2026, 10, 26, 0, 0, 0, 0, cph) // Monday after 25 October 2026
	h, err := NewHistory(Window{Until: until, Weeks: 1, Location: cph, Target: 20, Goal: Goal{SL: 0.8, MaxOccupancy: 0.85}})
	if err != nil {
		t.Fatal(err)
	}
	p := h.Plan()
	sun2 := p.Intervals[6*96+2*4] // Sunday 02:00
	if sun2.Weekday != time.Sunday || sun2.Start != 120 || sun2.Count != 2 || p.Intervals[6*96+3*4].Count != 1 {
		t.Errorf("Sunday 02:00 occurs %d times, 03:00 %d", sun2.Count, p.Intervals[6*96+3*4].Count)
	}
}

func TestWindowErrors(t *testing.T) {
	ok := Window{Until: time.Now(), Weeks: 8, Location: cph, Target: 20, Goal: Goal{SL: 0.8, MaxOccupancy: 0.85}}
	for name, mod := range map[string]func(*Window){
		"0 weeks":     func(w *Window) { w.Weeks = 0 },
		"53 weeks":    func(w *Window) { w.Weeks = 53 },
		"no location": func(w *Window) { w.Location = nil },
		"no end":      func(w *Window) { w.Until = time.Time{} },
		"bad goal":    func(w *Window) { w.Goal.SL = 0 },
		"bad target":  func(w *Window) { w.Target = -1 },
	} {
		w := ok
		mod(&w)
		if _, err := NewHistory(w); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewHistory(ok); err != nil {
		t.Error(err)
	}
}

func BenchmarkHistory(b *testing.B) {
	until := time.Date(2026, 11, 30, 0, 0, 0, 0, cph)
	w := Window{Until: until, Weeks: 8, Location: cph, Target: 20, Goal: Goal{SL: 0.8, MaxOccupancy: 0.85}, DefaultAHT: 180}
	for b.Loop() {
		h, _ := NewHistory(w)
		// 500 calls a day for 56 days, 08:00-15:00.
		for d := 0; d < 56; d++ {
			day := w.Since().AddDate(0, 0, d).Add(8 * time.Hour)
			for i := 0; i < 500; i++ {
				at := day.Add(time.Duration(i) * 7 * time.Hour / 500)
				id := fmt.Sprint(d, "-", i)
				h.Call(Event{At: at, Kind: "CallJoined", Call: id})
				h.Call(Event{At: at.Add(30 * time.Second), Kind: "Answered", Call: id, WaitMS: 30000})
				h.Call(Event{At: at.Add(200 * time.Second), Kind: "CallCompleted", Call: id})
			}
		}
		h.Plan()
	}
}
