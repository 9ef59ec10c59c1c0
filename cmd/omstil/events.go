package main

import (
	"encoding/json"
	"sync"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// orgIndex says which organisation a queue, agent, number or call belongs
// to, so that every call-event row carries its organisation.
type orgIndex struct {
	mu      sync.Mutex
	queues  map[queue.QueueID]config.OrgID
	agents  map[queue.AgentID]config.OrgID
	numbers map[string]config.OrgID
	calls   map[string]config.OrgID // call ID → org, forgotten when the call ends
	def     config.OrgID
}

func newOrgIndex() *orgIndex {
	return &orgIndex{calls: map[string]config.OrgID{}}
}

// update takes the organisations from a freshly loaded runtime.
func (o *orgIndex) update(rt config.Runtime) {
	qs := map[queue.QueueID]config.OrgID{}
	for id, q := range rt.QueueInfo {
		qs[id] = q.OrgID
	}
	as := map[queue.AgentID]config.OrgID{}
	for id, a := range rt.AgentInfo {
		as[id] = a.OrgID
	}
	ns := map[string]config.OrgID{}
	for n, x := range rt.Numbers {
		ns[n] = x.OrgID
	}
	o.mu.Lock()
	o.queues, o.agents, o.numbers = qs, as, ns
	o.mu.Unlock()
}

// resolve fills ev.OrgID from what the event names.
func (o *orgIndex) resolve(ev *config.CallEvent, number string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	org, ok := o.calls[ev.CallID]
	if !ok && number != "" {
		org, ok = o.numbers[number]
	}
	if !ok && ev.Queue != "" {
		org, ok = o.queues[queue.QueueID(ev.Queue)]
	}
	if !ok && ev.Agent != "" {
		org, ok = o.agents[queue.AgentID(ev.Agent)]
	}
	if !ok {
		org = o.def
	}
	ev.OrgID = org
	if ev.CallID != "" {
		switch ev.Kind {
		case "call.ended", "call.hungup":
			delete(o.calls, ev.CallID)
		default:
			o.calls[ev.CallID] = org
		}
	}
}

func jsonDetail(out queue.Output) (string, error) {
	b, err := json.Marshal(out)
	return string(b), err
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
