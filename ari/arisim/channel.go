package arisim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type chanKind int

const (
	kindPJSIP    chanKind = iota // PJSIP/<endpoint>-xxxxxxxx (agents, trunk calls)
	kindLocal1                   // Local/...;1, the originated half
	kindLocal2                   // Local/...;2, runs the dialplan
	kindExternal                 // UnicastRTP/host:port-0x...
)

type channel struct {
	seq         int
	id, name    string
	device      string // deviceOf(kind, name)
	kind        chanKind
	state       string
	caller      CallerID
	connected   CallerID
	dp          DialplanCEP
	created     string // creationtime, asteriskTime of the creation
	vars        map[string]string
	ariVars     []string // variables reported in "channelvars"
	peer        *channel // the other half of a Local pair
	subs        map[string]int
	stasisApp   string
	stasisArgs  []string
	bridge      *bridge
	dial        *dialState // set while an originate is dialling
	gone        bool
	hangupCause int
	ownCause    int         // cause the dialplan set (Busy 17, Congestion 34); wins over the peer's
	preStasis   DialplanCEP // an originated channel's dialplan before Stasis, restored after it
	timers      []Timer

	// far-end behaviour and media
	farEnd    farEnd
	ext       *externalMedia
	playQueue []*playback
	moh       *toneGen // music on hold towards the far end
	silence   bool
	ringing   *toneGen // ARI ring indication towards the far end
	muteIn    bool
	muteOut   bool
	echoApp   bool // the dialplan runs Echo(): what it reads it writes back
	media     chanMedia
}

// farEnd is what the simulated device at the other end of a channel does
// with audio: send silence, a tone, or echo what it hears.
type farEnd struct {
	echo   bool
	tone   *toneGen
	frames [][]int16 // injected audio, consumed 160 samples per tick
}

type dialState struct {
	app       string
	appArgs   []string
	context   string
	exten     string
	priority  int64
	dialstr   string
	answered  bool
	timeout   Timer
	behaviour EndpointBehavior
}

func (ch *channel) addTimer(t Timer) { ch.timers = append(ch.timers, t) }

func (ch *channel) stopTimers() {
	for _, t := range ch.timers {
		t.Stop()
	}
	ch.timers = nil
	if ch.dial != nil && ch.dial.timeout != nil {
		ch.dial.timeout.Stop()
	}
}

func (ch *channel) snapshot() Channel {
	c := Channel{
		ID:           ch.id,
		Name:         ch.name,
		State:        ch.state,
		ProtocolID:   "",
		Caller:       ch.caller,
		Connected:    ch.connected,
		Accountcode:  "",
		Dialplan:     ch.dp,
		Creationtime: ch.created,
		Language:     "en",
	}
	if len(ch.ariVars) > 0 {
		c.Channelvars = map[string]string{}
		for _, k := range ch.ariVars {
			c.Channelvars[k] = ch.vars[k]
		}
	}
	return c
}

// newChannel creates and registers a channel. No event is sent: apps are
// not subscribed to a channel when it is created (ChannelCreated reaches
// subscribeAll apps only).
func (s *Sim) newChannel(kind chanKind, name, id string) *channel {
	if id == "" {
		id = s.newUniqueID()
	}
	ch := &channel{
		seq:     s.nextNameSeq(),
		id:      id,
		name:    name,
		device:  deviceOf(kind, name),
		kind:    kind,
		state:   "Down",
		created: asteriskTime(s.now()),
		vars:    map[string]string{},
		subs:    map[string]int{},
		dp:      DialplanCEP{Context: "default", Exten: "s", Priority: 1},
		ariVars: s.opts.ChannelVars,
	}
	s.channels[id] = ch
	s.stats.ChannelsCreated++
	s.emitTo(nil, &simEvent{typ: "ChannelCreated", channel: ch})
	return ch
}

func (s *Sim) channelName(prefix string) string {
	b := make([]byte, 0, len(prefix)+9)
	b = append(append(b, prefix...), '-')
	return string(appendHex(b, uint64(s.nameSeq+1), 8))
}

