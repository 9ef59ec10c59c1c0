package arisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// jsonValue decodes b (valid JSON, no duplicate member names, valid UTF-8:
// what a strict client such as ariclient accepts) into any.
func jsonValue(t testing.TB, b []byte) any {
	t.Helper()
	if !jsontext.Value(b).IsValid() {
		t.Errorf("not strictly valid JSON: %s", b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Errorf("decode %s: %v", b, err)
	}
	return v
}

// event is e as the equivalent Event map: the reference the hand-written
// JSON must equal.
func (e *simEvent) event(timestamp string) Event {
	ev := Event{"type": e.typ, "timestamp": timestamp}
	for _, m := range e.strs {
		if m.k != "" {
			ev[m.k] = m.v
		}
	}
	if e.hasCause {
		ev["cause"] = e.cause
	}
	if e.causeTxt {
		ev["cause_txt"] = causeTxt(e.cause)
	}
	if e.soft {
		ev["soft"] = true
	}
	if e.hasDur {
		ev["duration_ms"] = e.durationMS
	}
	if e.hasArgs {
		args := e.args
		if args == nil {
			args = []string{}
		}
		ev["args"] = args
	}
	if e.device.k != "" {
		ev["device_state"] = map[string]string{"name": e.device.k, "state": e.device.v}
	}
	if e.bridge != nil {
		ev["bridge"] = e.bridge.snapshot()
	}
	if e.playback != nil {
		ev["playback"] = e.playback.snapshot()
	}
	if e.peer != nil {
		ev["peer"] = e.peer.snapshot()
	}
	if e.channel != nil {
		ev["channel"] = e.channel.snapshot()
	}
	return ev
}

// sameJSON reports whether the hand-written JSON got decodes to the same
// value as encoding/json's encoding of ref.
func sameJSON(t testing.TB, got []byte, ref any) {
	t.Helper()
	want, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := jsonValue(t, got), jsonValue(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs from encoding/json's\n got %s\nwant %s", got, want)
	}
}

// checkEvents makes s compare every event it encodes with encoding/json's
// encoding of the equivalent Event map (the way the simulator encoded all
// events before it wrote them by hand).
func checkEvents(t testing.TB, s *Sim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evCheck = func(ev simEvent, now time.Time, body []byte) {
		sameJSON(t, append(append([]byte(nil), body...), '}'), ev.event(asteriskTime(now)))
		checkDeviceCounts(t, s)
	}
}

// checkDeviceCounts compares deviceState, kept by counts, with a scan of
// every live channel (how it was computed before).
func checkDeviceCounts(t testing.TB, s *Sim) {
	scan := map[string]string{}
	for dev := range s.devUse {
		scan[dev] = "NOT_INUSE"
	}
	for _, ch := range s.channels {
		if dev := deviceOf(ch.kind, ch.name); dev != "" {
			if _, ok := scan[dev]; !ok {
				scan[dev] = "NOT_INUSE"
			}
			if ch.gone {
				continue
			}
			switch ch.state {
			case "Up":
				scan[dev] = "INUSE"
			case "Ringing", "Ring":
				if scan[dev] != "INUSE" {
					scan[dev] = "RINGING"
				}
			}
		}
	}
	for dev, want := range scan {
		if got := s.deviceState(dev); got != want {
			t.Errorf("device %s: state %s from counts %+v, %s from the channels", dev, got, s.devUse[dev], want)
		}
	}
}

var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "<tag> & amp", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
	"æøå Ærø", "emoji 😀", "line sep \u2028 para \u2029", "bad utf8 \xff\xfe end", "trunc \xe2\x82", "\xc0\x80",
	"ctl \x1b[0m",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range trickyStrings {
		sameJSON(t, appendString(nil, s), s)
		sameJSON(t, appendString(nil, []byte(s)), s)
	}
	for c := 0; c < 256; c++ {
		s := string([]byte{'a', byte(c), 'b'})
		sameJSON(t, appendString(nil, s), s)
	}
	// jansson does not escape <, > and &.
	if got := string(appendString(nil, "<a&b>")); got != `"<a&b>"` {
		t.Errorf("appendString(<a&b>) = %s", got)
	}
}

