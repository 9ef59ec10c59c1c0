package queue

import "time"

// Output is what the engine produces: commands the adapter must carry out
// and events for the call-event log, live views and statistics. Every output
// carries the time it happened (a timer's own time when it came from one).
type Output interface {
	Time() time.Time
	isOutput()
}

// Command is an Output the adapter has to act on: Offer, CancelOffer,
// Connect, Announce, Overflow, DialCallback, Reject. Every other output is
// an event only.
type Command interface {
	Output
	isCommand()
}

// OverflowReason says why a call left its queue for the overflow
// destination chosen by the call flow.
type OverflowReason string

// Overflow reasons.
const (
	OverflowFull       OverflowReason = "full"       // MaxLen reached at join
	OverflowTimeout    OverflowReason = "timeout"    // MaxWait reached
	OverflowNoAgents   OverflowReason = "noagents"   // EmptyRefuse/EmptyLeave at join
	OverflowLeaveEmpty OverflowReason = "leaveempty" // last agent logged out (EmptyLeave)
	OverflowRemoved    OverflowReason = "removed"    // the queue was removed
)

// AnnounceKind is the kind of an announcement.
type AnnounceKind string

// Announcement kinds.
const (
	AnnounceJoin     AnnounceKind = "join"
	AnnouncePeriodic AnnounceKind = "periodic"
	AnnounceCustom   AnnounceKind = "custom"
)

// --- commands ---

// Offer rings Agent for Call. When Callback is set the call is a callback
// request: on answer the engine emits DialCallback.
type Offer struct {
	At       time.Time
	Call     CallID
	Agent    AgentID
	Queue    QueueID
	Timeout  time.Duration
	Callback bool
}

// CancelOffer stops ringing Agent for Call.
type CancelOffer struct {
	At     time.Time
	Call   CallID
	Agent  AgentID
	Reason FailReason
}

// Connect bridges the caller with the agent who answered.
type Connect struct {
	At    time.Time
	Call  CallID
	Agent AgentID
	Queue QueueID
}

// Announce tells the adapter to play an announcement to a waiting caller.
// Position 0 means "do not say the position"; EstimatedWait < 0 means "do
// not say the wait" (unknown, or not better). Prompt is set for custom
// announcements.
type Announce struct {
	At            time.Time
	Call          CallID
	Queue         QueueID
	Kind          AnnounceKind
	Position      int
	EstimatedWait time.Duration
	Prompt        string
}

// Overflow sends the caller to the queue's overflow destination.
type Overflow struct {
	At     time.Time
	Call   CallID
	Queue  QueueID
	Reason OverflowReason
}

// DialCallback tells the adapter to dial the citizen for a callback request
// and bridge them with Agent (who has answered). Report the outcome with
// CallbackResult.
type DialCallback struct {
	At      time.Time
	Call    CallID
	Queue   QueueID
	Agent   AgentID
	Number  string
	Attempt int
}

// Reject refuses a CallArrived that cannot be queued (unknown queue,
// duplicate call id). The call never joined.
type Reject struct {
	At     time.Time
	Call   CallID
	Queue  QueueID
	Reason string
}

// --- events ---

// CallJoined: a call entered a queue at Position.
type CallJoined struct {
	At            time.Time
	Call          CallID
	Queue         QueueID
	Priority      int
	JoinedAt      time.Time
	Position      int
	EstimatedWait time.Duration // < 0: unknown
}

// Offered: Agent rings for Call.
type Offered struct {
	At       time.Time
	Call     CallID
	Agent    AgentID
	Queue    QueueID
	Tier     int
	Callback bool
}

// OfferEnded: an offer ended without being answered.
type OfferEnded struct {
	At     time.Time
	Call   CallID
	Agent  AgentID
	Reason FailReason
}

// Answered: Agent took Call after it waited Waited. A final outcome.
type Answered struct {
	At     time.Time
	Call   CallID
	Agent  AgentID
	Queue  QueueID
	Waited time.Duration
}

// CallCompleted: the conversation ended after Talked.
type CallCompleted struct {
	At     time.Time
	Call   CallID
	Agent  AgentID
	Queue  QueueID
	Talked time.Duration
}

// Abandoned: the caller hung up while waiting. A final outcome.
type Abandoned struct {
	At       time.Time
	Call     CallID
	Queue    QueueID
	Waited   time.Duration
	Position int
}

