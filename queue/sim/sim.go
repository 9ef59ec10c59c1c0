// Package sim is a discrete-event simulation of a day at a call centre,
// driving the queue engine with Poisson arrivals, exponential talk times and
// impatient callers, and measuring service level, abandon rate and how far
// the announced wait was from the wait that happened.
//
// It uses only simulated time: a day runs in milliseconds.
package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/omstil/omstil/queue"
)

// Config describes one simulated day in one queue.
type Config struct {
	Seed   uint64
	Agents int
	// Hours the queue is open; arrivals stop then, the queue drains.
	Hours float64
	// CallsPerHour is the mean arrival rate; Profile (optional) multiplies
	// it per hour of the day (e.g. a morning peak).
	CallsPerHour float64
	Profile      []float64
	MeanTalk     time.Duration // exponential
	WrapUp       time.Duration
	// MeanPatience of callers (exponential); 0: nobody abandons.
	MeanPatience time.Duration
	// AnswerDelay between the offer and the agent picking up.
	AnswerDelay time.Duration
	// ServiceLevel threshold (default 30 s).
	ServiceLevel time.Duration
	// AnnounceEvery: periodic announcements (default 60 s).
	AnnounceEvery time.Duration
}

// Result of a simulated day.
type Result struct {
	Calls, Answered, Abandoned, Overflowed int
	// ServiceLevel: answered within the threshold / (answered + abandoned
	// + overflowed).
	ServiceLevel float64
	AbandonRate  float64
	MeanWait     time.Duration // of answered calls
	// JoinMAE: mean absolute error of the wait announced on joining against
	// the wait that followed, over callers who heard one and were answered.
	JoinMAE   time.Duration
	Announced int // callers who heard a join announcement and were answered
	// PeriodicMAE: the same for periodic announcements (remaining wait).
	PeriodicMAE time.Duration
	// BaselineMAE: the error of app_queue's estimate (a moving average of
	// recent hold times, the same figure for every position) for the same
	// callers.
	BaselineMAE time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("calls %d, SL %.1f%%, abandoned %.1f%%, mean wait %v, join MAE %v (app_queue-style %v), periodic MAE %v",
		r.Calls, 100*r.ServiceLevel, 100*r.AbandonRate, r.MeanWait, r.JoinMAE, r.BaselineMAE, r.PeriodicMAE)
}

type evKind uint8

const (
	evArrive evKind = iota
	evAbandon
	evAnswer
	evHangup
)

type event struct {
	at    time.Time
	kind  evKind
	call  queue.CallID
	agent queue.AgentID
	seq   int
}

type events []event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type caller struct {
	joined    time.Time
	joinEst   time.Duration // announced on join, -1 if none
	baseline  time.Duration // app_queue's estimate at join
	periodic  []announced
	connected bool
}

type announced struct {
	at  time.Time
	est time.Duration
}

