package ari_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
)

// TestDialledNumberCanonical: however the trunk writes the number, a call
// reaches the flow of the organisation that owns it, and the call's
// number is the canonical one (call-event log, live view).
func TestDialledNumberCanonical(t *testing.T) {
	pbx := newAsterisk(t)
	rc := config(q1())
	rc.Numbers = map[string]ari.NumberConfig{
		"+4580808080": {Flow: directFlow(), Org: "kommune"},
		"+4570101010": {Flow: testFlow(), Org: "kommune"},
		"1813":        {Flow: directFlow(), Org: "kommune"},
	}
	e := start(t, pbx, newShiftedClock(mondayMorning), rc)
	// One after the other, not in subtests: e.eventually fails the test
	// that started the adapter.
	for _, spelling := range []string{"80808080", "4580808080", "004580808080", "+4580808080", "1813"} {
		want := "+4580808080"
		if spelling == "1813" {
			want = "1813"
		}
		id := pbx.placeCall(t, spelling, "+4512345678")
		e.eventually("a call to "+spelling+" waits in q1", func() bool { c, _ := e.call(id); return c.State == "waiting" && c.Queue == "q1" })
		if c, _ := e.call(id); c.Number != want {
			t.Errorf("%s: live call number %q, want %q", spelling, c.Number, want)
		}
		if got := e.steps(id); !slices.Equal(got, []callflow.StepID{"kø1"}) {
			t.Errorf("%s: steps %v, want the owner's direct flow [kø1]", spelling, got)
		}
		for _, ev := range e.sink.events() {
			if string(ev.Call) == id && ev.Number != want {
				t.Errorf("%s: call event %s has number %q, want %q", spelling, ev.Kind, ev.Number, want)
			}
		}
		pbx.hangupCitizen(t, id)
		e.eventually("the call to "+spelling+" ends", func() bool { _, ok := e.call(id); return !ok })
	}
	// A number nobody owns is not in service, in any spelling.
	id := pbx.placeCall(t, "4580808081", "+4512345678")
	e.eventually("the unknown number is refused", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool {
			return string(ev.Call) == id && ev.Kind == ari.CallUnknownNumber && ev.Number == "+4580808081"
		})
	})
}

// Two keys of the runtime configuration that are one number route
// neither: which would win would depend on map order.
func TestReloadRefusesOneNumberTwice(t *testing.T) {
	pbx := newAsterisk(t)
	e := start(t, pbx, newShiftedClock(mondayMorning), config(q1()))
	rc := config(q1())
	rc.Numbers["+4570101010"] = ari.NumberConfig{Flow: directFlow(), Org: "anden"}
	err := e.ad.Reload(context.Background(), rc)
	if err == nil || !strings.Contains(err.Error(), "same number +4570101010") {
		t.Fatalf("Reload: %v, want an error naming +4570101010", err)
	}
	id := pbx.placeCall(t, "70101010", "+4512345678")
	e.eventually("the number is not in service", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool {
			return string(ev.Call) == id && ev.Kind == ari.CallUnknownNumber
		})
	})
}
