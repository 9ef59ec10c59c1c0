package softphone

import (
	"context"
	"errors"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/omstil/omstil/queue"
)

// AgentID identifies a logged-in member of staff (the authenticated user,
// never a value taken from the page's messages). It is the engine's agent
// ID (config.EngineAgentID), so it is the same type.
type AgentID = queue.AgentID

// CallID identifies a call offered to an agent: the engine's call ID,
// which the adapter chooses (the citizen's ARI channel ID); the page echoes
// it back. It is the same type as queue.CallID.
type CallID = queue.CallID

// MessageConn is one agent page's signalling connection, carrying one JSON
// document per message. The server package implements it over a WebSocket
// (text messages). ReadMessage must return when ctx is done; the bridge
// calls ReadMessage from one goroutine and WriteMessage from another, never
// each concurrently with itself.
type MessageConn interface {
	ReadMessage(ctx context.Context) ([]byte, error)
	WriteMessage(ctx context.Context, data []byte) error
}

// CallControl is implemented by the call-handling adapter. The bridge calls
// it for the page's call-control messages, always with the agent of the
// page's authenticated session; the adapter must check that call really is
// offered to or connected with that agent. An error of type *ControlError is
// shown to the page as it is; any other error is logged and the page gets
// code "failed" with no detail.
type CallControl interface {
	// Answer: the agent picked up a ringing call. The adapter creates the
	// externalMedia channel with Session.AttachCall's address and bridges it.
	Answer(ctx context.Context, agent AgentID, call CallID) error
	// Decline: the agent rejected a ringing call.
	Decline(ctx context.Context, agent AgentID, call CallID) error
	// Hangup ends a connected call.
	Hangup(ctx context.Context, agent AgentID, call CallID) error
	// Hold puts the citizen on hold (music) or takes them off it.
	Hold(ctx context.Context, agent AgentID, call CallID, on bool) error
	// Transfer moves the call; see Transfer for the variants.
	Transfer(ctx context.Context, agent AgentID, call CallID, t Transfer) error
	// SendDTMF plays digits (0-9, *, #, A-D) towards the citizen's side.
	SendDTMF(ctx context.Context, agent AgentID, call CallID, digits string) error
	// SetState: StateReady, StatePaused (with the chosen reason) or
	// StateLoggedOut.
	SetState(ctx context.Context, agent AgentID, state AgentState, reason string) error
	// PageOnline tells whether the agent has a signalling connection: true
	// when a page connects, false when the last one goes away (not when it
	// is replaced by another tab). A call in progress is not ended by the
	// bridge when the page goes; the adapter decides how long to wait for a
	// reload.
	PageOnline(agent AgentID, online bool)
}

// AgentState is an agent's availability as the page asks for it, in
// omstil's one text form of agent states (queue.State's String; softphone
// does not import the engine).
type AgentState string

// The states a page may ask for.
const (
	StateReady     AgentState = "ready"
	StatePaused    AgentState = "paused"
	StateLoggedOut AgentState = "logged_out"
)

// Transfer describes a transfer request.
// ModeRequeue is the Transfer mode the bridge itself uses when an agent's
// login ends during a call: the citizen goes back to the queue the call
// came from, at the place it had, instead of being cut off. A page cannot
// ask for it.
const ModeRequeue = "requeue"

type Transfer struct {
	// Kind of target: "queue", "agent" or "number". Empty for complete and
	// cancel.
	Kind string `json:"kind,omitempty"`
	// To is the queue ID, agent ID or phone number.
	To string `json:"to,omitempty"`
	// Mode: "blind" (default): hand the call over now; "attended": call the
	// target first and talk (the citizen is held); "complete": connect the
	// citizen with the attended target; "cancel": drop the attended target
	// and return to the citizen; "requeue" (ModeRequeue, never from a
	// page): the citizen goes back to the queue at its place.
	Mode string `json:"mode,omitempty"`
}

// ControlError is an error the adapter wants the page to see.
type ControlError struct {
	Code    string // machine-readable, e.g. "not-your-call"
	Message string // for the agent, in English
	// Reason, with Code "refused": why, as a word the page translates
	// (e.g. "busy", "not-ready"; see ari.Refused*).
	Reason string
}

func (e *ControlError) Error() string { return "softphone: " + e.Code + ": " + e.Message }

