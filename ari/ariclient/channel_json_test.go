package ariclient

import (
	"encoding/json"
	"reflect"
	"testing"
)

var channelSeeds = []string{
	sampleChannel,
	`{"id":"c1"}`,
	`{}`,
	`null`,
	`{"id":"1732764281.42","name":"PJSIP/agent-1001-00000002","state":"Up","protocol_id":"abc@10.0.0.1","caller":{"name":"Jens","number":"4512345678"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"omstil-inbound","exten":"1000","priority":2,"app_name":"Stasis","app_data":"omstil,1000"},"creationtime":"2026-11-28T03:24:41.001+0100","language":"da","channelvars":{"OMSTIL_CALL":"q1:4512345678"},"caller_rdnis":"","tenantid":""}`,
	`{"id":"c1","channelvars":{"A":"1","B":"2"},"channelvars":{"C":"3"}}`,
	`{"id":"c1","caller":{"name":"a"},"caller":{"number":"5"}}`,
	`{"ID":"c1"}`,
	`{"Caller":{"number":"1"}}`,
	`{"caller":{"NUMBER":"1"}}`,
	`{"id":"J\u00f8rgen"}`,
	`{"id":"Jørgen"}`,
	`{"id":null,"name":"x"}`,
	`{"caller":null}`,
	`{"channelvars":null}`,
	`{"channelvars":{"A":null}}`,
	`{"channelvars":{"A":5}}`,
	`{"dialplan":{"priority":2.0}}`,
	`{"dialplan":{"priority":1e3}}`,
	`{"dialplan":{"priority":-7}}`,
	`{"dialplan":{"priority":99999999999999999999}}`,
	`{"dialplan":{"priority":"2"}}`,
	`{"id":5}`,
	`{"id":"c1","unknown":{"id":"x","list":[1,"]",{"a":null}]},"other":true}`,
	`{"creationtime":"yesterday"}`,
	`{"creationtime":null}`,
	`{"creationtime":"2026-11-28T03:24:41+0100"}`,
	` { "id" : "c1" , "state" : "Ring" } `,
	`{"id":"c1",}`,
	`{"id":"c1"`,
	`[]`,
	`"c1"`,
}

// Channel's hand decoder gives what encoding/json gives.
func checkSameChannel(t *testing.T, msg string) {
	t.Helper()
	var got Channel
	var want channelPlain
	gerr := json.Unmarshal([]byte(msg), &got)
	werr := json.Unmarshal([]byte(msg), &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: err %v, encoding/json %v", msg, gerr, werr)
	}
	if !reflect.DeepEqual(got, Channel(want)) {
		t.Fatalf("%q:\n got %+v\nwant %+v", msg, got, Channel(want))
	}
	// Inside an event, and into a value that already holds variables.
	ev := `{"type":"ChannelStateChange","channel":` + msg + `}`
	if ge, we := DecodeEvent([]byte(ev)), decodeSlow([]byte(ev)); reflect.TypeOf(ge) != reflect.TypeOf(we) {
		t.Fatalf("%q in an event: %T, reference %T", msg, ge, we)
	}
	pre, prePlain := Channel{ChannelVars: map[string]string{"X": "1"}}, channelPlain{ChannelVars: map[string]string{"X": "1"}}
	gerr, werr = json.Unmarshal([]byte(msg), &pre), json.Unmarshal([]byte(msg), &prePlain)
	if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(pre, Channel(prePlain)) {
		t.Fatalf("%q into a filled value: %+v %v; want %+v %v", msg, pre, gerr, prePlain, werr)
	}
}

func TestChannelJSONMatchesEncodingJSON(t *testing.T) {
	for _, msg := range channelSeeds {
		checkSameChannel(t, msg)
	}
}

func FuzzChannelJSON(f *testing.F) {
	for _, msg := range channelSeeds {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg string) { checkSameChannel(t, msg) })
}

// TestChannelFastTakesUsualShapes: the channels Asterisk sends are decoded
// by hand (falling back would be correct, but slow); keys that encoding/json
// could match in another case are not.
func TestChannelFastTakesUsualShapes(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		fast bool
	}{
		{sampleChannel, true},
		{channelSeeds[4], true}, // every key Asterisk 22 sends
		{`{"id":"c1","caller":{"name":"S\u00f8ren","number":"+4512"},"future_key":[1,{"a":"b"}]}`, true},
		{`{"id":"c1","dialplan":{"context":"x","future_key2":null}}`, true},
		{`{"ID":"c1"}`, false},
		{`{"id":"c1","Future":1}`, false},
		{`{"caller":{"NUMBER":"1"}}`, false},
		{`{"dialplan":{"Exten":"1"}}`, false},
	} {
		var c Channel
		if got := decodeChannelFast([]byte(tt.msg), &c); got != tt.fast {
			t.Errorf("%s: by hand %v, want %v", tt.msg, got, tt.fast)
		}
	}
}