func (s *Sim) setState(ch *channel, state string) {
	if ch.state == state || ch.gone {
		return
	}
	s.setChanState(ch, state)
	s.emitChannel(ch, simEvent{typ: "ChannelStateChange", channel: ch})
	s.deviceChanged(ch)
	if ch.ext != nil {
		s.mediaAdd(ch)
	}
}

// setDialplan moves the channel to a dialplan location running app(data)
// and sends ChannelDialplan like channel_dialplan() in res/stasis/app.c.
func (s *Sim) setDialplan(ch *channel, context, exten string, prio int64, app, data string) {
	old := ch.dp
	ch.dp = DialplanCEP{Context: context, Exten: exten, Priority: prio, AppName: app, AppData: data}
	if app == "" {
		return
	}
	if old.AppName != "" && old.Context == context && old.Exten == exten && old.Priority == prio {
		return
	}
	s.emitChannel(ch, simEvent{
		typ: "ChannelDialplan", channel: ch,
		strs: [3]kv{{"dialplan_app", app}, {"dialplan_app_data", data}},
	})
}

func (s *Sim) setVar(ch *channel, name, value string, event bool) {
	ch.vars[name] = value
	if event {
		s.emitChannel(ch, simEvent{typ: "ChannelVarset", strs: [3]kv{{"variable", name}, {"value", value}}, channel: ch})
	}
}

// enterStasis runs Stasis(app,args...) on ch. It fails, as Asterisk does,
// when no WebSocket holds the app.
//
// A dialplan channel sends ChannelDialplan (Stasis); an originated channel
// entering its app does not (its dialplan stays AppDial2 outside Stasis).
// Both then set STASISSTATUS to "" (ChannelVarset to the apps already
// subscribed) before StasisStart, as seen on Asterisk 22.10.1.
func (s *Sim) enterStasis(ch *channel, appName string, args []string) bool {
	data := appName
	if len(args) > 0 {
		data += "," + strings.Join(args, ",")
	}
	if ch.dial != nil {
		ch.preStasis = ch.dp
		ch.dp.AppName, ch.dp.AppData = "Stasis", data
	} else {
		s.setDialplan(ch, ch.dp.Context, ch.dp.Exten, ch.dp.Priority, "Stasis", data)
	}
	if !s.appActive(appName) {
		s.log.Warn("stasis app not registered", "app", appName, "channel", ch.name)
		return false
	}
	s.setVar(ch, "STASISSTATUS", "", true)
	ch.stasisApp = appName
	ch.stasisArgs = args
	s.subscribe(ch.subs, appName)
	s.deliver(appName, simEvent{typ: "StasisStart", args: args, hasArgs: true, channel: ch})
	return true
}

func (s *Sim) leaveStasis(ch *channel) {
	if ch.stasisApp == "" {
		return
	}
	s.stopPlaybacks(ch, "done")
	if ch.bridge != nil {
		s.removeFromBridge(ch.bridge, ch)
	}
	s.endStasis(ch)
}

// endStasis sends StasisEnd to the channel's app and ends that app's
// subscription; the apps still subscribed then see STASISSTATUS=SUCCESS,
// and an originated channel is back in AppDial2.
func (s *Sim) endStasis(ch *channel) {
	appName := ch.stasisApp
	ch.stasisApp = ""
	s.deliver(appName, simEvent{typ: "StasisEnd", channel: ch})
	s.unsubscribe(ch.subs, appName)
	s.setVar(ch, "STASISSTATUS", "SUCCESS", true)
	if ch.preStasis.AppName != "" {
		ch.dp = ch.preStasis
	}
}

// hangup ends a channel: ChannelHangupRequest (when req is set), playbacks
// finish, ChannelLeftBridge, StasisEnd, then ChannelDestroyed to whoever is
// still subscribed (originating apps; not the app a dialplan channel
// entered, which unsubscribed at StasisEnd). The other half of a Local pair
// follows.
func (s *Sim) hangup(ch *channel, cause int, req hangupReq) {
	s.endChannel(ch, cause, req, false)
}

