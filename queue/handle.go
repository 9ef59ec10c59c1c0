package queue

import (
	"math"
	"slices"
)

func (e *Engine) apply(in Input) {
	switch in := in.(type) {
	case CallArrived:
		e.callArrived(in)
	case CallHungUp:
		e.callHungUp(in)
	case CallPriorityChanged:
		e.priorityChanged(in)
	case CallbackRequested:
		e.callbackRequested(in)
	case CallEnded:
		e.callEnded(in)
	case CallbackResult:
		e.callbackResult(in)
	case OfferAnswered:
		e.offerAnswered(in)
	case OfferFailed:
		e.offerFailed(in)
	case AgentLogin:
		e.agentLogin(in)
	case AgentLogout:
		e.agentLogout(in)
	case AgentReady:
		e.agentReady(in)
	case AgentPause:
		e.agentPause(in)
	case AgentDeviceBusy:
		if a := e.agentFor(in, in.Agent); a != nil {
			a.deviceBusy = true
		}
	case AgentDeviceFree:
		if a := e.agentFor(in, in.Agent); a != nil {
			a.deviceBusy = false
			e.markAgentQueues(a)
		}
	case AdoptConnected:
		e.adopt(in)
	default:
		e.ignore(in, "unknown input")
	}
}

func (e *Engine) agentFor(in Input, id AgentID) *agent {
	a := e.agents[id]
	if a == nil {
		e.ignore(in, "unknown agent")
	}
	return a
}

func (e *Engine) callFor(in Input, id CallID) *call {
	c := e.calls[id]
	if c == nil {
		e.ignore(in, "unknown call")
	}
	return c
}

// --- calls ---

func (e *Engine) callArrived(in CallArrived) {
	q := e.queues[in.Queue]
	switch {
	case in.Call == "":
		e.emit(Reject{At: e.now, Call: in.Call, Queue: in.Queue, Reason: "empty call id"})
		return
	case q == nil:
		e.emit(Reject{At: e.now, Call: in.Call, Queue: in.Queue, Reason: "unknown queue"})
		return
	case e.calls[in.Call] != nil:
		e.emit(Reject{At: e.now, Call: in.Call, Queue: in.Queue, Reason: "call is already queued"})
		return
	}
	joined := in.JoinedAt
	if joined.IsZero() || joined.After(e.now) {
		joined = e.now
	}
	refuse := OverflowReason("")
	switch {
	case q.cfg.Empty != EmptyJoin && q.activeN == 0:
		refuse = OverflowNoAgents
	case q.cfg.MaxLen > 0 && q.waiting.len() >= q.cfg.MaxLen:
		refuse = OverflowFull
	}
	if refuse != "" {
		e.emit(Overflow{At: e.now, Call: in.Call, Queue: q.id, Reason: refuse})
		e.emit(Overflowed{At: e.now, Call: in.Call, Queue: q.id, Reason: refuse, Waited: e.now.Sub(joined)})
		q.st.overflowed++
		return
	}
	e.seq++
	c := &call{
		id: in.Call, q: q, priority: in.Priority, joinedAt: joined, joinN: joined.UnixNano(),
		seq: e.seq, caller: in.Caller, lastPos: math.MaxInt, lastWait: -1,
	}
	for _, s := range in.Skills {
		if s.Skill != "" && s.Level > 0 {
			c.skills = append(c.skills, s)
		}
	}
	if len(q.cfg.Escalation) > 0 {
		e.escalate(c)
	} else {
		c.maxTier = noTierLimit
	}
	q.waiting.insert(c)
	e.calls[c.id] = c
	pos := q.waiting.index(c) + 1
	e.emit(CallJoined{At: e.now, Call: c.id, Queue: q.id, Priority: c.priority, JoinedAt: joined, Position: pos, EstimatedWait: e.estimate(q, pos)})
	if q.cfg.MaxWait > 0 {
		c.maxWaitAt = c.joinN + int64(q.cfg.MaxWait)
		if c.maxWaitAt <= e.nowN {
			e.overflow(c, OverflowTimeout)
			return
		}
		e.schedule(timer{at: c.maxWaitAt, kind: tMaxWait, call: c})
	}
	an := q.cfg.Announce
	if an.OnJoin {
		e.joinAnnounce = append(e.joinAnnounce, c)
	}
	if an.Every > 0 {
		c.annAt = e.nowN + int64(an.Every)
		e.schedule(timer{at: c.annAt, kind: tAnnounce, call: c})
	}
	if len(an.Custom) > 0 {
		c.customAt = make([]int64, len(an.Custom))
		for i, ca := range an.Custom {
			c.customAt[i] = e.nowN + int64(ca.First)
			e.schedule(timer{at: c.customAt[i], kind: tCustom, call: c, idx: uint16(i)})
		}
	}
	e.markDirty(q)
}

