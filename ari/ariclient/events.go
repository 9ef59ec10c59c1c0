package ariclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Event is one message from the ARI event socket, or a connection lifecycle
// event (*Connected, *Disconnected) that the client inserts into the stream.
// Switch on the concrete type:
//
//	switch e := ev.(type) {
//	case *ariclient.StasisStart:
//	case *ariclient.UnknownEvent: // a type this client does not know
//	}
type Event interface {
	// EventType is ARI's "type" field, e.g. "StasisStart".
	EventType() string
	// Base returns the fields common to all events.
	Base() *EventBase
}

// EventBase holds the fields every ARI message has, and the raw JSON.
// The fields are filled by DecodeEvent, not by encoding/json (hence "-").
type EventBase struct {
	Type        string `json:"-"`
	Application string `json:"-"`
	// Timestamp is parsed from Asterisk's "2006-01-02T15:04:05.000-0700";
	// zero if absent or unparseable.
	Timestamp  time.Time `json:"-"`
	AsteriskID string    `json:"-"`
	// Raw is the message exactly as received. It must not be modified.
	Raw json.RawMessage `json:"-"`
}

// EventType implements Event.
func (b *EventBase) EventType() string { return b.Type }

// Base implements Event.
func (b *EventBase) Base() *EventBase { return b }

// UnknownEvent is a message whose type this client does not know (newer
// Asterisk versions add types), or a known type whose body failed to decode
// (then Err says why). It is always delivered, never dropped.
type UnknownEvent struct {
	EventBase
	Err error
}

// Connected is inserted into the event stream after the socket connected,
// before any event received on that connection. Reconnected is false for
// the first connection of a Run.
type Connected struct {
	EventBase
	Reconnected bool
}

// Disconnected is inserted into the event stream when the socket is lost,
// after the last event received on it. Err says why.
type Disconnected struct {
	EventBase
	Err error
}

// Lifecycle event types (never sent by Asterisk).
const (
	TypeConnected    = "omstil.Connected"
	TypeDisconnected = "omstil.Disconnected"
)

// MissingParams is the error message Asterisk sends for missing parameters.
type MissingParams struct {
	EventBase
	Params []string `json:"params"`
}

// Application events.

type ApplicationReplaced struct{ EventBase }
type ApplicationRegistered struct{ EventBase }
type ApplicationUnregistered struct{ EventBase }

type ApplicationMoveFailed struct {
	EventBase
	Channel     Channel  `json:"channel"`
	Destination string   `json:"destination"`
	Args        []string `json:"args"`
}

// Stasis events.

// StasisStart: a channel entered the application. Args are the arguments of
// Stasis(app,args...) or the originate's appArgs.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the application (hung up or continued).
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// Channel events.

type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

type ChannelDialplan struct {
	EventBase
	Channel         Channel `json:"channel"`
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
}

type ChannelCallerId struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelUserevent struct {
	EventBase
	EventName string          `json:"eventname"`
	Channel   *Channel        `json:"channel,omitempty"`
	Bridge    *Bridge         `json:"bridge,omitempty"`
	Endpoint  *Endpoint       `json:"endpoint,omitempty"`
	UserEvent json.RawMessage `json:"userevent"`
}

// ChannelHangupRequest: a hangup was requested. Cause is the Q.850 cause;
// Soft is true for a soft hangup (e.g. AMI/ARI hangup of a Local half).
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelVarset: a variable was set. Channel is nil for global variables.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

type ChannelHold struct {
	EventBase
	Channel    Channel `json:"channel"`
	MusicClass string  `json:"musicclass,omitempty"`
}

type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelToneDetected struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelTalkingStarted struct {
	EventBase
	Channel Channel `json:"channel"`
}

type ChannelTalkingFinished struct {
	EventBase
	Channel  Channel `json:"channel"`
	Duration int     `json:"duration"` // ms of talking
}

