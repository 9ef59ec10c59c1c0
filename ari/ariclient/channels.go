package ariclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func chanPath(id ChannelID, suffix string) string {
	return "/channels/" + url.PathEscape(string(id)) + suffix
}

// ListChannels returns every channel Asterisk has (GET /channels), not only
// those in this client's applications.
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	err := c.do(ctx, http.MethodGet, "/channels", nil, nil, &out)
	return out, err
}

// GetChannel returns one channel; IsNotFound(err) if it does not exist.
func (c *Client) GetChannel(ctx context.Context, id ChannelID) (*Channel, error) {
	var out Channel
	if err := c.do(ctx, http.MethodGet, chanPath(id, ""), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OriginateRequest is the parameter set of POST /channels. Either App or
// Extension/Context/Priority/Label is used, not both.
type OriginateRequest struct {
	Endpoint string   // required, e.g. "PJSIP/1001" or "Local/1000@omstil-inbound"
	App      string   // Stasis app the channel enters when answered
	AppArgs  []string // joined with ","
	// Extension, Context, Priority and Label send the answered channel to
	// the dialplan instead of an app.
	Extension string
	Context   string
	Priority  int64
	Label     string
	// CallerID is sent as callerId, e.g. `"Borgerservice" <70101010>`.
	CallerID string
	// Timeout before giving up dialing; 0 leaves Asterisk's default (30 s);
	// a negative value means no timeout (-1).
	Timeout        time.Duration
	Variables      map[string]string
	ChannelID      ChannelID // ID of the new channel (the ;1 half for Local)
	OtherChannelID ChannelID // ID of the ;2 half of a Local channel
	Originator     ChannelID // channel on whose behalf this one is created
	Formats        []string  // e.g. ["ulaw"] when there is no Originator
}

func (r OriginateRequest) query() url.Values {
	q := url.Values{}
	q.Set("endpoint", r.Endpoint)
	setIf(q, "app", r.App)
	if len(r.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(r.AppArgs, ","))
	}
	setIf(q, "extension", r.Extension)
	setIf(q, "context", r.Context)
	if r.Priority != 0 {
		q.Set("priority", strconv.FormatInt(r.Priority, 10))
	}
	setIf(q, "label", r.Label)
	setIf(q, "callerId", r.CallerID)
	switch {
	case r.Timeout < 0:
		q.Set("timeout", "-1")
	case r.Timeout > 0:
		secs := int64((r.Timeout + time.Second - 1) / time.Second) // round up
		q.Set("timeout", strconv.FormatInt(secs, 10))
	}
	setIf(q, "channelId", string(r.ChannelID))
	setIf(q, "otherChannelId", string(r.OtherChannelID))
	setIf(q, "originator", string(r.Originator))
	if len(r.Formats) > 0 {
		q.Set("formats", strings.Join(r.Formats, ","))
	}
	return q
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// Originate creates a channel and dials its endpoint (POST /channels). The
// returned channel is usually still Down; follow it through events.
func (c *Client) Originate(ctx context.Context, r OriginateRequest) (*Channel, error) {
	var out Channel
	if err := c.do(ctx, http.MethodPost, "/channels", r.query(), variablesBody(r.Variables), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateChannelRequest is the parameter set of POST /channels/create.
type CreateChannelRequest struct {
	Endpoint       string // required
	App            string // required
	AppArgs        []string
	ChannelID      ChannelID
	OtherChannelID ChannelID
	Originator     ChannelID
	Formats        []string
	Variables      map[string]string
}

// CreateChannel creates a channel without dialing it (POST /channels/create);
// dial it later with Dial.
func (c *Client) CreateChannel(ctx context.Context, r CreateChannelRequest) (*Channel, error) {
	q := url.Values{}
	q.Set("endpoint", r.Endpoint)
	q.Set("app", r.App)
	if len(r.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(r.AppArgs, ","))
	}
	setIf(q, "channelId", string(r.ChannelID))
	setIf(q, "otherChannelId", string(r.OtherChannelID))
	setIf(q, "originator", string(r.Originator))
	if len(r.Formats) > 0 {
		q.Set("formats", strings.Join(r.Formats, ","))
	}
	var out Channel
	if err := c.do(ctx, http.MethodPost, "/channels/create", q, variablesBody(r.Variables), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Dial dials a channel made by CreateChannel. caller may be empty; timeout 0
// keeps Asterisk's default.
func (c *Client) Dial(ctx context.Context, id, caller ChannelID, timeout time.Duration) error {
	q := url.Values{}
	setIf(q, "caller", string(caller))
	if timeout > 0 {
		q.Set("timeout", strconv.FormatInt(int64((timeout+time.Second-1)/time.Second), 10))
	}
	return c.do(ctx, http.MethodPost, chanPath(id, "/dial"), q, nil, nil)
}

// Hangup reasons accepted by Hangup.
const (
	ReasonNormal            = "normal"
	ReasonBusy              = "busy"
	ReasonCongestion        = "congestion"
	ReasonNoAnswer          = "no_answer"
	ReasonTimeout           = "timeout"
	ReasonRejected          = "rejected"
	ReasonUnallocated       = "unallocated"
	ReasonNormalUnspecified = "normal_unspecified"
	ReasonAnsweredElsewhere = "answered_elsewhere"
)

// Hangup hangs a channel up (DELETE /channels/{id}); reason may be empty
// (Asterisk then uses "normal").
func (c *Client) Hangup(ctx context.Context, id ChannelID, reason string) error {
	q := url.Values{}
	setIf(q, "reason", reason)
	return c.do(ctx, http.MethodDelete, chanPath(id, ""), q, nil, nil)
}

// Answer answers a channel in Stasis.
func (c *Client) Answer(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodPost, chanPath(id, "/answer"), nil, nil, nil)
}

// Ring indicates ringing to the caller.
func (c *Client) Ring(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodPost, chanPath(id, "/ring"), nil, nil, nil)
}

// RingStop stops indicating ringing.
func (c *Client) RingStop(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodDelete, chanPath(id, "/ring"), nil, nil, nil)
}

// Progress indicates call progress (early media) to the caller.
func (c *Client) Progress(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodPost, chanPath(id, "/progress"), nil, nil, nil)
}

// StartMOH plays music on hold; class may be empty for the default class.
func (c *Client) StartMOH(ctx context.Context, id ChannelID, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return c.do(ctx, http.MethodPost, chanPath(id, "/moh"), q, nil, nil)
}

// StopMOH stops music on hold.
func (c *Client) StopMOH(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodDelete, chanPath(id, "/moh"), nil, nil, nil)
}

