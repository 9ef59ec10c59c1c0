package ariclient

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ChannelID, BridgeID and PlaybackID are typed so that a bridge ID cannot be
// passed where a channel ID is expected (AddChannel(ctx, bridge, channel)).
type (
	ChannelID  string
	BridgeID   string
	PlaybackID string
)

// TimeLayout is the layout Asterisk uses for ARI dates, e.g.
// "2026-11-28T03:24:41.123+0000".
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// Time is a time.Time that decodes Asterisk's date format. An empty string,
// JSON null or an unparseable date decode to the zero time rather than
// failing the whole channel or event over one informational field.
type Time struct{ time.Time }

// ParseTime parses an ARI date. It accepts Asterisk's own layout and, to be
// lenient with other producers, RFC 3339 with or without a colon in the zone.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := parseAsteriskTime(s); ok {
		return t, nil
	}
	for _, layout := range []string{TimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("ariclient: unparseable time %q", s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t.Time, _ = ParseTime(s)
	return nil
}

// MarshalJSON implements json.Marshaler in Asterisk's layout.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(t.Format(TimeLayout))
}

// CallerID is a name and number pair (caller or connected line).
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// String formats the caller ID the way ARI's callerId parameter expects:
// `"Name" <number>`, or just the number when there is no name.
func (c CallerID) String() string {
	if c.Name == "" {
		return c.Number
	}
	return fmt.Sprintf("%q <%s>", c.Name, c.Number)
}

// DialplanCEP is a channel's position in the dialplan. For a channel in
// Stasis, AppName is "Stasis" and AppData "app,arg1,arg2".
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// StasisApp returns the application name and arguments if the channel is
// executing Stasis(app,args...), as seen in dialplan.app_data. ok is false for
// any other dialplan application.
func (d DialplanCEP) StasisApp() (app string, args []string, ok bool) {
	if !strings.EqualFold(d.AppName, "Stasis") {
		return "", nil, false
	}
	parts := strings.Split(d.AppData, ",")
	return parts[0], parts[1:], true
}

// Channel states as reported in Channel.State.
const (
	StateDown           = "Down"
	StateReserved       = "Rsrvd"
	StateOffHook        = "OffHook"
	StateDialing        = "Dialing"
	StateRing           = "Ring"
	StateRinging        = "Ringing"
	StateUp             = "Up"
	StateBusy           = "Busy"
	StateDialingOffhook = "Dialing Offhook"
	StatePreRing        = "Pre-ring"
	StateUnknown        = "Unknown"
)

// Channel is ARI's Channel model.
type Channel struct {
	ID           ChannelID         `json:"id"`
	ProtocolID   string            `json:"protocol_id,omitempty"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// Bridge is ARI's Bridge model.
type Bridge struct {
	ID            BridgeID          `json:"id"`
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`
	BridgeClass   string            `json:"bridge_class"`
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []ChannelID       `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  Time              `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// Has reports whether the channel is a member of the bridge.
func (b Bridge) Has(id ChannelID) bool {
	for _, c := range b.Channels {
		if c == id {
			return true
		}
	}
	return false
}

// Playback states as reported in Playback.State.
const (
	PlaybackQueued    = "queued"
	PlaybackPlaying   = "playing"
	PlaybackContinue  = "continuing"
	PlaybackDone      = "done"
	PlaybackFailed    = "failed"
	PlaybackCancelled = "cancelled"
)

// Playback is ARI's Playback model.
type Playback struct {
	ID           PlaybackID `json:"id"`
	MediaURI     string     `json:"media_uri"`
	NextMediaURI string     `json:"next_media_uri,omitempty"`
	TargetURI    string     `json:"target_uri"`
	Language     string     `json:"language,omitempty"`
	State        string     `json:"state"`
}

// LiveRecording is ARI's LiveRecording model (only carried in events).
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// Endpoint is ARI's Endpoint model, e.g. PJSIP/agent-1001.
type Endpoint struct {
	Technology string      `json:"technology"`
	Resource   string      `json:"resource"`
	State      string      `json:"state,omitempty"`
	ChannelIDs []ChannelID `json:"channel_ids"`
}

// DeviceState is ARI's DeviceState model.
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// TextMessage is ARI's TextMessage model.
type TextMessage struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}

// Application is ARI's Application model.
type Application struct {
	Name        string            `json:"name"`
	ChannelIDs  []ChannelID       `json:"channel_ids"`
	BridgeIDs   []BridgeID        `json:"bridge_ids"`
	EndpointIDs []string          `json:"endpoint_ids"`
	DeviceNames []string          `json:"device_names"`
	Allowed     []json.RawMessage `json:"events_allowed,omitempty"`
	Disallowed  []json.RawMessage `json:"events_disallowed,omitempty"`
}

// AsteriskInfo is ARI's AsteriskInfo model (GET /asterisk/info).
type AsteriskInfo struct {
	Build  *BuildInfo  `json:"build,omitempty"`
	System *SystemInfo `json:"system,omitempty"`
	Config *ConfigInfo `json:"config,omitempty"`
	Status *StatusInfo `json:"status,omitempty"`
}

// BuildInfo describes how Asterisk was built.
type BuildInfo struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

// SystemInfo carries the Asterisk version and entity ID.
type SystemInfo struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

// ConfigInfo is Asterisk's running configuration summary.
type ConfigInfo struct {
	Name            string  `json:"name"`
	DefaultLanguage string  `json:"default_language"`
	MaxChannels     int     `json:"max_channels,omitempty"`
	MaxOpenFiles    int     `json:"max_open_files,omitempty"`
	MaxLoad         float64 `json:"max_load,omitempty"`
	SetID           struct {
		User  string `json:"user"`
		Group string `json:"group"`
	} `json:"setid"`
}

// StatusInfo carries Asterisk's startup and last reload time.
type StatusInfo struct {
	StartupTime    Time `json:"startup_time"`
	LastReloadTime Time `json:"last_reload_time"`
}

// AsteriskPing is the answer of GET /asterisk/ping.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
}
