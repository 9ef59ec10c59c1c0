package queue

import "sort"

// dispatch offers waiting calls to free agents until no dirty queue has a
// call that a free agent may take. Queues are dirty when something that
// widens the match happened in them (a call joined, an agent became free,
// an offer ended, an escalation step or a cooldown passed), so a step costs
// work in the queues it touched, not in all of them.
//
// Across queues the call served first is the one with the higher priority,
// then the higher wait × queue weight; an agent in several queues therefore
// gets the call that has waited longest relative to its queue's weight.
func (e *Engine) dispatch() {
	for len(e.expired) > 0 {
		c := e.expired[len(e.expired)-1]
		e.expired = e.expired[:len(e.expired)-1]
		if !c.gone && c.state == callWaiting && len(c.offers) == 0 {
			e.overflow(c, OverflowTimeout)
		}
	}
	for len(e.dirty) > 0 {
		var best *call
		for i := 0; i < len(e.dirty); {
			q := e.dirty[i]
			if c := e.firstOfferable(q); c != nil {
				if best == nil || e.preferred(c, best) {
					best = c
				}
				i++
				continue
			}
			q.dirty = false
			last := len(e.dirty) - 1
			e.dirty[i] = e.dirty[last]
			e.dirty[last] = nil
			e.dirty = e.dirty[:last]
		}
		if best == nil {
			return
		}
		if e.offerCall(best) == 0 {
			// cannot happen: firstOfferable found an eligible agent. Drop
			// the queue rather than loop.
			best.q.dirty = false
			for i, q := range e.dirty {
				if q == best.q {
					e.dirty = append(e.dirty[:i], e.dirty[i+1:]...)
					break
				}
			}
		}
	}
}

// firstOfferable returns the first call in q's order that needs an offer
// and that some free agent may take.
//
// Calls of one priority are ordered by wait, and every call of a queue
// follows the same escalation plan, so the tier a call may go to never
// grows along a priority band: once a call cannot reach the lowest ready
// tier, the rest of its band is skipped with a binary search instead of
// being looked at.
func (e *Engine) firstOfferable(q *queue) *call {
	if q.removed || len(q.ready) == 0 {
		return nil
	}
	minTier := noTierLimit
	for _, m := range q.ready {
		minTier = min(minTier, m.tier)
	}
	items := q.waiting.all()
	for i := 0; i < len(items); i++ {
		c := items[i]
		if c.maxTier < minTier {
			p := c.priority
			i += sort.Search(len(items)-i, func(j int) bool { return items[i+j].priority < p }) - 1
			continue
		}
		if !e.offerable(c) {
			continue
		}
		for _, m := range q.ready {
			if e.eligible(m, c) {
				return c
			}
		}
	}
	return nil
}

func (e *Engine) offerable(c *call) bool {
	switch c.state {
	case callWaiting:
		return !c.expired && (c.q.ringAll || len(c.offers) < c.q.cfg.MaxParallelOffers)
	case callCallback:
		return len(c.offers) == 0 && c.cb.notBefore <= e.nowN
	}
	return false
}

// eligible reports whether the ready member m may be offered c now.
func (e *Engine) eligible(m *member, c *call) bool {
	a := m.agent
	if a.cooldownUntil > e.nowN || m.tier > c.maxTier {
		return false
	}
	if a.deviceBusy && !c.q.cfg.RingInUse {
		return false
	}
	if c.q.ringAll && len(c.offers) > 0 && len(c.q.cfg.Escalation) == 0 {
		// without escalation steps a higher tier rings only when no lower
		// tier is free; once a tier rings, ringall adds only its peers.
		ringing := noTierLimit
		for _, o := range c.offers {
			ringing = min(ringing, o.offer.tier)
		}
		if m.tier > ringing {
			return false
		}
	}
	return skillsOK(a.cfg.Skills, c.q.cfg.Skills, c.relax) && skillsOK(a.cfg.Skills, c.skills, c.relax)
}

func skillsOK(have map[string]int, want []SkillReq, relax int) bool {
	for _, s := range want {
		if need := s.Level - relax; need > 0 && have[s.Skill] < need {
			return false
		}
	}
	return true
}

// preferred reports whether a should be served before b (b in another
// queue, or the same).
func (e *Engine) preferred(a, b *call) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	sa := (e.nowN - a.joinN) * int64(a.q.cfg.Weight)
	sb := (e.nowN - b.joinN) * int64(b.q.cfg.Weight)
	if sa != sb {
		return sa > sb
	}
	if a.joinN != b.joinN {
		return a.joinN < b.joinN
	}
	return a.seq < b.seq
}

// offerCall offers c to the best eligible agents and returns how many.
func (e *Engine) offerCall(c *call) int {
	q := c.q
	cands := e.cands[:0]
	needs := q.cfg.Skills
	if len(c.skills) > 0 {
		e.needs = append(append(e.needs[:0], q.cfg.Skills...), c.skills...)
		needs = e.needs
	}
	for _, m := range q.ready {
		if e.eligible(m, c) {
			a := m.agent
			cands = append(cands, Candidate{
				Agent: a.id, Tier: m.tier, Order: m.order, Weight: m.weight,
				IdleSince: a.idleSince, CallsToday: a.callsToday,
				Skills: a.cfg.Skills, Needs: needs, m: m,
			})
		}
	}
	if len(cands) == 0 {
		return 0
	}
	q.strat.Rank(cands)
	sortByTier(cands)
	n := 1
	if c.state == callWaiting {
		if q.ringAll {
			n = 0
			for n < len(cands) && cands[n].Tier == cands[0].Tier {
				n++
			}
		} else {
			n = min(q.cfg.MaxParallelOffers-len(c.offers), len(cands))
		}
	}
	for _, cand := range cands[:n] {
		e.offer(c, cand)
	}
	clear(cands)
	e.cands = cands[:0]
	return n
}

func (e *Engine) offer(c *call, cand Candidate) {
	q := c.q
	a := cand.m.agent
	off := &offer{call: c, agent: a, tier: cand.Tier, deadline: e.nowN + int64(q.cfg.RingTimeout)}
	a.offer = off
	c.offers = append(c.offers, a)
	cb := c.state == callCallback
	e.emit(Offer{At: e.now, Call: c.id, Agent: a.id, Queue: q.id, Timeout: q.cfg.RingTimeout, Callback: cb})
	e.emit(Offered{At: e.now, Call: c.id, Agent: a.id, Queue: q.id, Tier: cand.Tier, Callback: cb})
	e.setState(a, Ringing, "", c)
	e.schedule(timer{at: off.deadline, kind: tOffer, agent: a, off: off})
	q.strat.Offered(cand)
}
