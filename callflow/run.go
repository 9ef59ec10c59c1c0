package callflow

import (
	"errors"
	"fmt"
	"time"
)

// ErrFlowBroken is wrapped by Run.Err and Simulate when a call ended because
// of an error in the flow (a missing step, the step cap).
var ErrFlowBroken = errors.New("callflow: the call ended on a flow error")

// ErrStepLimit (which wraps ErrFlowBroken) is the step cap being reached. A
// valid flow can reach it only by the caller's own doing, e.g. a caller who
// never presses a key in menus whose exhausted branches lead to each other.
var ErrStepLimit = fmt.Errorf("%w: step limit", ErrFlowBroken)

// MaxSteps is the default cap on steps entered per call (a menu played again
// counts again). Validation refuses loops without a menu; the cap is the
// defence in depth: a call that reaches it is hung up.
const MaxSteps = 100

// CallInfo is what is known of a call when it enters the flow.
type CallInfo struct {
	Number string    // the dialled (inbound) number
	Caller string    // the caller's number; "" or "anonymous" when withheld
	Now    time.Time // when the call arrived
}

// Options are the run's surroundings.
type Options struct {
	// Schedules resolves schedule steps that name a saved schedule. A
	// schedule that cannot be found counts as closed.
	Schedules ScheduleLookup
	// Trace, when set, is called with each step's explanation as the run
	// goes (the dry-run collects them; the adapter may log them at debug).
	Trace func(PathStep)
	// MaxSteps overrides the package's MaxSteps when > 0.
	MaxSteps int
}

// PathStep is one line of a call's path through a flow.
type PathStep struct {
	Step        StepID `json:"step"`
	Kind        Kind   `json:"kind"`
	Explanation string `json:"explanation"`
}

// Action is what the adapter must do next. Every action names the step it
// belongs to (for the live-calls view).
type Action interface {
	Step() StepID
	action()
}

// Play plays an announcement. When it has finished, send PlaybackDone. When
// Interruptible (a menu prompt), a key pressed meanwhile is sent as a Digit;
// stop the playback when Next returns an action other than Wait.
type Play struct {
	StepID        StepID
	Announcement  AnnouncementRef
	Interruptible bool
}

// Collect waits for up to MaxDigits keys. Send each key as a Digit, or
// Timeout when none came within Timeout.
type Collect struct {
	StepID    StepID
	MaxDigits int
	Timeout   time.Duration
}

// Enqueue puts the call in a queue. If the queue gives the call up, send the
// QueueOutcome; once an agent answers, the flow is over.
type Enqueue struct {
	StepID   StepID
	Queue    QueueRef
	Priority int
}

// Transfer hands the call to a number or dial string; the flow is over.
type Transfer struct {
	StepID      StepID
	Destination string
}

// Hangup ends the call with an ARI hangup reason; Reason says why, for logs.
type Hangup struct {
	StepID StepID
	Cause  string
	Reason string
}

// Wait means the input changed nothing: keep doing the current action.
type Wait struct {
	StepID StepID
}

func (a Play) Step() StepID     { return a.StepID }
func (a Collect) Step() StepID  { return a.StepID }
func (a Enqueue) Step() StepID  { return a.StepID }
func (a Transfer) Step() StepID { return a.StepID }
func (a Hangup) Step() StepID   { return a.StepID }
func (a Wait) Step() StepID     { return a.StepID }
func (Play) action()            {}
func (Collect) action()         {}
func (Enqueue) action()         {}
func (Transfer) action()        {}
func (Hangup) action()          {}
func (Wait) action()            {}

// Input is what happened on the call.
type Input interface{ input() }

// PlaybackDone: the current Play finished.
type PlaybackDone struct{}

// Digit: the caller pressed a key ("0"–"9", "*", "#").
type Digit string

// Timeout: Collect's timeout passed without a key.
type Timeout struct{}

// QueueOutcome: the queue gave the call up.
type QueueOutcome int

// Queue outcomes.
const (
	QueueFull     QueueOutcome = iota + 1 // the queue is at its maximum length
	QueueTimeout                          // the call waited the queue's maximum time
	QueueNoAgents                         // no agent is logged in to serve it
)

var queueOutcomeNames = map[QueueOutcome]string{QueueFull: "full", QueueTimeout: "timeout", QueueNoAgents: "noAgents"}

func (o QueueOutcome) String() string {
	if s, ok := queueOutcomeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("QueueOutcome(%d)", int(o))
}

