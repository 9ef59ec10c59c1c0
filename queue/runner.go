package queue

import (
	"context"
	"errors"
	"time"
)

// ErrStopped is returned by a Runner's methods once Run has returned.
var ErrStopped = errors.New("queue: runner stopped")

// Runner is the one goroutine that owns an Engine: it feeds it inputs with
// the clock's time, arms one timer for the engine's next deadline, and hands
// every batch of outputs to the sink. Everything else talks to it through
// Submit, Do and Snapshot.
type Runner struct {
	eng     *Engine
	clock   Clock
	sink    func([]Output)
	work    chan work
	stopped chan struct{}
}

// work is an input or a function to run on the engine; one channel keeps
// them in submission order.
type work struct {
	in Input
	fn func(*Engine)
}

// NewRunner returns a runner for e. sink is called on the runner's goroutine
// with each non-empty batch of outputs, in order; it must not block for
// long, and may keep the slice.
func NewRunner(e *Engine, clock Clock, sink func([]Output)) *Runner {
	return &Runner{
		eng: e, clock: clock, sink: sink,
		work:    make(chan work, 1024),
		stopped: make(chan struct{}),
	}
}

// Run owns the engine until ctx is done; it returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	defer close(r.stopped)
	var (
		timer Timer
		fire  <-chan time.Time
	)
	arm := func() {
		if timer != nil {
			timer.Stop()
			timer, fire = nil, nil
		}
		if at, ok := r.eng.NextDeadline(); ok {
			timer = r.clock.NewTimer(at.Sub(r.clock.Now()))
			fire = timer.C()
		}
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	emit := func(out []Output) {
		// the timer is armed before the sink sees the outputs, so a test
		// that reacts to them by moving a fake clock finds it armed.
		arm()
		if len(out) > 0 {
			r.sink(out)
		}
	}
	emit(r.eng.Advance(r.clock.Now()))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case w := <-r.work:
			if w.fn != nil {
				w.fn(r.eng)
				emit(r.eng.Advance(r.clock.Now()))
				continue
			}
			emit(r.eng.Handle(r.clock.Now(), w.in))
		case <-fire:
			timer, fire = nil, nil
			emit(r.eng.Advance(r.clock.Now()))
		}
	}
}

// Submit queues an input for the engine.
// An input submitted while the runner stops may be dropped.
func (r *Runner) Submit(ctx context.Context, in Input) error {
	select {
	case <-r.stopped:
		return ErrStopped
	default:
	}
	select {
	case r.work <- work{in: in}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
}

// Do runs fn on the runner's goroutine (for configuration: SetQueue,
// SetAgent, ...) and returns its error. Inputs and functions are handled in
// the order they were submitted.
func (r *Runner) Do(ctx context.Context, fn func(*Engine) error) error {
	done := make(chan error, 1)
	select {
	case <-r.stopped:
		return ErrStopped
	default:
	}
	select {
	case r.work <- work{fn: func(e *Engine) { done <- fn(e) }}:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
}

// Snapshot returns a snapshot taken on the runner's goroutine.
//
// The snapshot comes back through a channel, not a variable the function
// sets: when ctx ends first, Do returns while the function may still run
// later on the runner's goroutine, and a shared variable would then be
// written while the caller reads it (a data race the race detector found
// when a live-view request was cancelled).
func (r *Runner) Snapshot(ctx context.Context) (Snapshot, error) {
	out := make(chan Snapshot, 1)
	if err := r.Do(ctx, func(e *Engine) error { out <- e.Snapshot(); return nil }); err != nil {
		return Snapshot{}, err
	}
	return <-out, nil
}
