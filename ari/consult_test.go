package ari_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/queue"
)

// bridgeOf returns the channels of the bridge that holds ch (nil: none).
func bridgeOf(t *testing.T, e *env, ch string) []string {
	t.Helper()
	bs, err := e.cli.ListBridges(context.Background())
	if err != nil {
		t.Fatalf("list bridges: %v", err)
	}
	for _, b := range bs {
		if slices.Contains(b.Channels, ariclient.ChannelID(ch)) {
			var out []string
			for _, c := range b.Channels {
				out = append(out, string(c))
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

func hasEvent(e *env, call string, kind ari.CallEventKind, detail string) bool {
	return slices.ContainsFunc(e.sink.events(), func(ev ari.CallEvent) bool {
		return string(ev.Call) == call && ev.Kind == kind && (detail == "" || ev.Detail == detail)
	})
}

func deviceBusy(e *env, agent string) bool {
	for _, a := range e.ad.Snapshot().Agents {
		if string(a.ID) == agent {
			return a.DeviceBusy
		}
	}
	return false
}

// TestAttendedTransfer: anna talks to a citizen and consults a colleague
// (by name or by queue) or a number; the citizen hears music meanwhile.
// She completes (the citizen talks to the colleague, anna wraps up),
// cancels (back to the citizen), or hangs up while consulting (completes);
// a target that is busy brings the citizen back by itself.
func TestAttendedTransfer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(pbx asterisk) ari.ConsultTarget
		finish string // complete, cancel, hangup, none
	}{
		{"agent, complete", func(asterisk) ari.ConsultTarget { return ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"} }, "complete"},
		{"queue, complete", func(asterisk) ari.ConsultTarget { return ari.ConsultTarget{Kind: ari.ConsultQueue, To: "q2"} }, "complete"},
		{"agent, cancel", func(asterisk) ari.ConsultTarget { return ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"} }, "cancel"},
		{"number, agent hangs up", func(pbx asterisk) ari.ConsultTarget {
			return ari.ConsultTarget{Kind: ari.ConsultNumber, To: "177"}
		}, "hangup"},
		{"busy number", func(pbx asterisk) ari.ConsultTarget {
			return ari.ConsultTarget{Kind: ari.ConsultNumber, To: pbx.agent("busy", 9)}
		}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := newAsterisk(t)
			cfg := config(q1(),
				agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}},
				agentSpec{"bo", pbx.agent("answer", 2), []queue.QueueID{"q2"}})
			e := start(t, pbx, newShiftedClock(mondayMorning), cfg)
			e.ready("anna")
			e.ready("bo")
			id := pbx.placeCall(t, "70102020", "+4512345678")
			e.eventually("anna talks to the citizen", func() bool { return hasEvent(e, id, ari.CallBridged, "") })
			annaLeg := bridgeOf(t, e, id)
			ctx := context.Background()
			if err := e.ad.CompleteConsult(ctx, "anna", queue.CallID(id)); err == nil {
				t.Fatal("CompleteConsult without a consultation succeeded")
			}
			if err := e.ad.Consult(ctx, "anna", queue.CallID(id), tc.target(pbx)); err != nil {
				t.Fatalf("consult: %v", err)
			}
			// (a busy number can end the consultation before the next line
			// runs; then a second one is rightly accepted)
			if tc.finish != "none" {
				if err := e.ad.Consult(ctx, "anna", queue.CallID(id), tc.target(pbx)); err == nil {
					t.Fatal("a second consultation was accepted")
				}
				if err := e.ad.TransferToNumber(ctx, "anna", queue.CallID(id), "12345678"); err == nil {
					t.Fatal("a blind transfer during a consultation was accepted")
				}
			}
			if tc.finish == "none" {
				// the busy answer can come back before a poll sees the
				// citizen out of the bridge: only the outcome is checked.
				e.eventually("the busy target brings the citizen back", func() bool {
					return hasEvent(e, id, ari.CallConsultEnded, "target-gone") && slices.Equal(bridgeOf(t, e, id), annaLeg)
				})
				return
			}
			e.eventually("the citizen is out of the conversation", func() bool { return bridgeOf(t, e, id) == nil })
			e.eventually("the consulted party answers", func() bool { return hasEvent(e, id, ari.CallConsultUp, "") })
			if tc.target(pbx).Kind != ari.ConsultNumber && !deviceBusy(e, "bo") {
				t.Fatal("bo's device is not marked busy while consulted")
			}
			switch tc.finish {
			case "cancel":
				if err := e.ad.CancelConsult(ctx, "anna", queue.CallID(id)); err != nil {
					t.Fatal(err)
				}
				e.eventually("the citizen is back with anna", func() bool {
					b := bridgeOf(t, e, id)
					return len(b) == 2 && slices.Equal(b, annaLeg)
				})
				if deviceBusy(e, "bo") {
					t.Fatal("bo's device is still busy")
				}
				if c, _ := e.call(id); c.State != "connected" || c.Agent != "anna" {
					t.Fatalf("call %+v, want connected to anna", c)
				}
				return
			case "complete":
				if err := e.ad.CompleteConsult(ctx, "anna", queue.CallID(id)); err != nil {
					t.Fatal(err)
				}
			case "hangup":
				if err := e.ad.Hangup(ctx, "anna", queue.CallID(id)); err != nil {
					t.Fatal(err)
				}
			}
			defer func() {
				if t.Failed() {
					t.Logf("bridge of the citizen: %v (anna's was %v)", bridgeOf(t, e, id), annaLeg)
					for _, ev := range e.sink.events() {
						t.Logf("event %s %s %q", ev.Call, ev.Kind, ev.Detail)
					}
				}
			}()
			e.eventually("the citizen talks to the target", func() bool {
				b := bridgeOf(t, e, id)
				return hasEvent(e, id, ari.CallTransferred, "attended") && len(b) == 2 && !slices.Equal(b, annaLeg)
			})
			e.eventually("anna's conversation is recorded", func() bool {
				return len(find(e.sink, func(x queue.CallCompleted) bool { return string(x.Call) == id && x.Agent == "anna" })) == 1
			})
			e.eventually("anna is free", func() bool { s := agentState(e, "anna"); return s != queue.OnCall })
			pbx.hangupCitizen(t, id)
			e.eventually("the call is over", func() bool { _, ok := e.call(id); return !ok })
			e.eventually("bo's phone is free again", func() bool { return !deviceBusy(e, "bo") })
		})
	}
}

// TestAttendedTransferFromBrowser: a browser agent consults a colleague's
// phone and completes; the page is told the call was transferred.
func TestAttendedTransferFromBrowser(t *testing.T) {
	pbx := newSimAsterisk(t)
	t.Cleanup(pbx.close)
	relay, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	web := newFakeWebRTC(relay)
	cfg := config(q1(), agentSpec{"bo", pbx.agent("answer", 2), []queue.QueueID{"q2"}})
	cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: "web", Queues: []queue.Membership{{Queue: "q1"}}})
	cfg.Devices["web"] = ari.Device{Kind: ari.DeviceWebRTC}
	cfg.AgentOrgs["web"] = "kommune"
	e := startWith(t, pbx, newShiftedClock(mondayMorning), cfg, func(o *ari.Options) { o.WebRTC = web })
	e.ready("web")
	e.ready("bo")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	var ring ari.RingInfo
	select {
	case ring = <-web.rings:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser was not rung")
	}
	ctx := context.Background()
	if err := e.ad.Answer(ctx, "web", ring.Call); err != nil {
		t.Fatal(err)
	}
	e.eventually("the browser talks to the citizen", func() bool { return hasEvent(e, id, ari.CallBridged, "") })
	if err := e.ad.Consult(ctx, "web", ring.Call, ari.ConsultTarget{Kind: ari.ConsultAgent, To: "web"}); err == nil {
		t.Fatal("consulting oneself was accepted")
	}
	if err := e.ad.Consult(ctx, "web", ring.Call, ari.ConsultTarget{Kind: ari.ConsultAgent, To: "bo"}); err != nil {
		t.Fatal(err)
	}
	e.eventually("bo answers", func() bool { return hasEvent(e, id, ari.CallConsultUp, "") })
	if err := e.ad.CompleteConsult(ctx, "web", ring.Call); err != nil {
		t.Fatal(err)
	}
	e.eventually("the citizen talks to bo", func() bool {
		return hasEvent(e, id, ari.CallTransferred, "attended") && len(bridgeOf(t, e, id)) == 2 && agentState(e, "web") != queue.OnCall
	})
	web.mu.Lock()
	defer web.mu.Unlock()
	if !slices.Contains(web.ended, "transferred") {
		t.Fatalf("Ended reasons %v, want transferred", web.ended)
	}
}
