package ari_test

import (
	"slices"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// TestRestartOverflowTakesFlowBranch: a caller waits in q1 (max wait one
// hour); omstil restarts and the hour has passed meanwhile. The adopted
// caller overflows and takes the flow's timeout branch ("optaget", then
// hang-up), instead of being hung up without it.
func TestRestartOverflowTakesFlowBranch(t *testing.T) {
	pbx := newAsterisk(t)
	clock := newShiftedClock(mondayMorning)
	cfg := config(q1(func(q *queue.QueueConfig) { q.MaxWait = time.Hour }))
	e := start(t, pbx, clock, cfg)
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("the caller waits", func() bool { c, _ := e.call(id); return c.State == "waiting" })
	e.stop()

	clock.advance(time.Hour + time.Second)
	e2 := start(t, pbx, clock, cfg)
	e2.eventually("the adopted caller takes the timeout branch", func() bool { return slices.Contains(e2.steps(id), "optaget") })
	ov := find(e2.sink, func(x queue.Overflowed) bool { return string(x.Call) == id })
	if len(ov) != 1 || ov[0].Reason != queue.OverflowTimeout {
		t.Fatalf("overflow %+v, want one timeout", ov)
	}
	if !slices.ContainsFunc(e2.sink.events(), func(ev ari.CallEvent) bool {
		return string(ev.Call) == id && ev.Kind == ari.CallAdopted && ev.Step == "kø1"
	}) {
		t.Fatalf("no adoption at step kø1 in %+v", e2.sink.events())
	}
	e2.eventually("the call is hung up after the message", func() bool { _, ok := e2.call(id); return !ok })
}
