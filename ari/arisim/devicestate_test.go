package arisim

import (
	"testing"
	"time"
)

// deviceStates returns the DeviceStateChanged states among evs, in order.
func deviceStates(evs []Event, device string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type() != "DeviceStateChanged" {
			continue
		}
		ds, _ := ev["device_state"].(map[string]any)
		if ds["name"] == device {
			out = append(out, ds["state"].(string))
		}
	}
	return out
}

// TestDeviceStateSubscription: an app subscribed to a PJSIP device gets
// DeviceStateChanged as a call to it rings, is answered and ends; an app
// that did not subscribe gets nothing.
func TestDeviceStateSubscription(t *testing.T) {
	h := newHarness(t, true, Options{})
	ws := h.connect("omstil", false)
	other := h.connect("other", false)
	h.sim.SetEndpoint("1001", EndpointBehavior{Mode: Answer, AnswerAfter: time.Second})
	if code, body := h.do("POST", "/ari/applications/omstil/subscription?eventSource=deviceState:PJSIP/1001", nil); code != 200 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	for _, a := range h.sim.Applications() {
		if a.Name == "omstil" && (len(a.DeviceNames) != 1 || a.DeviceNames[0] != "PJSIP/1001") {
			t.Fatalf("application: %+v", a)
		}
	}
	if code, _ := h.do("POST", "/ari/applications/omstil/subscription", nil); code != 400 {
		t.Fatalf("missing eventSource: %d", code)
	}
	if code, _ := h.do("POST", "/ari/applications/nosuch/subscription?eventSource=deviceState:PJSIP/1001", nil); code != 404 {
		t.Fatalf("unknown app: %d", code)
	}
	if code, body := h.do("POST", "/ari/channels?endpoint=PJSIP/1001&app=omstil", nil); code != 200 {
		t.Fatalf("originate: %d %s", code, body)
	}
	h.advance(0)
	h.advance(time.Second)
	for _, ch := range h.sim.Channels() {
		if code, _ := h.do("DELETE", "/ari/channels/"+ch.ID, nil); code != 204 {
			t.Fatalf("hangup: %d", code)
		}
	}
	got := deviceStates(ws.collect(), "PJSIP/1001")
	want := []string{"RINGING", "INUSE", "NOT_INUSE"}
	if len(got) != len(want) {
		t.Fatalf("device states %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("device states %v, want %v", got, want)
		}
	}
	if s := deviceStates(other.collect(), "PJSIP/1001"); len(s) != 0 {
		t.Fatalf("unsubscribed app got %v", s)
	}
	if code, _ := h.do("DELETE", "/ari/applications/omstil/subscription?eventSource=deviceState:PJSIP/1001", nil); code != 200 {
		t.Fatal("unsubscribe")
	}
}