// ChannelTransfer is a SIP REFER received on a channel.
type ChannelTransfer struct {
	EventBase
	State      string          `json:"state,omitempty"`
	ReferTo    json.RawMessage `json:"refer_to"`
	ReferredBy json.RawMessage `json:"referred_by"`
}

// ChannelEnteredBridge: Channel is nil only in rare Asterisk internals.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// Bridge events.

type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

type BridgeMerged struct {
	EventBase
	Bridge     Bridge `json:"bridge"`
	BridgeFrom Bridge `json:"bridge_from"`
}

type BridgeVideoSourceChanged struct {
	EventBase
	Bridge           Bridge `json:"bridge"`
	OldVideoSourceID string `json:"old_video_source_id,omitempty"`
}

type BridgeBlindTransfer struct {
	EventBase
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
	Transferee     *Channel `json:"transferee,omitempty"`
	Exten          string   `json:"exten"`
	Context        string   `json:"context"`
	Result         string   `json:"result"`
	IsExternal     bool     `json:"is_external"`
	Bridge         *Bridge  `json:"bridge,omitempty"`
}

type BridgeAttendedTransfer struct {
	EventBase
	TransfererFirstLeg        Channel  `json:"transferer_first_leg"`
	TransfererSecondLeg       Channel  `json:"transferer_second_leg"`
	ReplaceChannel            *Channel `json:"replace_channel,omitempty"`
	Transferee                *Channel `json:"transferee,omitempty"`
	TransferTarget            *Channel `json:"transfer_target,omitempty"`
	Result                    string   `json:"result"`
	IsExternal                bool     `json:"is_external"`
	TransfererFirstLegBridge  *Bridge  `json:"transferer_first_leg_bridge,omitempty"`
	TransfererSecondLegBridge *Bridge  `json:"transferer_second_leg_bridge,omitempty"`
	DestinationType           string   `json:"destination_type"`
	DestinationBridge         string   `json:"destination_bridge,omitempty"`
	DestinationApplication    string   `json:"destination_application,omitempty"`
}

// Dial: progress of a dial operation. Dialstatus is "" when dialing starts,
// then e.g. "RINGING", "PROGRESS", "ANSWER", "BUSY", "NOANSWER", "CANCEL",
// "CONGESTION", "CHANUNAVAIL".
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	Dialstring string   `json:"dialstring,omitempty"`
	Dialstatus string   `json:"dialstatus"`
}

// Playback and recording events.

type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// Endpoint and device events.

type EndpointStateChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
}

type DeviceStateChanged struct {
	EventBase
	DeviceState DeviceState `json:"device_state"`
}

type ContactStatusChange struct {
	EventBase
	Endpoint    Endpoint `json:"endpoint"`
	ContactInfo struct {
		URI           string `json:"uri"`
		ContactStatus string `json:"contact_status"`
		AOR           string `json:"aor"`
		RoundtripUsec string `json:"roundtrip_usec,omitempty"`
	} `json:"contact_info"`
}

type PeerStatusChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
	Peer     struct {
		PeerStatus string `json:"peer_status"`
		Cause      string `json:"cause,omitempty"`
		Address    string `json:"address,omitempty"`
		Port       string `json:"port,omitempty"`
		Time       string `json:"time,omitempty"`
	} `json:"peer"`
}

type TextMessageReceived struct {
	EventBase
	Message  TextMessage `json:"message"`
	Endpoint *Endpoint   `json:"endpoint,omitempty"`
}

// Broadcast events (Asterisk 22.7+, StasisBroadcast in the dialplan).

type CallBroadcast struct {
	EventBase
	Channel Channel `json:"channel"`
	Caller  string  `json:"caller,omitempty"`
	Called  string  `json:"called,omitempty"`
}

type CallClaimed struct {
	EventBase
	Channel   Channel `json:"channel"`
	WinnerApp string  `json:"winner_app"`
}

