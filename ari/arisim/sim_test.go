package arisim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	h := newHarness(t, true, Options{})
	tests := []struct {
		name, user, pass, query string
		want                    int
	}{
		{"basic auth", "omstil", "omstil", "", 200},
		{"api_key", "", "", "?api_key=omstil:omstil", 200},
		{"wrong password", "omstil", "nope", "", 401},
		{"wrong api_key", "", "", "?api_key=omstil:x", 401},
		{"nothing", "", "", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.srv.URL+"/ari/asterisk/ping"+tc.query, nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
				t.Fatalf("401 without Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestAsteriskResources(t *testing.T) {
	h := newHarness(t, true, Options{})
	var res struct{ APIVersion string }
	json.Unmarshal(h.must(200, "GET", "/ari/api-docs/resources.json", nil), &res)
	if res.APIVersion != "10.0.0" {
		t.Fatalf("apiVersion %q", res.APIVersion)
	}
	var info map[string]map[string]any
	json.Unmarshal(h.must(200, "GET", "/ari/asterisk/info", nil), &info)
	for _, k := range []string{"build", "system", "config", "status"} {
		if info[k] == nil {
			t.Fatalf("info lacks %s: %v", k, info)
		}
	}
	if info["status"]["startup_time"] != "2026-11-28T10:00:00.000+0000" {
		t.Fatalf("startup_time %v", info["status"]["startup_time"])
	}
	var only map[string]any
	json.Unmarshal(h.must(200, "GET", "/ari/asterisk/info?only=system", nil), &only)
	if len(only) != 1 || only["system"] == nil {
		t.Fatalf("only=system gave %v", only)
	}
	var ping map[string]string
	json.Unmarshal(h.must(200, "GET", "/ari/asterisk/ping", nil), &ping)
	if ping["ping"] != "pong" || ping["asterisk_id"] == "" {
		t.Fatalf("ping %v", ping)
	}
}

var tsRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)

func TestInboundCallLifecycle(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	call, err := h.sim.PlaceCall(Call{Number: "1000", CallerID: "12345678", CallerName: "Borger"})
	if err != nil {
		t.Fatal(err)
	}
	start := omstil.expect("StasisStart")[0]
	if args, _ := start["args"].([]any); len(args) != 1 || args[0] != "1000" {
		t.Fatalf("args %v", start["args"])
	}
	for k, want := range map[string]string{"application": "omstil", "asterisk_id": "02:42:ac:11:00:02"} {
		if start[k] != want {
			t.Fatalf("%s = %v, want %s", k, start[k], want)
		}
	}
	if ts, _ := start["timestamp"].(string); !tsRe.MatchString(ts) {
		t.Fatalf("timestamp %q", ts)
	}
	c := chanOf(start)
	dp := c["dialplan"].(map[string]any)
	if c["state"] != "Ring" || dp["app_name"] != "Stasis" || dp["app_data"] != "omstil,1000" || dp["context"] != "omstil-inbound" {
		t.Fatalf("channel %v", c)
	}
	if caller := c["caller"].(map[string]any); caller["number"] != "12345678" || caller["name"] != "Borger" {
		t.Fatalf("caller %v", caller)
	}
	if !strings.HasPrefix(call.Name, "PJSIP/trunk-") {
		t.Fatalf("name %q", call.Name)
	}

	h.must(204, "POST", "/ari/channels/"+call.ID+"/answer", nil)
	if ev := omstil.expect("ChannelStateChange")[0]; chanOf(ev)["state"] != "Up" {
		t.Fatalf("state %v", chanOf(ev)["state"])
	}
	h.must(204, "POST", "/ari/channels/"+call.ID+"/variable?variable=QUEUE&value=borgerservice", nil)
	if ev := omstil.expect("ChannelVarset")[0]; ev["variable"] != "QUEUE" || ev["value"] != "borgerservice" {
		t.Fatalf("varset %v", ev)
	}
	var v map[string]string
	json.Unmarshal(h.must(200, "GET", "/ari/channels/"+call.ID+"/variable?variable=QUEUE", nil), &v)
	if v["value"] != "borgerservice" {
		t.Fatalf("variable %v", v)
	}
	h.must(404, "GET", "/ari/channels/"+call.ID+"/variable?variable=NOPE", nil)

	if err := h.sim.PressDTMF(call.ID, "1#"); err != nil {
		t.Fatal(err)
	}
	omstil.sync() // nothing before the digits' time has come
	h.advance(100 * time.Millisecond)
	if ev := omstil.expect("ChannelDtmfReceived")[0]; ev["digit"] != "1" || ev["duration_ms"] != float64(100) {
		t.Fatalf("dtmf %v", ev)
	}
	h.advance(200 * time.Millisecond)
	if ev := omstil.expect("ChannelDtmfReceived")[0]; ev["digit"] != "#" {
		t.Fatalf("dtmf %v", ev)
	}

	h.must(204, "DELETE", "/ari/channels/"+call.ID+"?reason=normal", nil)
	evs := omstil.collect()
	// a dialplan channel: StasisEnd, but no ChannelDestroyed for its app
	if !sameTypes(typesOf(evs), "ChannelHangupRequest", "StasisEnd") {
		t.Fatalf("events %v", typesOf(evs))
	}
	if evs[0]["cause"] != float64(32) || evs[0]["soft"] != true {
		t.Fatalf("hangup request %v", evs[0])
	}
	h.must(404, "GET", "/ari/channels/"+call.ID, nil)
}

func TestLocalCitizenCall(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	test := h.connect("omstil-test", false)

	one := h.channel("POST", "/ari/channels?endpoint=Local/1000@omstil-inbound&app=omstil-test&callerId=Borger%20%3C12345678%3E&timeout=-1", nil)
	if one.State != "Down" || !strings.HasSuffix(one.Name, ";1") || !strings.HasPrefix(one.Name, "Local/1000@omstil-inbound-") {
		t.Fatalf("originated %+v", one)
	}
	h.advance(0)
	start := omstil.expect("StasisStart")[0]
	two := idOf(start)
	c := chanOf(start)
	if c["caller"].(map[string]any)["number"] != "12345678" || c["dialplan"].(map[string]any)["app_data"] != "omstil,1000" {
		t.Fatalf(";2 %v", c)
	}
	if got := typesOf(test.collect()); !sameTypes(got, "Dial", "ChannelDialplan", "ChannelVarset") {
		t.Fatalf("test app events %v", got)
	}
	// ;1 is not in Stasis before ;2 answers
	h.must(409, "POST", "/ari/channels/"+one.ID+"/dtmf?dtmf=1", nil)

	h.must(204, "POST", "/ari/channels/"+two+"/answer", nil)
	omstil.expect("ChannelStateChange")
	evs := test.collect()
	// the originated ;1 enters its app without ChannelDialplan; STASISSTATUS
	// is cleared first (as on Asterisk 22.10.1)
	if !sameTypes(typesOf(evs), "ChannelStateChange", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart") {
		t.Fatalf("test app events %v", typesOf(evs))
	}
	if idOf(evs[4]) != one.ID || evs[2]["dialstatus"] != "ANSWER" || evs[3]["variable"] != "STASISSTATUS" {
		t.Fatalf("StasisStart %v / Dial %v", evs[4], evs[2])
	}

	h.must(204, "POST", "/ari/channels/"+one.ID+"/dtmf?dtmf=5", nil)
	h.advance(100 * time.Millisecond)
	if ev := omstil.expect("ChannelDtmfReceived")[0]; ev["digit"] != "5" || idOf(ev) != two {
		t.Fatalf("dtmf %v", ev)
	}
	test.expect("ChannelDtmfReceived") // omstil-test follows ;2 too

	// the citizen hangs up
	h.must(204, "DELETE", "/ari/channels/"+one.ID, nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelHangupRequest", "StasisEnd") {
		t.Fatalf("omstil events %v", got)
	}
	got := typesOf(test.collect())
	// as on Asterisk 22.10.1: ;1 ends (32 soft), ;2 is asked to hang up
	// with ;1's cause, ;1 is destroyed, then ;2 (16, soft)
	if !sameTypes(got, "ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed",
		"ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed") {
		t.Fatalf("test events %v", got)
	}
}

func TestOriginateOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		setup    EndpointBehavior
		advance  time.Duration
		want     []string
		cause    float64
	}{
		{"pjsip answers after 3 s", "PJSIP/agent1", EndpointBehavior{Mode: Answer, AnswerAfter: 3 * time.Second}, 3 * time.Second,
			[]string{"Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart"}, 0},
		{"pjsip answers at once", "PJSIP/agent1", EndpointBehavior{Mode: Answer}, 0,
			[]string{"Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart"}, 0},
		{"pjsip busy", "PJSIP/agent1", EndpointBehavior{Mode: Busy}, 0,
			[]string{"Dial", "Dial", "ChannelDestroyed"}, 17},
		{"pjsip no answer", "PJSIP/agent1", EndpointBehavior{Mode: NoAnswer}, 30 * time.Second,
			[]string{"Dial", "ChannelStateChange", "Dial", "ChannelDestroyed"}, 19},
		{"pjsip unavailable", "PJSIP/agent1", EndpointBehavior{Mode: Unavailable}, 0,
			[]string{"Dial", "ChannelHangupRequest", "ChannelDestroyed"}, 3},
		{"local answers", "Local/1001@omstil-test-agents", EndpointBehavior{}, 0,
			[]string{"Dial", "ChannelDialplan", "ChannelStateChange", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart", "ChannelDialplan"}, 0},
		{"local rings 2 s", "Local/2001@omstil-test-agents", EndpointBehavior{}, 2 * time.Second,
			[]string{"Dial", "ChannelDialplan", "ChannelStateChange", "Dial", "ChannelDialplan",
				"ChannelDialplan", "ChannelStateChange", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart", "ChannelDialplan"}, 0},
		{"local busy", "Local/3001@omstil-test-agents", EndpointBehavior{}, 0,
			[]string{"Dial", "ChannelDialplan", "ChannelStateChange", "Dial", "ChannelHangupRequest", "ChannelDestroyed", "ChannelHangupRequest", "ChannelDestroyed"}, 0},
		{"local congestion", "Local/5001@omstil-test-agents", EndpointBehavior{}, 0,
			[]string{"Dial", "ChannelDialplan", "ChannelStateChange", "Dial", "ChannelHangupRequest", "ChannelDestroyed", "ChannelHangupRequest", "ChannelDestroyed"}, 0},
		{"local rings for ever", "Local/4001@omstil-test-agents", EndpointBehavior{}, 30 * time.Second,
			[]string{"Dial", "ChannelDialplan", "ChannelStateChange", "Dial", "ChannelDialplan",
				"ChannelHangupRequest", "ChannelDestroyed", "ChannelHangupRequest", "ChannelDestroyed"}, 19},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, true, Options{})
			h.sim.SetEndpoint("agent1", tc.setup)
			app := h.connect("omstil", false)
			ch := h.channel("POST", "/ari/channels?endpoint="+tc.endpoint+"&app=omstil&appArgs=agent,a1", nil)
			h.advance(0)
			h.advance(tc.advance)
			evs := app.collect()
			if !sameTypes(typesOf(evs), tc.want...) {
				t.Fatalf("events %v, want %v", typesOf(evs), tc.want)
			}
			for _, ev := range evs {
				if ev.Type() == "ChannelDestroyed" && idOf(ev) == ch.ID && ev["cause"] != tc.cause {
					t.Fatalf("cause %v, want %v", ev["cause"], tc.cause)
				}
				if ev.Type() == "StasisStart" {
					if args := ev["args"].([]any); len(args) != 2 || args[0] != "agent" {
						t.Fatalf("args %v", args)
					}
				}
			}
		})
	}
}

