package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// LiveSource is the call engine as the wallboard sees it: a snapshot on
// demand and a signal after every change.
type LiveSource interface {
	// Snapshot returns the engine's current state.
	Snapshot(ctx context.Context) (queue.Snapshot, error)
	// Subscribe returns a channel that receives a value after changes
	// (several changes may be folded into one value); it is closed once
	// ctx is done.
	Subscribe(ctx context.Context) <-chan struct{}
}

// LiveFeed is a LiveSource over a queue.Runner: pass the runner's Snapshot
// method and call Notify from the runner's output sink.
//
//	var feed *server.LiveFeed
//	r := queue.NewRunner(eng, clock, func(out []queue.Output) { …; feed.Notify() })
//	feed = server.NewLiveFeed(r.Snapshot)
type LiveFeed struct {
	snap func(context.Context) (queue.Snapshot, error)
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// NewLiveFeed returns a feed whose snapshots come from snap.
func NewLiveFeed(snap func(context.Context) (queue.Snapshot, error)) *LiveFeed {
	return &LiveFeed{snap: snap, subs: map[chan struct{}]struct{}{}}
}

// Snapshot implements LiveSource.
func (f *LiveFeed) Snapshot(ctx context.Context) (queue.Snapshot, error) { return f.snap(ctx) }

// Notify tells every subscriber that something changed. It never blocks:
// a subscriber that has not taken the last signal gets no second one.
func (f *LiveFeed) Notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe implements LiveSource.
func (f *LiveFeed) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

// liveSnapshot is the JSON of one wallboard update (GET /api/v1/live).
type liveSnapshot struct {
	At     time.Time   `json:"at"`
	Queues []liveQueue `json:"queues"`
	Agents []liveAgent `json:"agents"`
}

type liveQueue struct {
	ID                string         `json:"id"`
	Waiting           int            `json:"waiting"`   // callers on the line
	Callbacks         int            `json:"callbacks"` // callback requests holding a place
	LongestWaitMS     int64          `json:"longest_wait_ms"`
	EstimatedWaitMS   int64          `json:"estimated_wait_ms"` // < 0: nobody serves the queue
	Agents            map[string]int `json:"agents"`            // state → members in it
	AnsweredToday     int            `json:"answered_today"`
	AbandonedToday    int            `json:"abandoned_today"`
	OverflowedToday   int            `json:"overflowed_today"`
	ServiceLevelToday float64        `json:"service_level_today"`
}

type liveAgent struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	Since        time.Time `json:"since"`
	Queue        string    `json:"queue,omitempty"` // queue of the call ringing or in progress
	Queues       []string  `json:"queues"`
	CallsToday   int       `json:"calls_today"`
	PendingPause string    `json:"pending_pause,omitempty"`
}

func liveJSON(s queue.Snapshot) liveSnapshot {
	out := liveSnapshot{At: s.At, Queues: make([]liveQueue, 0, len(s.Queues)), Agents: make([]liveAgent, 0, len(s.Agents))}
	for _, q := range s.Queues {
		lq := liveQueue{
			ID: string(q.ID), LongestWaitMS: q.LongestWait.Milliseconds(), EstimatedWaitMS: q.EstimatedWait.Milliseconds(),
			Agents: map[string]int{
				queue.LoggedOut.String(): q.Agents.LoggedOut, queue.Ready.String(): q.Agents.Ready,
				queue.Paused.String(): q.Agents.Paused, queue.Ringing.String(): q.Agents.Ringing,
				queue.OnCall.String(): q.Agents.OnCall, queue.WrapUp.String(): q.Agents.WrapUp,
			},
			AnsweredToday: q.AnsweredToday, AbandonedToday: q.AbandonedToday, OverflowedToday: q.OverflowedToday,
			ServiceLevelToday: q.ServiceLevelToday,
		}
		if q.EstimatedWait < 0 {
			lq.EstimatedWaitMS = -1
		}
		for _, w := range q.Waiting {
			if w.Callback {
				lq.Callbacks++
			} else {
				lq.Waiting++
			}
		}
		out.Queues = append(out.Queues, lq)
	}
	for _, a := range s.Agents {
		la := liveAgent{ID: string(a.ID), State: a.State.String(), Reason: a.Reason, Since: a.Since,
			Queue: string(a.Queue), Queues: make([]string, len(a.Queues)), CallsToday: a.CallsToday, PendingPause: a.PendingPause}
		for i, q := range a.Queues {
			la.Queues[i] = string(q)
		}
		out.Agents = append(out.Agents, la)
	}
	return out
}

