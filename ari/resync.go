package ari

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// varCall is the channel variable on a citizen's channel that holds its
// queue state: "q=<queue>&j=<joined, unix ms>&p=<priority>&s=<flow step>"
// (s is absent when the call was put in the queue by a transfer), and
// "&c=<channel id>" while the agent consults someone for an attended
// transfer: the consultation's leg, which a restarted omstil hangs up.
const varCall = "OMSTIL_CALL"

// bridgeNamePrefix starts the name of every bridge omstil creates; the
// rest is "call=…&agent=…&queue=…&since=<unix ms>".
const bridgeNamePrefix = "omstil:"

type callVar struct {
	Queue    queue.QueueID
	Joined   time.Time
	Priority int
	Step     callflow.StepID     // the flow's queue step ("" when not from the flow)
	Consult  ariclient.ChannelID // the consultation's leg while the agent consults
}

func encodeCallVar(v callVar) string {
	q := url.Values{}
	q.Set("q", string(v.Queue))
	q.Set("j", strconv.FormatInt(v.Joined.UnixMilli(), 10))
	q.Set("p", strconv.Itoa(v.Priority))
	if v.Step != "" {
		q.Set("s", string(v.Step))
	}
	if v.Consult != "" {
		q.Set("c", string(v.Consult))
	}
	return q.Encode()
}

func decodeCallVar(s string) (callVar, bool) {
	q, err := url.ParseQuery(s)
	if err != nil || q.Get("q") == "" {
		return callVar{}, false
	}
	ms, err := strconv.ParseInt(q.Get("j"), 10, 64)
	if err != nil {
		return callVar{}, false
	}
	p, _ := strconv.Atoi(q.Get("p"))
	return callVar{Queue: queue.QueueID(q.Get("q")), Joined: time.UnixMilli(ms), Priority: p, Step: callflow.StepID(q.Get("s")),
		Consult: ariclient.ChannelID(q.Get("c"))}, true
}

type bridgeName struct {
	Call  queue.CallID
	Agent queue.AgentID
	Queue queue.QueueID
	Since time.Time
}

func encodeBridgeName(b bridgeName) string {
	q := url.Values{}
	q.Set("call", string(b.Call))
	q.Set("agent", string(b.Agent))
	q.Set("queue", string(b.Queue))
	q.Set("since", strconv.FormatInt(b.Since.UnixMilli(), 10))
	return bridgeNamePrefix + q.Encode()
}

func decodeBridgeName(s string) (bridgeName, bool) {
	rest, ok := strings.CutPrefix(s, bridgeNamePrefix)
	if !ok {
		return bridgeName{}, false
	}
	q, err := url.ParseQuery(rest)
	if err != nil || q.Get("call") == "" {
		return bridgeName{}, false
	}
	ms, _ := strconv.ParseInt(q.Get("since"), 10, 64)
	return bridgeName{Call: queue.CallID(q.Get("call")), Agent: queue.AgentID(q.Get("agent")),
		Queue: queue.QueueID(q.Get("queue")), Since: time.UnixMilli(ms)}, true
}

// asteriskState is what Asterisk holds, read on (re)connect.
type asteriskState struct {
	ok       bool
	channels []ariclient.Channel
	bridges  []ariclient.Bridge
	vars     map[ariclient.ChannelID]string // OMSTIL_CALL of citizens omstil did not know
	stored   storedState                    // the stores, on the first connection only
	// restarted: Asterisk started anew since the last connection (its
	// startup_time moved), so the calls it no longer has were lost with
	// the restart, not hung up by the citizens.
	restarted bool
}

