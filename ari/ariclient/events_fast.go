package ariclient

import "encoding/json"

// The events of every call (StasisStart, ChannelVarset, ChannelStateChange,
// the bridge and hang-up events, Dial, …) are decoded by hand: JSON v2's
// reflection over the event structs was most of the client's decoding
// time under load once Channel had its own decoder. Only the usual shape
// is taken: lower-case keys, strings, integers, booleans, channels,
// bridges and string arrays. Anything else returns false and the event
// goes to JSON v2 as before, so the result is always what encoding/json
// gives (FuzzDecodeEvent compares them).

// fastBody is implemented by the event types decoded by hand. field
// stores one top-level value; false means "not the usual shape".
type fastBody interface {
	Event
	field(key, val []byte) bool
}

// decodeBodyFast decodes the message's top level into ev. The header keys
// were read by sniffHeader; keys the type does not know are skipped as
// encoding/json skips them, unless they could match a field in another
// case.
func decodeBodyFast(raw []byte, ev fastBody) bool {
	return fastObject(raw, func(k, v []byte) bool {
		switch string(k) {
		case "type", "application", "timestamp", "asterisk_id":
			return true
		}
		return ev.field(k, v)
	})
}

// unknownField is what field (and decodeChannelFast) returns for a key
// its type does not have:
// encoding/json skips it, but still rejects the message if the value is
// not JSON, and would store it in a field spelt in another case; so only
// a plain lower-case ASCII key (which no other spelling of a known key
// is) with a valid value is skipped here.
func unknownField(key, val []byte) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return json.Valid(val)
}

func fastChannel(val []byte, dst *Channel) bool {
	if len(val) == 0 || val[0] != '{' {
		return false
	}
	return dst.UnmarshalJSON(val) == nil
}

func fastChannelPtr(val []byte, dst **Channel) bool {
	if string(val) == "null" {
		*dst = nil
		return true
	}
	if *dst == nil {
		*dst = new(Channel) // dropped with the event if val is not a channel
	}
	return fastChannel(val, *dst)
}