// endChannel is hangup; with reqAfterStasis the ChannelHangupRequest comes
// after StasisEnd, as for the half of a Local pair that the core hangs up
// when the other half is gone (so its Stasis app does not see it).
//
// The Local pair, as seen on Asterisk 22.10.1: when one half ends with
// cause C, the other half first gets ChannelHangupRequest{cause: C}, then
// the first half's ChannelDestroyed{C}, then ChannelHangupRequest{cause:
// 16, soft: true}, its StasisEnd (before that request when it is in
// Stasis) and ChannelDestroyed with its own cause (17 after Busy(), 34
// after Congestion()) or else C. A ;1 that is still being dialled instead
// gets Dial NOANSWER and ChannelDestroyed{C}. A ;2 is destroyed with an
// empty dialplan application.
func (s *Sim) endChannel(ch *channel, cause int, req hangupReq, reqAfterStasis bool) {
	if ch.gone {
		return
	}
	emitReq := func() {
		if req.send {
			s.emitChannel(ch, simEvent{typ: "ChannelHangupRequest", cause: req.cause, hasCause: true, soft: req.soft, channel: ch})
		}
	}
	if !reqAfterStasis {
		emitReq()
	}
	s.countDevice(ch, -1)
	ch.gone = true
	defer s.deviceChanged(ch)
	ch.hangupCause = cause
	ch.stopTimers()
	s.stopPlaybacks(ch, "done")
	if ch.bridge != nil {
		s.removeFromBridge(ch.bridge, ch)
	}
	if ch.stasisApp != "" {
		s.endStasis(ch)
	}
	if reqAfterStasis {
		emitReq()
	}
	p := ch.peer
	if p != nil && p.gone {
		p = nil
	}
	if p != nil {
		s.emitChannel(p, simEvent{typ: "ChannelHangupRequest", cause: cause, hasCause: true, channel: p})
	}
	if ch.kind == kindLocal2 {
		ch.dp.AppName, ch.dp.AppData = "", ""
	}
	s.emitChannel(ch, simEvent{typ: "ChannelDestroyed", cause: cause, hasCause: true, causeTxt: true, channel: ch})
	delete(s.channels, ch.id)
	if ch.ext != nil {
		ch.ext.conn.Close()
	}
	for name, a := range s.apps {
		if a.conn == nil && !s.appVisible(a) {
			delete(s.apps, name)
		}
	}
	if p != nil {
		pc := cause
		if p.ownCause != 0 {
			pc = p.ownCause
		}
		if p.dial != nil && !p.dial.answered && p.kind == kindLocal1 {
			// The dialled half is gone before answering: ast_dial gives up.
			s.emitChannel(p, dialEvent("NOANSWER", p))
			s.endChannel(p, pc, hangupReq{}, false)
		} else {
			s.endChannel(p, pc, softHangupReq(causeNormal), true)
		}
	}
	delete(s.mediaSet, ch)
}

// hangupReq is the ChannelHangupRequest that starts a hangup, if send.
type hangupReq struct {
	send  bool
	soft  bool
	cause int
}

func softHangupReq(cause int) hangupReq { return hangupReq{send: true, soft: true, cause: cause} }

// dialEvent is the Dial event of the dialling channel ch.
func dialEvent(status string, ch *channel) simEvent {
	return simEvent{typ: "Dial", strs: [3]kv{{"dialstatus", status}, {"forward", ""}, {"dialstring", ch.dial.dialstr}}, peer: ch}
}

// --- answering and the modelled dialplan ------------------------------------

// answer puts ch Up. Answering the ;2 half of a Local pair answers the ;1
// half, which completes its origination.
func (s *Sim) answer(ch *channel) {
	if ch.gone || ch.state == "Up" {
		return
	}
	s.setState(ch, "Up")
	if ch.kind == kindLocal2 && ch.peer != nil && !ch.peer.gone {
		s.remoteAnswered(ch.peer)
	}
}

