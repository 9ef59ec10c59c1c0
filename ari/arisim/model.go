package arisim

import (
	"encoding/json"
	"time"
)

// The JSON models below follow rest-api/api-docs/*.json of Asterisk and the
// field order of ast_channel_snapshot_to_json / ast_bridge_snapshot_to_json.

// CallerID is ARI's CallerID model.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is ARI's DialplanCEP model.
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel is ARI's Channel model.
type Channel struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	Accountcode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	Creationtime string            `json:"creationtime"`
	Language     string            `json:"language"`
	Channelvars  map[string]string `json:"channelvars,omitempty"`
}

// Bridge is ARI's Bridge model.
type Bridge struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	Creationtime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

// Playback is ARI's Playback model.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

// Application is ARI's Application model.
type Application struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

// Event is one ARI event as sent on the WebSocket, before "application" and
// "asterisk_id" are added per receiving app.
type Event map[string]any

// Type returns the event's "type".
func (e Event) Type() string { s, _ := e["type"].(string); return s }

// asteriskTime formats t the way ast_json_timeval does:
// "2026-11-28T10:00:00.000+0000".
func asteriskTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.000-0700")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own model types are marshalled
	}
	return b
}

// Hangup causes (include/asterisk/causes.h) and their ast_cause2str texts.
const (
	causeUnknown        = 0
	causeUnallocated    = 1
	causeNoRoute        = 3
	causeNormal         = 16
	causeBusy           = 17
	causeNoUserResponse = 18
	causeNoAnswer       = 19
	causeRejected       = 21
	causeAnsweredElse   = 26
	causeNumberFormat   = 28
	causeUnspecified    = 31
	causeCongestion     = 34
	causeFailure        = 38
	causeBearer         = 58
	causeInterworking   = 127

	// softhangupExplicit is AST_SOFTHANGUP_EXPLICIT; ast_softhangup puts the
	// soft-hangup flag, not the hangup cause, into ChannelHangupRequest.cause.
	softhangupExplicit = 32
)

var causeText = map[int]string{
	causeUnknown:        "Unknown",
	causeUnallocated:    "Unallocated (unassigned) number",
	causeNoRoute:        "No route to destination",
	causeNormal:         "Normal Clearing",
	causeBusy:           "User busy",
	causeNoUserResponse: "No user responding",
	causeNoAnswer:       "User alerting, no answer",
	20:                  "Subscriber absent",
	causeRejected:       "Call Rejected",
	causeAnsweredElse:   "Answered elsewhere",
	causeNumberFormat:   "Invalid number format",
	causeUnspecified:    "Normal, unspecified",
	causeCongestion:     "Circuit/channel congestion",
	causeFailure:        "Network out of order",
	causeBearer:         "Bearer capability not available",
	causeInterworking:   "Interworking, unspecified",
}

func causeTxt(c int) string {
	if s, ok := causeText[c]; ok {
		return s
	}
	return "Unknown"
}

// hangupReasons maps DELETE /channels/{id}?reason= to causes
// (convert_reason_to_hangup_code in res/ari/resource_channels.c).
var hangupReasons = map[string]int{
	"normal":             causeNormal,
	"busy":               causeBusy,
	"congestion":         causeCongestion,
	"no_answer":          causeNoAnswer,
	"timeout":            causeNoUserResponse,
	"rejected":           causeRejected,
	"unallocated":        causeUnallocated,
	"normal_unspecified": causeUnspecified,
	"number_incomplete":  causeNumberFormat,
	"codec_mismatch":     causeBearer,
	"interworking":       causeInterworking,
	"failure":            causeFailure,
	"answered_elsewhere": causeAnsweredElse,
}
