package arisim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The simulator's own events are built as simEvent values and written as
// JSON by hand, not as Event maps through encoding/json: the simulator runs
// in the same process as omstil's load test, where reflection, key sorting
// and the maps' allocations cost more than the service under test
// (Asterisk does this in C, in a process of its own). The JSON is the same
// object encoding/json makes of the equivalent Event (simEvent.event, in
// the tests); the package's tests check every event they cause against it.

// kv is one string member of an event.
type kv struct{ k, v string }

// simEvent is one event the simulator produces. Members that are set are
// written in this order: type, timestamp, the strings, cause, cause_txt,
// soft, duration_ms, args, device_state, bridge, playback, peer, channel.
type simEvent struct {
	typ        string
	strs       [3]kv // members with a key, in order
	cause      int
	hasCause   bool
	causeTxt   bool // cause_txt from cause
	soft       bool
	durationMS int
	hasDur     bool
	args       []string
	hasArgs    bool // args, [] when nil
	device     kv   // device_state {name, state} when device.k is set
	bridge     *bridge
	playback   *playback
	peer       *channel
	channel    *channel
}

// appendOpen appends the event's JSON object without its closing brace, so
// that the receiving app's members can follow.
func (e *simEvent) appendOpen(b []byte, timestamp []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, e.typ)
	b = append(b, `,"timestamp":"`...)
	b = append(b, timestamp...)
	b = append(b, '"')
	for _, m := range e.strs {
		if m.k != "" {
			b = appendKey(b, m.k)
			b = appendString(b, m.v)
		}
	}
	if e.hasCause {
		b = append(b, `,"cause":`...)
		b = strconv.AppendInt(b, int64(e.cause), 10)
	}
	if e.causeTxt {
		b = append(b, `,"cause_txt":`...)
		b = appendString(b, causeTxt(e.cause))
	}
	if e.soft {
		b = append(b, `,"soft":true`...)
	}
	if e.hasDur {
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendInt(b, int64(e.durationMS), 10)
	}
	if e.hasArgs {
		b = append(b, `,"args":`...)
		b = appendStrings(b, e.args)
	}
	if e.device.k != "" {
		b = append(b, `,"device_state":{"name":`...)
		b = appendString(b, e.device.k)
		b = append(b, `,"state":`...)
		b = appendString(b, e.device.v)
		b = append(b, '}')
	}
	if e.bridge != nil {
		b = append(b, `,"bridge":`...)
		b = e.bridge.appendJSON(b)
	}
	if e.playback != nil {
		b = append(b, `,"playback":`...)
		b = e.playback.appendJSON(b)
	}
	if e.peer != nil {
		b = append(b, `,"peer":`...)
		b = e.peer.appendJSON(b)
	}
	if e.channel != nil {
		b = append(b, `,"channel":`...)
		b = e.channel.appendJSON(b)
	}
	return b
}

// appendJSON writes ch.snapshot() as encoding/json would, from the live
// channel.
func (ch *channel) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, ch.id)
	b = append(b, `,"name":`...)
	b = appendString(b, ch.name)
	b = append(b, `,"state":`...)
	b = appendString(b, ch.state)
	b = append(b, `,"protocol_id":"","caller":`...)
	b = appendCallerID(b, ch.caller)
	b = append(b, `,"connected":`...)
	b = appendCallerID(b, ch.connected)
	b = append(b, `,"accountcode":"","dialplan":{"context":`...)
	b = appendString(b, ch.dp.Context)
	b = append(b, `,"exten":`...)
	b = appendString(b, ch.dp.Exten)
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, ch.dp.Priority, 10)
	b = append(b, `,"app_name":`...)
	b = appendString(b, ch.dp.AppName)
	b = append(b, `,"app_data":`...)
	b = appendString(b, ch.dp.AppData)
	b = append(b, `},"creationtime":"`...)
	b = append(b, ch.created...)
	b = append(b, `","language":"en"`...)
	b = appendChannelvars(b, ch.ariVars, ch.vars)
	return append(b, '}')
}

// appendChannelvars appends ,"channelvars":{…} with the values in vars of
// keys, in that order; nothing when keys is empty (omitempty).
func appendChannelvars(b []byte, keys []string, vars map[string]string) []byte {
	if len(keys) == 0 {
		return b
	}
	b = append(b, `,"channelvars":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, vars[k])
	}
	return append(b, '}')
}

func appendCallerID(b []byte, c CallerID) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"number":`...)
	b = appendString(b, c.Number)
	return append(b, '}')
}

// appendJSON writes b.snapshot() as encoding/json would.
func (br *bridge) appendJSON(b []byte) []byte {
	tech, typ := br.kind()
	b = append(b, `{"id":`...)
	b = appendString(b, br.id)
	b = append(b, `,"technology":`...)
	b = appendString(b, tech)
	b = append(b, `,"bridge_type":`...)
	b = appendString(b, typ)
	b = append(b, `,"bridge_class":"stasis","creator":"Stasis","name":`...)
	b = appendString(b, br.name)
	b = append(b, `,"channels":[`...)
	for i, ch := range br.channels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, ch.id)
	}
	b = append(b, `],"creationtime":"`...)
	b = append(b, br.created...)
	return append(b, `","video_mode":"talker"}`...)
}

