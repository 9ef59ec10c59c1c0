package callflow

import (
	"fmt"
	"strings"
	"time"
)

// SimInput is a routing dry-run's call: who calls which number when, the
// keys the caller will press, and what the queues will do.
type SimInput struct {
	Number string    `json:"number"`
	Caller string    `json:"caller"`
	Time   time.Time `json:"time"`
	// Digits are the caller's key presses, one per menu prompt in order;
	// "" means the caller presses nothing at that prompt (timeout). When
	// the list is used up, every further prompt times out.
	Digits []string `json:"digits,omitempty"`
	// QueueOutcomes are what the queues do, one per queue step reached in
	// order. When the list is used up, an agent answers the call.
	QueueOutcomes []QueueOutcome `json:"queueOutcomes,omitempty"`
}

// Simulate runs the flow for one imagined call through the same interpreter
// as live calls and returns the path it took, with an explanation at each
// step, ending in the call's fate. Simulated time moves on only by menu
// timeouts. On a broken flow (a missing step, the step cap) it returns the
// path up to the break and an error wrapping ErrFlowBroken; on bad input an
// error and no path.
func Simulate(f *Flow, in SimInput, schedules ScheduleLookup) ([]PathStep, error) {
	for i, d := range in.Digits {
		if d != "" && (len(d) != 1 || !strings.Contains(menuKeys, d)) {
			return nil, fmt.Errorf("callflow: simulate: digits[%d] %q: want one of 0-9, * or # (or \"\" for no key)", i, d)
		}
	}
	for i, o := range in.QueueOutcomes {
		if _, ok := queueOutcomeNames[o]; !ok {
			return nil, fmt.Errorf("callflow: simulate: queueOutcomes[%d]: unknown outcome %d", i, int(o))
		}
	}
	var path []PathStep
	opts := Options{Schedules: schedules, Trace: func(p PathStep) { path = append(path, p) }}
	now := in.Time
	r, a := Start(f, CallInfo{Number: in.Number, Caller: in.Caller, Now: now}, opts)
	digits, outcomes := in.Digits, in.QueueOutcomes
	// Every input below moves the run into a new step or ends it, so the
	// step cap bounds the loop; the guard only turns a bug into an error.
	for guard := 0; guard <= 2*r.max+2; guard++ {
		switch act := a.(type) {
		case Play:
			a = r.Next(now, PlaybackDone{})
		case Collect:
			d := ""
			if len(digits) > 0 {
				d, digits = digits[0], digits[1:]
			}
			if d != "" {
				a = r.Next(now, Digit(d))
			} else {
				now = now.Add(act.Timeout)
				a = r.Next(now, Timeout{})
			}
		case Enqueue:
			if len(outcomes) == 0 {
				path = append(path, PathStep{Step: act.StepID, Kind: KindQueue,
					Explanation: fmt.Sprintf("queue '%s': the call waits and an agent answers", act.Queue)})
				return path, nil
			}
			o := outcomes[0]
			outcomes = outcomes[1:]
			a = r.Next(now, o)
		case Transfer:
			return path, nil
		case Hangup:
			return path, r.Err()
		default:
			return path, fmt.Errorf("%w: the run stalled at step '%s'", ErrFlowBroken, a.Step())
		}
	}
	return path, fmt.Errorf("%w: the run did not end", ErrFlowBroken)
}