// fetchState lists channels and bridges and reads OMSTIL_CALL of the
// citizens the loop does not know yet. It runs on the event goroutine,
// before the new connection's events are handed to the loop.
func (a *Adapter) fetchState(ctx context.Context) asteriskState {
	st := asteriskState{vars: map[ariclient.ChannelID]string{}}
	chans, err := a.cli.ListChannels(ctx)
	if err != nil {
		a.log.Warn("ari: resync: list channels failed", "err", err)
		return st
	}
	bridges, err := a.cli.ListBridges(ctx)
	if err != nil {
		a.log.Warn("ari: resync: list bridges failed", "err", err)
		return st
	}
	st.ok, st.channels, st.bridges = true, chans, bridges
	st.restarted = a.asteriskRestarted(ctx)
	st.stored = a.readStores(ctx)
	known := map[ariclient.ChannelID]bool{}
	if err := a.do(ctx, func() {
		for id := range a.byChan {
			known[id] = true
		}
	}); err != nil {
		return st
	}
	var ask []ariclient.ChannelID
	for _, ch := range chans {
		app, args, ok := ch.Dialplan.StasisApp()
		if !ok || app != a.app || known[ch.ID] || len(args) == 0 || isLegArg(args[0]) {
			continue
		}
		if v, ok := ch.ChannelVars[varCall]; ok {
			// ari.conf "channelvars = OMSTIL_CALL": the list carries it.
			if v != "" {
				st.vars[ch.ID] = v
			}
			continue
		}
		ask = append(ask, ch.ID)
	}
	for id, v := range a.readCallVars(ctx, ask) {
		st.vars[id] = v
	}
	return st
}

// asteriskRestarted reports whether Asterisk's startup_time differs from
// the one seen at the previous connection. A failed read says no: the
// calls missing then count as hung up, as before.
func (a *Adapter) asteriskRestarted(ctx context.Context) bool {
	info, err := a.cli.Info(ctx)
	if err != nil || info.Status == nil {
		a.log.Warn("ari: resync: reading Asterisk's startup time failed", "err", err)
		return false
	}
	prev := a.startup
	a.startup = info.Status.StartupTime.Time
	restarted := !prev.IsZero() && !prev.Equal(a.startup)
	if restarted {
		a.log.Warn("ari: Asterisk restarted while omstil was disconnected; the calls it no longer has are counted as lost by the system")
	}
	return restarted
}

// getVarParallel bounds the GetVar requests of a resync in flight at once.
// Asterisk serves each on the channel's own Stasis thread (20 ms to over a
// second on a busy machine), so one after the other would take minutes
// with many callers, while too many at once only queue up in Asterisk.
const getVarParallel = 8

