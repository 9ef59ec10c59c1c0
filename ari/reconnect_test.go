package ari_test

import (
	"github.com/omstil/omstil/internal/tcpproxy"
	"slices"
	"strings"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// mohOn reports whether the citizen hears music on hold (330 Hz in the
// simulator), i.e. the adapter's REST calls for it are done.
func mohOn(s *simAsterisk, ch string) bool {
	a, err := s.sim.Heard(ch)
	return err == nil && a.ToneLevel(330) > 0.3
}

// newFlakyProxy puts a tcpproxy in front of the simulator: it can cut
// every connection and refuse new ones, like an Asterisk restart or a
// network outage seen from omstil.
func newFlakyProxy(t *testing.T, target string) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// proxied is the simulator reached through a flakyProxy.
type proxied struct {
	*simAsterisk
	proxy *tcpproxy.Proxy
}

func (p proxied) url() (string, string, string) {
	return "http://" + p.proxy.Addr() + "/ari", "omstil", "omstil"
}

// TestReconnectResync: the ARI connection is lost; meanwhile one waiting
// caller hangs up and a talking citizen hangs up. After the client
// reconnects, the resync records the abandon and the end of the
// conversation, and the remaining caller still waits with its place.
func TestReconnectResync(t *testing.T) {
	sim := newSimAsterisk(t)
	t.Cleanup(sim.close)
	pbx := proxied{sim, newFlakyProxy(t, strings.TrimPrefix(sim.srv.URL, "http://"))}
	e := start(t, pbx, newShiftedClock(mondayMorning), config(q1(), agentSpec{"k1", sim.agent("answer", 1), []queue.QueueID{"q1"}}))
	e.ready("k1")
	talking := sim.placeCall(t, "70102020", "+4511111111")
	e.eventually("the first call is bridged", func() bool {
		return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool { return ev.Kind == ari.CallBridged && string(ev.Call) == talking })
	})
	gone := sim.placeCall(t, "70102020", "+4522222222")
	stays := sim.placeCall(t, "70102020", "+4533333333")
	e.eventually("two callers wait with music", func() bool {
		c, _ := e.call(stays)
		return c.State == "waiting" && c.Position == 2 && mohOn(sim, gone) && mohOn(sim, stays)
	})

	pbx.proxy.SetDown(true)
	e.eventually("the adapter notices the lost socket", func() bool { return !e.cli.Connected() })
	sim.hangupCitizen(t, gone)
	sim.hangupCitizen(t, talking)
	pbx.proxy.SetDown(false)

	e.eventually("the abandon and the end of the conversation are recorded", func() bool {
		return len(find(e.sink, func(x queue.Abandoned) bool { return string(x.Call) == gone })) == 1 &&
			len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == talking })) == 1
	})
	// k1 is free again after the conversation (no wrap-up) and takes the
	// caller who stayed.
	e.eventually("the remaining caller is answered", func() bool { c, _ := e.call(stays); return c.State == "connected" })
}
