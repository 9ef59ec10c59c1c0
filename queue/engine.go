package queue

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Options configure an Engine.
type Options struct {
	// PauseReasons is the list of reasons an agent may give for a pause.
	// Empty: any reason. AutoPauseReason and UnreachableReason are always
	// allowed.
	PauseReasons []string
	// AutoPauseReason is given to agents paused by AutoPauseAfter (default
	// "autopause").
	AutoPauseReason string
	// Location decides when "today" ends for the day statistics (default
	// time.Local; omstil runs with Europe/Copenhagen).
	Location *time.Location
	// Seed of the random source used by the random strategies.
	Seed uint64
}

// Engine is the queue engine. It is NOT safe for concurrent use: one
// goroutine owns it (see Runner). It never blocks, sleeps, logs or starts
// goroutines; time comes only from the now passed to Handle and Advance.
type Engine struct {
	opt     Options
	loc     *time.Location
	rng     *rand.Rand
	pauseOK map[string]bool

	queues map[QueueID]*queue
	agents map[AgentID]*agent
	calls  map[CallID]*call
	seq    uint64

	started bool
	now     time.Time
	nowN    int64
	out     []Output

	timers    timerHeap
	compactAt int
	midnightN int64

	dirty        []*queue // queues that may have a call to offer
	settle       bool     // configuration changed since the last step
	dying        []*queue
	touched      []*agent
	joinAnnounce []*call // calls whose join announcement waits for dispatch
	expired      []*call // calls past max wait whose last offer ended
	cands        []Candidate
	needs        []SkillReq // scratch: a call's skills for Candidate.Needs
	gen          uint64     // moves on every step and agent state change
}

type callState uint8

const (
	callWaiting   callState = iota // caller on the line, in the waiting list (maybe ringing agents)
	callCallback                   // callback request, in the waiting list
	callDialing                    // callback: agent answered, citizen being dialled
	callConnected                  // conversation with c.agent
)

type call struct {
	id       CallID
	q        *queue
	priority int
	joinedAt time.Time
	joinN    int64
	seq      uint64
	caller   string
	skills   []SkillReq
	state    callState
	gone     bool

	offers     []*agent // agents ringing for this call
	agent      *agent   // connected or dialling agent
	answeredAt time.Time

	maxTier int // highest tier that may take the call now
	relax   int // skill levels relaxed by escalation
	escIdx  int // next escalation step
	escAt   int64

	maxWaitAt int64
	expired   bool // max wait reached during an offer: overflow when it ends

	annAt    int64
	lastPos  int
	lastWait time.Duration
	customAt []int64

	cb *callbackReq
}

func (c *call) inList() bool { return c.state == callWaiting || c.state == callCallback }

type callbackReq struct {
	number    string
	attempts  int
	notBefore int64
}

type offer struct {
	call     *call
	agent    *agent
	tier     int
	deadline int64
}

type agent struct {
	id    AgentID
	cfg   AgentConfig
	state State
	// reason is the pause reason (Paused only).
	reason string
	since  time.Time

	loginAll bool
	loginSet map[QueueID]bool
	members  map[QueueID]*member // memberships of configured queues
	mlist    []*member           // the same, as a slice for fast iteration

	offer *offer // set exactly when Ringing
	call  *call  // set when OnCall

	wrapUntil     int64
	cooldownUntil int64
	deviceBusy    bool
	idleSince     time.Time
	callsToday    int
	missed        int // unanswered offers in a row
	unreach       int // offers in a row that could not reach the device

	pauseAfter  bool // pause when the current call is over
	pauseReason string
	logoutAfter bool // log out when the current call is over
	removed     bool
}

type member struct {
	agent    *agent
	q        *queue
	tier     int
	order    int
	weight   int
	active   bool // agent logged in to this queue
	readyIdx int  // index in q.ready, -1 when not there
}

type queue struct {
	id       QueueID
	cfg      QueueConfig
	strat    Strategy
	ringAll  bool
	waiting  waitList
	members  map[AgentID]*member
	mlist    []*member // the same, as a slice for fast iteration
	ready    []*member // active members whose agent is Ready
	activeN  int       // active members
	dirty    bool
	removed  bool
	aht      float64 // measured handle time (talk + wrap-up), seconds
	abWait   float64 // decayed seconds waited by callers who left the line
	abN      float64 // decayed abandons among them
	capGen   uint64  // e.gen when capUnits was computed
	capUnits int64   // cached capacity, see estimate
	st       dayStats
}