// StartSilence plays silence (much cheaper than MOH for Asterisk).
func (c *Client) StartSilence(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodPost, chanPath(id, "/silence"), nil, nil, nil)
}

// StopSilence stops playing silence.
func (c *Client) StopSilence(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodDelete, chanPath(id, "/silence"), nil, nil, nil)
}

// Hold puts the channel on hold (Asterisk plays MOH to it if bridged).
func (c *Client) Hold(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodPost, chanPath(id, "/hold"), nil, nil, nil)
}

// Unhold takes the channel off hold.
func (c *Client) Unhold(ctx context.Context, id ChannelID) error {
	return c.do(ctx, http.MethodDelete, chanPath(id, "/hold"), nil, nil, nil)
}

// Mute directions.
const (
	DirBoth = "both"
	DirIn   = "in"
	DirOut  = "out"
)

// Mute mutes the channel; direction is DirBoth, DirIn or DirOut (empty means
// both).
func (c *Client) Mute(ctx context.Context, id ChannelID, direction string) error {
	q := url.Values{}
	setIf(q, "direction", direction)
	return c.do(ctx, http.MethodPost, chanPath(id, "/mute"), q, nil, nil)
}

// Unmute unmutes the channel in direction (empty means both).
func (c *Client) Unmute(ctx context.Context, id ChannelID, direction string) error {
	q := url.Values{}
	setIf(q, "direction", direction)
	return c.do(ctx, http.MethodDelete, chanPath(id, "/mute"), q, nil, nil)
}