func (e *Engine) callHungUp(in CallHungUp) {
	c := e.callFor(in, in.Call)
	if c == nil {
		return
	}
	switch c.state {
	case callWaiting:
		q := c.q
		pos := q.waiting.index(c) + 1
		e.withdrawAll(c, EndCallerGone)
		q.waiting.remove(c)
		if in.Lost {
			// Asterisk lost the call: no abandon, and nothing for the
			// estimate of how long callers are willing to wait.
			e.emit(CallLost{At: e.now, Call: c.id, Queue: q.id, Waited: e.now.Sub(c.joinedAt), Position: pos})
			q.st.lost++
			e.forget(c)
			return
		}
		e.emit(Abandoned{At: e.now, Call: c.id, Queue: q.id, Waited: e.now.Sub(c.joinedAt), Position: pos})
		q.st.abandoned++
		q.left(e.now.Sub(c.joinedAt), true)
		e.forget(c)
	case callConnected:
		e.endConversation(c)
	default:
		e.ignore(in, "callback request has no caller on the line")
	}
}

func (e *Engine) priorityChanged(in CallPriorityChanged) {
	c := e.callFor(in, in.Call)
	if c == nil {
		return
	}
	if !c.inList() {
		e.ignore(in, "call is not waiting")
		return
	}
	if c.priority == in.Priority {
		return
	}
	from := c.priority
	c.q.waiting.remove(c)
	c.priority = in.Priority
	c.q.waiting.insert(c)
	e.emit(PriorityChanged{At: e.now, Call: c.id, Queue: c.q.id, From: from, To: in.Priority})
	e.markDirty(c.q)
}

func (e *Engine) callbackRequested(in CallbackRequested) {
	c := e.callFor(in, in.Call)
	if c == nil {
		return
	}
	switch {
	case c.state != callWaiting:
		e.ignore(in, "call is not waiting")
		return
	case !c.q.cfg.Callback.Enabled:
		e.ignore(in, "callback is not enabled for this queue")
		return
	case in.Number == "":
		e.ignore(in, "no number to call back")
		return
	}
	e.withdrawAll(c, EndCallback)
	c.state = callCallback
	c.cb = &callbackReq{number: in.Number}
	c.customAt = nil
	e.emit(CallbackQueued{At: e.now, Call: c.id, Queue: c.q.id, Position: c.q.waiting.index(c) + 1})
	e.markDirty(c.q)
}

func (e *Engine) callEnded(in CallEnded) {
	c := e.callFor(in, in.Call)
	if c == nil {
		return
	}
	if c.state != callConnected {
		e.ignore(in, "call is not connected")
		return
	}
	e.endConversation(c)
}

func (e *Engine) endConversation(c *call) {
	a, q := c.agent, c.q
	talked := e.now.Sub(c.answeredAt)
	e.emit(CallCompleted{At: e.now, Call: c.id, Agent: a.id, Queue: q.id, Talked: talked})
	e.forget(c)
	// The handle time the estimate learns from is talk plus the wrap-up the
	// agent is about to take.
	wrap := q.cfg.WrapUp
	if a.cfg.WrapUp != nil {
		wrap = *a.cfg.WrapUp
	}
	sample := (talked + wrap).Seconds()
	if sample > 0 {
		q.aht += ahtAlpha * (sample - q.aht)
	}
	e.afterCall(a, q, c, true)
}

