// Package ariclient is omstil's own thin client for the Asterisk REST
// Interface (ARI, Asterisk 22 / ARI 10). It imports only the standard
// library and github.com/coder/websocket. Why omstil does not use the
// CyCoreSystems/ari library is recorded in docs/ari-client.md.
//
// # Creating a client
//
//	c, err := ariclient.New(ariclient.Config{
//		URL:      "http://127.0.0.1:8088/ari",
//		User:     "omstil",
//		Password: pw, // never logged, never in an error
//		Apps:     []string{"omstil"},
//		Timeout:  5 * time.Second, // per REST call (the default)
//		Logger:   log,
//		OnConnect: func(ctx context.Context, reconnected bool) {
//			// resync: c.ListChannels(ctx), adopt channels whose
//			// Dialplan.StasisApp() names our app
//		},
//	})
//	defer c.Close() // safe twice
//
// # REST
//
// Every call takes a context and is bounded by Config.Timeout (a shorter
// context deadline wins). IDs are typed (ChannelID, BridgeID, PlaybackID).
// At most Config.MaxConnsPerHost (64) REST connections are open, all kept
// for reuse; a call that finds them busy waits, within its timeout.
//
//   - Asterisk: Info, Ping, Applications, GetApplication, CheckApps, Subscribe,
//     Unsubscribe, ListEndpoints, GetEndpoint, GetDeviceState,
//     UpdateDeviceState.
//   - Channels: ListChannels, GetChannel, Originate(OriginateRequest),
//     CreateChannel(CreateChannelRequest), Dial, Answer, Hangup(reason),
//     Ring, RingStop, Progress, StartMOH(class), StopMOH, StartSilence,
//     StopSilence, Hold, Unhold, Mute(direction), Unmute, Play(id,
//     playbackID, media...), SendDTMF(digits, DTMFOptions), GetVar, SetVar,
//     Continue(ContinueRequest), Move, Redirect,
//     ExternalMedia(ExternalMediaRequest) (then Channel.ExternalMediaAddr()
//     is where Asterisk expects RTP back).
//   - Bridges: CreateBridge(CreateBridgeRequest), ListBridges, GetBridge,
//     AddChannel, AddChannelWithOptions, RemoveChannel, DestroyBridge,
//     BridgeStartMOH, BridgeStopMOH, BridgePlay.
//   - Playbacks: GetPlayback, StopPlayback, ControlPlayback.
//
// A non-2xx answer is a *Error{Method, Path, Status, Message} carrying
// Asterisk's {"message": ...}; test it with IsNotFound (404), IsConflict
// (409, e.g. channel not in Stasis), IsPreconditionFailed (412),
// IsUnauthorized (401) or StatusOf. Error texts never contain the password
// or the query string (which may hold a citizen's number). Transport errors
// wrap the cause, so errors.Is(err, context.DeadlineExceeded) works.
//
// # Events
//
// Run(ctx, handler) keeps ONE WebSocket to /events for all Config.Apps and
// calls handler for every event, in Asterisk's order, on one goroutine,
// until ctx is done or Close is called:
//
//	err := c.Run(ctx, func(ctx context.Context, ev ariclient.Event) {
//		switch e := ev.(type) {
//		case *ariclient.Connected:    // after OnConnect; e.Reconnected
//		case *ariclient.StasisStart:  // e.Args, e.Channel, e.ReplaceChannel
//		case *ariclient.ChannelDtmfReceived:
//		case *ariclient.Disconnected: // e.Err; the client redials by itself
//		case *ariclient.UnknownEvent: // e.Type, e.Raw (and e.Err if it did not decode)
//		}
//	})
//
// Guarantees:
//   - No event is dropped. The socket is read continuously into an
//     unbounded queue, so a slow handler delays events but never loses
//     them, and Asterisk never sees a slow reader. Stats().QueueDepth and
//     MaxQueue show the backlog; events still queued when Run returns are
//     counted in Stats().Undelivered and logged.
//   - Every message is delivered: known types as typed structs (all of
//     Asterisk 22's events.json, see KnownEventTypes), unknown types and
//     undecodable messages as *UnknownEvent with the raw JSON. Nothing is
//     fatal. Base() gives Type, Application, Timestamp (parsed from
//     "2006-01-02T15:04:05.000-0700"), AsteriskID and Raw.
//   - Lifecycle is in the stream: *Connected (after Config.OnConnect
//     returned) precedes the first event of every connection, and
//     *Disconnected follows the last one. Events arriving while OnConnect
//     resyncs are queued behind it.
//   - Redial with exponential backoff and jitter, Config.BackoffMin (250 ms)
//     to BackoffMax (10 s); a WebSocket ping every PingInterval (10 s); a
//     missing pong within PongTimeout (5 s) redials.
//   - An open socket that Asterisk no longer delivers an app's events to
//     (Asterisk 22: a new registration lost to an old socket's close) is
//     found by the app check (1 s and 5 s after each connect, then every
//     30 s: GET /applications/{app} and a probe user event that must come
//     back) and re-opened: *Disconnected with ErrAppLost, then
//     *Connected{Reconnected: true} after OnConnect, as on any reconnect.
//     Stats().AppLost counts it; probe events are consumed, never
//     delivered. CheckApps runs the check on demand.
//   - Connected() and Stats() are safe from any goroutine.
//
// Logging: lifecycle at info/warn, unknown types at debug; Raw is never
// logged because it holds callers' numbers.
package ariclient
