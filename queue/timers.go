package queue

// timerKind is what a deadline is for.
type timerKind uint8

const (
	tOffer    timerKind = iota // ring timeout of agent.offer
	tMaxWait                   // call.maxWaitAt
	tEscalate                  // call.escAt
	tAnnounce                  // call.annAt
	tCustom                    // call.customAt[idx]
	tWrapUp                    // agent.wrapUntil
	tCooldown                  // agent.cooldownUntil
	tCbRetry                   // call.cb.notBefore
	tMidnight                  // engine.midnight
)

// timer is one deadline. Timers are never removed when plans change; a timer
// is live only while the field it was set from still holds its time (see
// live), so a stale one is dropped when it reaches the top of the heap.
type timer struct {
	at    int64 // unix nanoseconds
	call  *call
	agent *agent
	off   *offer
	kind  timerKind
	idx   uint16
}

// timerHeap is a binary min-heap on at.
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].at <= s[i].at {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	t := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = timer{}
	s = s[:n]
	*h = s
	h.down(0)
	return t
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].at < h[l].at {
			m = r
		}
		if h[i].at <= h[m].at {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h timerHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// live reports whether t still stands for a pending deadline.
func (e *Engine) live(t timer) bool {
	c, a := t.call, t.agent
	switch t.kind {
	case tOffer:
		return a.offer == t.off
	case tMaxWait:
		return !c.gone && c.state == callWaiting && c.maxWaitAt == t.at
	case tEscalate:
		return !c.gone && c.escAt == t.at && c.inList()
	case tAnnounce:
		return !c.gone && c.state == callWaiting && c.annAt == t.at
	case tCustom:
		return !c.gone && c.state == callWaiting && int(t.idx) < len(c.customAt) && c.customAt[t.idx] == t.at
	case tWrapUp:
		return !a.removed && a.state == WrapUp && a.wrapUntil == t.at
	case tCooldown:
		return !a.removed && a.cooldownUntil == t.at
	case tCbRetry:
		return !c.gone && c.state == callCallback && c.cb.notBefore == t.at
	case tMidnight:
		return e.midnightN == t.at
	}
	return false
}

// schedule adds a timer, compacting the heap when stale timers pile up (as
// they do when calls come and go faster than their deadlines pass).
func (e *Engine) schedule(t timer) {
	if len(e.timers) >= e.compactAt {
		live := e.timers[:0]
		for _, x := range e.timers {
			if e.live(x) {
				live = append(live, x)
			}
		}
		clear(e.timers[len(live):])
		e.timers = live
		e.timers.init()
		e.compactAt = 2*len(live) + 1024
	}
	e.timers.push(t)
}
