package staffing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// IntervalLength is the length of one staffing interval.
const IntervalLength = 15 * time.Minute

const (
	perDay   = int(24 * time.Hour / IntervalLength)
	numSlots = 7 * perDay
)

// Event is one row of the call-event log as staffing reads it: the
// queue's call events (Kind CallJoined, Answered, Abandoned, Overflowed,
// CallCompleted; other kinds are ignored) and the state changes of the
// agents who serve it (AgentStateChanged, whose Data is the engine's
// output as JSON with From, To and Call).
type Event struct {
	At     time.Time
	Kind   string
	Call   string
	Agent  string
	WaitMS int64
	Data   string
}

// Window is the stretch of history to analyse and what to plan for.
type Window struct {
	Until    time.Time      // end (exclusive); rounded down to a whole interval
	Weeks    int            // 1-52
	Location *time.Location // weekdays and times of day are read here
	Target   float64        // the queue's answer time goal in seconds
	Goal     Goal
	// DefaultAHT is used for an interval whose calls all abandoned when
	// the window has no handled call at all (the queue's configured
	// handling time), in seconds.
	DefaultAHT float64
}

// Since is the window's start.
func (w Window) Since() time.Time { return w.until().AddDate(0, 0, -7*w.Weeks) }

func (w Window) until() time.Time { return w.Until.Truncate(IntervalLength) }

func (w Window) check() error {
	if w.Weeks < 1 || w.Weeks > 52 {
		return fmt.Errorf("staffing: %d weeks: %w", w.Weeks, ErrInput)
	}
	if w.Location == nil || w.Until.IsZero() {
		return fmt.Errorf("staffing: window without an end or a location: %w", ErrInput)
	}
	if !finite(w.Target) || w.Target < 0 || !finite(w.DefaultAHT) || w.DefaultAHT < 0 {
		return fmt.Errorf("staffing: target %v, default AHT %v: %w", w.Target, w.DefaultAHT, ErrInput)
	}
	return w.Goal.check()
}

// History collects a queue's events over a window; Plan turns them into
// a staffing plan. Feed it every call event of the queue (Call) and every
// state change of the agents who serve it (Agent), each in time order.
// Not safe for concurrent use.
type History struct {
	w      Window
	since  time.Time
	until  time.Time
	grid   []int // slot of each interval of the window, in order
	calls  map[string]*handled
	slots  [numSlots]slotStats
	agents map[string]*agentTrack
}

type slotStats struct {
	arrivals, answered, abandoned, overflowed int
	waitSec                                   float64 // waiting time of answered, abandoned and overflowed calls
	handled                                   int
	handleSec                                 float64
	loggedInSec                               float64
}

// handled is a call answered in the window, until it is counted.
type handled struct {
	slot       int
	answeredAt time.Time
	talk       time.Duration // < 0 until CallCompleted
	wrap       time.Duration
}

type agentTrack struct {
	seen      bool
	at        time.Time // of the last change
	loggedIn  bool
	wrapCall  string // the call whose wrap-up runs, if any
	wrapSince time.Time
}

// NewHistory starts a history for w.
func NewHistory(w Window) (*History, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	h := &History{w: w, since: w.Since(), until: w.until(), calls: map[string]*handled{}, agents: map[string]*agentTrack{}}
	for t := h.since; t.Before(h.until); t = t.Add(IntervalLength) {
		h.grid = append(h.grid, h.slotOf(t))
	}
	return h, nil
}

func (h *History) slotOf(t time.Time) int {
	l := t.In(h.w.Location)
	return int(l.Weekday())*perDay + (l.Hour()*60+l.Minute())/int(IntervalLength/time.Minute)
}

func (h *History) in(t time.Time) bool { return !t.Before(h.since) && t.Before(h.until) }