type dayStats struct {
	answered, withinSL, abandoned, overflowed, callbacks, lost int
}

// New returns an empty engine.
func New(opt Options) *Engine {
	e := &Engine{
		opt:       opt,
		loc:       opt.Location,
		rng:       rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		queues:    map[QueueID]*queue{},
		agents:    map[AgentID]*agent{},
		calls:     map[CallID]*call{},
		compactAt: 1024,
	}
	if e.loc == nil {
		e.loc = time.Local
	}
	if e.opt.AutoPauseReason == "" {
		e.opt.AutoPauseReason = defaultAutoPause
	}
	if len(opt.PauseReasons) > 0 {
		e.pauseOK = map[string]bool{e.opt.AutoPauseReason: true, UnreachableReason: true}
		for _, r := range opt.PauseReasons {
			e.pauseOK[r] = true
		}
	}
	return e
}

// --- configuration ---

// SetQueue adds or replaces a queue. Changes to strategy, weight, parallel
// offers, skills, escalation and policies apply at once, also to calls
// already waiting; their max wait and announcement timers keep the plan
// they joined with.
// Effects that need output (offers to newly eligible agents) come with the
// next Handle or Advance; NextDeadline reports that one is due.
func (e *Engine) SetQueue(cfg QueueConfig) error {
	cfg, err := cfg.normalize()
	if err != nil {
		return err
	}
	q := e.queues[cfg.ID]
	if q == nil {
		q = &queue{id: cfg.ID, members: map[AgentID]*member{}, aht: cfg.HandleTime.Seconds()}
		e.queues[cfg.ID] = q
		q.cfg = cfg
		for _, a := range e.agents {
			for _, ms := range a.cfg.Queues {
				if ms.Queue == q.id {
					e.link(a, q, ms)
				}
			}
			e.refresh(a)
		}
	}
	if q.strat == nil || q.cfg.Strategy != cfg.Strategy {
		q.strat = registry[cfg.Strategy].New(e.rng)
		ra, ok := q.strat.(ringAller)
		q.ringAll = ok && ra.ringAll()
	}
	if q.cfg.HandleTime != cfg.HandleTime {
		q.aht = cfg.HandleTime.Seconds()
	}
	replan := !slices.Equal(q.cfg.Escalation, cfg.Escalation)
	q.cfg = cfg
	if replan {
		// every call of a queue follows the same escalation plan (dispatch
		// relies on it): replay the new plan from each call's join.
		for _, c := range q.waiting.all() {
			c.escIdx, c.relax, c.maxTier, c.escAt = 0, 0, 0, 0
			if len(cfg.Escalation) == 0 {
				c.maxTier = noTierLimit
			} else {
				e.escalate(c)
			}
		}
	}
	e.markDirty(q)
	return nil
}

// RemoveQueue removes a queue. Its waiting callers overflow
// (OverflowRemoved) and its callback requests fail, with the next step.
// Conversations in progress continue.
func (e *Engine) RemoveQueue(id QueueID) {
	q := e.queues[id]
	if q == nil {
		return
	}
	delete(e.queues, id)
	q.removed = true
	for _, m := range q.members {
		e.unlink(m)
	}
	e.dying = append(e.dying, q)
	e.settle = true
}

// SetAgent adds or replaces an agent's configuration. A new agent is logged
// out. Offers that are no longer allowed are withdrawn with the next step.
func (e *Engine) SetAgent(cfg AgentConfig) error {
	cfg, err := cfg.normalize()
	if err != nil {
		return err
	}
	a := e.agents[cfg.ID]
	if a == nil {
		a = &agent{id: cfg.ID, members: map[QueueID]*member{}}
		e.agents[cfg.ID] = a
	}
	a.cfg = cfg
	want := make(map[QueueID]Membership, len(cfg.Queues))
	for _, ms := range cfg.Queues {
		want[ms.Queue] = ms
	}
	for qid, m := range a.members {
		if _, ok := want[qid]; !ok {
			e.unlink(m)
		}
	}
	for _, ms := range cfg.Queues {
		if q := e.queues[ms.Queue]; q != nil {
			e.link(a, q, ms)
		}
	}
	e.refresh(a)
	for _, m := range a.members {
		e.markDirty(m.q)
	}
	e.touched = append(e.touched, a)
	e.settle = true
	return nil
}

