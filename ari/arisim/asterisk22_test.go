package arisim

import (
	"encoding/json"
	"strings"
	"testing"
)

// Behaviour recorded on a real Asterisk 22.10.1 (docs/asterisk-check.md)
// that the older tests do not cover.

func TestOriginateAnswerDialplanIsAppDial2(t *testing.T) {
	h := newHarness(t, true, Options{})
	h.connect("omstil", false)
	ch := h.channel("POST", "/ari/channels?endpoint=Local/1001@omstil-test-agents&app=omstil", nil)
	want := DialplanCEP{Context: "omstil-test-agents", Exten: "1001", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	if ch.Dialplan != want {
		t.Fatalf("dialplan %+v, want %+v", ch.Dialplan, want)
	}
}

func TestMissingExtensionDestroysBothHalvesWithoutDial(t *testing.T) {
	h := newHarness(t, true, Options{})
	app := h.connect("omstil", false)
	ch := h.channel("POST", "/ari/channels?endpoint=Local/9999@omstil-test-agents&app=omstil&otherChannelId=two", nil)
	h.advance(0)
	evs := app.collect()
	if !sameTypes(typesOf(evs), "ChannelDestroyed", "ChannelDestroyed") {
		t.Fatalf("events %v, want ;2 then ;1 destroyed", typesOf(evs))
	}
	if idOf(evs[0]) != "two" || idOf(evs[1]) != ch.ID || evs[0]["cause"] != float64(0) || evs[1]["cause"] != float64(0) {
		t.Fatalf("destroyed %v / %v", evs[0], evs[1])
	}
}

func TestUnansweredInboundHungUpGivesDialNoAnswer(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	test := h.connect("omstil-test", false)
	one := h.channel("POST", "/ari/channels?endpoint=Local/1000@omstil-inbound&app=omstil-test&timeout=-1&otherChannelId=in", nil)
	h.advance(0)
	omstil.expect("StasisStart")
	test.collect()
	h.must(204, "DELETE", "/ari/channels/in", nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelHangupRequest", "StasisEnd") {
		t.Fatalf("omstil events %v", got)
	}
	evs := test.collect()
	if !sameTypes(typesOf(evs), "ChannelHangupRequest", "ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed", "Dial", "ChannelDestroyed") {
		t.Fatalf("omstil-test events %v", typesOf(evs))
	}
	if evs[4]["peer"].(map[string]any)["id"] != one.ID || evs[4]["dialstatus"] != "NOANSWER" || evs[5]["cause"] != float64(16) {
		t.Fatalf("dial %v, destroyed %v", evs[4], evs[5])
	}
}

func TestBridgeEventsGoToTheBridgeSubscribersOnly(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	test := h.connect("omstil-test", false)
	h.channel("POST", "/ari/channels?endpoint=Local/1000@omstil-inbound&app=omstil-test&timeout=-1&otherChannelId=in", nil)
	h.advance(0)
	h.must(204, "POST", "/ari/channels/in/answer", nil)
	omstil.collect()
	test.collect()
	h.must(200, "POST", "/ari/bridges?bridgeId=b", nil)
	h.must(204, "POST", "/ari/bridges/b/addChannel?channel=in", nil)
	h.must(204, "DELETE", "/ari/bridges/b", nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelEnteredBridge", "ChannelLeftBridge") {
		t.Fatalf("omstil events %v (no BridgeDestroyed)", got)
	}
	// omstil-test originated "in" but is not subscribed to the bridge.
	if got := typesOf(test.collect()); len(got) != 0 {
		t.Fatalf("omstil-test events %v, want none", got)
	}
}

func TestSoundExists(t *testing.T) {
	h := newHarness(t, true, Options{SoundExists: func(name string) bool { return !strings.Contains(name, "missing") }})
	app := h.connect("omstil", false)
	call := h.callInApp(app, Call{Number: "1000", CallerID: "1"})
	h.must(204, "POST", "/ari/channels/"+call.ID+"/answer", nil)
	app.collect()
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play/p1?media=sound:http://omstil/media/missing.wav", nil)
	evs := app.expect("PlaybackStarted", "PlaybackFinished")
	if pb := evs[1]["playback"].(map[string]any); pb["state"] != "failed" {
		t.Fatalf("finished %v", pb)
	}
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play/p2?media=sound:beep", nil)
	app.expect("PlaybackStarted")
	if got := typesOf(app.collect()); len(got) != 0 {
		t.Fatalf("an existing sound ended at once: %v", got)
	}
}

func TestChannelVarsInEverySnapshot(t *testing.T) {
	h := newHarness(t, true, Options{ChannelVars: []string{"OMSTIL_CALL"}})
	app := h.connect("omstil", false)
	call, err := h.sim.PlaceCall(Call{Number: "1000", CallerID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	start := app.expect("StasisStart")[0]
	if cv := chanOf(start)["channelvars"]; cv == nil || cv.(map[string]any)["OMSTIL_CALL"] != "" {
		t.Fatalf("StasisStart channelvars %v, want OMSTIL_CALL empty", cv)
	}
	h.must(204, "POST", "/ari/channels/"+call.ID+"/variable?variable=OMSTIL_CALL&value=j%3D1", nil)
	var list []Channel
	json.Unmarshal(h.must(200, "GET", "/ari/channels", nil), &list)
	if len(list) != 1 || list[0].Channelvars["OMSTIL_CALL"] != "j=1" {
		t.Fatalf("listed %+v", list)
	}
}

func TestBridgePlayPathIDAndHoldWithoutEvents(t *testing.T) {
	h := newHarness(t, true, Options{})
	app := h.connect("omstil", false)
	call := h.callInApp(app, Call{Number: "1000", CallerID: "1"})
	h.must(204, "POST", "/ari/channels/"+call.ID+"/answer", nil)
	h.must(200, "POST", "/ari/bridges?bridgeId=h&type=holding", nil)
	h.must(204, "POST", "/ari/bridges/h/addChannel?channel="+call.ID, nil)
	app.collect()
	var pb Playback
	json.Unmarshal(h.must(201, "POST", "/ari/bridges/h/play/bp1?media=sound:beep", nil), &pb)
	if pb.ID != "bp1" || pb.TargetURI != "bridge:h" {
		t.Fatalf("bridge playback %+v, want id bp1 from the path", pb)
	}
	app.expect("PlaybackStarted")
	h.must(204, "POST", "/ari/channels/"+call.ID+"/hold", nil)
	h.must(204, "DELETE", "/ari/channels/"+call.ID+"/hold", nil)
	if got := typesOf(app.collect()); len(got) != 0 {
		t.Fatalf("hold/unhold sent %v, want nothing", got)
	}
}