// Call adds one of the queue's call events. Calls are placed in the
// interval they joined the queue in: a wait is counted from the join.
func (h *History) Call(e Event) {
	wait := time.Duration(e.WaitMS) * time.Millisecond
	joined := e.At.Add(-wait)
	switch e.Kind {
	case "CallJoined":
		if h.in(e.At) {
			h.slots[h.slotOf(e.At)].arrivals++
		}
	case "Answered":
		if h.in(joined) {
			s := h.slotOf(joined)
			h.slots[s].answered++
			h.slots[s].waitSec += wait.Seconds()
			h.calls[e.Call] = &handled{slot: s, answeredAt: e.At, talk: -1}
		}
	case "Abandoned":
		if h.in(joined) {
			s := h.slotOf(joined)
			h.slots[s].abandoned++
			h.slots[s].waitSec += wait.Seconds()
		}
	case "Overflowed":
		if h.in(joined) {
			s := h.slotOf(joined)
			h.slots[s].overflowed++
			h.slots[s].waitSec += wait.Seconds()
		}
	case "CallCompleted":
		if c := h.calls[e.Call]; c != nil && c.talk < 0 && !e.At.Before(c.answeredAt) {
			c.talk = e.At.Sub(c.answeredAt)
		}
	}
}

// agentChange is the part of AgentStateChanged's JSON staffing reads.
type agentChange struct {
	From, To string
	Call     string
}

// ErrBadEvent is an AgentStateChanged event whose Data is not the
// engine's JSON.
var ErrBadEvent = errors.New("staffing: agent state event without its states")

// Agent adds one AgentStateChanged event of an agent who serves the
// queue. Events of one agent must come in time order. The time logged in
// is every state but logged_out; wrap-up after a call the queue answered
// is added to that call's handling time.
func (h *History) Agent(e Event) error {
	var ch agentChange
	if err := json.Unmarshal([]byte(e.Data), &ch); err != nil || ch.From == "" || ch.To == "" {
		return fmt.Errorf("%w (agent %s at %s)", ErrBadEvent, e.Agent, e.At.UTC().Format(time.RFC3339))
	}
	a := h.agents[e.Agent]
	if a == nil {
		// Before its first change in the window the agent was in From.
		a = &agentTrack{at: h.since, loggedIn: ch.From != "logged_out"}
		h.agents[e.Agent] = a
	}
	at := e.At
	if at.Before(a.at) {
		at = a.at
	}
	if a.loggedIn {
		h.addLoggedIn(a.at, at)
	}
	if ch.From == "wrap_up" && a.wrapCall != "" {
		if c := h.calls[a.wrapCall]; c != nil {
			c.wrap += at.Sub(a.wrapSince)
		}
		a.wrapCall = ""
	}
	if ch.To == "wrap_up" && ch.Call != "" {
		a.wrapCall, a.wrapSince = ch.Call, at
	}
	a.at, a.loggedIn = at, ch.To != "logged_out"
	return nil
}

// addLoggedIn spreads one agent's logged-in time [a, b) over the
// intervals of the window.
func (h *History) addLoggedIn(a, b time.Time) {
	if a.Before(h.since) {
		a = h.since
	}
	if b.After(h.until) {
		b = h.until
	}
	for a.Before(b) {
		i := int(a.Sub(h.since) / IntervalLength)
		end := h.since.Add(time.Duration(i+1) * IntervalLength)
		if end.After(b) {
			end = b
		}
		h.slots[h.grid[i]].loggedInSec += end.Sub(a).Seconds()
		a = end
	}
}

// Interval is one weekday × time-of-day interval of the plan: averages
// over the window's occurrences of it.
type Interval struct {
	Weekday time.Weekday
	Start   int // minutes after midnight, local time
	Count   int // how many times it occurred in the window (the weeks; ±1 around a DST change)

	Arrivals  float64 // calls that joined the queue, per interval
	Answered  float64
	Abandoned float64
	// AHT is the mean handling time (talk + wrap-up) in seconds of the
	// calls answered in the interval; when none was, the window's mean.
	AHT         float64
	AbandonRate float64 // abandoned / (answered + abandoned + overflowed); 0 without calls
	// Patience is the interval's own estimate of the mean patience in
	// seconds, +Inf when nobody abandoned (see Plan.Patience).
	Patience float64
	LoggedIn float64 // agents logged in, on average

	ErlangC Staff
	ErlangA Staff
}

