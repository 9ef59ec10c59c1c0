// Package arisim is an ARI simulator: an in-memory Asterisk that speaks the
// Asterisk REST Interface (ARI 10.0.0, as Asterisk 22 reports it) over real
// HTTP and WebSocket, so omstil's ARI client talks to it exactly as it
// talks to Asterisk. It serves tests (fast, deterministic with FakeClock)
// and the demo (StartGenerator places synthetic citizen calls).
//
// The modelled dialplan is deploy/asterisk/extensions.conf:
//
//	[omstil-inbound]      exten => _X!,1,Stasis(omstil,${EXTEN})
//	                      exten => _+X!,1,Stasis(omstil,${EXTEN})
//	[omstil-test-agents]  _1X! Answer+Echo, _2X! ring 2 s then Answer+Echo,
//	                      _3X! Busy, _4X! ring for ever, _5X! Congestion
//
// Citizen calls can be placed through ARI alone (originate
// Local/<number>@omstil-inbound with app=<test app>), so the same test runs
// against a real Asterisk, or directly with PlaceCall / POST /sim/calls
// (a PJSIP/trunk-… channel entering Stasis(omstil,<number>)). PJSIP/<name>
// endpoints behave as SetEndpoint says; unknown ones do not exist.
// Restart is Asterisk's "core restart now" (every channel hung up with the
// shutdown flag, then the sockets closed, a new startup_time) and Crash a
// kill -9 and a new start (the calls just gone), for the fault tests.
//
// # Event rules taken from the Asterisk source
//
// Those marked (22.10.1) were checked on a real Asterisk 22.10.1 built by
// hand (docs/asterisk-check.md); the contract suite in ari/ariclient
// passes against both.
//
//   - An app receives a channel's events while it is subscribed to it. A
//     channel that enters Stasis() subscribes its app until StasisEnd, so a
//     dialplan channel gives StasisEnd but no ChannelDestroyed; originate
//     (and externalMedia) subscribe the originating app to the channel and
//     to the other half of a Local pair as well, so those get
//     ChannelDestroyed (ari_channels_handle_originate_with_id,
//     sub_channel_update_handler in res/stasis/app.c).
//   - StasisStart/StasisEnd go only to the app the channel is in.
//   - Events for an app without a WebSocket are dropped; the channels stay
//     in the app and in GET /channels; a new socket gets their later events
//     but no second StasisStart.
//   - A second WebSocket registering an app takes it over; the old socket
//     receives ApplicationReplaced and then nothing more for that app.
//     Inbound sockets get no ApplicationRegistered (ari_websockets.c).
//   - DELETE /channels/{id} sends ChannelHangupRequest with cause 32 and
//     soft=true: ast_softhangup puts AST_SOFTHANGUP_EXPLICIT into "cause".
//     The hangup cause (reason, default 16) is in ChannelDestroyed. A far-end
//     hangup sends ChannelHangupRequest{cause} without "soft". (22.10.1)
//   - Originate: the REST answer comes first (state Down; dialplan
//     AppDial2 "(Outgoing Line)" at the Local target's context and
//     extension), then Dial (dialstatus ""), Ringing/RINGING, Up/ANSWER,
//     ChannelVarset STASISSTATUS "" and StasisStart; an originated channel
//     gets no ChannelDialplan for Stasis and is back in AppDial2 after
//     StasisEnd (then STASISSTATUS=SUCCESS). The Local ;2 half is created
//     in state Ring (no ChannelStateChange to Ring). (22.10.1)
//   - Busy() and Congestion() put ;2 in state Busy; the originating app
//     gets Dial BUSY/CONGESTION, ;1 is destroyed with cause 0 "Unknown"
//     and ;2 with 17/34. The dial timeout (default 30 s, -1 none) destroys
//     ;1 and ;2 with 19. An extension that does not exist: no Dial event,
//     ;2 then ;1 destroyed with cause 0. (22.10.1) Unknown PJSIP endpoints
//     and technologies fail with 500 {"error":"Allocation failed"}
//     (22.10.1 for PJSIP without chan_pjsip and for an unknown technology).
//   - Local pair hangup (22.10.1): when one half ends with cause C, the
//     other gets ChannelHangupRequest{C}, the first half's
//     ChannelDestroyed{C}, then ChannelHangupRequest{16, soft} — after its
//     StasisEnd when it is in Stasis, so its Stasis app does not see that
//     request — and ChannelDestroyed with its own cause (17/34 after
//     Busy()/Congestion()) or C. A ;1 still being dialled gets Dial
//     NOANSWER instead. A ;2 is destroyed with an empty dialplan app.
//   - ChannelDialplan is sent when a subscribed channel starts a dialplan
//     application (first snapshot excluded), ChannelVarset for POST
//     /variable, ChannelStateChange on every state change.
//   - Bridges are not subscribed at creation (BridgeCreated reaches
//     subscribeAll apps only). Adding a Stasis channel subscribes its app
//     to the bridge; ChannelEnteredBridge/ChannelLeftBridge go to the
//     bridge's subscribers only, not to other apps subscribed to the
//     channel (e.g. the one that originated it). The subscription ends as
//     the app's last channel leaves, so destroying a bridge gives
//     ChannelLeftBridge but no BridgeDestroyed to those apps. (22.10.1)
//   - Playbacks: POST play answers 201 with state "queued"; PlaybackStarted
//     per media, PlaybackContinuing between media of a list,
//     PlaybackFinished (state done, or failed for missing recordings and
//     unsupported schemes). Playbacks on one target run one after another.
//     A sound Asterisk does not have (Options.SoundExists), including a
//     sound:http URL that answers 404 or cannot be reached, gives
//     PlaybackStarted and at once PlaybackFinished "failed". sound:http
//     URLs are fetched by res_http_media_cache and cached. (22.10.1)
//   - With "channelvars = A,B" in ari.conf (Options.ChannelVars) every
//     channel snapshot carries "channelvars" with those names ("" when
//     unset); the externalMedia REST answer carries only
//     UNICASTRTP_LOCAL_ADDRESS/PORT. (22.10.1)
//
// # Assumptions not verified against a real Asterisk
//
//   - Everything about PJSIP endpoints (EndpointBehavior): the check ran
//     without chan_pjsip. Unavailable ends the channel with cause 3 after
//     a ChannelHangupRequest, as chan_pjsip does for a failed INVITE; an
//     originated PJSIP channel is assumed to enter Stasis like a Local ;1
//     (STASISSTATUS varset, no ChannelDialplan).
//   - Not modelled although Asterisk sends them: ChannelCallerId and
//     ChannelConnectedLine (originate with callerId, bridging),
//     ChannelVarset BRIDGEPEER on entering/leaving a bridge.
//   - Media lengths are synthetic: sounds DefaultSoundLength (2 s),
//     digits/characters 600 ms per character, number: 600 ms per digit,
//     tone: until stopped; recording: fails unless Options.MediaLengths
//     names it. sound:http(s)://… URIs play like sounds (Asterisk 22 fetches
//     them through the media cache).
//   - Audio: sounds are a 400 Hz tone, say-* 600 Hz, music on hold 330 Hz,
//     ringing the Danish 425 Hz cadence. Mixing bridges sum the other
//     members; a holding bridge carries only its MOH. Audio crosses a Local
//     pair and Echo() with one tick (20 ms) of delay. externalMedia sends
//     one RTP packet per tick while Up (silence when there is no audio);
//     Asterisk may send nothing while a bridge is silent.
//   - GET /asterisk/modules lists the modules an Asterisk serving omstil
//     runs, all "Running"; GET /sounds/{id} answers every sound
//     Options.SoundExists has (all when nil) in languages en and da, 404
//     "Sound not found" otherwise. (The shapes are 22.10.1's.)
//   - The channel ids look like Asterisk's uniqueid ("<epoch>.<n>"); bridge
//     and playback ids are UUID-shaped but deterministic.
//
// Not implemented (501): channels/create, dial, redirect, record, snoop,
// rtp_statistics; recordings; listing sounds; endpoints, deviceStates
// resources; REST over WebSocket.
//
// With a FakeClock nothing happens between calls to Advance, including the
// asynchronous steps Asterisk takes right after a REST answer (dial start,
// externalMedia answer): call Advance(0) to run them.
package arisim
