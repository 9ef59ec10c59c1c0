package telephony

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// OrgIndex says which organisation a queue, agent, number or call belongs
// to, so that every call-event row carries its organisation.
type OrgIndex struct {
	mu      sync.Mutex
	queues  map[queue.QueueID]config.OrgID
	agents  map[queue.AgentID]config.OrgID
	numbers map[string]config.OrgID
	calls   map[string]config.OrgID // call ID → org, forgotten when the call ends
	def     config.OrgID
}

// NewOrgIndex returns an index whose fallback organisation is def.
func NewOrgIndex(def config.OrgID) *OrgIndex {
	return &OrgIndex{def: def, calls: map[string]config.OrgID{}}
}

// Update takes the organisations from a freshly loaded runtime.
func (o *OrgIndex) Update(rt config.Runtime) {
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
func (o *OrgIndex) resolve(ev *config.CallEvent, number string) {
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
		case "call.ended", "call.hungup", "call.lost":
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

// engineEvent maps an engine output to a call-event row. Every event the
// engine emits names its call, its agent or both, and the row carries
// them: the log is read by call and by agent, and a row with neither is
// refused by the store (issue 14: OfferEnded rows had none).
func engineEvent(out queue.Output) (config.CallEvent, bool) {
	ev := config.CallEvent{Kind: strings.TrimPrefix(fmt.Sprintf("%T", out), "queue."), At: out.Time()}
	var (
		call  queue.CallID
		agent queue.AgentID
		q     queue.QueueID
	)
	switch o := out.(type) {
	case queue.Command:
		return ev, false // commands are carried out, not logged
	case queue.CallJoined:
		call, q = o.Call, o.Queue
	case queue.Offered:
		call, q, agent = o.Call, o.Queue, o.Agent
	case queue.OfferEnded:
		call, agent = o.Call, o.Agent
	case queue.Answered:
		call, q, agent, ev.WaitMS = o.Call, o.Queue, o.Agent, o.Waited.Milliseconds()
	case queue.Abandoned:
		call, q, ev.WaitMS = o.Call, o.Queue, o.Waited.Milliseconds()
	case queue.CallLost:
		call, q, ev.WaitMS = o.Call, o.Queue, o.Waited.Milliseconds()
	case queue.Overflowed:
		call, q, ev.WaitMS = o.Call, o.Queue, o.Waited.Milliseconds()
	case queue.CallCompleted:
		call, q, agent = o.Call, o.Queue, o.Agent
	case queue.PriorityChanged:
		call, q = o.Call, o.Queue
	case queue.CallbackQueued:
		call, q = o.Call, o.Queue
	case queue.CallbackAttempted:
		call, q, agent = o.Call, o.Queue, o.Agent
	case queue.CallbackConnected:
		call, q, agent, ev.WaitMS = o.Call, o.Queue, o.Agent, o.Waited.Milliseconds()
	case queue.CallbackFailed:
		call, q = o.Call, o.Queue
	case queue.AgentStateChanged:
		agent = o.Agent
	case queue.Ignored:
		call, agent, q = inputIDs(o.Input)
	}
	ev.CallID, ev.Agent, ev.Queue = string(call), string(agent), string(q)
	return ev, true
}

// inputIDs names the call, agent and queue an engine input is about.
func inputIDs(in queue.Input) (queue.CallID, queue.AgentID, queue.QueueID) {
	switch i := in.(type) {
	case queue.CallArrived:
		return i.Call, "", i.Queue
	case queue.CallHungUp:
		return i.Call, "", ""
	case queue.CallPriorityChanged:
		return i.Call, "", ""
	case queue.CallbackRequested:
		return i.Call, "", ""
	case queue.CallEnded:
		return i.Call, "", ""
	case queue.CallbackResult:
		return i.Call, "", ""
	case queue.OfferAnswered:
		return i.Call, i.Agent, ""
	case queue.OfferFailed:
		return i.Call, i.Agent, ""
	case queue.AgentLogin:
		return "", i.Agent, ""
	case queue.AgentLogout:
		return "", i.Agent, ""
	case queue.AgentReady:
		return "", i.Agent, ""
	case queue.AgentPause:
		return "", i.Agent, ""
	case queue.AgentDeviceBusy:
		return "", i.Agent, ""
	case queue.AgentDeviceFree:
		return "", i.Agent, ""
	case queue.AdoptConnected:
		return i.Call, i.Agent, i.Queue
	}
	return "", "", ""
}

// Engine logs one output of the queue engine (commands are not logged).
func (w *EventWriter) Engine(out queue.Output) {
	ev, ok := engineEvent(out)
	if !ok {
		return
	}
	if b, err := jsonDetail(out); err == nil {
		ev.Data = b
	}
	w.orgs.resolve(&ev, "")
	w.add(ev)
}

// Call logs one call event of the adapter.
func (w *EventWriter) Call(ev ari.CallEvent) {
	row := config.CallEvent{At: ev.At, CallID: string(ev.Call), Kind: "call." + string(ev.Kind), Queue: string(ev.Queue),
		Agent: string(ev.Agent), Caller: ev.Caller, Data: mustJSON(map[string]string{"number": ev.Number, "step": string(ev.Step), "step_kind": string(ev.StepKind), "detail": ev.Detail})}
	w.orgs.resolve(&row, ev.Number)
	w.add(row)
}