func TestOriginateErrors(t *testing.T) {
	h := newHarness(t, true, Options{})
	h.connect("omstil", false)
	tests := []struct {
		name, path string
		want       int
		body       string
	}{
		{"unknown pjsip endpoint", "/ari/channels?endpoint=PJSIP/nobody&app=omstil", 500, `{"error":"Allocation failed"}`},
		{"no endpoint", "/ari/channels?app=omstil", 400, `{"message":"Endpoint must be specified"}`},
		{"bad endpoint", "/ari/channels?endpoint=PJSIP&app=omstil", 400, `{"message":"Invalid endpoint specified"}`},
		{"no app or extension", "/ari/channels?endpoint=Local/1@omstil-inbound", 400, `{"message":"Application or extension must be specified"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do("POST", tc.path, nil)
			if code != tc.want || strings.TrimSpace(string(body)) != tc.body {
				t.Fatalf("got %d %s, want %d %s", code, body, tc.want, tc.body)
			}
		})
	}
	h.must(200, "POST", "/ari/channels?endpoint=Local/1001@omstil-test-agents&app=omstil&channelId=fixed", nil)
	h.must(409, "POST", "/ari/channels/fixed?endpoint=Local/1001@omstil-test-agents&app=omstil", nil)
}

func TestChannelErrors(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	call, _ := h.sim.PlaceCall(Call{Number: "1", CallerID: "11"})
	omstil.expect("StasisStart")
	// ;1 of a Local pair that is still dialling is not in Stasis
	one := h.channel("POST", "/ari/channels?endpoint=Local/4001@omstil-test-agents&app=omstil", nil)
	tests := []struct {
		name, method, path string
		want               int
		msg                string
	}{
		{"answer unknown", "POST", "/ari/channels/nope/answer", 404, "Channel not found"},
		{"get unknown", "GET", "/ari/channels/nope", 404, "Channel not found"},
		{"hangup unknown", "DELETE", "/ari/channels/nope", 404, "Channel not found"},
		{"answer not in stasis", "POST", "/ari/channels/" + one.ID + "/answer", 409, "Channel not in Stasis application"},
		{"play not in stasis", "POST", "/ari/channels/" + one.ID + "/play?media=sound:x", 409, "Channel not in Stasis application"},
		{"dtmf missing", "POST", "/ari/channels/" + call.ID + "/dtmf", 400, "DTMF is required"},
		{"bad reason", "DELETE", "/ari/channels/" + call.ID + "?reason=whatever", 400, "Invalid reason for hangup reason provided"},
		{"reason and code", "DELETE", "/ari/channels/" + call.ID + "?reason=normal&reason_code=16", 400, "The reason and reason_code can't both be specified"},
		{"variable missing", "GET", "/ari/channels/" + call.ID + "/variable", 400, "Variable name is required"},
		{"unknown resource", "GET", "/ari/nothing", 404, "Resource not found"},
		{"playback unknown", "GET", "/ari/playbacks/nope", 404, "Playback not found"},
		{"bridge unknown", "GET", "/ari/bridges/nope", 404, "Bridge not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(tc.method, tc.path, nil)
			var m map[string]string
			json.Unmarshal(body, &m)
			if code != tc.want || m["message"] != tc.msg {
				t.Fatalf("got %d %s, want %d %q", code, body, tc.want, tc.msg)
			}
		})
	}
}

func TestBridges(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	a, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "11111111"})
	b, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "22222222"})
	omstil.expect("StasisStart", "StasisStart")
	var br Bridge
	json.Unmarshal(h.must(200, "POST", "/ari/bridges?type=mixing&bridgeId=b1&name=q", nil), &br)
	if br.ID != "b1" || br.BridgeType != "mixing" || br.Technology != "simple_bridge" || br.BridgeClass != "stasis" || len(br.Channels) != 0 {
		t.Fatalf("bridge %+v", br)
	}
	omstil.sync() // BridgeCreated only for subscribeAll apps
	h.must(409, "POST", "/ari/bridges/b1", nil)
	h.must(500, "POST", "/ari/bridges?type=mixing,holding", nil)

	h.must(204, "POST", "/ari/bridges/b1/addChannel?channel="+a.ID+","+b.ID, nil)
	evs := omstil.expect("ChannelEnteredBridge", "ChannelEnteredBridge")
	if chans := evs[1]["bridge"].(map[string]any)["channels"].([]any); len(chans) != 2 {
		t.Fatalf("bridge channels %v", chans)
	}
	h.must(400, "POST", "/ari/bridges/b1/addChannel?channel=nope", nil)
	h.must(400, "POST", "/ari/bridges/b1/addChannel", nil)

	h.must(204, "POST", "/ari/bridges/b1/removeChannel?channel="+b.ID, nil)
	omstil.expect("ChannelLeftBridge")
	code, body := h.do("POST", "/ari/bridges/b1/removeChannel?channel="+b.ID, nil)
	if code != 422 || !strings.Contains(string(body), "Channel not in this bridge") {
		t.Fatalf("remove again: %d %s", code, body)
	}

	// moving a channel to another bridge leaves the first
	h.must(200, "POST", "/ari/bridges/hold?type=holding", nil)
	h.must(204, "POST", "/ari/bridges/hold/addChannel?channel="+a.ID, nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelLeftBridge", "ChannelEnteredBridge") {
		t.Fatalf("move events %v", got)
	}
	h.must(204, "POST", "/ari/bridges/hold/moh", nil)
	h.must(204, "DELETE", "/ari/bridges/hold/moh", nil)
	h.must(409, "DELETE", "/ari/bridges/hold/moh", nil)

	h.must(204, "DELETE", "/ari/bridges/hold", nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelLeftBridge") {
		t.Fatalf("destroy events %v", got)
	}
	var list []Bridge
	json.Unmarshal(h.must(200, "GET", "/ari/bridges", nil), &list)
	if len(list) != 1 || list[0].ID != "b1" {
		t.Fatalf("bridges %+v", list)
	}
}

func TestPlayback(t *testing.T) {
	h := newHarness(t, true, Options{MediaLengths: map[string]time.Duration{"sound:queue-thankyou": 1500 * time.Millisecond}})
	omstil := h.connect("omstil", false)
	call, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "11111111"})
	omstil.expect("StasisStart")

	var pb Playback
	json.Unmarshal(h.must(201, "POST", "/ari/channels/"+call.ID+"/play/pb1?media=sound:queue-thankyou&media=digits:12", nil), &pb)
	if pb.ID != "pb1" || pb.State != "queued" || pb.TargetURI != "channel:"+call.ID || pb.NextMediaURI != "digits:12" {
		t.Fatalf("playback %+v", pb)
	}
	if ev := omstil.expect("PlaybackStarted")[0]; ev["playback"].(map[string]any)["state"] != "playing" {
		t.Fatalf("started %v", ev)
	}
	json.Unmarshal(h.must(200, "GET", "/ari/playbacks/pb1", nil), &pb)
	if pb.State != "playing" {
		t.Fatalf("state %q", pb.State)
	}
	h.advance(1499 * time.Millisecond)
	omstil.sync()
	h.advance(time.Millisecond)
	omstil.expect("PlaybackContinuing", "PlaybackStarted")
	h.advance(1200 * time.Millisecond) // digits: 600 ms each
	if ev := omstil.expect("PlaybackFinished")[0]; ev["playback"].(map[string]any)["state"] != "done" {
		t.Fatalf("finished %v", ev)
	}
	h.must(404, "GET", "/ari/playbacks/pb1", nil)

	// a queued playback waits for the one before it; tones play until stopped
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play/t1?media=tone:ring", nil)
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play/s2?media=sound:hello", nil)
	omstil.expect("PlaybackStarted")
	h.advance(time.Minute)
	omstil.sync()
	h.must(204, "DELETE", "/ari/playbacks/t1", nil)
	omstil.expect("PlaybackFinished", "PlaybackStarted")
	h.advance(2 * time.Second)
	omstil.expect("PlaybackFinished")

	// missing recording fails
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play?media=recording:nope", nil)
	evs := omstil.expect("PlaybackStarted", "PlaybackFinished")
	if evs[1]["playback"].(map[string]any)["state"] != "failed" {
		t.Fatalf("finished %v", evs[1])
	}

	// hangup ends a playback before StasisEnd
	h.must(201, "POST", "/ari/channels/"+call.ID+"/play?media=sound:long", nil)
	omstil.expect("PlaybackStarted")
	h.sim.HangupFarEnd(call.ID, 0)
	if got := typesOf(omstil.collect()); !sameTypes(got, "ChannelHangupRequest", "PlaybackFinished", "StasisEnd") {
		t.Fatalf("events %v", got)
	}
}

func TestReconnectKeepsChannels(t *testing.T) {
	h := newHarness(t, true, Options{})
	first := h.connect("omstil", false)
	call, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "12345678"})
	first.expect("StasisStart")
	first.ws.CloseNow()
	// wait until the server noticed (real network I/O)
	deadline := time.Now().Add(5 * time.Second)
	for h.sim.appActiveLocked("omstil") {
		if time.Now().After(deadline) {
			t.Fatal("server did not notice the closed socket")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var chans []Channel
	json.Unmarshal(h.must(200, "GET", "/ari/channels", nil), &chans)
	if len(chans) != 1 || chans[0].Dialplan.AppName != "Stasis" || chans[0].Dialplan.AppData != "omstil,1000" {
		t.Fatalf("channels %+v", chans)
	}
	var apps []Application
	json.Unmarshal(h.must(200, "GET", "/ari/applications", nil), &apps)
	if len(apps) != 1 || apps[0].Name != "omstil" || len(apps[0].ChannelIDs) != 1 {
		t.Fatalf("applications %+v", apps)
	}
	// events while no socket holds the app are lost, as on Asterisk
	h.must(204, "POST", "/ari/channels/"+call.ID+"/variable?variable=X&value=1", nil)

	second := h.connect("omstil", false)
	h.must(204, "POST", "/ari/channels/"+call.ID+"/answer", nil)
	second.expect("ChannelStateChange")
	h.sim.HangupFarEnd(call.ID, 0)
	if got := typesOf(second.collect()); !sameTypes(got, "ChannelHangupRequest", "StasisEnd") {
		t.Fatalf("events %v", got)
	}
	h.must(404, "GET", "/ari/applications/omstil-none", nil)
}

func TestApplicationReplaced(t *testing.T) {
	h := newHarness(t, true, Options{})
	old := h.connect("omstil", false)
	// connect() syncs on the new socket; the old one gets ApplicationReplaced
	nw := h.connect("omstil", false)
	if ev := old.next(); ev.Type() != "ApplicationReplaced" || ev["application"] != "omstil" {
		t.Fatalf("old socket got %v", ev)
	}
	h.sim.PlaceCall(Call{Number: "1000", CallerID: "1"})
	nw.expect("StasisStart")
	select {
	case ev := <-old.evs:
		t.Fatalf("old socket still gets events: %v", ev)
	default:
	}
}

func TestUnknownEventAndSubscribeAll(t *testing.T) {
	h := newHarness(t, true, Options{})
	all := h.connect("watcher", true)
	omstil := h.connect("omstil", false)
	if err := h.sim.EmitEvent("", Event{"type": "CallBroadcast", "caller": "1", "called": "2"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*evConn{all, omstil} {
		if ev := c.next(); ev.Type() != "CallBroadcast" || ev["application"] != c.app {
			t.Fatalf("%s got %v", c.app, ev)
		}
	}
	call, _ := h.sim.PlaceCall(Call{Number: "1000", CallerID: "1"})
	// StasisStart goes only to the app the channel entered
	got := typesOf(all.collect())
	if !sameTypes(got, "ChannelCreated", "ChannelDialplan", "ChannelVarset") {
		t.Fatalf("subscribeAll events %v", got)
	}
	h.must(200, "POST", "/ari/bridges?bridgeId=x", nil)
	all.expect("BridgeCreated")
	_ = call
}

func TestSimHTTP(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	h.must(204, "PUT", "/sim/endpoints/agent7", `{"mode":"answer","answer_after_ms":1500,"echo":true}`)
	h.must(400, "PUT", "/sim/endpoints/agent7", `{"mode":"sometimes"}`)
	var call Channel
	json.Unmarshal(h.must(201, "POST", "/sim/calls", `{"number":"1000","caller":"12345678"}`), &call)
	omstil.expect("StasisStart")
	h.must(204, "POST", "/sim/channels/"+call.ID+"/dtmf?dtmf=2", nil)
	h.advance(100 * time.Millisecond)
	omstil.expect("ChannelDtmfReceived")
	h.must(204, "POST", "/sim/channels/"+call.ID+"/tone?tone=440", nil)
	h.must(400, "POST", "/sim/channels/"+call.ID+"/tone?tone=abc", nil)
	h.must(204, "POST", "/sim/events?app=omstil", `{"type":"CallBroadcast"}`)
	omstil.expect("CallBroadcast")
	h.must(204, "POST", "/sim/channels/"+call.ID+"/hangup?cause=17", nil)
	evs := omstil.expect("ChannelHangupRequest", "StasisEnd")
	if evs[0]["cause"] != float64(17) {
		t.Fatalf("hangup %v", evs[0])
	}
	h.must(404, "POST", "/sim/channels/"+call.ID+"/hangup", nil)
	var ag Channel
	json.Unmarshal(h.must(200, "POST", "/ari/channels?endpoint=PJSIP/agent7&app=omstil", nil), &ag)
	h.advance(0)
	h.must(204, "POST", "/sim/channels/"+ag.ID+"/answer", nil)
	if got := typesOf(omstil.collect()); !sameTypes(got, "Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "ChannelVarset", "StasisStart") {
		t.Fatalf("events %v", got)
	}
	var st map[string]float64
	json.Unmarshal(h.must(200, "GET", "/sim/stats", nil), &st)
	if st["channels_created"] != 2 || st["channels"] != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestGenerator(t *testing.T) {
	h := newHarness(t, true, Options{Seed: 7})
	omstil := h.connect("omstil", false)
	g, err := h.sim.StartGenerator(GeneratorOptions{PerMinute: 60, Numbers: []string{"1000", "2000"}, Patience: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.advance(time.Minute)
	g.Stop()
	placed := g.Placed()
	if placed < 35 || placed > 90 {
		t.Fatalf("placed %d calls in a minute at 60/min", placed)
	}
	h.advance(time.Minute) // every caller runs out of patience
	if n := len(h.sim.Channels()); n != 0 {
		t.Fatalf("%d channels left", n)
	}
	starts, ends := 0, 0
	for _, ev := range omstil.collect() {
		switch ev.Type() {
		case "StasisStart":
			starts++
			if n := chanOf(ev)["caller"].(map[string]any)["number"].(string); len(n) != 8 {
				t.Fatalf("caller %q", n)
			}
		case "StasisEnd":
			ends++
		}
	}
	if starts != placed || ends != placed {
		t.Fatalf("starts %d ends %d placed %d", starts, ends, placed)
	}
}

func TestCloseTwice(t *testing.T) {
	s := New(Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