// CallLost: the waiting call ended because Asterisk lost it (it shut down
// or restarted), not because the caller hung up. A final outcome; it does
// not count as an abandon.
type CallLost struct {
	At       time.Time
	Call     CallID
	Queue    QueueID
	Waited   time.Duration
	Position int
}

// Overflowed: the call left its queue for the overflow destination. A final
// outcome.
type Overflowed struct {
	At     time.Time
	Call   CallID
	Queue  QueueID
	Reason OverflowReason
	Waited time.Duration
}

// PriorityChanged: a waiting call's priority changed.
type PriorityChanged struct {
	At       time.Time
	Call     CallID
	Queue    QueueID
	From, To int
}

// CallbackQueued: a callback request was accepted and keeps Position.
type CallbackQueued struct {
	At       time.Time
	Call     CallID
	Queue    QueueID
	Position int
}

// CallbackAttempted: the citizen is being dialled for Agent.
type CallbackAttempted struct {
	At      time.Time
	Call    CallID
	Queue   QueueID
	Agent   AgentID
	Attempt int
}

// CallbackConnected: the citizen answered the callback. A final outcome.
type CallbackConnected struct {
	At     time.Time
	Call   CallID
	Queue  QueueID
	Agent  AgentID
	Waited time.Duration // since the original JoinedAt
}

// CallbackFailed: an attempt failed. With Final set the engine gives up; a
// final outcome.
type CallbackFailed struct {
	At      time.Time
	Call    CallID
	Queue   QueueID
	Attempt int
	Final   bool
	Reason  string
}

// AgentStateChanged: an agent's state or pause reason changed.
type AgentStateChanged struct {
	At       time.Time
	Agent    AgentID
	From, To State
	Reason   string
	Call     CallID // the call involved, if any
}

// Ignored: an input that did not apply (unknown id, stale offer, invalid
// reason). Normal for races between the adapter and the engine.
type Ignored struct {
	At     time.Time
	Input  Input
	Reason string
}

func (o Offer) Time() time.Time             { return o.At }
func (o CancelOffer) Time() time.Time       { return o.At }
func (o Connect) Time() time.Time           { return o.At }
func (o Announce) Time() time.Time          { return o.At }
func (o Overflow) Time() time.Time          { return o.At }
func (o DialCallback) Time() time.Time      { return o.At }
func (o Reject) Time() time.Time            { return o.At }
func (o CallJoined) Time() time.Time        { return o.At }
func (o Offered) Time() time.Time           { return o.At }
func (o OfferEnded) Time() time.Time        { return o.At }
func (o Answered) Time() time.Time          { return o.At }
func (o CallCompleted) Time() time.Time     { return o.At }
func (o Abandoned) Time() time.Time         { return o.At }
func (o CallLost) Time() time.Time          { return o.At }
func (o Overflowed) Time() time.Time        { return o.At }
func (o PriorityChanged) Time() time.Time   { return o.At }
func (o CallbackQueued) Time() time.Time    { return o.At }
func (o CallbackAttempted) Time() time.Time { return o.At }
func (o CallbackConnected) Time() time.Time { return o.At }
func (o CallbackFailed) Time() time.Time    { return o.At }
func (o AgentStateChanged) Time() time.Time { return o.At }
func (o Ignored) Time() time.Time           { return o.At }

func (Offer) isOutput()             {}
func (CancelOffer) isOutput()       {}
func (Connect) isOutput()           {}
func (Announce) isOutput()          {}
func (Overflow) isOutput()          {}
func (DialCallback) isOutput()      {}
func (Reject) isOutput()            {}
func (CallJoined) isOutput()        {}
func (Offered) isOutput()           {}
func (OfferEnded) isOutput()        {}
func (Answered) isOutput()          {}
func (CallCompleted) isOutput()     {}
func (Abandoned) isOutput()         {}
func (CallLost) isOutput()          {}
func (Overflowed) isOutput()        {}
func (PriorityChanged) isOutput()   {}
func (CallbackQueued) isOutput()    {}
func (CallbackAttempted) isOutput() {}
func (CallbackConnected) isOutput() {}
func (CallbackFailed) isOutput()    {}
func (AgentStateChanged) isOutput() {}
func (Ignored) isOutput()           {}

func (Offer) isCommand()        {}
func (CancelOffer) isCommand()  {}
func (Connect) isCommand()      {}
func (Announce) isCommand()     {}
func (Overflow) isCommand()     {}
func (DialCallback) isCommand() {}
func (Reject) isCommand()       {}