// Run simulates one day.
func Run(cfg Config) (Result, error) {
	if cfg.Agents <= 0 || cfg.Hours <= 0 || cfg.CallsPerHour <= 0 || cfg.MeanTalk <= 0 {
		return Result{}, fmt.Errorf("sim: agents, hours, calls per hour and talk time must be positive")
	}
	if cfg.ServiceLevel == 0 {
		cfg.ServiceLevel = 30 * time.Second
	}
	if cfg.AnnounceEvery == 0 {
		cfg.AnnounceEvery = time.Minute
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	exp := func(mean time.Duration) time.Duration {
		return time.Duration(rng.ExpFloat64() * float64(mean))
	}
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(cfg.Hours * float64(time.Hour)))

	e := queue.New(queue.Options{Location: time.UTC, Seed: cfg.Seed})
	err := e.SetQueue(queue.QueueConfig{
		ID: "q", Strategy: queue.StrategyLongestIdle, WrapUp: cfg.WrapUp,
		ServiceLevel: cfg.ServiceLevel, HandleTime: cfg.MeanTalk + cfg.WrapUp,
		Announce: queue.Announcements{OnJoin: true, Every: cfg.AnnounceEvery},
	})
	if err != nil {
		return Result{}, err
	}
	var h events
	seq := 0
	push := func(ev event) {
		seq++
		ev.seq = seq
		heap.Push(&h, ev)
	}
	now := start
	for i := range cfg.Agents {
		id := queue.AgentID(fmt.Sprintf("agent-%d", i))
		if err := e.SetAgent(queue.AgentConfig{ID: id, Queues: []queue.Membership{{Queue: "q"}}}); err != nil {
			return Result{}, err
		}
		e.Handle(now, queue.AgentLogin{Agent: id})
	}
	// Poisson arrivals by thinning against the peak rate.
	peak := 1.0
	for _, p := range cfg.Profile {
		peak = max(peak, p)
	}
	rate := func(t time.Time) float64 {
		m := 1.0
		if h := int(t.Sub(start).Hours()); h < len(cfg.Profile) {
			m = cfg.Profile[h]
		}
		return cfg.CallsPerHour * m
	}
	n := 0
	for t := start; ; {
		t = t.Add(time.Duration(rng.ExpFloat64() / (cfg.CallsPerHour * peak) * float64(time.Hour)))
		if !t.Before(end) {
			break
		}
		if rng.Float64()*cfg.CallsPerHour*peak <= rate(t) {
			n++
			push(event{at: t, kind: evArrive, call: queue.CallID(fmt.Sprintf("call-%d", n))})
		}
	}

	var (
		res      Result
		callers  = map[queue.CallID]*caller{}
		holdtime time.Duration // app_queue: (3*old + new)/4 of answered waits
		sumWait  time.Duration
		within   int
		joinErr  float64
		baseErr  float64
		perErr   float64
		perN     int
	)
	process := func(out []queue.Output) {
		for _, o := range out {
			switch o := o.(type) {
			case queue.Announce:
				c := callers[o.Call]
				if c == nil || o.EstimatedWait < 0 {
					continue
				}
				switch o.Kind {
				case queue.AnnounceJoin:
					c.joinEst = o.EstimatedWait
					c.baseline = holdtime
				case queue.AnnouncePeriodic:
					c.periodic = append(c.periodic, announced{o.At, o.EstimatedWait})
				}
			case queue.Offer:
				push(event{at: o.At.Add(cfg.AnswerDelay), kind: evAnswer, call: o.Call, agent: o.Agent})
			case queue.Connect:
				callers[o.Call].connected = true
				push(event{at: o.At.Add(exp(cfg.MeanTalk)), kind: evHangup, call: o.Call})
			case queue.Answered:
				res.Answered++
				sumWait += o.Waited
				if o.Waited <= cfg.ServiceLevel {
					within++
				}
				c := callers[o.Call]
				if c.joinEst >= 0 {
					res.Announced++
					joinErr += math.Abs((o.Waited - c.joinEst).Seconds())
					baseErr += math.Abs((o.Waited - c.baseline).Seconds())
				}
				for _, p := range c.periodic {
					perErr += math.Abs((o.At.Sub(p.at) - p.est).Seconds())
					perN++
				}
				holdtime = (3*holdtime + o.Waited) / 4
			case queue.Abandoned:
				res.Abandoned++
				delete(callers, o.Call)
			case queue.Overflowed:
				res.Overflowed++
				delete(callers, o.Call)
			}
		}
	}
	for {
		var ev *event
		if len(h) > 0 {
			ev = &h[0]
		}
		if d, ok := e.NextDeadline(); ok && (ev == nil || !d.After(ev.at)) {
			if ev == nil && len(callers) == 0 {
				break // only the day's remaining timers (midnight) are left
			}
			now = d
			process(e.Advance(now))
			continue
		}
		if ev == nil {
			break
		}
		x := heap.Pop(&h).(event)
		now = x.at
		switch x.kind {
		case evArrive:
			res.Calls++
			callers[x.call] = &caller{joined: now, joinEst: -1}
			if cfg.MeanPatience > 0 {
				push(event{at: now.Add(exp(cfg.MeanPatience)), kind: evAbandon, call: x.call})
			}
			process(e.Handle(now, queue.CallArrived{Call: x.call, Queue: "q"}))
		case evAbandon:
			if c := callers[x.call]; c != nil && !c.connected {
				process(e.Handle(now, queue.CallHungUp{Call: x.call}))
			}
		case evAnswer:
			process(e.Handle(now, queue.OfferAnswered{Call: x.call, Agent: x.agent}))
		case evHangup:
			delete(callers, x.call)
			process(e.Handle(now, queue.CallEnded{Call: x.call}))
		}
	}
	if res.Answered+res.Abandoned+res.Overflowed != res.Calls {
		return res, fmt.Errorf("sim: %d calls but %d answered, %d abandoned, %d overflowed",
			res.Calls, res.Answered, res.Abandoned, res.Overflowed)
	}
	if d := res.Answered + res.Abandoned + res.Overflowed; d > 0 {
		res.ServiceLevel = float64(within) / float64(d)
		res.AbandonRate = float64(res.Abandoned) / float64(res.Calls)
	}
	if res.Answered > 0 {
		res.MeanWait = (sumWait / time.Duration(res.Answered)).Round(time.Second)
	}
	if res.Announced > 0 {
		res.JoinMAE = secs(joinErr / float64(res.Announced))
		res.BaselineMAE = secs(baseErr / float64(res.Announced))
	}
	if perN > 0 {
		res.PeriodicMAE = secs(perErr / float64(perN))
	}
	return res, nil
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)).Round(time.Second) }