func (e *Engine) callbackResult(in CallbackResult) {
	c := e.callFor(in, in.Call)
	if c == nil {
		return
	}
	if c.state != callDialing {
		e.ignore(in, "no callback is being dialled for this call")
		return
	}
	a, q := c.agent, c.q
	if in.Answered {
		c.state = callConnected
		c.answeredAt = e.now
		q.st.callbacks++
		e.emit(CallbackConnected{At: e.now, Call: c.id, Queue: q.id, Agent: a.id, Waited: e.now.Sub(c.joinedAt)})
		return
	}
	final := c.cb.attempts >= q.cfg.Callback.Attempts || q.removed
	e.emit(CallbackFailed{At: e.now, Call: c.id, Queue: q.id, Attempt: c.cb.attempts, Final: final, Reason: "not answered"})
	c.agent = nil
	if final {
		e.forget(c)
	} else {
		c.state = callCallback
		c.cb.notBefore = e.nowN + int64(q.cfg.Callback.RetryDelay)
		e.schedule(timer{at: c.cb.notBefore, kind: tCbRetry, call: c})
		q.waiting.insert(c)
		e.escalate(c) // catch up with the steps passed while dialling
	}
	e.afterCall(a, q, c, false)
}

// --- offers ---

func (e *Engine) offerFor(in Input, aid AgentID, cid CallID) *agent {
	a := e.agentFor(in, aid)
	if a == nil {
		return nil
	}
	if a.offer == nil || a.offer.call.id != cid {
		e.ignore(in, "no such offer")
		return nil
	}
	return a
}

func (e *Engine) offerAnswered(in OfferAnswered) {
	a := e.offerFor(in, in.Agent, in.Call)
	if a == nil {
		return
	}
	c := a.offer.call
	q := c.q
	a.offer = nil
	c.offers = slices.DeleteFunc(c.offers, func(x *agent) bool { return x == a })
	a.missed, a.unreach = 0, 0
	e.withdrawAll(c, EndAnsweredElse)
	q.waiting.remove(c)
	c.agent = a
	a.call = c
	if c.state == callCallback {
		c.state = callDialing
		c.cb.attempts++
		e.setState(a, OnCall, "", c)
		e.emit(DialCallback{At: e.now, Call: c.id, Queue: q.id, Agent: a.id, Number: c.cb.number, Attempt: c.cb.attempts})
		e.emit(CallbackAttempted{At: e.now, Call: c.id, Queue: q.id, Agent: a.id, Attempt: c.cb.attempts})
		return
	}
	c.state = callConnected
	c.answeredAt = e.now
	a.callsToday++
	waited := e.now.Sub(c.joinedAt)
	q.st.answered++
	q.left(waited, false)
	if waited <= q.cfg.ServiceLevel {
		q.st.withinSL++
	}
	e.setState(a, OnCall, "", c)
	e.emit(Connect{At: e.now, Call: c.id, Agent: a.id, Queue: q.id})
	e.emit(Answered{At: e.now, Call: c.id, Agent: a.id, Queue: q.id, Waited: waited})
}

func (e *Engine) offerFailed(in OfferFailed) {
	a := e.offerFor(in, in.Agent, in.Call)
	if a == nil {
		return
	}
	why := in.Reason
	if why == "" {
		why = FailNoAnswer
	}
	e.missed(a, why, false)
}

// --- agents ---

func (e *Engine) pauseAllowed(reason string) bool {
	return e.pauseOK == nil || e.pauseOK[reason]
}