// appendJSON writes p.snapshot() as encoding/json would. The snapshot
// is strings only: it stays on the stack.
func (p *playback) appendJSON(b []byte) []byte {
	m := p.snapshot()
	return appendPlaybackModel(b, &m)
}

// appendKey appends ,"k": for a key that needs no escaping.
func appendKey(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendTime appends asteriskTime(t) without quotes.
func appendTime(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "2006-01-02T15:04:05.000-0700")
}

const hexDigits = "0123456789abcdef"

// appendHex appends v in lower-case hex, zero-padded to at least width
// digits (fmt's %0*x).
func appendHex(b []byte, v uint64, width int) []byte {
	var buf [16]byte
	h := strconv.AppendUint(buf[:0], v, 16)
	for i := len(h); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, h...)
}

// appendString appends s as a JSON string the way jansson writes it: only
// '"', '\\' and control characters are escaped (not <, >, & as
// encoding/json does; the decoded value is the same). Invalid UTF-8 becomes
// U+FFFD, as with encoding/json.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	if b, ok := any(s).([]byte); ok {
		return utf8.DecodeRune(b)
	}
	return utf8.DecodeRuneInString(string(s))
}

// appendModel writes the REST answers that are frequent (a channel,
// bridge or playback; {"message": …} and {"value": …}) by hand, as
// encoding/json would; ok is false for any other value.
func appendModel(b []byte, v any) ([]byte, bool) {
	switch m := v.(type) {
	case Channel:
		return appendChannelModel(b, &m), true
	case Bridge:
		return appendBridgeModel(b, &m), true
	case Playback:
		return appendPlaybackModel(b, &m), true
	case map[string]string:
		if len(m) != 1 {
			return b, false
		}
		for k, v := range m {
			b = append(b, '{')
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v)
			b = append(b, '}')
		}
		return b, true
	}
	return b, false
}

func appendChannelModel(b []byte, c *Channel) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"state":`...)
	b = appendString(b, c.State)
	b = append(b, `,"protocol_id":`...)
	b = appendString(b, c.ProtocolID)
	b = append(b, `,"caller":`...)
	b = appendCallerID(b, c.Caller)
	b = append(b, `,"connected":`...)
	b = appendCallerID(b, c.Connected)
	b = append(b, `,"accountcode":`...)
	b = appendString(b, c.Accountcode)
	b = append(b, `,"dialplan":{"context":`...)
	b = appendString(b, c.Dialplan.Context)
	b = append(b, `,"exten":`...)
	b = appendString(b, c.Dialplan.Exten)
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, c.Dialplan.Priority, 10)
	b = append(b, `,"app_name":`...)
	b = appendString(b, c.Dialplan.AppName)
	b = append(b, `,"app_data":`...)
	b = appendString(b, c.Dialplan.AppData)
	b = append(b, `},"creationtime":`...)
	b = appendString(b, c.Creationtime)
	b = append(b, `,"language":`...)
	b = appendString(b, c.Language)
	b = appendChannelvars(b, sortedKeys(c.Channelvars), c.Channelvars)
	return append(b, '}')
}

func appendBridgeModel(b []byte, br *Bridge) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, br.ID)
	b = append(b, `,"technology":`...)
	b = appendString(b, br.Technology)
	b = append(b, `,"bridge_type":`...)
	b = appendString(b, br.BridgeType)
	b = append(b, `,"bridge_class":`...)
	b = appendString(b, br.BridgeClass)
	b = append(b, `,"creator":`...)
	b = appendString(b, br.Creator)
	b = append(b, `,"name":`...)
	b = appendString(b, br.Name)
	b = append(b, `,"channels":`...)
	if br.Channels == nil {
		b = append(b, "null"...)
	} else {
		b = appendStrings(b, br.Channels)
	}
	b = append(b, `,"creationtime":`...)
	b = appendString(b, br.Creationtime)
	b = append(b, `,"video_mode":`...)
	b = appendString(b, br.VideoMode)
	return append(b, '}')
}

func appendPlaybackModel(b []byte, p *Playback) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"media_uri":`...)
	b = appendString(b, p.MediaURI)
	if p.NextMediaURI != "" {
		b = append(b, `,"next_media_uri":`...)
		b = appendString(b, p.NextMediaURI)
	}
	b = append(b, `,"target_uri":`...)
	b = appendString(b, p.TargetURI)
	b = append(b, `,"language":`...)
	b = appendString(b, p.Language)
	b = append(b, `,"state":`...)
	b = appendString(b, p.State)
	return append(b, '}')
}