// remoteAnswered: the far end of an originated channel answered.
func (s *Sim) remoteAnswered(ch *channel) {
	if ch.gone || ch.dial == nil || ch.dial.answered {
		return
	}
	d := ch.dial
	d.answered = true
	if d.timeout != nil {
		d.timeout.Stop()
	}
	s.setState(ch, "Up")
	s.emitChannel(ch, dialEvent("ANSWER", ch))
	if d.app != "" {
		if !s.enterStasis(ch, d.app, d.appArgs) {
			s.hangup(ch, causeNormal, hangupReq{})
		}
		return
	}
	s.runDialplan(ch, d.context, d.exten, d.priority)
}

// remoteRinging: the far end of an originated channel is alerting.
func (s *Sim) remoteRinging(ch *channel) {
	if ch.gone || ch.dial == nil || ch.dial.answered || ch.state == "Ringing" {
		return
	}
	s.setState(ch, "Ringing")
	s.emitChannel(ch, dialEvent("RINGING", ch))
}

// remoteFailed: the far end of a dialling channel refused the call.
func (s *Sim) remoteFailed(ch *channel, cause int) {
	if ch.gone || ch.dial == nil || ch.dial.answered {
		return
	}
	status := map[int]string{causeBusy: "BUSY", causeCongestion: "CONGESTION"}[cause]
	if status != "" {
		s.emitChannel(ch, dialEvent(status, ch))
		if ch.kind == kindLocal1 {
			// ast_dial hangs up the originated half with no cause of its
			// own: ChannelDestroyed cause 0 "Unknown" on Asterisk 22.10.1;
			// the ;2 half that ran Busy()/Congestion() keeps 17/34.
			s.hangup(ch, causeUnknown, hangupReq{})
			return
		}
		s.hangup(ch, cause, hangupReq{})
		return
	}
	s.hangup(ch, cause, hangupReq{send: true, cause: cause})
}

var (
	reDigits    = regexp.MustCompile(`^[0-9]+$`)
	reInbound   = regexp.MustCompile(`^\+?[0-9]+$`) // _X! and _+X!
	reAgentExt  = regexp.MustCompile(`^([1-5])[0-9][0-9]*$`)
	inboundCtx  = "omstil-inbound"
	agentsCtx   = "omstil-test-agents"
	inboundApp  = "omstil"
	ringSeconds = 2 * time.Second
)

// dialplanExists reports whether deploy/asterisk/extensions.conf has exten
// in context.
func dialplanExists(context, exten string) bool {
	switch context {
	case inboundCtx:
		return reInbound.MatchString(exten)
	case agentsCtx:
		return reAgentExt.MatchString(exten)
	}
	return false
}

// runDialplan executes the modelled dialplan (deploy/asterisk/extensions.conf)
// on ch from context,exten,priority. A location that does not exist ends
// the call, as the PBX does.
func (s *Sim) runDialplan(ch *channel, context, exten string, prio int64) {
	if prio <= 0 {
		prio = 1
	}
	if !dialplanExists(context, exten) || prio != 1 {
		s.setDialplan(ch, context, exten, prio, "", "")
		s.hangup(ch, causeNormal, hangupReq{})
		return
	}
	switch context {
	case inboundCtx:
		// exten => _X!,1,Stasis(omstil,${EXTEN})
		ch.dp = DialplanCEP{Context: context, Exten: exten, Priority: 1}
		if ch.state == "Down" {
			s.setState(ch, "Ring")
		}
		if !s.enterStasis(ch, inboundApp, []string{exten}) {
			s.hangup(ch, causeNormal, hangupReq{})
		}
	case agentsCtx:
		s.runAgent(ch, exten)
	}
}

