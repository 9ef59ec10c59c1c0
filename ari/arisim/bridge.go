package arisim

import (
	"strings"
)

type bridge struct {
	seq       int
	id, name  string
	holding   bool
	created   string // creationtime, asteriskTime of the creation
	channels  []*channel
	subs      map[string]int
	moh       *toneGen
	playQueue []*playback
	frame     []int16 // bridge-wide generated audio of the current tick
	frameTick uint64
}

// kind is the bridge's technology and bridge_type.
func (b *bridge) kind() (tech, typ string) {
	switch {
	case b.holding:
		return "holding_bridge", "holding"
	case len(b.channels) > 2:
		return "softmix", "mixing"
	}
	return "simple_bridge", "mixing"
}

func (b *bridge) snapshot() Bridge {
	tech, typ := b.kind()
	ids := make([]string, 0, len(b.channels))
	for _, ch := range b.channels {
		ids = append(ids, ch.id)
	}
	return Bridge{
		ID: b.id, Technology: tech, BridgeType: typ, BridgeClass: "stasis",
		Creator: "Stasis", Name: b.name, Channels: ids,
		Creationtime: b.created, VideoMode: "talker",
	}
}

// createBridge follows bridge_create_common in res/res_stasis.c: type is a
// comma list; mixing and holding exclude each other.
func (s *Sim) createBridge(typ, id, name string) (*bridge, *ariError) {
	if id != "" && s.bridges[id] != nil {
		return nil, errf(409, "Bridge with id '%s' already exists", id)
	}
	if typ == "" {
		typ = "mixing"
	}
	mixing, holding := false, false
	for _, t := range strings.Split(typ, ",") {
		switch strings.TrimSpace(t) {
		case "mixing":
			mixing = true
		case "holding":
			holding = true
		case "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label":
			mixing = mixing || false
		}
	}
	if (!mixing && !holding) || (mixing && holding) {
		return nil, errf(500, "Unable to create bridge. Possible duplicate bridge id '%s'", id)
	}
	if id == "" {
		id = newUUID(s)
	}
	b := &bridge{seq: s.nextNameSeq(), id: id, name: name, holding: holding, created: asteriskTime(s.now()), subs: map[string]int{}}
	s.bridges[id] = b
	s.emitTo(nil, &simEvent{typ: "BridgeCreated", bridge: b})
	return b, nil
}

// emitBridgeChannel sends a bridge+channel event to the apps subscribed to
// the bridge: the Stasis apps of the channels in it. An app subscribed only
// to the channel (e.g. the one that originated it) gets nothing (seen on
// Asterisk 22.10.1).
func (s *Sim) emitBridgeChannel(b *bridge, ch *channel, typ string) {
	s.emitTo(b.subs, &simEvent{typ: typ, bridge: b, channel: ch})
}

func (s *Sim) addToBridge(b *bridge, ch *channel) {
	if ch.bridge == b {
		return
	}
	if ch.bridge != nil {
		s.removeFromBridge(ch.bridge, ch)
	}
	b.channels = append(b.channels, ch)
	ch.bridge = b
	if ch.stasisApp != "" {
		s.subscribe(b.subs, ch.stasisApp)
	}
	s.emitBridgeChannel(b, ch, "ChannelEnteredBridge")
	s.mediaAdd(ch)
}

func (s *Sim) removeFromBridge(b *bridge, ch *channel) {
	for i, c := range b.channels {
		if c == ch {
			b.channels = append(b.channels[:i:i], b.channels[i+1:]...)
			break
		}
	}
	ch.bridge = nil
	s.emitBridgeChannel(b, ch, "ChannelLeftBridge")
	if ch.stasisApp != "" {
		s.unsubscribe(b.subs, ch.stasisApp)
	}
}

// destroyBridge removes every channel (ChannelLeftBridge), then sends
// BridgeDestroyed to the apps still subscribed to the bridge. An app's
// subscription through its channels ends as the last of them leaves, so
// an app that created the bridge and put channels in it does not get
// BridgeDestroyed (seen on Asterisk 22.10.1); subscribeAll apps do.
func (s *Sim) destroyBridge(b *bridge) {
	for len(b.channels) > 0 {
		s.removeFromBridge(b, b.channels[0])
	}
	for _, p := range append([]*playback(nil), b.playQueue...) {
		s.finishPlayback(p, "done")
	}
	delete(s.bridges, b.id)
	s.emitTo(b.subs, &simEvent{typ: "BridgeDestroyed", bridge: b})
}