// RESTResponse answers a REST request sent over the WebSocket (not used by
// this client, decoded for completeness).
type RESTResponse struct {
	EventBase
	TransactionID string `json:"transaction_id"`
	RequestID     string `json:"request_id"`
	StatusCode    int    `json:"status_code"`
	ReasonPhrase  string `json:"reason_phrase"`
	URI           string `json:"uri"`
	ContentType   string `json:"content_type,omitempty"`
	MessageBody   string `json:"message_body,omitempty"`
}

// eventTypes maps ARI's "type" to a constructor of its typed struct.
var eventTypes = map[string]func() Event{
	"MissingParams":            func() Event { return &MissingParams{} },
	"ApplicationReplaced":      func() Event { return &ApplicationReplaced{} },
	"ApplicationRegistered":    func() Event { return &ApplicationRegistered{} },
	"ApplicationUnregistered":  func() Event { return &ApplicationUnregistered{} },
	"ApplicationMoveFailed":    func() Event { return &ApplicationMoveFailed{} },
	"StasisStart":              func() Event { return &StasisStart{} },
	"StasisEnd":                func() Event { return &StasisEnd{} },
	"ChannelCreated":           func() Event { return &ChannelCreated{} },
	"ChannelDestroyed":         func() Event { return &ChannelDestroyed{} },
	"ChannelStateChange":       func() Event { return &ChannelStateChange{} },
	"ChannelDtmfReceived":      func() Event { return &ChannelDtmfReceived{} },
	"ChannelDialplan":          func() Event { return &ChannelDialplan{} },
	"ChannelCallerId":          func() Event { return &ChannelCallerId{} },
	"ChannelConnectedLine":     func() Event { return &ChannelConnectedLine{} },
	"ChannelUserevent":         func() Event { return &ChannelUserevent{} },
	"ChannelHangupRequest":     func() Event { return &ChannelHangupRequest{} },
	"ChannelVarset":            func() Event { return &ChannelVarset{} },
	"ChannelHold":              func() Event { return &ChannelHold{} },
	"ChannelUnhold":            func() Event { return &ChannelUnhold{} },
	"ChannelToneDetected":      func() Event { return &ChannelToneDetected{} },
	"ChannelTalkingStarted":    func() Event { return &ChannelTalkingStarted{} },
	"ChannelTalkingFinished":   func() Event { return &ChannelTalkingFinished{} },
	"ChannelTransfer":          func() Event { return &ChannelTransfer{} },
	"ChannelEnteredBridge":     func() Event { return &ChannelEnteredBridge{} },
	"ChannelLeftBridge":        func() Event { return &ChannelLeftBridge{} },
	"BridgeCreated":            func() Event { return &BridgeCreated{} },
	"BridgeDestroyed":          func() Event { return &BridgeDestroyed{} },
	"BridgeMerged":             func() Event { return &BridgeMerged{} },
	"BridgeVideoSourceChanged": func() Event { return &BridgeVideoSourceChanged{} },
	"BridgeBlindTransfer":      func() Event { return &BridgeBlindTransfer{} },
	"BridgeAttendedTransfer":   func() Event { return &BridgeAttendedTransfer{} },
	"Dial":                     func() Event { return &Dial{} },
	"PlaybackStarted":          func() Event { return &PlaybackStarted{} },
	"PlaybackContinuing":       func() Event { return &PlaybackContinuing{} },
	"PlaybackFinished":         func() Event { return &PlaybackFinished{} },
	"RecordingStarted":         func() Event { return &RecordingStarted{} },
	"RecordingFinished":        func() Event { return &RecordingFinished{} },
	"RecordingFailed":          func() Event { return &RecordingFailed{} },
	"EndpointStateChange":      func() Event { return &EndpointStateChange{} },
	"DeviceStateChanged":       func() Event { return &DeviceStateChanged{} },
	"ContactStatusChange":      func() Event { return &ContactStatusChange{} },
	"PeerStatusChange":         func() Event { return &PeerStatusChange{} },
	"TextMessageReceived":      func() Event { return &TextMessageReceived{} },
	"CallBroadcast":            func() Event { return &CallBroadcast{} },
	"CallClaimed":              func() Event { return &CallClaimed{} },
	"RESTResponse":             func() Event { return &RESTResponse{} },
}