// RemoveAgent removes an agent: a ringing offer is withdrawn with the next
// step; a conversation in progress continues to its end.
func (e *Engine) RemoveAgent(id AgentID) {
	a := e.agents[id]
	if a == nil {
		return
	}
	delete(e.agents, id)
	a.removed = true
	for _, m := range a.members {
		e.unlink(m)
	}
	e.touched = append(e.touched, a)
	e.settle = true
}

func (e *Engine) link(a *agent, q *queue, ms Membership) {
	m := a.members[q.id]
	if m == nil {
		m = &member{agent: a, q: q, readyIdx: -1}
		a.members[q.id] = m
		q.members[a.id] = m
		a.mlist = append(a.mlist, m)
		q.mlist = append(q.mlist, m)
	}
	m.tier, m.order, m.weight = ms.Tier, ms.Order, ms.Weight
}

func (e *Engine) unlink(m *member) {
	q, a := m.q, m.agent
	e.setReady(m, false)
	if m.active {
		m.active = false
		q.activeN--
	}
	if q.members[a.id] == m {
		delete(q.members, a.id)
	}
	if a.members[q.id] == m {
		delete(a.members, q.id)
	}
	q.mlist = dropMember(q.mlist, m)
	a.mlist = dropMember(a.mlist, m)
}

func dropMember(l []*member, m *member) []*member {
	for i, x := range l {
		if x == m {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			return l[:len(l)-1]
		}
	}
	return l
}

// settleConfig carries out the effects of configuration changes.
func (e *Engine) settleConfig() {
	if !e.settle {
		return
	}
	e.settle = false
	dying := e.dying
	e.dying = nil
	for _, q := range dying {
		for q.waiting.len() > 0 {
			c := q.waiting.all()[0]
			if c.state == callCallback {
				e.withdrawAll(c, EndReconfigured)
				q.waiting.remove(c)
				e.emit(CallbackFailed{At: e.now, Call: c.id, Queue: q.id, Attempt: c.cb.attempts, Final: true, Reason: "queue removed"})
				e.forget(c)
				continue
			}
			e.overflow(c, OverflowRemoved)
		}
	}
	touched := e.touched
	e.touched = nil
	for _, a := range touched {
		if a.offer != nil {
			if m := a.members[a.offer.call.q.id]; a.removed || m == nil || !m.active {
				e.withdraw(a, EndReconfigured, true)
				e.release(a)
			}
		}
		if a.removed && a.state != OnCall && a.state != LoggedOut {
			e.setState(a, LoggedOut, "removed", nil)
		}
	}
}

// --- stepping ---

// Handle applies one input at now and returns what follows from it: first
// the effects of every deadline up to now (as Advance), then the input's.
// The returned slice is the caller's.
func (e *Engine) Handle(now time.Time, in Input) []Output {
	e.begin(now)
	e.apply(in)
	return e.finish()
}

// Advance moves time to now and returns the effects of the deadlines that
// passed and of configuration changes since the last step.
func (e *Engine) Advance(now time.Time) []Output {
	e.begin(now)
	return e.finish()
}

// NextDeadline is when Advance must next be called (ok false: nothing
// pending). It is e's current time when configuration changes wait to be
// applied.
func (e *Engine) NextDeadline() (time.Time, bool) {
	if e.settle || len(e.dirty) > 0 {
		return e.now, true
	}
	for len(e.timers) > 0 {
		if e.live(e.timers[0]) {
			return time.Unix(0, e.timers[0].at).In(e.loc), true
		}
		e.timers.pop()
	}
	return time.Time{}, false
}