// runAgent models the test agents of [omstil-test-agents].
func (s *Sim) runAgent(ch *channel, exten string) {
	ctx := agentsCtx
	if ch.state == "Down" {
		s.setState(ch, "Ring")
	}
	echo := func(prio int64) {
		s.setDialplan(ch, ctx, exten, prio, "Echo", "")
		ch.echoApp = true
		s.mediaAdd(ch)
	}
	switch exten[0] {
	case '1': // Answer(), Echo()
		s.setDialplan(ch, ctx, exten, 1, "Answer", "")
		s.answer(ch)
		echo(2)
	case '2': // Ringing(), Wait(2), Answer(), Echo()
		s.setDialplan(ch, ctx, exten, 1, "Ringing", "")
		s.indicateRinging(ch)
		s.setDialplan(ch, ctx, exten, 2, "Wait", "2")
		ch.addTimer(s.after(ringSeconds, func() {
			if ch.gone {
				return
			}
			s.setDialplan(ch, ctx, exten, 3, "Answer", "")
			s.answer(ch)
			echo(4)
		}))
	case '3': // Busy()
		s.setDialplan(ch, ctx, exten, 1, "Busy", "")
		s.indicateFailure(ch, causeBusy)
	case '4': // Ringing(), Wait(3600)
		s.setDialplan(ch, ctx, exten, 1, "Ringing", "")
		s.indicateRinging(ch)
		s.setDialplan(ch, ctx, exten, 2, "Wait", "3600")
	case '5': // Congestion()
		s.setDialplan(ch, ctx, exten, 1, "Congestion", "")
		s.indicateFailure(ch, causeCongestion)
	}
}

// indicateRinging sends a ringing indication to whoever called ch.
func (s *Sim) indicateRinging(ch *channel) {
	if ch.kind == kindLocal2 && ch.peer != nil {
		s.remoteRinging(ch.peer)
	}
}

func (s *Sim) indicateFailure(ch *channel, cause int) {
	// Busy() and Congestion() both put the channel in state Busy and set
	// its hangup cause.
	ch.ownCause = cause
	s.setState(ch, "Busy")
	if ch.kind == kindLocal2 && ch.peer != nil && ch.peer.dial != nil && !ch.peer.dial.answered {
		s.remoteFailed(ch.peer, cause)
		return
	}
	s.hangup(ch, cause, hangupReq{})
}

// --- originate --------------------------------------------------------------

type ariError struct {
	code int
	msg  string
	body any
}

func (e *ariError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func errf(code int, format string, a ...any) *ariError {
	return &ariError{code: code, msg: fmt.Sprintf(format, a...)}
}

var errAllocFailed = &ariError{code: 500, body: map[string]string{"error": "Allocation failed"}}

type originateReq struct {
	endpoint, app, appArgs, callerID string
	context, extension               string
	priority                         int64
	timeout                          int
	channelID, otherID               string
	variables                        map[string]string
}

func parseCallerID(s string) CallerID {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			return CallerID{Name: strings.Trim(strings.TrimSpace(s[:i]), `"`), Number: s[i+1 : i+j]}
		}
	}
	if reDigits.MatchString(strings.TrimPrefix(s, "+")) {
		return CallerID{Number: s}
	}
	return CallerID{Name: s}
}