// readCallVars reads OMSTIL_CALL of the channels one by one through
// GetVar, getVarParallel at a time: the fallback for an Asterisk whose
// ari.conf does not list the variable in "channelvars". Channels without
// it (unset, gone, or a failed read) are left out.
func (a *Adapter) readCallVars(ctx context.Context, ids []ariclient.ChannelID) map[ariclient.ChannelID]string {
	out := make(map[ariclient.ChannelID]string, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, getVarParallel)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := a.cli.GetVar(ctx, id, varCall)
			if err != nil || v == "" {
				return
			}
			mu.Lock()
			out[id] = v
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// localTwo ends the id of a Local leg's ;2 half (the half running the
// dialplan), after the id of its ;1 half.
const localTwo = ";2"

// localHalf reports whether id is the ;2 half of a Local leg and returns
// the id of its ;1 half.
func localHalf(id ariclient.ChannelID) (ariclient.ChannelID, bool) {
	base, ok := strings.CutSuffix(string(id), localTwo)
	return ariclient.ChannelID(base), ok && base != ""
}

func isLegArg(s string) bool {
	switch s {
	case argAgent, argCallback, argXfer, argMedia, argConsult:
		return true
	}
	return false
}

// resync adopts what Asterisk holds and forgets what ended while omstil
// was not listening. The phases run in this order (a resyncer method
// each); the REST calls they hand out keep that order.
func (a *Adapter) resync(st asteriskState) {
	if !st.ok {
		return
	}
	r := newResyncer(a, st)
	r.resubscribe()
	r.forgetEnded()
	r.legsCatchUp()
	// Agents as they were (ready ones paused until every call is back),
	// then callback requests whose callers were released before the
	// restart.
	agents := a.loginAgents(st.stored.agents)
	r.restored = a.restoreCallbacks(st.stored.callbacks)
	r.adoptConversations()
	r.sortChannels()
	r.adoptWaiting()
	a.readyAgents(agents)
	if len(r.waiting) > 0 || len(r.fresh) > 0 {
		a.log.Info("ari: resync adopted calls", "waiting", len(r.waiting), "restarted", len(r.fresh))
	}
}

// resyncer is one resync run: what Asterisk reported after a (re)connect
// and what the phases learn from it on the way. It is owned by the loop
// goroutine, like all of the Adapter's call state, and lives for one call
// of Adapter.resync.
type resyncer struct {
	a        *Adapter
	st       asteriskState
	present  map[ariclient.ChannelID]ariclient.Channel // Asterisk's channels
	inBridge map[ariclient.ChannelID]bool              // channels in any bridge
	restored map[queue.CallID]*call                    // callback requests restored from the store
	waiting  []*call                                   // adopted waiting callers
	fresh    []ariclient.Channel                       // calls whose flow starts again
}

func newResyncer(a *Adapter, st asteriskState) *resyncer {
	r := &resyncer{a: a, st: st, present: map[ariclient.ChannelID]ariclient.Channel{}, inBridge: map[ariclient.ChannelID]bool{}}
	for _, ch := range st.channels {
		r.present[ch.ID] = ch
	}
	for _, b := range st.bridges {
		for _, id := range b.Channels {
			r.inBridge[id] = true
		}
	}
	return r
}

// resubscribe: subscriptions may not survive the app's socket: subscribe
// again.
func (r *resyncer) resubscribe() {
	a := r.a
	for name := range a.devState {
		a.subbed[name] = true
		a.subscribeDevice(name)
	}
}

// forgetEnded is phase 1: what ended while disconnected.
func (r *resyncer) forgetEnded() {
	a := r.a
	for id, l := range a.legs {
		if l.web && !l.up {
			// a browser colleague rung for a consultation: it has no
			// channel until its externalMedia channel enters the app.
			continue
		}
		if _, ok := r.present[id]; !ok {
			a.legGone(l, 0)
		}
	}
	for id, c := range a.byChan {
		if _, ok := r.present[id]; !ok {
			c.lost = c.lost || r.st.restarted
			a.citizenGone(c)
		}
	}
}

// legsCatchUp is phase 1b, for the legs omstil dialled that are still
// there. A leg omstil hung up (done) whose hang-up was lost with the
// connection is hung up again: the agent's phone would stay off the hook
// and the agent busy for good (issue 14, socket cuts). A leg that answered
// while the socket was down is taken as answered: its StasisStart went to
// no one, so the agent would ring on in omstil's view until the ring
// timeout while the phone is already off the hook.
func (r *resyncer) legsCatchUp() {
	a := r.a
	for id, l := range a.legs {
		ch, ok := r.present[id]
		if !ok || l.web {
			continue
		}
		if l.done {
			a.hangupChannel(string(id), id, ariclient.ReasonNormal)
			continue
		}
		if l.up {
			continue
		}
		if app, _, inApp := ch.Dialplan.StasisApp(); inApp && app == a.app {
			a.legUp(l)
		}
	}
}

// adoptConversations is phase 2: conversations in omstil's bridges.
func (r *resyncer) adoptConversations() {
	for _, b := range r.st.bridges {
		r.adoptConversation(b)
	}
}

// adoptConversation adopts the conversation in bridge b, or removes the
// bridge when it is broken. Bridges that are not omstil's, that it knows,
// or that are transfer bridges are left alone.
func (r *resyncer) adoptConversation(b ariclient.Bridge) {
	a := r.a
	bn, ok := decodeBridgeName(b.Name)
	if !ok {
		return
	}
	if _, known := a.calls[bn.Call]; known || bn.Agent == "" {
		return // known, or a transfer bridge: Asterisk ends it by itself
	}
	citizen, ok := r.present[ariclient.ChannelID(bn.Call)]
	// a consultation going on when omstil stopped: its leg (in the
	// bridge once the target answered) is not the agent's.
	cv, hasVar := decodeCallVar(r.st.vars[citizen.ID])
	var other ariclient.ChannelID
	for _, id := range b.Channels {
		if id != citizen.ID && (cv.Consult == "" || id != cv.Consult) {
			other = id
		}
	}
	if !ok || other == "" {
		r.removeBrokenBridge(b)
		return
	}
	c := a.adoptChannel(citizen)
	c.state, c.q, c.agent, c.bridge, c.joined = stConnected, bn.Queue, bn.Agent, b.ID, bn.Since
	if hasVar {
		c.prio, c.varStep = cv.Priority, cv.Step
	}
	inConv := slices.Contains(b.Channels, citizen.ID)
	if !inConv && cv.Consult == "" {
		// on hold when omstil stopped: it hears music outside the
		// bridge until the agent takes it back.
		c.onHold, c.held = true, true
	}
	r.adoptAgentLeg(c, bn.Agent, other)
	a.handle(queue.AdoptConnected{Call: c.id, Queue: bn.Queue, Agent: bn.Agent, Since: bn.Since})
	a.callEvent(c, CallAdopted, "connected")
	if cv.Consult != "" {
		a.endConsultAfterRestart(c, cv.Consult, r.present, inConv)
	}
}

// adoptAgentLeg makes channel other the agent's side of the adopted
// conversation c; a browser agent's audio is reattached.
func (r *resyncer) adoptAgentLeg(c *call, agent queue.AgentID, other ariclient.ChannelID) {
	a := r.a
	kind := legAgent
	if d := a.cfg.devices[agent]; d.Kind == DeviceWebRTC {
		kind = legMedia
	}
	l := &leg{id: other, kind: kind, call: c.id, agent: agent, up: true}
	a.legs[other] = l
	c.leg = l
	if kind == legMedia {
		a.reattachMedia(c, l, r.present[other].Name)
	}
}

// removeBrokenBridge hangs up what is in a conversation bridge without its
// citizen or its other side, and destroys the bridge.
func (r *resyncer) removeBrokenBridge(b ariclient.Bridge) {
	a := r.a
	a.log.Info("ari: resync: removing a broken conversation bridge", "bridge", b.ID)
	for _, id := range b.Channels {
		a.hangupChannel(string(id), id, ariclient.ReasonNormal)
	}
	bid := b.ID
	a.job(string(bid), func(ctx context.Context) { _ = a.cli.DestroyBridge(ctx, bid) })
}

// sortChannels is phase 3: waiting callers and calls in their flow; stale
// legs. Each channel omstil does not know yet is adopted as a waiting
// caller, kept for its flow to start again, or hung up as stale.
func (r *resyncer) sortChannels() {
	a := r.a
	for _, ch := range r.st.channels {
		if a.byChan[ch.ID] != nil || a.legs[ch.ID] != nil || r.inBridge[ch.ID] {
			continue
		}
		app, args, ok := ch.Dialplan.StasisApp()
		if ok && app == a.app && len(args) > 0 && !isLegArg(args[0]) {
			r.sortCaller(ch)
			continue
		}
		r.sortOther(ch)
	}
}

// sortCaller handles a citizen's channel in omstil's app that omstil does
// not know.
func (r *resyncer) sortCaller(ch ariclient.Channel) {
	a := r.a
	if r.restored[queue.CallID(ch.ID)] != nil {
		// the caller was hearing the callback confirmation: the
		// request is restored, release the caller.
		a.hangupChannel(string(ch.ID), ch.ID, ariclient.ReasonNormal)
		return
	}
	if v, ok := decodeCallVar(r.st.vars[ch.ID]); ok {
		c := a.adoptChannel(ch)
		c.state, c.q, c.joined, c.prio = stQueued, v.Queue, v.Joined, v.Priority
		a.resumeFlow(c, v.Step)
		r.waiting = append(r.waiting, c)
		return
	}
	if !a.draining {
		r.fresh = append(r.fresh, ch)
	}
}

// sortOther handles a channel that is not a citizen's in omstil's app.
func (r *resyncer) sortOther(ch ariclient.Channel) {
	a := r.a
	if base, ok := localHalf(ch.ID); ok && r.present[base].ID != "" {
		// the dialplan half of a Local leg whose ;1 half is still
		// there: it goes with its ;1 half (adopted above, or hung up
		// here as stale, which takes it along). Hanging it up would
		// end an adopted conversation's agent side.
		return
	}
	if strings.HasPrefix(string(ch.ID), "omstil-") {
		// a leg of an earlier omstil (an offer ringing, a callback
		// dialling): nobody waits for it any more.
		a.log.Info("ari: resync: hanging up a stale leg", "channel", ch.ID)
		a.hangupChannel(string(ch.ID), ch.ID, ariclient.ReasonNormal)
	}
}

// adoptWaiting puts the waiting callers sorted out in phase 3 back in
// their queues, oldest first, and starts the flows of the fresh calls
// again.
func (r *resyncer) adoptWaiting() {
	a := r.a
	// by the time they joined (OMSTIL_CALL holds milliseconds), and
	// callers who joined in the same millisecond in the order Asterisk
	// made their channels: without it 1,000 adopted callers came back in
	// another order now and then (issue 14, the kill -9 fault test).
	slices.SortStableFunc(r.waiting, func(x, y *call) int {
		return cmp.Or(x.joined.Compare(y.joined), compareChannelIDs(x.ch, y.ch))
	})
	for _, c := range r.waiting {
		a.startWaitAudio(c)
		a.callEvent(c, CallAdopted, "waiting")
		a.handle(queue.CallArrived{Call: c.id, Queue: c.q, Priority: c.prio, Caller: c.caller, JoinedAt: c.joined})
	}
	for _, ch := range r.fresh {
		_, args, _ := ch.Dialplan.StasisApp()
		c := a.startCall(ch, args[0])
		a.callEvent(c, CallAdopted, "flow restarted")
	}
}

// compareChannelIDs orders channel ids as Asterisk made them: its
// unique ids "<seconds>.<sequence>" by their numbers, other ids (set by
// an originate) as text.
func compareChannelIDs(x, y ariclient.ChannelID) int {
	xs, xq, okx := strings.Cut(string(x), ".")
	ys, yq, oky := strings.Cut(string(y), ".")
	if okx && oky {
		a1, e1 := strconv.ParseInt(xs, 10, 64)
		a2, e2 := strconv.ParseInt(xq, 10, 64)
		b1, e3 := strconv.ParseInt(ys, 10, 64)
		b2, e4 := strconv.ParseInt(yq, 10, 64)
		if e1 == nil && e2 == nil && e3 == nil && e4 == nil {
			return cmp.Or(cmp.Compare(a1, b1), cmp.Compare(a2, b2))
		}
	}
	return strings.Compare(string(x), string(y))
}

// endConsultAfterRestart ends a consultation that was going on when
// omstil stopped: what it knew of it (the target's ring time, the
// colleague's page) is gone, so the consultation's leg is hung up and the
// citizen goes back into the conversation with the agent, without the
// music; OMSTIL_CALL forgets the leg. The agent starts a new consultation
// if it still wants to transfer.
func (a *Adapter) endConsultAfterRestart(c *call, leg ariclient.ChannelID, present map[ariclient.ChannelID]ariclient.Channel, inConv bool) {
	if _, ok := present[leg]; ok {
		a.log.Info("ari: resync: ending a consultation interrupted by the restart", "call", c.id, "leg", leg)
		a.hangupChannel(string(leg), leg, ariclient.ReasonNormal)
	}
	a.callEvent(c, CallConsultEnded, ConsultRestart)
	a.writeCallVar(c)
	if inConv {
		return
	}
	a.citizenBackInBridge(c, "resync")
}

func (a *Adapter) adoptChannel(ch ariclient.Channel) *call {
	_, args, _ := ch.Dialplan.StasisApp()
	c := &call{id: queue.CallID(ch.ID), ch: ch.ID, caller: ch.Caller.Number, since: a.now()}
	if len(args) > 0 {
		c.number = dialledNumber(args[0])
	}
	if nc, ok := a.cfg.numbers[c.number]; ok {
		c.org = nc.Org
	}
	a.calls[c.id] = c
	a.byChan[c.ch] = c
	return c
}

// resumeFlow gives an adopted waiting caller its flow run back, positioned
// at the queue step it waits in, so that an overflow takes the flow's
// branch. Without a step (a transferred call) or when the flow changed so
// that the step is gone, the call has no run: an overflow hangs it up.
func (a *Adapter) resumeFlow(c *call, step callflow.StepID) {
	nc, ok := a.cfg.numbers[c.number]
	if step == "" || !ok || nc.Flow == nil {
		return
	}
	run, err := callflow.Resume(nc.Flow, callflow.CallInfo{Number: c.number, Caller: c.caller, Now: c.joined}, step, a.flowOptions(c, nc))
	if err != nil {
		a.log.Warn("ari: resync: the waiting caller's flow step is gone; an overflow will hang up", "call", c.id, "err", err)
		return
	}
	c.run, c.step = run, step
}

// reattachMedia gives a browser agent's adopted conversation its audio
// back: the externalMedia channel the previous process made still sends to
// that process's relay address (Asterisk names the channel
// "UnicastRTP/<destination>-<instance>"), so the relay is opened again on
// exactly that address and told Asterisk's side, from the channel's
// UNICASTRTP_LOCAL_* variables. The agent's page gets the call when it
// reconnects.
func (a *Adapter) reattachMedia(c *call, l *leg, name string) {
	relay, ok := unicastDestination(name)
	if a.opt.WebRTC == nil || !ok {
		a.log.Warn("ari: resync: a browser agent's conversation has no relay address; the agent will not hear the caller", "call", c.id, "agent", l.agent, "channel", name)
		return
	}
	agent, call, ch := l.agent, c.id, l.id
	a.job(string(ch), func(ctx context.Context) {
		if err := a.opt.WebRTC.Reattach(agent, call, relay); err != nil {
			a.log.Warn("ari: resync: reopening a browser agent's relay failed; the agent will not hear the caller", "call", call, "agent", agent, "relay", relay, "err", err)
			return
		}
		host, err1 := a.cli.GetVar(ctx, ch, "UNICASTRTP_LOCAL_ADDRESS")
		port, err2 := a.cli.GetVar(ctx, ch, "UNICASTRTP_LOCAL_PORT")
		remote := ariclient.UnicastRTPAddr(host, port)
		if err1 != nil || err2 != nil || remote == "" {
			// Without it the relay latches on Asterisk's first packet.
			a.log.Info("ari: resync: Asterisk's RTP address of an adopted browser conversation is unknown", "call", call, "err", errors.Join(err1, err2))
		}
		if err := a.opt.WebRTC.Connected(agent, call, remote); err != nil {
			a.log.Debug("ari: resync: telling the browser agent", "call", call, "agent", agent, "err", err)
		}
	})
}

// unicastDestination is the destination host:port in an externalMedia
// channel's name, "UnicastRTP/127.0.0.1:40000-0x7f…" (chan_rtp).
func unicastDestination(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "UnicastRTP/")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", false
	}
	if _, err := netip.ParseAddrPort(rest[:i]); err != nil {
		return "", false
	}
	return rest[:i], true
}