// Errors.
var (
	// ErrReplaced ends Serve when another tab of the same agent connects.
	ErrReplaced = errors.New("softphone: replaced by another tab")
	// ErrLoggedOut ends Serve when the session is removed with Logout.
	ErrLoggedOut = errors.New("softphone: logged out")
	// ErrClosed is returned after Manager.Close.
	ErrClosed = errors.New("softphone: closed")
	// ErrNoPage is returned by Notify when the agent has no page connected;
	// the message is kept for the next page if it is a call or state
	// message (see Notify).
	ErrNoPage = errors.New("softphone: agent page not connected")
	// ErrCallActive is returned by AttachCall when another call is attached.
	ErrCallActive = errors.New("softphone: another call is attached")
	// ErrUnknownCall is returned for a call ID that is not attached.
	ErrUnknownCall = errors.New("softphone: call not attached")
	// ErrSlowPage ends Serve when the page does not read its messages.
	ErrSlowPage = errors.New("softphone: page does not keep up with its messages")
)

// Message is one signalling message, in either direction. Which fields are
// used depends on Type; docs/softphone.md lists them.
type Message struct {
	Type string `json:"type"`
	// ID is an optional request ID chosen by the page, echoed in the ack or
	// error that answers the request.
	ID string `json:"id,omitempty"`

	// Media.
	SDP        string                   `json:"sdp,omitempty"`
	Candidate  *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	ICEServers []ICEServer              `json:"iceServers,omitempty"`

	// Calls.
	Call     CallID    `json:"call,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	Caller   string    `json:"caller,omitempty"`
	Waited   int       `json:"waited,omitempty"` // seconds
	On       *bool     `json:"on,omitempty"`
	Digits   string    `json:"digits,omitempty"`
	Transfer *Transfer `json:"transfer,omitempty"`
	// From, on a ring: the colleague who consults this agent about the
	// call (an attended transfer), by name; empty for a citizen's call.
	From string `json:"from,omitempty"`
	// With, on a consult message: the other party of the consultation.
	With string `json:"with,omitempty"`

	// State, errors.
	State   string `json:"state,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Muted   bool   `json:"muted,omitempty"`
}

// RingMessage tells the page a call is offered: queue name, the citizen's
// number as it may be shown ("" for a withheld number), and how long they
// have waited.
func RingMessage(call CallID, queue, caller string, waited time.Duration) Message {
	return Message{Type: "ring", Call: call, Queue: queue, Caller: caller, Waited: int(waited / time.Second)}
}

// ConsultRingMessage rings the page of a colleague whom another agent
// (from, by name) consults about call before handing it over: the queue,
// the citizen's number as it may be shown ("" when withheld).
func ConsultRingMessage(call CallID, queue, caller, from string) Message {
	return Message{Type: "ring", Call: call, Queue: queue, Caller: caller, From: from}
}

// Consult message states.
const (
	ConsultRinging   = "ringing"    // to the consulting agent: the target rings
	ConsultUp        = "up"         // to the consulting agent: the target answered
	ConsultEnded     = "ended"      // to the consulting agent: it ended without a transfer (reason)
	ConsultTakenOver = "taken-over" // to the consulted colleague: the call is yours now
)

// ConsultMessage tells the page how an attended transfer of call goes:
// state is one of the Consult* constants, reason why it ended, with the
// other party's name.
func ConsultMessage(call CallID, state, reason, with string) Message {
	return Message{Type: "consult", Call: call, State: state, Reason: reason, With: with}
}

// ConnectedMessage tells the page the call is connected (audio flows).
func ConnectedMessage(call CallID) Message { return Message{Type: "connected", Call: call} }

// EndedMessage tells the page the call is over; reason e.g. "caller-hangup",
// "agent-hangup", "transferred", "taken-elsewhere", "timeout".
func EndedMessage(call CallID, reason string) Message {
	return Message{Type: "ended", Call: call, Reason: reason}
}

// HoldMessage tells the page whether the call is on hold.
func HoldMessage(call CallID, on bool) Message {
	return Message{Type: "hold", Call: call, On: &on}
}

// StateMessage tells the page the agent's state (queue.State's text form:
// "ready", "paused", "wrap_up", "logged_out", …) and, for pause or
// wrap-up, a reason.
func StateMessage(state, reason string) Message {
	return Message{Type: "state", State: state, Reason: reason}
}

// Error codes sent to the page in error messages.
const (
	CodeBadMessage  = "bad-message" // not JSON, unknown type, missing or extra fields
	CodeNoPCMU      = "no-pcmu"     // the SDP offers no PCMU/8000 audio
	CodeNegotiation = "negotiation" // pion refused the SDP or candidate
	CodeBadState    = "bad-state"   // e.g. an SDP answer with no offer outstanding
	CodeNoCall      = "no-call"     // mute with no call attached
	CodeUnavailable = "unavailable" // no call control wired (yet)
	CodeFailed      = "failed"      // the adapter failed; details are in the log
	CodeReplaced    = "replaced"    // another tab took over
	CodeLoggedOut   = "logged-out"  // the session was ended by the server
	CodeShutdown    = "shutdown"    // omstil is stopping
	CodeSlow        = "slow"        // the page did not read its messages
)