func (e *Engine) begin(now time.Time) {
	e.out = make([]Output, 0, 8)
	e.gen++
	if !e.started {
		e.started = true
		e.setNow(now.UnixNano())
		e.scheduleMidnight()
	}
	e.settleConfig()
	e.dispatch()
	nowN := now.UnixNano()
	for len(e.timers) > 0 && e.timers[0].at <= nowN {
		at := e.timers[0].at
		if at > e.nowN {
			e.setNow(at)
		}
		e.gen++
		for len(e.timers) > 0 && e.timers[0].at == at {
			t := e.timers.pop()
			if e.live(t) {
				e.fire(t)
			}
		}
		e.dispatch()
	}
	if nowN > e.nowN {
		e.setNow(nowN)
	}
}

func (e *Engine) setNow(n int64) {
	e.nowN = n
	e.now = time.Unix(0, n).In(e.loc)
}

func (e *Engine) finish() []Output {
	e.dispatch()
	for _, c := range e.joinAnnounce {
		if !c.gone && c.state == callWaiting && len(c.offers) == 0 {
			pos := c.q.waiting.index(c) + 1
			est := e.estimate(c.q, pos)
			e.emit(Announce{At: e.now, Call: c.id, Queue: c.q.id, Kind: AnnounceJoin, Position: pos, EstimatedWait: est})
			c.lastPos, c.lastWait = pos, est
		}
	}
	clear(e.joinAnnounce)
	e.joinAnnounce = e.joinAnnounce[:0]
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) emit(o Output) { e.out = append(e.out, o) }

func (e *Engine) ignore(in Input, why string) {
	e.emit(Ignored{At: e.now, Input: in, Reason: why})
}

func (e *Engine) scheduleMidnight() {
	y, m, d := e.now.Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, e.loc)
	e.midnightN = next.UnixNano()
	e.schedule(timer{at: e.midnightN, kind: tMidnight})
}

func (e *Engine) markDirty(q *queue) {
	if !q.dirty && !q.removed {
		q.dirty = true
		e.dirty = append(e.dirty, q)
	}
}

func (e *Engine) markAgentQueues(a *agent) {
	for _, m := range a.mlist {
		if m.active {
			e.markDirty(m.q)
		}
	}
}

// --- agent state ---

// setState changes an agent's state and keeps the queues' ready sets and
// logged-in counts in step.
func (e *Engine) setState(a *agent, to State, reason string, c *call) {
	if to != Paused {
		reason = reasonFor(to, reason)
	}
	if a.state == to && a.reason == reason {
		return
	}
	from := a.state
	a.state, a.reason, a.since = to, reason, e.now
	var cid CallID
	if c != nil {
		cid = c.id
	}
	e.emit(AgentStateChanged{At: e.now, Agent: a.id, From: from, To: to, Reason: reason, Call: cid})
	e.refresh(a)
}

// reasonFor keeps the reason only where it means something outside pauses
// (logout, removal).
func reasonFor(to State, reason string) string {
	if to == LoggedOut {
		return reason
	}
	return ""
}

// refresh recomputes which queues a is logged in to and ready for.
func (e *Engine) refresh(a *agent) {
	e.gen++
	var emptied []*queue
	for _, m := range a.mlist {
		active := !a.removed && a.state != LoggedOut && (a.loginAll || a.loginSet[m.q.id])
		if active != m.active {
			m.active = active
			if active {
				m.q.activeN++
			} else {
				m.q.activeN--
				if m.q.activeN == 0 && m.q.cfg.Empty == EmptyLeave {
					emptied = append(emptied, m.q)
				}
			}
		}
		e.setReady(m, active && a.state == Ready)
	}
	for _, q := range emptied {
		e.leaveEmpty(q)
	}
}

func (e *Engine) setReady(m *member, ready bool) {
	q := m.q
	switch {
	case ready && m.readyIdx < 0:
		m.readyIdx = len(q.ready)
		q.ready = append(q.ready, m)
		e.markDirty(q)
	case !ready && m.readyIdx >= 0:
		last := len(q.ready) - 1
		q.ready[m.readyIdx] = q.ready[last]
		q.ready[m.readyIdx].readyIdx = m.readyIdx
		q.ready[last] = nil
		q.ready = q.ready[:last]
		m.readyIdx = -1
	}
}