// MarshalText writes "full", "timeout" or "noAgents".
func (o QueueOutcome) MarshalText() ([]byte, error) {
	if _, ok := queueOutcomeNames[o]; !ok {
		return nil, fmt.Errorf("callflow: unknown queue outcome %d", int(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText reads "full", "timeout" or "noAgents".
func (o *QueueOutcome) UnmarshalText(b []byte) error {
	for k, v := range queueOutcomeNames {
		if v == string(b) {
			*o = k
			return nil
		}
	}
	return fmt.Errorf("callflow: queue outcome %q: want full, timeout or noAgents", b)
}

func (PlaybackDone) input() {}
func (Digit) input()        {}
func (Timeout) input()      {}
func (QueueOutcome) input() {}

// phase is what the run waits for.
type phase int

const (
	phasePlaying    phase = iota + 1 // an announcement step's Play
	phasePrompting                   // a menu's interruptible Play
	phaseCollecting                  // a menu's Collect
	phaseQueued                      // in a queue
	phaseDone                        // transferred or hung up
)

// Run is one call's way through a flow. It is not safe for concurrent use:
// the goroutine that owns the call drives it.
type Run struct {
	flow     *Flow
	byID     map[StepID]*Step
	opts     Options
	call     CallInfo
	cur      *Step
	phase    phase
	failures map[StepID]int
	steps    int
	max      int
	last     Action
	err      error
	priority int // set by a priority step; see PriorityStep
}

// Start begins a call's run at the flow's start step and returns the first
// action. Steps that need no input (schedule, caller) are decided at once.
//
// Runs only read the flow and the schedules, so any number of calls may
// share one *Flow; it must not be changed while they use it (an edited flow
// is a new *Flow; calls already in the old one finish in it).
func Start(f *Flow, call CallInfo, opts Options) (*Run, Action) {
	r, ok := newRun(f, call, opts)
	if !ok {
		return r, r.fail("", "no call flow")
	}
	return r, r.enter(call.Now, f.Start)
}

// newRun makes a run that has entered no step yet; ok is false when f is
// nil.
func newRun(f *Flow, call CallInfo, opts Options) (r *Run, ok bool) {
	r = &Run{flow: f, opts: opts, call: call, max: opts.MaxSteps}
	if r.max <= 0 {
		r.max = MaxSteps
	}
	if f == nil {
		return r, false
	}
	r.byID = make(map[StepID]*Step, len(f.Steps))
	for i := range f.Steps {
		if _, dup := r.byID[f.Steps[i].ID]; !dup {
			r.byID[f.Steps[i].ID] = &f.Steps[i]
		}
	}
	return r, true
}

// Current returns the step the call is at.
func (r *Run) Current() StepID {
	if r.cur == nil {
		return ""
	}
	return r.cur.ID
}

// Done reports whether the flow is over (transferred or hung up). A call in
// a queue is not done: the queue may still give it back.
func (r *Run) Done() bool { return r.phase == phaseDone }

// Err returns why the call was hung up if that was a flow error (wrapping
// ErrFlowBroken), else nil. The adapter should log it as a warning.
func (r *Run) Err() error { return r.err }

// Steps returns how many steps the run has entered.
func (r *Run) Steps() int { return r.steps }

// Next feeds what happened and returns the next action. Input that does not
// fit the current action returns Wait. After the flow is over, Next returns
// the final action again.
func (r *Run) Next(now time.Time, in Input) Action {
	if r.phase == phaseDone {
		return r.last
	}
	if r.cur == nil { // a zero Run, not made by Start
		return r.fail("", "run not started")
	}
	s := r.cur
	switch r.phase {
	case phasePlaying:
		if _, ok := in.(PlaybackDone); ok {
			return r.enter(now, s.Announcement.Next)
		}
	case phasePrompting, phaseCollecting:
		switch in := in.(type) {
		case Digit:
			return r.choose(now, string(in))
		case PlaybackDone:
			if r.phase == phasePrompting {
				r.phase = phaseCollecting
				return r.act(Collect{StepID: s.ID, MaxDigits: 1, Timeout: time.Duration(s.Menu.timeoutSeconds()) * time.Second})
			}
		case Timeout:
			if r.phase == phaseCollecting {
				r.trace(s, "menu: no key pressed within %ds (attempt %d of %d)", s.Menu.timeoutSeconds(), r.failures[s.ID]+1, s.Menu.attempts())
				return r.failed(now, s.Menu.NoInput, "no-input branch")
			}
		}
	case phaseQueued:
		if o, ok := in.(QueueOutcome); ok {
			return r.queueOutcome(now, o)
		}
	}
	return Wait{StepID: s.ID}
}

// act records the action as the last one and returns it.
func (r *Run) act(a Action) Action {
	r.last = a
	if _, ok := a.(Hangup); ok {
		r.phase = phaseDone
	}
	if _, ok := a.(Transfer); ok {
		r.phase = phaseDone
	}
	return a
}

func (r *Run) trace(s *Step, format string, args ...any) {
	if r.opts.Trace == nil {
		return
	}
	ps := PathStep{Explanation: fmt.Sprintf(format, args...)}
	if s != nil {
		ps.Step, ps.Kind = s.ID, s.Kind
	}
	r.opts.Trace(ps)
}

// fail ends the call because the flow itself is broken.
func (r *Run) fail(at StepID, why string) Action {
	r.err = fmt.Errorf("%w: %s", ErrFlowBroken, why)
	if r.opts.Trace != nil {
		r.opts.Trace(PathStep{Step: at, Explanation: "flow error: " + why + " — hang up"})
	}
	return r.act(Hangup{StepID: at, Cause: "normal", Reason: "flow error: " + why})
}

// enter moves to a step and runs steps that need no input until one does.
func (r *Run) enter(now time.Time, id StepID) Action {
	from := r.Current()
	for {
		if r.steps >= r.max {
			why := fmt.Sprintf("more than %d steps on one call", r.max)
			r.fail(from, why)
			r.err = fmt.Errorf("%w: %s", ErrStepLimit, why)
			return r.last
		}
		s, ok := r.byID[id]
		if !ok || id == "" {
			if id == "" && r.cur == nil {
				return r.fail(from, "no start step")
			}
			if id == "" {
				return r.fail(from, "no next step")
			}
			return r.fail(from, fmt.Sprintf("step '%s' does not exist", id))
		}
		r.steps++
		r.cur = s
		next, a := r.step(now, s)
		if a != nil {
			return r.act(a)
		}
		from, id = s.ID, next
	}
}

// step executes one step: either it decides the next step at once or it
// returns the action to wait on.
func (r *Run) step(now time.Time, s *Step) (StepID, Action) {
	if k, ok := kinds[s.Kind]; ok && (k.set(s) || k.settingsOptional) {
		return k.run(r, now, s)
	}
	return "", r.fail(s.ID, fmt.Sprintf("step '%s' of kind %q has no settings", s.ID, s.Kind))
}
