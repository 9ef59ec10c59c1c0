package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunnerWithFakeClock(t *testing.T) {
	clock := NewFakeClock(t0)
	e := New(Options{Location: time.UTC})
	outs := make(chan []Output, 16)
	r := NewRunner(e, clock, func(o []Output) { outs <- o })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	next := func(t *testing.T) []Output {
		t.Helper()
		select {
		case o := <-outs:
			return o
		case <-time.After(10 * time.Second): // a hang, not a timing assertion
			t.Fatal("no output from the runner")
			return nil
		}
	}
	err := r.Do(ctx, func(e *Engine) error {
		if err := e.SetQueue(QueueConfig{ID: "q", RingTimeout: 15 * time.Second}); err != nil {
			return err
		}
		return e.SetAgent(AgentConfig{ID: "a", Queues: []Membership{{Queue: "q"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Do(ctx, func(e *Engine) error { return e.SetQueue(QueueConfig{}) }); err == nil {
		t.Fatal("Do did not return the function's error")
	}
	if err := r.Submit(ctx, AgentLogin{Agent: "a"}); err != nil {
		t.Fatal(err)
	}
	one[AgentStateChanged](t, next(t))
	if err := r.Submit(ctx, CallArrived{Call: "c1", Queue: "q"}); err != nil {
		t.Fatal(err)
	}
	one[Offer](t, next(t))
	// the ring timeout fires from the runner's own timer.
	clock.Advance(15 * time.Second)
	out := next(t)
	if c := one[CancelOffer](t, out); c.Reason != EndTimeout || !c.At.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("cancel %+v", c)
	}
	one[Offer](t, out) // offered again (no retry delay)
	s, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Agents[0].State != Ringing || s.Queues[0].Waiting[0].Call != "c1" {
		t.Fatalf("snapshot %+v", s)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if err := r.Submit(context.Background(), CallHungUp{Call: "c1"}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Submit after stop: %v", err)
	}
	if _, err := r.Snapshot(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Snapshot after stop: %v", err)
	}
	if n := clock.Pending(); n != 0 {
		t.Fatalf("%d timers left armed after stop", n)
	}
}

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(t0)
	a := c.NewTimer(time.Second)
	b := c.NewTimer(2 * time.Second)
	if !b.Stop() || b.Stop() {
		t.Fatal("Stop should report true once")
	}
	c.Advance(time.Second)
	select {
	case at := <-a.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("fired at %v", at)
		}
	default:
		t.Fatal("due timer did not fire")
	}
	select {
	case <-c.NewTimer(0).C():
	default:
		t.Fatal("zero timer did not fire at once")
	}
	c.Set(t0) // never backwards
	if !c.Now().Equal(t0.Add(time.Second)) {
		t.Fatalf("clock went back to %v", c.Now())
	}
}