// leaveEmpty overflows the callers of a queue whose last agent logged out.
func (e *Engine) leaveEmpty(q *queue) {
	for i := 0; i < q.waiting.len(); {
		c := q.waiting.all()[i]
		if c.state != callWaiting {
			i++
			continue
		}
		e.overflow(c, OverflowLeaveEmpty)
	}
}

// release puts an agent whose offer was withdrawn through no fault of its
// own back to ready.
func (e *Engine) release(a *agent) {
	if a.removed {
		e.setState(a, LoggedOut, "removed", nil)
		return
	}
	e.setState(a, Ready, "", nil)
}

// afterCall moves an agent whose call is over to wrap-up, pause, logout or
// ready.
func (e *Engine) afterCall(a *agent, q *queue, c *call, withWrapUp bool) {
	a.call = nil
	a.idleSince = e.now
	if a.removed || a.logoutAfter {
		a.logoutAfter = false
		a.pauseAfter = false
		reason := "logout"
		if a.removed {
			reason = "removed"
		}
		e.setState(a, LoggedOut, reason, c)
		return
	}
	var wrap time.Duration
	if withWrapUp {
		if q != nil {
			wrap = q.cfg.WrapUp
		}
		if a.cfg.WrapUp != nil {
			wrap = *a.cfg.WrapUp
		}
	}
	if wrap > 0 {
		a.wrapUntil = e.nowN + int64(wrap)
		e.setState(a, WrapUp, "", c)
		e.schedule(timer{at: a.wrapUntil, kind: tWrapUp, agent: a})
		return
	}
	e.endWrapUp(a)
}

func (e *Engine) endWrapUp(a *agent) {
	if a.pauseAfter {
		a.pauseAfter = false
		e.setState(a, Paused, a.pauseReason, nil)
		return
	}
	e.setState(a, Ready, "", nil)
}

// --- offers ---

// withdraw ends a's offer (cmd: tell the adapter to stop ringing). The
// caller decides a's next state.
func (e *Engine) withdraw(a *agent, why FailReason, cmd bool) {
	off := a.offer
	c := off.call
	a.offer = nil
	for i, x := range c.offers {
		if x == a {
			last := len(c.offers) - 1
			c.offers[i] = c.offers[last]
			c.offers[last] = nil
			c.offers = c.offers[:last]
			break
		}
	}
	if cmd {
		e.emit(CancelOffer{At: e.now, Call: c.id, Agent: a.id, Reason: why})
	}
	e.emit(OfferEnded{At: e.now, Call: c.id, Agent: a.id, Reason: why})
	if c.inList() {
		e.markDirty(c.q)
	}
	if c.expired && len(c.offers) == 0 {
		// max wait passed while it rang: it overflows once the agents are
		// sorted out (see dispatch).
		e.expired = append(e.expired, c)
	}
}

// withdrawAll withdraws every offer for c and puts the agents back to ready.
func (e *Engine) withdrawAll(c *call, why FailReason) {
	for len(c.offers) > 0 {
		a := c.offers[len(c.offers)-1]
		e.withdraw(a, why, true)
		e.release(a)
	}
}

// missed handles an offer that the agent did not take.
func (e *Engine) missed(a *agent, why FailReason, cmd bool) {
	c := a.offer.call
	q := c.q
	e.withdraw(a, why, cmd)
	a.missed++
	d := q.cfg.RetryDelay
	if why == FailUnavailable {
		a.unreach++
		if a.unreach < UnreachableAfter {
			d = max(d, unreachableBackoff(a.unreach))
		}
	} else {
		a.unreach = 0 // it rang, or said busy or no: the device is there
	}
	if d > 0 {
		a.cooldownUntil = e.nowN + int64(d)
		e.schedule(timer{at: a.cooldownUntil, kind: tCooldown, agent: a})
	}
	switch n := q.cfg.AutoPauseAfter; {
	case a.unreach >= UnreachableAfter:
		a.missed, a.unreach = 0, 0
		e.setState(a, Paused, UnreachableReason, c)
	case n > 0 && a.missed >= n:
		a.missed, a.unreach = 0, 0
		e.setState(a, Paused, e.opt.AutoPauseReason, c)
	default:
		e.release(a)
	}
}