// TestEventJSONMatchesReference writes every kind of member of every event
// the simulator makes, with awkward strings, and compares the JSON with
// encoding/json's encoding of the same Event map.
func TestEventJSONMatchesReference(t *testing.T) {
	for _, vars := range [][]string{nil, {"OMSTIL_CALL"}, {"B", "A", "B", "ÆØ\"<"}} {
		clock := NewFakeClock(t0.Add(1234567 * time.Microsecond).In(time.FixedZone("x", 3600)))
		s := New(Options{Clock: clock, ChannelVars: vars})
		s.mu.Lock()
		var chans []*channel
		for i, str := range trickyStrings {
			ch := s.newChannel(kindPJSIP, "PJSIP/"+str+"-1", "")
			ch.caller = CallerID{Name: str, Number: "+45" + str}
			ch.connected = CallerID{Name: trickyStrings[(i+1)%len(trickyStrings)]}
			ch.dp = DialplanCEP{Context: str, Exten: str, Priority: int64(i - 3), AppName: str, AppData: str}
			ch.vars["A"] = str
			ch.vars["ÆØ\"<"] = "v" + str
			ch.dial = &dialState{dialstr: str}
			chans = append(chans, ch)
		}
		br, _ := s.createBridge("mixing", "", "b<&>\"")
		hold, _ := s.createBridge("holding", "hold", "")
		pb := s.newPlayback("", []string{"sound:a", "", "sound:\"c\""}, "")
		pb.target, pb.ch = "channel:x", chans[0]
		s.mu.Unlock()

		var events []simEvent
		for i, ch := range chans {
			str := trickyStrings[i]
			events = append(events,
				simEvent{typ: "ChannelCreated", channel: ch},
				simEvent{typ: "ChannelStateChange", channel: ch},
				simEvent{typ: "ChannelDialplan", channel: ch, strs: [3]kv{{"dialplan_app", str}, {"dialplan_app_data", str}}},
				simEvent{typ: "ChannelVarset", strs: [3]kv{{"variable", str}, {"value", str}}, channel: ch},
				simEvent{typ: "StasisStart", args: []string{str, ""}, hasArgs: true, channel: ch},
				simEvent{typ: "StasisStart", hasArgs: true, channel: ch},
				simEvent{typ: "StasisEnd", channel: ch},
				simEvent{typ: "ChannelHangupRequest", cause: i, hasCause: true, channel: ch},
				simEvent{typ: "ChannelHangupRequest", cause: softhangupExplicit, hasCause: true, soft: true, channel: ch},
				simEvent{typ: "ChannelDestroyed", cause: i * 3, hasCause: true, causeTxt: true, channel: ch},
				dialEvent(str, ch),
				simEvent{typ: "ChannelDtmfReceived", strs: [3]kv{{"digit", "#"}}, durationMS: 100 * i, hasDur: true, channel: ch},
				simEvent{typ: "ApplicationMoveFailed", channel: ch, strs: [3]kv{{"destination", str}}, args: []string{}, hasArgs: true},
				simEvent{typ: "DeviceStateChanged", device: kv{str, "INUSE"}},
			)
		}
		for n := 0; n < 4; n++ {
			events = append(events,
				simEvent{typ: "BridgeCreated", bridge: br},
				simEvent{typ: "BridgeDestroyed", bridge: hold},
				simEvent{typ: "ChannelEnteredBridge", bridge: br, channel: chans[n]},
				simEvent{typ: "ChannelLeftBridge", bridge: hold, channel: chans[n]},
			)
			br.channels = append(br.channels, chans[n])
			hold.channels = append(hold.channels, chans[n])
		}
		for pb.idx = range pb.medias {
			events = append(events, simEvent{typ: "PlaybackStarted", playback: pb}, simEvent{typ: "PlaybackFinished", playback: pb})
		}
		pb.target, pb.ch, pb.br, pb.language = "bridge:"+br.id, nil, br, "da"
		events = append(events, simEvent{typ: "PlaybackContinuing", playback: pb}, simEvent{typ: "ApplicationReplaced"})

		for _, ev := range events {
			body := appendAppSuffix(ev.appendOpen(nil, appendTime(nil, clock.Now())), "omstil<&>", "02:42:ac:11:00:02")
			ref := ev.event(asteriskTime(clock.Now()))
			ref["application"], ref["asterisk_id"] = "omstil<&>", "02:42:ac:11:00:02"
			sameJSON(t, body, ref)
		}
		s.Close()
	}
}

