package queue

import "time"

// Input is one event fed to Engine.Handle. The set is closed: only the types
// in this file implement it.
type Input interface{ isInput() }

// CallArrived puts a call in a queue.
type CallArrived struct {
	Call     CallID
	Queue    QueueID
	Priority int    // higher is served first; default 0
	Caller   string // the caller's number; kept only for callbacks, never emitted
	// Skills this call needs on top of the queue's (e.g. a language chosen
	// in the menu).
	Skills []SkillReq
	// JoinedAt is when the caller first joined. Zero means now. After a
	// restart the adapter re-adds waiting callers with their original time
	// and they take their old place.
	JoinedAt time.Time
}

// CallHungUp reports that the caller hung up: while waiting or ringing this
// is an abandon; during a conversation it ends the call like CallEnded.
// With Lost set the citizen did not hang up: Asterisk lost the call (it
// shut down or restarted), and a waiting call ends in CallLost instead of
// Abandoned.
type CallHungUp struct {
	Call CallID
	Lost bool
}

// CallPriorityChanged changes a waiting call's priority.
type CallPriorityChanged struct {
	Call     CallID
	Priority int
}

// CallbackRequested turns a waiting call into a callback request that keeps
// its place. The engine answers with CallbackQueued (accepted: the adapter
// may release the caller) or Ignored (refused: the caller keeps waiting).
type CallbackRequested struct {
	Call   CallID
	Number string
}

// CallEnded reports that the conversation between caller and agent is over;
// the agent goes to wrap-up.
type CallEnded struct{ Call CallID }

// CallbackResult reports the outcome of a DialCallback.
type CallbackResult struct {
	Call     CallID
	Answered bool
}

// OfferAnswered reports that the agent picked up an Offer.
type OfferAnswered struct {
	Call  CallID
	Agent AgentID
}

// FailReason says why an offer was not taken.
type FailReason string

// Reasons an offer can end without an answer. The first four come from the
// adapter in OfferFailed; the others are the engine's own.
const (
	FailNoAnswer    FailReason = "noanswer"
	FailBusy        FailReason = "busy"
	FailUnavailable FailReason = "unavailable"
	FailDeclined    FailReason = "declined"

	EndTimeout      FailReason = "timeout" // ring timeout reached
	EndAnsweredElse FailReason = "answered-elsewhere"
	EndCallerGone   FailReason = "caller-hungup" // or overflowed
	EndAgentLogout  FailReason = "agent-logout"
	EndAgentPause   FailReason = "agent-paused"
	EndCallback     FailReason = "callback"     // caller chose callback
	EndReconfigured FailReason = "reconfigured" // membership or queue removed
)

// OfferFailed reports that an offer ended without the agent answering.
type OfferFailed struct {
	Call   CallID
	Agent  AgentID
	Reason FailReason
}

// AgentLogin logs an agent in to Queues (nil: every queue it is a member of,
// also ones added later). Logging in again changes the queue set and keeps
// the state. With PauseReason set the agent starts paused.
type AgentLogin struct {
	Agent       AgentID
	Queues      []QueueID
	PauseReason string
}

// AgentLogout logs an agent out; during a call it takes effect when the call
// ends, while ringing the offer is withdrawn.
type AgentLogout struct{ Agent AgentID }

// AgentReady makes a paused agent ready, ends wrap-up early, or cancels a
// pause requested during a call.
type AgentReady struct{ Agent AgentID }

// AgentPause pauses an agent with a reason (from Options.PauseReasons when
// that list is set). During a call the pause starts after wrap-up; while
// ringing the offer is withdrawn.
type AgentPause struct {
	Agent  AgentID
	Reason string
}

// AgentDeviceBusy reports that the agent's endpoint is in use outside omstil.
type AgentDeviceBusy struct{ Agent AgentID }

// AgentDeviceFree reports that the agent's endpoint is free again.
type AgentDeviceFree struct{ Agent AgentID }

// AdoptConnected re-establishes, after a restart, a conversation that was in
// progress: Agent is on Call since Since. An agent that is logged out is
// logged in to all its queues.
type AdoptConnected struct {
	Call  CallID
	Queue QueueID
	Agent AgentID
	Since time.Time
}

func (CallArrived) isInput()         {}
func (CallHungUp) isInput()          {}
func (CallPriorityChanged) isInput() {}
func (CallbackRequested) isInput()   {}
func (CallEnded) isInput()           {}
func (CallbackResult) isInput()      {}
func (OfferAnswered) isInput()       {}
func (OfferFailed) isInput()         {}
func (AgentLogin) isInput()          {}
func (AgentLogout) isInput()         {}
func (AgentReady) isInput()          {}
func (AgentPause) isInput()          {}
func (AgentDeviceBusy) isInput()     {}
func (AgentDeviceFree) isInput()     {}
func (AdoptConnected) isInput()      {}