// --- calls leaving ---

func (e *Engine) forget(c *call) {
	c.gone = true
	delete(e.calls, c.id)
}

func (e *Engine) overflow(c *call, why OverflowReason) {
	q := c.q
	e.withdrawAll(c, EndCallerGone)
	q.waiting.remove(c)
	e.emit(Overflow{At: e.now, Call: c.id, Queue: q.id, Reason: why})
	e.emit(Overflowed{At: e.now, Call: c.id, Queue: q.id, Reason: why, Waited: e.now.Sub(c.joinedAt)})
	q.st.overflowed++
	e.forget(c)
}

// --- timers ---

func (e *Engine) fire(t timer) {
	switch t.kind {
	case tOffer:
		e.missed(t.agent, EndTimeout, true)
	case tMaxWait:
		c := t.call
		if len(c.offers) > 0 {
			c.expired = true
			return
		}
		e.overflow(c, OverflowTimeout)
	case tEscalate:
		e.escalate(t.call)
		e.markDirty(t.call.q)
	case tAnnounce:
		e.announcePeriodic(t.call)
	case tCustom:
		c := t.call
		ca := c.q.cfg.Announce.Custom[t.idx]
		if len(c.offers) == 0 {
			e.emit(Announce{At: e.now, Call: c.id, Queue: c.q.id, Kind: AnnounceCustom, Position: 0, EstimatedWait: -1, Prompt: ca.Prompt})
		}
		c.customAt[t.idx] = e.nowN + int64(ca.Every)
		e.schedule(timer{at: c.customAt[t.idx], kind: tCustom, call: c, idx: t.idx})
	case tWrapUp:
		e.endWrapUp(t.agent)
	case tCooldown:
		e.markAgentQueues(t.agent)
	case tCbRetry:
		e.markDirty(t.call.q)
	case tMidnight:
		for _, q := range e.queues {
			q.st = dayStats{}
		}
		for _, a := range e.agents {
			a.callsToday = 0
		}
		e.scheduleMidnight()
	}
}

// escalate applies every escalation step the call has reached and schedules
// the next one.
func (e *Engine) escalate(c *call) {
	steps := c.q.cfg.Escalation
	for c.escIdx < len(steps) && c.joinN+int64(steps[c.escIdx].After) <= e.nowN {
		s := steps[c.escIdx]
		c.maxTier, c.relax = max(c.maxTier, s.MaxTier), max(c.relax, s.RelaxSkills)
		c.escIdx++
	}
	if c.escIdx < len(steps) {
		c.escAt = c.joinN + int64(steps[c.escIdx].After)
		e.schedule(timer{at: c.escAt, kind: tEscalate, call: c})
	} else {
		c.escAt = 0
	}
}

func (e *Engine) announcePeriodic(c *call) {
	a := c.q.cfg.Announce
	c.annAt = e.nowN + int64(a.Every)
	e.schedule(timer{at: c.annAt, kind: tAnnounce, call: c})
	if len(c.offers) > 0 {
		return // ringing: the caller is about to be answered
	}
	pos := c.q.waiting.index(c) + 1
	est := e.estimate(c.q, pos)
	sayPos, sayWait := pos, est
	if a.OnlyIfBetter {
		if pos >= c.lastPos {
			sayPos = 0
		}
		if est < 0 || (c.lastWait >= 0 && bucket(est, a.Granularity) >= bucket(c.lastWait, a.Granularity)) {
			sayWait = -1
		}
		if sayPos == 0 && sayWait < 0 {
			return
		}
	}
	if sayPos > 0 {
		c.lastPos = sayPos
	}
	if sayWait >= 0 {
		c.lastWait = sayWait
	}
	e.emit(Announce{At: e.now, Call: c.id, Queue: c.q.id, Kind: AnnouncePeriodic, Position: sayPos, EstimatedWait: sayWait})
}

// bucket rounds a wait up to the granularity it is spoken at.
func bucket(d, g time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + g - 1) / g)
}

func (e *Engine) String() string {
	return fmt.Sprintf("queue.Engine{queues: %d, agents: %d, calls: %d}", len(e.queues), len(e.agents), len(e.calls))
}
