package ariclient

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

func bridgePath(id BridgeID, suffix string) string {
	return "/bridges/" + url.PathEscape(string(id)) + suffix
}

// CreateBridgeRequest is the parameter set of POST /bridges.
type CreateBridgeRequest struct {
	// Type is a comma-separated list of bridge features: "mixing",
	// "holding", "dtmf_events", "proxy_media", "video_sfu",
	// "video_single", "sdp_label". Empty means Asterisk's default (mixing).
	Type string
	ID   BridgeID // optional; Asterisk chooses one when empty
	Name string
}

// CreateBridge creates a bridge.
func (c *Client) CreateBridge(ctx context.Context, r CreateBridgeRequest) (*Bridge, error) {
	q := url.Values{}
	setIf(q, "type", r.Type)
	setIf(q, "bridgeId", string(r.ID))
	setIf(q, "name", r.Name)
	var out Bridge
	if err := c.do(ctx, http.MethodPost, "/bridges", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListBridges returns all bridges.
func (c *Client) ListBridges(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	err := c.do(ctx, http.MethodGet, "/bridges", nil, nil, &out)
	return out, err
}

// GetBridge returns one bridge; IsNotFound(err) if it does not exist.
func (c *Client) GetBridge(ctx context.Context, id BridgeID) (*Bridge, error) {
	var out Bridge
	if err := c.do(ctx, http.MethodGet, bridgePath(id, ""), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DestroyBridge destroys a bridge; its channels stay in Stasis.
func (c *Client) DestroyBridge(ctx context.Context, id BridgeID) error {
	return c.do(ctx, http.MethodDelete, bridgePath(id, ""), nil, nil, nil)
}

// AddChannelOptions are the optional parameters of addChannel.
type AddChannelOptions struct {
	Role                        string
	AbsorbDTMF                  bool
	Mute                        bool
	InhibitConnectedLineUpdates bool
}

func joinIDs(ids []ChannelID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}

// AddChannel adds channels to a bridge.
func (c *Client) AddChannel(ctx context.Context, bridge BridgeID, channels ...ChannelID) error {
	return c.AddChannelWithOptions(ctx, bridge, AddChannelOptions{}, channels...)
}

// AddChannelWithOptions adds channels to a bridge with a role, DTMF absorb,
// mute or inhibited connected-line updates.
func (c *Client) AddChannelWithOptions(ctx context.Context, bridge BridgeID, o AddChannelOptions, channels ...ChannelID) error {
	q := url.Values{}
	q.Set("channel", joinIDs(channels))
	setIf(q, "role", o.Role)
	if o.AbsorbDTMF {
		q.Set("absorbDTMF", "true")
	}
	if o.Mute {
		q.Set("mute", "true")
	}
	if o.InhibitConnectedLineUpdates {
		q.Set("inhibitConnectedLineUpdates", "true")
	}
	return c.do(ctx, http.MethodPost, bridgePath(bridge, "/addChannel"), q, nil, nil)
}

// RemoveChannel removes channels from a bridge; they stay in Stasis.
func (c *Client) RemoveChannel(ctx context.Context, bridge BridgeID, channels ...ChannelID) error {
	q := url.Values{}
	q.Set("channel", joinIDs(channels))
	return c.do(ctx, http.MethodPost, bridgePath(bridge, "/removeChannel"), q, nil, nil)
}

// BridgeStartMOH plays music on hold to every channel of the bridge.
func (c *Client) BridgeStartMOH(ctx context.Context, bridge BridgeID, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return c.do(ctx, http.MethodPost, bridgePath(bridge, "/moh"), q, nil, nil)
}

// BridgeStopMOH stops music on hold in the bridge.
func (c *Client) BridgeStopMOH(ctx context.Context, bridge BridgeID) error {
	return c.do(ctx, http.MethodDelete, bridgePath(bridge, "/moh"), nil, nil, nil)
}

// BridgePlay plays media to every channel of the bridge.
func (c *Client) BridgePlay(ctx context.Context, bridge BridgeID, playbackID PlaybackID, media ...string) (*Playback, error) {
	q := url.Values{}
	q.Set("media", strings.Join(media, ","))
	setIf(q, "playbackId", string(playbackID))
	var out Playback
	if err := c.do(ctx, http.MethodPost, bridgePath(bridge, "/play"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPlayback returns a playback; IsNotFound(err) once it has finished.
func (c *Client) GetPlayback(ctx context.Context, id PlaybackID) (*Playback, error) {
	var out Playback
	if err := c.do(ctx, http.MethodGet, "/playbacks/"+url.PathEscape(string(id)), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopPlayback stops a playback.
func (c *Client) StopPlayback(ctx context.Context, id PlaybackID) error {
	return c.do(ctx, http.MethodDelete, "/playbacks/"+url.PathEscape(string(id)), nil, nil, nil)
}

// Playback control operations.
const (
	PlaybackRestart = "restart"
	PlaybackPause   = "pause"
	PlaybackUnpause = "unpause"
	PlaybackReverse = "reverse"
	PlaybackForward = "forward"
)

// ControlPlayback pauses, unpauses, restarts, rewinds or forwards a playback.
func (c *Client) ControlPlayback(ctx context.Context, id PlaybackID, operation string) error {
	q := url.Values{}
	q.Set("operation", operation)
	return c.do(ctx, http.MethodPost, "/playbacks/"+url.PathEscape(string(id))+"/control", q, nil, nil)
}
