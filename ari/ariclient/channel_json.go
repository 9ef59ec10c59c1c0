package ariclient

import (
	"encoding/json"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// channelPlain is Channel without its UnmarshalJSON: what encoding/json
// does with a channel, used as the fallback and as the reference in tests.
type channelPlain Channel

// UnmarshalJSON decodes a Channel. A channel is in nearly every event and
// most REST answers, and encoding/json's reflection over its fields was
// most of the client's decoding time, so the usual shape is decoded by
// hand: an object of known keys with strings jsontext unquotes, an integer
// priority and string channel variables. Anything else (strings that
// are not valid UTF-8, null, numbers where strings belong, a key not in
// lower case, a Channel that already holds variables) is left to encoding/json, so
// the result is always what encoding/json gives (FuzzChannelJSON checks
// this).
func (c *Channel) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil // encoding/json's convention: null leaves the value alone
	}
	if c.ChannelVars == nil {
		tmp := *c
		if decodeChannelFast(data, &tmp) {
			*c = tmp
			return nil
		}
	}
	return json.Unmarshal(data, (*channelPlain)(c))
}

// commonValues are values that recur in almost every channel; decoding
// reuses these strings instead of allocating new ones.
var commonValues = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		StateDown, StateReserved, StateOffHook, StateDialing, StateRing, StateRinging, StateUp,
		StateBusy, StateDialingOffhook, StatePreRing, StateUnknown,
		"Stasis", "AppDial2", "(Outgoing Line)", "da", "en", "s",
	} {
		m[s] = s
	}
	return m
}()

func fastString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := commonValues[string(b)]; ok { // the lookup does not allocate
		return s
	}
	return string(b)
}

// decodeChannelFast decodes data into c; false means "not the usual
// shape", and c may then be partly written.
func decodeChannelFast(data []byte, c *Channel) bool {
	return fastObject(data, func(key, val []byte) bool {
		switch string(key) {
		case "id":
			return fastStringField(val, (*string)(&c.ID))
		case "protocol_id":
			return fastStringField(val, &c.ProtocolID)
		case "name":
			return fastStringField(val, &c.Name)
		case "state":
			return fastStringField(val, &c.State)
		case "accountcode":
			return fastStringField(val, &c.AccountCode)
		case "language":
			return fastStringField(val, &c.Language)
		case "caller_rdnis":
			return fastStringField(val, &c.CallerRDNIS)
		case "tenantid":
			return fastStringField(val, &c.TenantID)
		case "caller":
			return fastCallerID(val, &c.Caller)
		case "connected":
			return fastCallerID(val, &c.Connected)
		case "dialplan":
			return fastObject(val, func(k, v []byte) bool {
				switch string(k) {
				case "context":
					return fastStringField(v, &c.Dialplan.Context)
				case "exten":
					return fastStringField(v, &c.Dialplan.Exten)
				case "app_name":
					return fastStringField(v, &c.Dialplan.AppName)
				case "app_data":
					return fastStringField(v, &c.Dialplan.AppData)
				case "priority":
					return fastInt(v, &c.Dialplan.Priority)
				}
				return unknownField(k, v)
			})
		case "creationtime":
			var s string
			if !fastStringField(val, &s) {
				return false
			}
			c.CreationTime.Time, _ = ParseTime(s) // as Time.UnmarshalJSON
			return true
		case "channelvars":
			if len(val) == 0 || val[0] != '{' {
				return false
			}
			if c.ChannelVars == nil {
				c.ChannelVars = map[string]string{}
			}
			return fastObject(val, func(k, v []byte) bool {
				var s string
				if !fastStringField(v, &s) {
					return false
				}
				c.ChannelVars[string(k)] = s
				return true
			})
		}
		return unknownField(key, val)
	})
}

func fastCallerID(val []byte, id *CallerID) bool {
	return fastObject(val, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			return fastStringField(v, &id.Name)
		case "number":
			return fastStringField(v, &id.Number)
		}
		return unknownField(k, v)
	})
}

// fastStringField stores a JSON string in dst. Plain printable ASCII is
// taken as it stands; a string with escapes or other bytes (Danish
// letters in a caller's name, "&" escaped as \u0026 by Go encoders) is
// unquoted by jsontext, and one it refuses (invalid UTF-8 or escapes,
// control bytes), which encoding/json rewrites or rejects, is left to
// encoding/json.
func fastStringField(val []byte, dst *string) bool {
	s, e, esc, next := scanString(val, 0)
	if next != len(val) {
		return false
	}
	if !esc {
		*dst = fastString(val[s:e])
		return true
	}
	var tmp [128]byte
	u, err := jsontext.AppendUnquote(tmp[:0], val)
	if err != nil {
		return false
	}
	*dst = string(u)
	return true
}

// fastInt stores a JSON integer without fraction or exponent.
func fastInt(val []byte, dst *int64) bool {
	digits := val
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return false
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return false
		}
	}
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

// fastArray calls f for each (trimmed) element of the JSON array in data.
// It returns false if data is not an array or f returns false.
func fastArray(data []byte, f func(elem []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		e := skipValue(data, i)
		if e < 0 || !f(data[i:e]) {
			return false
		}
		if i = skipSpace(data, e); i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// fastObject calls f for each key and (trimmed) value of the JSON object
// in data; keys must be plain strings. It returns false if data is not
// such an object or f returns false.
func fastObject(data []byte, f func(key, val []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		ks, ke, esc, next := scanString(data, i)
		if next < 0 || esc {
			return false
		}
		i = skipSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		vs := skipSpace(data, i+1)
		ve := skipValue(data, vs)
		if ve < 0 || !f(data[ks:ke], data[vs:ve]) {
			return false
		}
		i = skipSpace(data, ve)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}