// KnownEventTypes returns the ARI event types decoded into typed structs.
func KnownEventTypes() []string {
	out := make([]string, 0, len(eventTypes))
	for t := range eventTypes {
		out = append(out, t)
	}
	return out
}

// eventKind is a known type's name (so decoding does not allocate it) and
// the constructor of its typed struct.
type eventKind struct {
	name string
	mk   func() Event
}

var eventKinds = func() map[string]eventKind {
	m := make(map[string]eventKind, len(eventTypes))
	for name, mk := range eventTypes {
		m[name] = eventKind{name, mk}
	}
	return m
}()

// header is what every message carries.
type header struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   string `json:"timestamp"`
	AsteriskID  string `json:"asterisk_id"`
}

// DecodeEvent decodes one ARI message. It never returns nil: a message of
// an unknown type, or one that fails to decode, comes back as
// *UnknownEvent (with Err set when decoding failed). raw is kept (not
// copied) in the event's Base().Raw.
func DecodeEvent(raw []byte) Event {
	var d eventDecoder
	return d.decode(raw)
}

// eventDecoder decodes messages of one connection. It remembers the last
// application name and Asterisk ID so that the same strings are not
// allocated again for every event. The zero value is ready; it is not safe
// for concurrent use.
type eventDecoder struct {
	app, asteriskID string
}

func intern(cache *string, b []byte) string {
	if string(b) != *cache { // the comparison does not allocate
		*cache = string(b)
	}
	return *cache
}

// decode parses every message once: the header fields are picked out of
// the top level of the object by sniffHeader (no allocation, no
// reflection), then encoding/json decodes the body into the typed struct
// (it skips the header keys, which the structs do not declare). Messages
// the sniffer does not vouch for take the old two-pass way, so the results
// are the same as encoding/json's.
func (d *eventDecoder) decode(raw []byte) Event {
	h, ok := sniffHeader(raw)
	return d.decodeSniffed(raw, h, ok)
}

// decodeSniffed is decode with sniffHeader's result for raw (h may point
// into another buffer with the same bytes).
func (d *eventDecoder) decodeSniffed(raw []byte, h rawHeader, ok bool) Event {
	if !ok {
		return decodeSlow(raw)
	}
	base := EventBase{Application: intern(&d.app, h.app), AsteriskID: intern(&d.asteriskID, h.asteriskID), Raw: raw}
	var tsErr error
	if len(h.timestamp) > 0 {
		base.Timestamp, tsErr = ParseTime(string(h.timestamp))
	}
	kind, known := eventKinds[string(h.typ)]
	if !known {
		if !json.Valid(raw) {
			return notJSON(raw, errors.New("invalid JSON"))
		}
		base.Type = string(h.typ)
		return &UnknownEvent{EventBase: base, Err: tsErr}
	}
	base.Type = kind.name
	ev := kind.mk()
	if fb, ok := ev.(fastBody); ok {
		if decodeBodyFast(raw, fb) {
			*ev.Base() = base
			return ev
		}
		ev = kind.mk() // not the usual shape: start again
	}
	// JSON v2 (go-json-experiment, what Go's encoding/json/v2 comes from)
	// with encoding/json's semantics: half the time and a fraction of the
	// allocations of encoding/json on ARI's events.
	if err := jsonv2.Unmarshal(raw, ev, jsonV1); err != nil {
		var se *jsonv1.SyntaxError
		if errors.As(err, &se) {
			return notJSON(raw, err)
		}
		return &UnknownEvent{EventBase: base, Err: fmt.Errorf("ariclient: decode %s: %w", kind.name, err)}
	}
	*ev.Base() = base
	return ev
}

