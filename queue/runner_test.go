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

// TestRunnerSnapshotGivenUp: a Snapshot whose context ends while its
// function waits in the runner's queue returns (with the context's error
// or the snapshot), and the function running afterwards must not touch
// what the caller got back (under -race this failed when the snapshot was passed back in a
// variable the function set).
func TestRunnerSnapshotGivenUp(t *testing.T) {
	r := NewRunner(New(Options{Location: time.UTC}), NewFakeClock(t0), func([]Output) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	busy, release := make(chan struct{}), make(chan struct{})
	go r.Do(ctx, func(*Engine) error { close(busy); <-release; return nil })
	<-busy // the runner is held; the snapshot's function waits in its queue

	sctx, scancel := context.WithCancel(ctx)
	got := make(chan error, 1)
	go func() {
		snap, err := r.Snapshot(sctx)
		_ = len(snap.Queues) // the caller reads what it got
		got <- err
	}()
	for len(r.work) == 0 { // until the snapshot's function is queued
		time.Sleep(time.Millisecond)
	}
	// The caller gives up and the runner goes on at once, unordered: as
	// when a live-view request is cancelled while the engine is busy.
	scancel()
	close(release)
	// Both are right: the context's end, or the snapshot if the runner
	// took the function before the caller saw its context end.
	if err := <-got; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Snapshot with its context ended: %v, want context.Canceled or the snapshot", err)
	}
	if _, err := r.Snapshot(ctx); err != nil { // the queued function has run
		t.Fatal(err)
	}
}