func splitArgs(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s *Sim) originate(r originateReq) (*channel, *ariError) {
	if len(r.channelID) > 150 || len(r.otherID) > 150 {
		return nil, errf(400, "Uniqueid length exceeds maximum of %d", 150)
	}
	if r.endpoint == "" {
		return nil, errf(400, "Endpoint must be specified")
	}
	tech, resource, _ := strings.Cut(r.endpoint, "/")
	if tech == "" || resource == "" {
		return nil, errf(400, "Invalid endpoint specified")
	}
	if r.app == "" && r.extension == "" {
		return nil, errf(400, "Application or extension must be specified")
	}
	for _, id := range []string{r.channelID, r.otherID} {
		if id != "" && s.channels[id] != nil {
			return nil, errf(409, "Channel with given unique ID already exists")
		}
	}
	d := &dialState{app: r.app, appArgs: splitArgs(r.appArgs), context: r.context, exten: r.extension, priority: r.priority, dialstr: resource}
	if d.context == "" {
		d.context = "default"
	}
	var ch *channel
	switch strings.ToLower(tech) {
	case "pjsip":
		b, ok := s.endpoints[resource]
		if !ok || b.Mode == NotFound {
			// ast_request fails for an unknown endpoint; ast_dial_prerun
			// fails and ARI answers with its out-of-memory body.
			return nil, errAllocFailed
		}
		d.behaviour = b
		ch = s.newChannel(kindPJSIP, s.channelName("PJSIP/"+resource), r.channelID)
	case "local":
		dest := resource
		if i := strings.Index(dest, "/"); i >= 0 { // Local/x@ctx/n options
			dest = dest[:i]
		}
		exten, context, _ := strings.Cut(dest, "@")
		if context == "" {
			context = "default"
		}
		base := s.channelName("Local/" + exten + "@" + context)
		ch = s.newChannel(kindLocal1, base+";1", r.channelID)
		two := s.newChannel(kindLocal2, base+";2", r.otherID)
		ch.peer, two.peer = two, ch
		two.dp = DialplanCEP{Context: context, Exten: exten, Priority: 1}
		s.setChanState(two, "Ring") // created ringing: no ChannelStateChange to Ring
		ch.dp = DialplanCEP{Context: context, Exten: exten, Priority: 1}
	default:
		return nil, errAllocFailed
	}
	ch.dial = d
	// ast_dial marks the channel it dials (seen in the REST answer).
	ch.dp.AppName, ch.dp.AppData = "AppDial2", "(Outgoing Line)"
	if r.callerID != "" {
		cid := parseCallerID(r.callerID)
		ch.caller, ch.connected = cid, cid
	}
	for k, v := range r.variables {
		ch.vars[k] = v
	}
	if r.app != "" {
		s.subscribe(ch.subs, r.app)
		if ch.peer != nil {
			s.subscribe(ch.peer.subs, r.app)
		}
	}
	timeout := time.Duration(r.timeout) * time.Second
	switch {
	case r.timeout == -1:
		timeout = 0
	case r.timeout <= 0:
		timeout = 30 * time.Second
	}
	// The dial runs asynchronously, after the REST answer.
	ch.addTimer(s.after(0, func() { s.startDial(ch, timeout) }))
	return ch, nil
}

func (s *Sim) startDial(ch *channel, timeout time.Duration) {
	if ch.gone {
		return
	}
	d := ch.dial
	if two := ch.peer; ch.kind == kindLocal1 && !dialplanExists(two.dp.Context, two.dp.Exten) {
		// local_call fails ("No such extension/context") before any Dial
		// event: ;2 then ;1 are destroyed with cause 0 and no hangup
		// request (Asterisk 22.10.1).
		two.peer = nil
		s.hangup(two, causeUnknown, hangupReq{})
		s.hangup(ch, causeUnknown, hangupReq{})
		return
	}
	s.emitChannel(ch, dialEvent("", ch))
	if timeout > 0 {
		d.timeout = s.after(timeout, func() {
			if ch.gone || d.answered {
				return
			}
			s.hangup(ch, causeNoAnswer, hangupReq{})
		})
	}
	switch ch.kind {
	case kindPJSIP:
		b := d.behaviour
		ch.farEnd = farEnd{echo: b.Echo}
		if b.ToneHz > 0 {
			ch.farEnd.tone = newToneGen(fmt.Sprint(b.ToneHz))
		}
		s.mediaAdd(ch)
		switch b.Mode {
		case Answer:
			if b.AnswerAfter <= 0 {
				s.remoteAnswered(ch)
				return
			}
			s.remoteRinging(ch)
			ch.addTimer(s.after(b.AnswerAfter, func() { s.remoteAnswered(ch) }))
		case NoAnswer:
			s.remoteRinging(ch)
		case Busy:
			s.remoteFailed(ch, causeBusy)
		case Unavailable:
			s.remoteFailed(ch, causeNoRoute)
		}
	case kindLocal1:
		two := ch.peer
		two.caller = ch.connected
		s.runDialplan(two, two.dp.Context, two.dp.Exten, 1)
	}
}

// --- listing ----------------------------------------------------------------

func (s *Sim) channelSnapshots() []Channel {
	out := []Channel{}
	for _, ch := range s.sortedChannels() {
		out = append(out, ch.snapshot())
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func atoiDefault(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