func fastIntField(val []byte, dst *int) bool {
	var n int64
	if !fastInt(val, &n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

func fastBool(val []byte, dst *bool) bool {
	switch string(val) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return false
	}
	return true
}

// fastStrings decodes an array of strings (null: nil, as encoding/json).
func fastStrings[S ~string](val []byte, dst *[]S) bool {
	if string(val) == "null" {
		*dst = nil
		return true
	}
	out := (*dst)[:0]
	if out == nil {
		out = []S{}
	}
	ok := fastArray(val, func(elem []byte) bool {
		var s string
		if !fastStringField(elem, &s) {
			return false
		}
		out = append(out, S(s))
		return true
	})
	if ok {
		*dst = out
	}
	return ok
}

// fastBridge decodes a Bridge without variables (those go the slow way).
func fastBridge(val []byte, b *Bridge) bool {
	return fastObject(val, func(k, v []byte) bool {
		switch string(k) {
		case "id":
			return fastStringField(v, (*string)(&b.ID))
		case "technology":
			return fastStringField(v, &b.Technology)
		case "bridge_type":
			return fastStringField(v, &b.BridgeType)
		case "bridge_class":
			return fastStringField(v, &b.BridgeClass)
		case "creator":
			return fastStringField(v, &b.Creator)
		case "name":
			return fastStringField(v, &b.Name)
		case "channels":
			return fastStrings(v, &b.Channels)
		case "video_mode":
			return fastStringField(v, &b.VideoMode)
		case "video_source_id":
			return fastStringField(v, &b.VideoSourceID)
		case "creationtime":
			var s string
			if !fastStringField(v, &s) {
				return false
			}
			b.CreationTime.Time, _ = ParseTime(s) // as Time.UnmarshalJSON
			return true
		case "bridgevars":
			return false
		}
		return unknownField(k, v)
	})
}

// channelOnly is field for an event whose body is one channel.
func channelOnly(k, v []byte, ch *Channel) bool {
	if string(k) == "channel" {
		return fastChannel(v, ch)
	}
	return unknownField(k, v)
}

// bridgeOnly is field for an event whose body is one bridge.
func bridgeOnly(k, v []byte, b *Bridge) bool {
	if string(k) == "bridge" {
		return fastBridge(v, b)
	}
	return unknownField(k, v)
}

func (e *StasisStart) field(k, v []byte) bool {
	switch string(k) {
	case "args":
		return fastStrings(v, &e.Args)
	case "channel":
		return fastChannel(v, &e.Channel)
	case "replace_channel":
		return fastChannelPtr(v, &e.ReplaceChannel)
	}
	return unknownField(k, v)
}

func (e *StasisEnd) field(k, v []byte) bool { return channelOnly(k, v, &e.Channel) }

func (e *ChannelCreated) field(k, v []byte) bool { return channelOnly(k, v, &e.Channel) }

func (e *ChannelStateChange) field(k, v []byte) bool { return channelOnly(k, v, &e.Channel) }

func (e *ChannelConnectedLine) field(k, v []byte) bool { return channelOnly(k, v, &e.Channel) }

func (e *ChannelDestroyed) field(k, v []byte) bool {
	switch string(k) {
	case "cause":
		return fastIntField(v, &e.Cause)
	case "cause_txt":
		return fastStringField(v, &e.CauseTxt)
	case "tech_cause":
		return fastIntField(v, &e.TechCause)
	case "channel":
		return fastChannel(v, &e.Channel)
	}
	return unknownField(k, v)
}

func (e *ChannelHangupRequest) field(k, v []byte) bool {
	switch string(k) {
	case "cause":
		return fastIntField(v, &e.Cause)
	case "tech_cause":
		return fastIntField(v, &e.TechCause)
	case "soft":
		return fastBool(v, &e.Soft)
	case "channel":
		return fastChannel(v, &e.Channel)
	}
	return unknownField(k, v)
}

func (e *ChannelVarset) field(k, v []byte) bool {
	switch string(k) {
	case "variable":
		return fastStringField(v, &e.Variable)
	case "value":
		return fastStringField(v, &e.Value)
	case "channel":
		return fastChannelPtr(v, &e.Channel)
	}
	return unknownField(k, v)
}

func (e *ChannelDialplan) field(k, v []byte) bool {
	switch string(k) {
	case "channel":
		return fastChannel(v, &e.Channel)
	case "dialplan_app":
		return fastStringField(v, &e.DialplanApp)
	case "dialplan_app_data":
		return fastStringField(v, &e.DialplanAppData)
	}
	return unknownField(k, v)
}

func (e *ChannelEnteredBridge) field(k, v []byte) bool {
	switch string(k) {
	case "bridge":
		return fastBridge(v, &e.Bridge)
	case "channel":
		return fastChannelPtr(v, &e.Channel)
	}
	return unknownField(k, v)
}

func (e *ChannelLeftBridge) field(k, v []byte) bool {
	switch string(k) {
	case "bridge":
		return fastBridge(v, &e.Bridge)
	case "channel":
		return fastChannel(v, &e.Channel)
	}
	return unknownField(k, v)
}

func (e *BridgeCreated) field(k, v []byte) bool { return bridgeOnly(k, v, &e.Bridge) }

func (e *BridgeDestroyed) field(k, v []byte) bool { return bridgeOnly(k, v, &e.Bridge) }

func (e *Dial) field(k, v []byte) bool {
	switch string(k) {
	case "caller":
		return fastChannelPtr(v, &e.Caller)
	case "peer":
		return fastChannel(v, &e.Peer)
	case "forward":
		return fastStringField(v, &e.Forward)
	case "forwarded":
		return fastChannelPtr(v, &e.Forwarded)
	case "dialstring":
		return fastStringField(v, &e.Dialstring)
	case "dialstatus":
		return fastStringField(v, &e.Dialstatus)
	}
	return unknownField(k, v)
}