// Staff is the fewest agents a formula asks for and what they give.
// With OK false the goal is out of reach (more than MaxAgents).
type Staff struct {
	OK bool
	Result
}

// Plan is a queue's staffing plan.
type Plan struct {
	Since, Until time.Time
	Weeks        int
	// Patience is the mean patience in seconds estimated from the whole
	// window (total waiting time / abandonments), +Inf when nobody
	// abandoned; Erlang A uses it for every interval.
	Patience  float64
	AHT       float64 // over the whole window, seconds; 0 without handled calls
	Intervals []Interval
}

// Plan computes the averages and the staffing of every interval, Monday
// first. Handled calls still talking at the end of the window have no
// handling time yet and are left out of AHT.
func (h *History) Plan() Plan {
	// Close the agents' open stretches at the window's end.
	for _, a := range h.agents {
		if a.loggedIn {
			h.addLoggedIn(a.at, h.until)
			a.at = h.until
		}
	}
	// Handling times into their intervals.
	stats := h.slots
	var total slotStats
	for _, c := range h.calls {
		if c.talk < 0 {
			continue
		}
		d := (c.talk + c.wrap).Seconds()
		stats[c.slot].handled++
		stats[c.slot].handleSec += d
	}
	var count [numSlots]int
	for _, s := range h.grid {
		count[s]++
	}
	for _, s := range stats {
		total.abandoned += s.abandoned
		total.waitSec += s.waitSec
		total.handled += s.handled
		total.handleSec += s.handleSec
	}
	p := Plan{Since: h.since, Until: h.until, Weeks: h.w.Weeks, Patience: patience(total)}
	if total.handled > 0 {
		p.AHT = total.handleSec / float64(total.handled)
	}
	fallbackAHT := p.AHT
	if fallbackAHT == 0 {
		fallbackAHT = h.w.DefaultAHT
	}
	for d := 0; d < 7; d++ {
		wd := time.Weekday((d + 1) % 7) // Monday first
		for i := 0; i < perDay; i++ {
			s := int(wd)*perDay + i
			st, n := stats[s], float64(max(count[s], 1))
			iv := Interval{Weekday: wd, Start: i * int(IntervalLength/time.Minute), Count: count[s],
				Arrivals: float64(st.arrivals) / n, Answered: float64(st.answered) / n, Abandoned: float64(st.abandoned) / n,
				Patience: patience(st), LoggedIn: st.loggedInSec / (n * IntervalLength.Seconds())}
			if ended := st.answered + st.abandoned + st.overflowed; ended > 0 {
				iv.AbandonRate = float64(st.abandoned) / float64(ended)
			}
			iv.AHT = fallbackAHT
			if st.handled > 0 {
				iv.AHT = st.handleSec / float64(st.handled)
			}
			l := Load{Rate: iv.Arrivals / IntervalLength.Seconds(), AHT: iv.AHT, Target: h.w.Target}
			if iv.Arrivals > 0 && iv.AHT == 0 {
				l.Rate = 0 // nothing known of how long calls take
			}
			if r, err := AgentsErlangC(l, h.w.Goal); err == nil {
				iv.ErlangC = Staff{OK: true, Result: r}
			}
			l.Patient = p.Patience
			if r, err := AgentsErlangA(l, h.w.Goal); err == nil {
				iv.ErlangA = Staff{OK: true, Result: r}
			}
			p.Intervals = append(p.Intervals, iv)
		}
	}
	return p
}

// patience is the maximum-likelihood estimate of the mean of exponential
// patience from censored observations: every caller's waiting time is
// observed up to its answer, overflow or abandonment, and only
// abandonments end a patience, so θ̂ = abandonments / total waiting time
// (Brown et al. 2005, §6; Mandelbaum & Zeltyn 2013). +Inf without
// abandonments.
func patience(s slotStats) float64 {
	if s.abandoned == 0 {
		return math.Inf(1)
	}
	return s.waitSec / float64(s.abandoned)
}
