package callflow

import (
	"errors"
	"fmt"
)

// ErrCannotResume is wrapped by Resume's errors: the flow is missing, the
// step does not exist in it, or the step is not a queue step.
var ErrCannotResume = errors.New("callflow: cannot resume the run")

// Resume rebuilds a call's run positioned at a queue step, as if the call
// had just been enqueued there: the next QueueOutcome fed to Next takes the
// step's overflow branch (full, timeout, no agents). The ARI adapter uses it
// after a restart for a caller it adopts while waiting in a queue, so that
// the caller still takes the flow's overflow branch instead of being hung
// up.
//
// The run starts with one step entered (the queue step); the steps the call
// took before the restart are not counted again, nor are menu attempts.
// Resume does not call Options.Trace. Like Start, it only reads f.
func Resume(f *Flow, call CallInfo, step StepID, opts Options) (*Run, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: no call flow", ErrCannotResume)
	}
	r, _ := newRun(f, call, opts)
	s, ok := r.byID[step]
	if !ok || step == "" {
		return nil, fmt.Errorf("%w: step '%s' does not exist in flow '%s'", ErrCannotResume, step, f.Name)
	}
	if s.Kind != KindQueue || s.Queue == nil {
		return nil, fmt.Errorf("%w: step '%s' is a %s step, not a queue step", ErrCannotResume, step, s.Kind)
	}
	r.cur = s
	r.steps = 1
	r.phase = phaseQueued
	r.last = Enqueue{StepID: s.ID, Queue: s.Queue.Queue, Priority: s.Queue.Priority}
	return r, nil
}