// TestRESTResponseMatchesReference compares the RESTResponse message with
// encoding/json's encoding of the map it was made from before.
func TestRESTResponseMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{{204, ""}, {200, `{"value":"<x> & \"y\" æ"}`}, {404, `{"message":"Channel not found"}`}, {599, "x"}} {
		rq := restRequest{TransactionID: "t<1>", RequestID: "r\"1", URI: "channels/x?variable=Æ&y"}
		ref := map[string]any{
			"type": "RESTResponse", "transaction_id": rq.TransactionID, "request_id": rq.RequestID,
			"status_code": tc.status, "reason_phrase": http.StatusText(tc.status), "uri": rq.URI,
			"application": "omstil", "asterisk_id": "id",
		}
		if tc.body != "" {
			ref["content_type"] = "application/json"
			ref["message_body"] = tc.body
		}
		sameJSON(t, restResponse(rq, tc.status, []byte(tc.body), "omstil", "id"), ref)
	}
	if !strings.Contains(string(restResponse(restRequest{}, 204, nil, "a", "b")), `"status_code":204`) {
		t.Error("status_code is not a number")
	}
}

func TestAppendHexMatchesFmt(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xf, 0x10, 0xdeadbeef, 0x123456789, 1<<64 - 1} {
		for _, w := range []int{0, 1, 4, 8, 12, 20} {
			if got, want := string(appendHex([]byte("x"), v, w)), fmt.Sprintf("x%0*x", w, v); got != want {
				t.Errorf("appendHex(%#x, %d) = %s, want %s", v, w, got, want)
			}
		}
	}
}

// TestRESTModelsMatchEncodingJSON: the REST answers written by hand equal
// encoding/json's encoding of the same value.
func TestRESTModelsMatchEncodingJSON(t *testing.T) {
	var values []any
	for i, str := range trickyStrings {
		values = append(values,
			Channel{ID: str, Name: str, State: "Up", Caller: CallerID{str, str}, Connected: CallerID{Number: str},
				Dialplan: DialplanCEP{str, str, int64(i - 5), str, str}, Creationtime: str, Language: "en"},
			Channel{ID: "x", Channelvars: map[string]string{"B": str, "A": "", str: "v", "UNICASTRTP_LOCAL_PORT": "4000"}},
			Bridge{ID: str, Technology: "simple_bridge", Name: str, Channels: []string{str, "b"}},
			Bridge{ID: str, Channels: []string{}},
			Bridge{ID: str},
			Playback{ID: str, MediaURI: str, NextMediaURI: str, TargetURI: str, Language: str, State: str},
			map[string]string{"message": str},
			map[string]string{"value": str},
			map[string]string{str: str},
		)
	}
	for _, v := range values {
		b, ok := appendModel(nil, v)
		if !ok {
			t.Fatalf("appendModel(%T) not handled", v)
		}
		sameJSON(t, b, v)
	}
	for _, v := range []any{map[string]string{}, map[string]string{"a": "1", "b": "2"}, []Channel{}, map[string]any{"x": 1}} {
		if _, ok := appendModel(nil, v); ok {
			t.Errorf("appendModel(%#v) handled; encoding/json should", v)
		}
	}
}
