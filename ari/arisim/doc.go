// Package arisim is an ARI simulator: an in-memory Asterisk that speaks the
// Asterisk REST Interface (ARI 10.0.0, as Asterisk 22 reports it) over real
// HTTP and WebSocket, so omstil's ARI client talks to it exactly as it
// talks to Asterisk. It serves tests (fast, deterministic with FakeClock)
// and the demo (StartGenerator places synthetic citizen calls).
//
// The modelled dialplan is deploy/asterisk/extensions.conf:
//
//	[omstil-inbound]      exten => _X!,1,Stasis(omstil,${EXTEN})
//	[omstil-test-agents]  _1X! Answer+Echo, _2X! ring 2 s then Answer+Echo,
//	                      _3X! Busy, _4X! ring for ever, _5X! Congestion
//
// Citizen calls can be placed through ARI alone (originate
// Local/<number>@omstil-inbound with app=<test app>), so the same test runs
// against a real Asterisk, or directly with PlaceCall / POST /sim/calls
// (a PJSIP/trunk-… channel entering Stasis(omstil,<number>)). PJSIP/<name>
// endpoints behave as SetEndpoint says; unknown ones do not exist.
//
// # Event rules taken from the Asterisk source
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
//     hangup sends ChannelHangupRequest{cause} without "soft".
//   - Originate: the REST answer comes first (state Down), then Dial
//     (dialstatus ""), Ringing/RINGING, Up/ANSWER, StasisStart. Busy and
//     congestion give Dial BUSY/CONGESTION and ChannelDestroyed 17/34;
//     the dial timeout (default 30 s, -1 none) ChannelDestroyed 19.
//     Unknown PJSIP endpoints and technologies fail with 500
//     {"error":"Allocation failed"} (ast_dial_prerun fails).
//   - ChannelDialplan is sent when a subscribed channel starts a dialplan
//     application (first snapshot excluded), ChannelVarset for POST
//     /variable, ChannelStateChange on every state change.
//   - Bridges are not subscribed at creation (BridgeCreated reaches
//     subscribeAll apps only). Adding a Stasis channel subscribes its app
//     to the bridge; ChannelEnteredBridge/ChannelLeftBridge go to the apps
//     of the bridge and of the channel.
//   - Playbacks: POST play answers 201 with state "queued"; PlaybackStarted
//     per media, PlaybackContinuing between media of a list,
//     PlaybackFinished (state done, or failed for missing recordings and
//     unsupported schemes). Playbacks on one target run one after another.
//
// # Assumptions not verified against a real Asterisk
//
//   - BridgeDestroyed reaches the apps that had a channel in the bridge when
//     it was destroyed; for a bridge emptied earlier it is not sent (the
//     app's bridge subscription ends when its last channel leaves).
//   - Local ;1 with an extension that does not exist ends with cause 0.
//   - EndpointBehavior Unavailable ends the channel with cause 3 after a
//     ChannelHangupRequest, as chan_pjsip does for a failed INVITE.
//   - The ChannelDestroyed cause of a Local ;1 whose ;2 ran Busy() or
//     Congestion() is 17 / 34 (ast_dial sets the dial cause; the channel's
//     own hangupcause may differ on a real Asterisk).
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
//   - The channel ids look like Asterisk's uniqueid ("<epoch>.<n>"); bridge
//     and playback ids are UUID-shaped but deterministic.
//
// Not implemented (501): channels/create, dial, redirect, record, snoop,
// rtp_statistics; recordings, sounds, endpoints, deviceStates resources;
// REST over WebSocket.
//
// With a FakeClock nothing happens between calls to Advance, including the
// asynchronous steps Asterisk takes right after a REST answer (dial start,
// externalMedia answer): call Advance(0) to run them.
package arisim