// Play starts playing media (e.g. "sound:queue-thankyou", "tone:ring",
// "digits:3") on a channel, one after another. playbackID may be empty to
// let Asterisk choose one.
func (c *Client) Play(ctx context.Context, id ChannelID, playbackID PlaybackID, media ...string) (*Playback, error) {
	q := url.Values{}
	q.Set("media", strings.Join(media, ","))
	setIf(q, "playbackId", string(playbackID))
	var out Playback
	if err := c.do(ctx, http.MethodPost, chanPath(id, "/play"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DTMFOptions shapes SendDTMF; zero fields keep Asterisk's defaults
// (between 100 ms, duration 100 ms).
type DTMFOptions struct {
	Before, Between, Duration, After time.Duration
}

// SendDTMF sends DTMF digits on the channel.
func (c *Client) SendDTMF(ctx context.Context, id ChannelID, digits string, o DTMFOptions) error {
	q := url.Values{}
	q.Set("dtmf", digits)
	for _, p := range []struct {
		k string
		d time.Duration
	}{{"before", o.Before}, {"between", o.Between}, {"duration", o.Duration}, {"after", o.After}} {
		if p.d > 0 {
			q.Set(p.k, strconv.FormatInt(p.d.Milliseconds(), 10))
		}
	}
	return c.do(ctx, http.MethodPost, chanPath(id, "/dtmf"), q, nil, nil)
}

// GetVar reads a channel variable or dialplan function, e.g. "CALLERID(num)".
func (c *Client) GetVar(ctx context.Context, id ChannelID, name string) (string, error) {
	q := url.Values{}
	q.Set("variable", name)
	var out struct {
		Value string `json:"value"`
	}
	if err := c.do(ctx, http.MethodGet, chanPath(id, "/variable"), q, nil, &out); err != nil {
		return "", err
	}
	return out.Value, nil
}

// SetVar sets a channel variable or writable dialplan function.
func (c *Client) SetVar(ctx context.Context, id ChannelID, name, value string) error {
	q := url.Values{}
	q.Set("variable", name)
	q.Set("value", value)
	return c.do(ctx, http.MethodPost, chanPath(id, "/variable"), q, nil, nil)
}

// ContinueRequest says where a channel leaving Stasis goes in the dialplan;
// all empty means the next priority.
type ContinueRequest struct {
	Context   string
	Extension string
	Priority  int
	Label     string
}

// Continue makes the channel leave Stasis and continue in the dialplan.
func (c *Client) Continue(ctx context.Context, id ChannelID, r ContinueRequest) error {
	q := url.Values{}
	setIf(q, "context", r.Context)
	setIf(q, "extension", r.Extension)
	if r.Priority != 0 {
		q.Set("priority", strconv.Itoa(r.Priority))
	}
	setIf(q, "label", r.Label)
	return c.do(ctx, http.MethodPost, chanPath(id, "/continue"), q, nil, nil)
}

// Move moves the channel to another Stasis application.
func (c *Client) Move(ctx context.Context, id ChannelID, app string, args ...string) error {
	q := url.Values{}
	q.Set("app", app)
	if len(args) > 0 {
		q.Set("appArgs", strings.Join(args, ","))
	}
	return c.do(ctx, http.MethodPost, chanPath(id, "/move"), q, nil, nil)
}

// Redirect transfers the channel to another endpoint (e.g. a SIP REFER or
// 302 to "PJSIP/1002").
func (c *Client) Redirect(ctx context.Context, id ChannelID, endpoint string) error {
	q := url.Values{}
	q.Set("endpoint", endpoint)
	return c.do(ctx, http.MethodPost, chanPath(id, "/redirect"), q, nil, nil)
}

// ExternalMediaRequest is the parameter set of POST /channels/externalMedia.
type ExternalMediaRequest struct {
	ChannelID    ChannelID
	App          string // required
	ExternalHost string // "host:port" RTP is sent to
	Format       string // required, e.g. "ulaw"
	// Encapsulation ("rtp"), Transport ("udp"), ConnectionType ("client")
	// and Direction ("both") keep Asterisk's defaults when empty.
	Encapsulation  string
	Transport      string
	ConnectionType string
	Direction      string
	Data           string
	TransportData  string
	Variables      map[string]string
}

// ExternalMedia creates a channel whose audio is exchanged with ExternalHost
// as RTP. The returned channel's ChannelVars hold
// UNICASTRTP_LOCAL_ADDRESS and UNICASTRTP_LOCAL_PORT, where Asterisk
// expects RTP back.
func (c *Client) ExternalMedia(ctx context.Context, r ExternalMediaRequest) (*Channel, error) {
	q := url.Values{}
	setIf(q, "channelId", string(r.ChannelID))
	q.Set("app", r.App)
	setIf(q, "external_host", r.ExternalHost)
	q.Set("format", r.Format)
	setIf(q, "encapsulation", r.Encapsulation)
	setIf(q, "transport", r.Transport)
	setIf(q, "connection_type", r.ConnectionType)
	setIf(q, "direction", r.Direction)
	setIf(q, "data", r.Data)
	setIf(q, "transport_data", r.TransportData)
	var out Channel
	if err := c.do(ctx, http.MethodPost, "/channels/externalMedia", q, variablesBody(r.Variables), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExternalMediaAddr returns UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT of
// an externalMedia channel, or "" if the variables are missing.
func (ch *Channel) ExternalMediaAddr() string {
	return UnicastRTPAddr(ch.ChannelVars["UNICASTRTP_LOCAL_ADDRESS"], ch.ChannelVars["UNICASTRTP_LOCAL_PORT"])
}

// UnicastRTPAddr joins the values of an externalMedia channel's
// UNICASTRTP_LOCAL_ADDRESS and UNICASTRTP_LOCAL_PORT into host:port
// (an IPv6 address in brackets); "" if either is empty.
func UnicastRTPAddr(addr, port string) string {
	if addr == "" || port == "" {
		return ""
	}
	if strings.Contains(addr, ":") && !strings.HasPrefix(addr, "[") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}