// liveHeartbeat keeps proxies from closing an idle stream.
const liveHeartbeat = 20 * time.Second

// liveMinInterval spaces a stream's snapshots: at hundreds of engine
// events a second a wallboard would otherwise copy and encode the whole
// engine state for each. Changes in between fold into the next snapshot,
// which still comes well within the 500 ms a wallboard promises.
const liveMinInterval = 200 * time.Millisecond

// liveFeed streams wallboard snapshots as server-sent events: one at
// once, then one after every change the source signals.
func (s *Server) liveFeed(c *gin.Context) {
	src := s.opts.LiveSource
	if src == nil {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "live data is not available: call handling is not running", ""})
		return
	}
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	// One engine serves every organisation: a supervisor sees only their
	// own organisation's queues and agents.
	visible, ok := s.liveScope(c)
	if !ok {
		return
	}
	// The stream ends once the login it was opened with no longer holds.
	lc, ok := s.conns.track(s, c, config.RoleSupervisor)
	if !ok {
		return
	}
	defer s.conns.release(lc)
	changed := src.Subscribe(ctx)
	snap, err := src.Snapshot(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(snap queue.Snapshot) bool {
		b, err := json.Marshal(liveJSON(visible.filter(snap)))
		if err != nil {
			s.log.Error("live: encode", "err", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "event: snapshot\ndata: %s\n\n", b); err != nil {
			return false
		}
		w.Flush()
		return true
	}
	if !send(snap) {
		return
	}
	sent := time.Now()
	beat := time.NewTicker(liveHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lc.ended.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
			if wait := liveMinInterval - time.Since(sent); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			snap, err := src.Snapshot(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("live: snapshot", "err", err)
				}
				return
			}
			if !send(snap) {
				return
			}
			sent = time.Now()
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			w.Flush()
		}
	}
}

// liveScopeFilter keeps the queues and agents of one organisation.
type liveScopeFilter struct {
	prefix string                 // "<org slug>/" of the engine's queue IDs
	agents map[queue.AgentID]bool // the organisation's agents
}

func (f liveScopeFilter) filter(snap queue.Snapshot) queue.Snapshot {
	out := queue.Snapshot{At: snap.At}
	for _, q := range snap.Queues {
		if strings.HasPrefix(string(q.ID), f.prefix) {
			out.Queues = append(out.Queues, q)
		}
	}
	for _, a := range snap.Agents {
		if f.agents[a.ID] {
			out.Agents = append(out.Agents, a)
		}
	}
	return out
}

// liveScope finds what the caller's organisation may see of the engine.
func (s *Server) liveScope(c *gin.Context) (liveScopeFilter, bool) {
	cc, ok := s.callConfig(c)
	if !ok {
		return liveScopeFilter{}, false
	}
	slug, ok := s.orgSlug(c, cc)
	if !ok {
		return liveScopeFilter{}, false
	}
	as, err := cc.ListAgents(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return liveScopeFilter{}, false
	}
	f := liveScopeFilter{prefix: slug + "/", agents: make(map[queue.AgentID]bool, len(as))}
	for _, a := range as {
		f.agents[config.EngineAgentID(a.ID)] = true
	}
	return f, true
}