func (e *Engine) agentLogin(in AgentLogin) {
	a := e.agentFor(in, in.Agent)
	if a == nil {
		return
	}
	if in.PauseReason != "" && !e.pauseAllowed(in.PauseReason) {
		e.ignore(in, "pause reason is not in the list")
		return
	}
	a.loginAll = in.Queues == nil
	a.loginSet = nil
	if !a.loginAll {
		a.loginSet = make(map[QueueID]bool, len(in.Queues))
		for _, q := range in.Queues {
			a.loginSet[q] = true
		}
	}
	if a.state != LoggedOut {
		// a new queue set: withdraw an offer from a queue left behind.
		if a.offer != nil && !a.loginAll && !a.loginSet[a.offer.call.q.id] {
			e.withdraw(a, EndReconfigured, true)
			e.setState(a, Ready, "", nil)
		}
		e.refresh(a)
		e.markAgentQueues(a)
		return
	}
	a.idleSince = e.now
	a.missed, a.unreach = 0, 0
	if in.PauseReason != "" {
		e.setState(a, Paused, in.PauseReason, nil)
	} else {
		e.setState(a, Ready, "", nil)
	}
}

func (e *Engine) agentLogout(in AgentLogout) {
	a := e.agentFor(in, in.Agent)
	if a == nil {
		return
	}
	switch a.state {
	case LoggedOut:
		e.ignore(in, "agent is logged out")
	case OnCall:
		a.logoutAfter = true
	case Ringing:
		e.withdraw(a, EndAgentLogout, true)
		e.setState(a, LoggedOut, "logout", nil)
	default:
		e.setState(a, LoggedOut, "logout", nil)
	}
}

func (e *Engine) agentReady(in AgentReady) {
	a := e.agentFor(in, in.Agent)
	if a == nil {
		return
	}
	switch a.state {
	case Paused, WrapUp:
		a.missed, a.unreach = 0, 0
		a.pauseAfter = false
		e.setState(a, Ready, "", nil)
	case OnCall:
		a.pauseAfter = false
	case Ready:
	default:
		e.ignore(in, "agent is "+a.state.String())
	}
}

func (e *Engine) agentPause(in AgentPause) {
	a := e.agentFor(in, in.Agent)
	if a == nil {
		return
	}
	if !e.pauseAllowed(in.Reason) {
		e.ignore(in, "pause reason is not in the list")
		return
	}
	switch a.state {
	case LoggedOut:
		e.ignore(in, "agent is logged out")
	case OnCall:
		a.pauseAfter, a.pauseReason = true, in.Reason
	case Ringing:
		e.withdraw(a, EndAgentPause, true)
		e.setState(a, Paused, in.Reason, nil)
	default:
		e.setState(a, Paused, in.Reason, nil)
	}
}

func (e *Engine) adopt(in AdoptConnected) {
	a := e.agentFor(in, in.Agent)
	if a == nil {
		return
	}
	if a.state == OnCall {
		e.ignore(in, "agent is already on a call")
		return
	}
	q := e.queues[in.Queue]
	c := e.calls[in.Call]
	if c != nil && !c.inList() {
		e.ignore(in, "call is already connected")
		return
	}
	if a.offer != nil {
		e.withdraw(a, EndReconfigured, true)
	}
	if c != nil {
		e.withdrawAll(c, EndAnsweredElse)
		c.q.waiting.remove(c)
	} else {
		if q == nil {
			// the queue is gone from the configuration; the conversation
			// still has to be tracked so the agent gets no second call.
			q = &queue{id: in.Queue, removed: true, members: map[AgentID]*member{}, aht: defaultHandleTime.Seconds()}
			q.cfg, _ = QueueConfig{ID: in.Queue}.normalize()
		}
		since := in.Since
		if since.IsZero() || since.After(e.now) {
			since = e.now
		}
		e.seq++
		c = &call{id: in.Call, q: q, joinedAt: since, joinN: since.UnixNano(), seq: e.seq}
		e.calls[c.id] = c
	}
	c.state = callConnected
	c.answeredAt = in.Since
	if c.answeredAt.IsZero() || c.answeredAt.After(e.now) {
		c.answeredAt = e.now
	}
	c.agent = a
	a.call = c
	a.pauseAfter = false
	if a.state == LoggedOut {
		a.loginAll, a.loginSet = true, nil
	}
	e.setState(a, OnCall, "", c)
}
