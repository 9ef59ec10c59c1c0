package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The property test drives random sequences of inputs (including stale and
// nonsensical ones) and checks after every step:
//   - the engine's internal invariants (Engine.check: no agent on two calls
//     or ringing for two, ready sets and counts right, lists ordered,
//     nothing left undispatched);
//   - from the outputs alone: no call is offered to an agent that is not
//     ready (paused, logged out, ringing, on a call, in wrap-up); agent
//     state changes chain (From is the last To); FIFO: a call is never
//     offered while a call ahead of it in the same queue waits unoffered
//     for an agent that could take it; and every call ends in exactly one
//     of answered / abandoned / overflowed / callback connected / callback
//     finally failed — checked after draining the engine at the end.

type model struct {
	t       testing.TB
	agents  map[AgentID]State
	waiting map[QueueID][]*mcall
	calls   map[CallID]*mcall
	ended   map[CallID]string
	joined  int
	seq     int
}

type mcall struct {
	id       CallID
	q        QueueID
	prio     int
	joinN    int64
	seq      int
	offers   int
	callback bool
}

func newModel(t testing.TB) *model {
	return &model{t: t, agents: map[AgentID]State{}, waiting: map[QueueID][]*mcall{},
		calls: map[CallID]*mcall{}, ended: map[CallID]string{}}
}

// fifoQueues have no tiers or skills, so any agent that may take one call
// may take every call ahead of it.
var fifoQueues = map[QueueID]bool{"all": true, "idle": true}

func (m *model) end(id CallID, how string) {
	if prev, ok := m.ended[id]; ok {
		m.t.Fatalf("call %s ended twice: %s then %s", id, prev, how)
	}
	m.ended[id] = how
	if c := m.calls[id]; c != nil {
		m.remove(c)
		delete(m.calls, id)
	}
}

func (m *model) remove(c *mcall) {
	w := m.waiting[c.q]
	for i, x := range w {
		if x == c {
			m.waiting[c.q] = append(w[:i], w[i+1:]...)
			return
		}
	}
}

func (m *model) ahead(d, c *mcall) bool {
	if d.prio != c.prio {
		return d.prio > c.prio
	}
	if d.joinN != c.joinN {
		return d.joinN < c.joinN
	}
	return d.seq < c.seq
}

func (m *model) observe(out []Output) {
	t := m.t
	for _, o := range out {
		switch o := o.(type) {
		case CallJoined:
			m.seq++
			c := &mcall{id: o.Call, q: o.Queue, prio: o.Priority, joinN: o.JoinedAt.UnixNano(), seq: m.seq}
			m.calls[o.Call] = c
			m.waiting[o.Queue] = append(m.waiting[o.Queue], c)
			m.joined++
		case Offer:
			if s := m.agents[o.Agent]; s != Ready {
				t.Fatalf("call %s offered to %s who is %v", o.Call, o.Agent, s)
			}
			c := m.calls[o.Call]
			if c == nil {
				t.Fatalf("offer for unknown call %s", o.Call)
			}
			if fifoQueues[c.q] && !c.callback {
				for _, d := range m.waiting[c.q] {
					if d != c && !d.callback && d.offers == 0 && m.ahead(d, c) {
						t.Fatalf("FIFO: %s offered to %s while %s waits ahead of it unoffered\n%s", c.id, o.Agent, d.id, dump(out))
					}
				}
			}
			c.offers++
		case OfferEnded:
			if c := m.calls[o.Call]; c != nil {
				c.offers--
			}
		case Answered:
			m.end(o.Call, "answered")
		case Abandoned:
			m.end(o.Call, "abandoned")
		case Overflowed:
			if m.calls[o.Call] == nil {
				// refused at the door: it never joined.
				if _, ok := m.ended[o.Call]; ok {
					t.Fatalf("call %s ended twice", o.Call)
				}
				m.ended[o.Call] = "refused"
				continue
			}
			m.end(o.Call, "overflowed")
		case CallbackQueued:
			m.calls[o.Call].callback = true
		case CallbackAttempted:
			if c := m.calls[o.Call]; c != nil {
				c.offers = 0
				m.remove(c)
			}
		case CallbackFailed:
			if o.Final {
				m.end(o.Call, "callback failed")
			} else if c := m.calls[o.Call]; c != nil {
				m.waiting[c.q] = append(m.waiting[c.q], c)
			}
		case CallbackConnected:
			m.end(o.Call, "callback connected")
		case PriorityChanged:
			m.calls[o.Call].prio = o.To
		case AgentStateChanged:
			if prev := m.agents[o.Agent]; prev != o.From {
				t.Fatalf("agent %s changed from %v but was %v", o.Agent, o.From, prev)
			}
			m.agents[o.Agent] = o.To
		}
	}
	// answered calls leave the waiting model on Answered; offers of calls
	// that ended are gone with them.
}

var propQueues = []QueueConfig{
	{ID: "all", Strategy: StrategyRingAll, MaxWait: 3 * time.Minute, Announce: Announcements{OnJoin: true, Every: 20 * time.Second, OnlyIfBetter: true}},
	{ID: "idle", Strategy: StrategyLongestIdle, MaxLen: 6, RetryDelay: 5 * time.Second, AutoPauseAfter: 2, WrapUp: 10 * time.Second,
		Empty: EmptyLeave, Callback: CallbackConfig{Enabled: true, Attempts: 2, RetryDelay: 30 * time.Second}},
	{ID: "skill", Strategy: StrategyRoundRobin, MaxParallelOffers: 2, Weight: 3, Skills: []SkillReq{{"pension", 3}},
		Escalation: []Escalation{{After: 20 * time.Second, MaxTier: 1}, {After: time.Minute, MaxTier: 2, RelaxSkills: 5}},
		Callback:   CallbackConfig{Enabled: true, Attempts: 1}},
}

var propAgents = []AgentConfig{
	{ID: "a1", Skills: map[string]int{"pension": 4}, Queues: []Membership{{Queue: "all"}, {Queue: "skill", Tier: 0}}},
	{ID: "a2", Skills: map[string]int{"pension": 1}, Queues: []Membership{{Queue: "all"}, {Queue: "idle"}, {Queue: "skill", Tier: 1}}},
	{ID: "a3", Queues: []Membership{{Queue: "idle"}, {Queue: "skill", Tier: 2}}},
	{ID: "a4", Skills: map[string]int{"pension": 5, "dansk": 5}, Queues: []Membership{{Queue: "idle"}}},
	{ID: "a5", Queues: []Membership{{Queue: "all"}, {Queue: "idle"}}},
}

// runRandom drives one random sequence. pick(n) returns a choice in [0,n).
func runRandom(t testing.TB, pick func(n int) int, steps int) {
	h := newHarness(t, Options{PauseReasons: []string{"frokost"}, Seed: uint64(pick(1000))})
	m := newModel(t)
	for _, q := range propQueues {
		h.queue(q)
	}
	for _, a := range propAgents {
		h.agentCfg(a)
	}
	var ids []CallID
	anyCall := func() CallID {
		if len(ids) == 0 || pick(10) == 0 {
			return "nope"
		}
		return ids[len(ids)-1-pick(min(len(ids), 8))]
	}
	anyAgent := func() AgentID { return propAgents[pick(len(propAgents))].ID }
	ringing := func() (AgentID, CallID, bool) {
		for _, a := range propAgents {
			if x := h.e.agents[a.ID]; x != nil && x.offer != nil && pick(2) == 0 {
				return a.ID, x.offer.call.id, true
			}
		}
		return "", "", false
	}
	step := func(in Input) { m.observe(h.do(in)) }
	for i := 0; i < steps; i++ {
		switch pick(16) {
		case 0, 1:
			id := CallID(fmt.Sprintf("c%d", len(ids)))
			ids = append(ids, id)
			in := CallArrived{Call: id, Queue: propQueues[pick(3)].ID, Priority: pick(3) / 2}
			if pick(8) == 0 {
				in.JoinedAt = h.now.Add(-time.Duration(pick(300)) * time.Second)
			}
			step(in)
		case 2:
			step(CallHungUp{Call: anyCall()})
		case 3:
			if a, c, ok := ringing(); ok {
				step(OfferAnswered{Call: c, Agent: a})
			} else {
				step(OfferAnswered{Call: anyCall(), Agent: anyAgent()})
			}
		case 4:
			if a, c, ok := ringing(); ok {
				step(OfferFailed{Call: c, Agent: a, Reason: []FailReason{FailNoAnswer, FailBusy, FailDeclined, FailUnavailable}[pick(4)]})
			}
		case 5:
			step(CallEnded{Call: anyCall()})
		case 6:
			step(CallbackRequested{Call: anyCall(), Number: "+4512345678"})
		case 7:
			step(CallbackResult{Call: anyCall(), Answered: pick(2) == 0})
		case 8:
			var qs []QueueID
			if pick(2) == 0 {
				qs = []QueueID{propQueues[pick(3)].ID, propQueues[pick(3)].ID}
			}
			reason := ""
			if pick(4) == 0 {
				reason = []string{"frokost", "bad"}[pick(2)]
			}
			step(AgentLogin{Agent: anyAgent(), Queues: qs, PauseReason: reason})
		case 9:
			step(AgentLogout{Agent: anyAgent()})
		case 10:
			step(AgentReady{Agent: anyAgent()})
		case 11:
			step(AgentPause{Agent: anyAgent(), Reason: []string{"frokost", "bad"}[pick(2)]})
		case 12:
			if pick(2) == 0 {
				step(AgentDeviceBusy{Agent: anyAgent()})
			} else {
				step(AgentDeviceFree{Agent: anyAgent()})
			}
		case 13:
			step(CallPriorityChanged{Call: anyCall(), Priority: pick(3)})
		case 14:
			m.observe(h.advance(time.Duration(pick(40)) * time.Second))
		case 15:
			// reconfigure an agent's memberships now and then.
			a := propAgents[pick(len(propAgents))]
			cfg := a
			if pick(2) == 0 {
				cfg.Queues = cfg.Queues[:pick(len(cfg.Queues)+1)]
			}
			if err := h.e.SetAgent(cfg); err != nil {
				t.Fatal(err)
			}
			m.observe(h.step(h.e.Advance(h.now)))
		}
	}
	// drain: everyone back in every queue with every skill, answer all.
	for _, a := range propAgents {
		cfg := a
		cfg.Skills = map[string]int{"pension": 9}
		cfg.Queues = []Membership{{Queue: "all"}, {Queue: "idle"}, {Queue: "skill"}}
		if err := h.e.SetAgent(cfg); err != nil {
			t.Fatal(err)
		}
	}
	m.observe(h.step(h.e.Advance(h.now)))
	for _, a := range propAgents {
		step(AgentLogin{Agent: a.ID})
	}
	for round := 0; len(h.e.calls) > 0; round++ {
		if round > 200 {
			for _, c := range h.e.calls {
				t.Logf("left: %s in %s state %d offers %d agent %v", c.id, c.q.id, c.state, len(c.offers), c.agent != nil)
			}
			for _, a := range h.e.agents {
				t.Logf("agent %s %v members %d", a.id, a.state, len(a.members))
			}
			t.Fatalf("drain did not finish: %d calls left", len(h.e.calls))
		}
		for _, a := range propAgents {
			id := a.ID
			x := h.e.agents[id]
			step(AgentDeviceFree{Agent: id})
			for range 4 { // ready -> ringing -> on call -> wrap-up
				switch x.state {
				case LoggedOut:
					step(AgentLogin{Agent: id})
				case Paused, WrapUp:
					step(AgentReady{Agent: id})
				case Ringing:
					step(OfferAnswered{Call: x.offer.call.id, Agent: id})
				case OnCall:
					if x.call.state == callDialing {
						step(CallbackResult{Call: x.call.id, Answered: true})
					} else {
						step(CallEnded{Call: x.call.id})
					}
				}
			}
		}
		m.observe(h.advance(10 * time.Second))
	}
	for id := range m.calls {
		t.Fatalf("call %s never ended", id)
	}
	n := 0
	for _, how := range m.ended {
		if how != "refused" {
			n++
		}
	}
	if n != m.joined {
		t.Fatalf("%d calls joined, %d ended", m.joined, n)
	}
}

func TestRandomSequences(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 42))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runRandom(t, func(n int) int { return r.IntN(n) }, 400)
		})
	}
}

// FuzzEngine: go test ./queue -run '^$' -fuzz FuzzEngine -fuzztime 1m
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("omstil: the queue engine must never break its invariants"))
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		pick := func(n int) int {
			if i >= len(data) {
				return 0
			}
			b := int(data[i])
			i++
			return b % n
		}
		runRandom(t, pick, len(data))
	})
}