// jsonV1 makes jsonv2 decode exactly as encoding/json does (case-insensitive
// names, the same errors for syntax).
var jsonV1 = jsonv1.DefaultOptionsV1()

func notJSON(raw []byte, err error) Event {
	return &UnknownEvent{EventBase: EventBase{Raw: raw}, Err: fmt.Errorf("ariclient: event is not a JSON object: %w", err)}
}

// decodeSlow is the reference decoder: the header through encoding/json,
// then the typed body.
func decodeSlow(raw []byte) Event {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return notJSON(raw, err)
	}
	base := EventBase{Type: h.Type, Application: h.Application, AsteriskID: h.AsteriskID, Raw: raw}
	var tsErr error
	if h.Timestamp != "" {
		base.Timestamp, tsErr = ParseTime(h.Timestamp)
	}
	mk, ok := eventTypes[h.Type]
	if !ok {
		return &UnknownEvent{EventBase: base, Err: tsErr}
	}
	ev := mk()
	if err := json.Unmarshal(raw, ev); err != nil {
		return &UnknownEvent{EventBase: base, Err: fmt.Errorf("ariclient: decode %s: %w", h.Type, err)}
	}
	*ev.Base() = base
	return ev
}

// rawHeader holds the header values as sub-slices of the message.
type rawHeader struct {
	typ, app, timestamp, asteriskID []byte
}

// sniffHeader scans the top level of a JSON object for "type",
// "application", "timestamp" and "asterisk_id" and skips every other
// value without decoding it. ok is false when the message is not an object
// as far as this scan can tell, or when a header key is spelled in another
// case or has a value that is not a plain string (null, a number, escapes):
// encoding/json has rules for those, so the caller hands such messages to
// it. Nested values are only skipped, not validated; the caller validates.
func sniffHeader(raw []byte) (h rawHeader, ok bool) {
	ok = fastObject(raw, func(key, val []byte) bool {
		var dst *[]byte
		switch string(key) {
		case "type":
			dst = &h.typ
		case "application":
			dst = &h.app
		case "timestamp":
			dst = &h.timestamp
		case "asterisk_id":
			dst = &h.asteriskID
		default:
			return !foldsToHeaderKey(key)
		}
		s, e, esc, next := scanString(val, 0)
		if next != len(val) || esc {
			return false
		}
		*dst = val[s:e]
		return true
	})
	return h, ok
}

// foldsToHeaderKey reports whether key matches a header key only
// case-insensitively (encoding/json would accept it).
func foldsToHeaderKey(key []byte) bool {
	switch len(key) {
	case 4:
		return bytes.EqualFold(key, []byte("type"))
	case 9:
		return bytes.EqualFold(key, []byte("timestamp"))
	case 11:
		return bytes.EqualFold(key, []byte("application")) || bytes.EqualFold(key, []byte("asterisk_id"))
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the JSON string starting at b[i] == '"'. It returns the
// bounds of its contents, whether it holds escapes or bytes outside
// printable ASCII (then encoding/json must decode it), and the index after the
// closing quote (next < 0 if b[i] is not a quote or the string is not
// closed).
func scanString(b []byte, i int) (start, end int, escaped bool, next int) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, -1
	}
	start = i + 1
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '"':
			return start, j, escaped, j + 1
		case '\\':
			escaped = true
			j++
		default:
			if b[j] < 0x20 || b[j] >= 0x80 {
				// control bytes and non-ASCII: encoding/json rejects
				// the one and may rewrite the other (invalid UTF-8)
				escaped = true
			}
		}
	}
	return 0, 0, false, -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
// Objects and arrays are skipped by bracket depth, aware of strings.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, _, next := scanString(b, i)
		return next
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, _, next := scanString(b, j)
				if next < 0 {
					return -1
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
