// Package ari is omstil's call handling: the Stasis application that
// connects Asterisk to the queue engine and the call flows.
//
// One loop goroutine (Adapter.Run) owns every call's state, the queue engine
// and the call-flow runs. ARI events come in through ariclient's ordered
// event stream; REST calls go out on per-call ordered workers so the loop
// never waits for Asterisk, and their results come back as loop inputs.
// See docs/call-handling.md for the event → action table, the channel
// variables omstil stores on a call, and what happens on a restart.
//
// Reading map: api.go is the whole public API (New, Run, Reload, the
// agent and browser call-control methods), each a thin hop onto the loop;
// adapter.go the public types and Options; loop.go the Adapter, the loop,
// its timers and configuration (reload, setAgentState); events.go ARI
// events and the call flow; commands.go the engine's commands (offer,
// connect, callbacks) and the agent's call control (hold, transfers);
// consult.go the consultations type (attended transfers); resync.go the
// resyncer, which adopts what Asterisk holds after a (re)connect, phase by
// phase; stores.go saved callbacks and agent states; page.go browser pages
// gone; dialing.go and organisation.go what an organisation may dial and
// see; workers.go the per-call REST workers.
package ari

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// DeviceKind is how an agent is reached.
type DeviceKind string

// Device kinds.
const (
	// DeviceWebRTC is the browser softphone, reached through Options.WebRTC.
	DeviceWebRTC DeviceKind = "webrtc"
	// DeviceEndpoint is any Asterisk dial string (PJSIP/1001,
	// PJSIP/+4512345678@trunk, Local/101@omstil-test-agents).
	DeviceEndpoint DeviceKind = "endpoint"
)

// Device is an agent's phone.
type Device struct {
	Kind DeviceKind
	// Dial is the dial string of an endpoint device.
	Dial string
	// DeviceState is the Asterisk device whose state marks the agent busy
	// outside omstil (e.g. "PJSIP/1001"); empty: derived from Dial for
	// PJSIP/<name> dial strings without "@", none otherwise.
	DeviceState string
}

// NumberConfig routes one inbound number.
type NumberConfig struct {
	Flow *callflow.Flow
	Org  string // the municipality; selects the schedules
}

// QueueMedia is what a queue's callers hear and may press.
type QueueMedia struct {
	// Name is shown to agents as the caller-ID name of an offered call.
	Name string
	// Ringing plays a ringing tone instead of music on hold.
	Ringing bool
	// MOHClass is the music-on-hold class ("" = Asterisk's default).
	MOHClass string
	// CallbackKey is the DTMF key that asks for a callback while waiting
	// (only when the queue has callbacks enabled); default "*".
	CallbackKey string
}

// RuntimeConfig is everything the adapter needs from the configuration
// store. The composition root converts the store's data into it and calls
// Reload whenever it changes. It is plain data; Reload copies what it keeps.
type RuntimeConfig struct {
	// OrgDialing is what each organisation (keyed as NumberConfig.Org)
	// may dial: callbacks and transfers to numbers or dial strings of a
	// call use its organisation's entry, and an organisation without one
	// may dial nothing.
	OrgDialing map[string]OrgDialing
	// Numbers maps an inbound number to its flow. Keys may be in any
	// spelling callflow.CanonicalNumber accepts; the adapter compares the
	// canonical forms of the keys and of the number the dialplan passes
	// as Stasis argument. Two keys that are one number are refused.
	Numbers map[string]NumberConfig
	// Schedules resolves saved schedules per org.
	Schedules map[string]callflow.ScheduleLookup
	Queues    []queue.QueueConfig
	// QueueMedia per queue; a queue without an entry gets music on hold of
	// the default class.
	QueueMedia map[queue.QueueID]QueueMedia
	Agents     []queue.AgentConfig
	Devices    map[queue.AgentID]Device
	// Announcements maps an announcement to the ARI media URIs played in
	// order, e.g. ["sound:http://omstil:8080/media/velkommen.wav"].
	Announcements map[callflow.AnnouncementRef][]string
	// PauseReasons an agent may give (empty: any).
	PauseReasons []string
	// AgentNames are the agents' display names, shown to a colleague
	// whose page rings for an attended transfer (missing: the agent ID).
	AgentNames map[queue.AgentID]string
	// QueueOrgs and AgentOrgs name the organisation (municipality) of
	// every queue and agent, in the form of NumberConfig.Org. A call is
	// queued, transferred and consulted only within the organisation of
	// the number it came in on, and an agent logs in only to queues of
	// its own: a queue or agent of another organisation, or one without
	// an entry here, is refused as if it did not exist.
	QueueOrgs map[queue.QueueID]string
	AgentOrgs map[queue.AgentID]string
}

// CallEventKind names a call-level event of the adapter.
type CallEventKind string

// Call event kinds (engine events are passed as queue.Output).
const (
	CallArrived       CallEventKind = "arrived"        // a citizen's call entered the app
	CallUnknownNumber CallEventKind = "unknown-number" // no flow for the number
	CallStep          CallEventKind = "step"           // a flow step was taken (Detail explains)
	CallFlowError     CallEventKind = "flow-error"     // the flow is broken; the call was hung up
	CallBridged       CallEventKind = "bridged"        // caller and agent are in one bridge
	CallTransferred   CallEventKind = "transferred"    // handed to a number or dial string
	CallHungUp        CallEventKind = "hungup"         // the citizen's channel is gone
	CallLost          CallEventKind = "lost"           // Asterisk lost the call (it shut down or restarted); the citizen did not hang up
	CallAdopted       CallEventKind = "adopted"        // taken over after a (re)connect
	CallConsult       CallEventKind = "consult"        // an attended transfer dials its target (Detail: agent, queue, number)
	CallConsultUp     CallEventKind = "consult-up"     // the consulted party answered and talks with the agent
	CallConsultEnded  CallEventKind = "consult-ended"  // the consultation ended without a transfer (Detail: a ConsultEnd reason)
)

// Why a consultation ended without a transfer: the Detail of
// CallConsultEnded, the Reason of a ConsultUpdate and of the consulted
// browser colleague's Ended.
const (
	ConsultCancelled    = "cancelled"     // the agent cancelled it
	ConsultTargetGone   = "target-gone"   // the dialled target hung up, was busy or could not be dialled
	ConsultDeclined     = "declined"      // the browser colleague declined
	ConsultTimeout      = "timeout"       // the browser colleague did not answer within the consult ring time
	ConsultTargetHangup = "target-hangup" // the browser colleague hung up
	ConsultUnavailable  = "unavailable"   // the colleague's page could not be rung
	ConsultCallerHangup = "caller-hangup" // the citizen hung up
	ConsultAgentHangup  = "agent-hangup"  // the agent hung up before the target answered
	ConsultRestart      = "restart"       // omstil restarted during it (see docs/call-handling.md)
)

// CallEvent is a flow step or call lifecycle event for the call-event log.
type CallEvent struct {
	At       time.Time
	Call     queue.CallID
	Kind     CallEventKind
	Number   string // the dialled number
	Caller   string // the caller's number: personal data, never log it
	Step     callflow.StepID
	StepKind callflow.Kind
	Queue    queue.QueueID
	Agent    queue.AgentID
	Detail   string
}

// EventSink receives everything that goes into the call-event log: every
// output of the queue engine and every flow step and call event, in order.
// It is called on the adapter's loop goroutine and must not block (buffer
// and write asynchronously).
type EventSink interface {
	EngineOutput(out queue.Output)
	CallEvent(ev CallEvent)
}

// RingInfo is what an agent's page shows for an offered call.
type RingInfo struct {
	Call    queue.CallID
	Queue   queue.QueueID
	Name    string // the queue's display name
	Caller  string // the caller's number ("" when withheld)
	Waited  time.Duration
	Timeout time.Duration
	// From is set when a colleague consults this agent for an attended
	// transfer of the call (FromName: the colleague's display name); the
	// page shows it as a transfer, not as a call from the queue.
	From     queue.AgentID
	FromName string
}

// Consult states in a ConsultUpdate.
const (
	// ConsultRinging: the target is being rung (to the consulting agent).
	ConsultRinging = "ringing"
	// ConsultUp: the target answered and talks with the agent.
	ConsultUp = "up"
	// ConsultEnded: the consultation ended without a transfer (Reason).
	ConsultEnded = "ended"
	// ConsultTakenOver: to the consulted colleague: the transfer was
	// completed and the call is theirs now (hold, transfer, hang-up).
	ConsultTakenOver = "taken-over"
)

// ConsultUpdate tells a browser agent's page how an attended transfer
// goes.
type ConsultUpdate struct {
	Call   queue.CallID
	State  string // ConsultRinging, ConsultUp, ConsultEnded, ConsultTakenOver
	Reason string // for ConsultEnded
	// With is the other party's name: the consulted colleague or number
	// for the consulting agent; the consulting agent for the colleague.
	With string
}

// WebRTC is the browser softphone bridge as the adapter needs it. The
// composition root implements it over softphone.Manager. All methods are
// called from adapter workers, never from the loop, and may block briefly.
type WebRTC interface {
	// Ring tells the agent's page that call is offered.
	Ring(agent queue.AgentID, r RingInfo) error
	// Attach opens the agent's RTP relay for call and returns the host:port
	// Asterisk's externalMedia channel sends to.
	Attach(agent queue.AgentID, call queue.CallID) (relayAddr string, err error)
	// Connected gives the relay Asterisk's RTP address
	// (UNICASTRTP_LOCAL_ADDRESS:PORT) and tells the page audio flows.
	Connected(agent queue.AgentID, call queue.CallID, asteriskAddr string) error
	// Ended tells the page the offer or call is over (reason e.g.
	// "caller-hangup", "timeout", "taken-elsewhere", "agent-hangup") and
	// detaches the relay if one is attached.
	Ended(agent queue.AgentID, call queue.CallID, reason string)
	// Consult tells the page about an attended transfer of a call: the
	// consulting agent hears how the consultation goes, the consulted
	// colleague that the call was handed over (ConsultTakenOver). A
	// colleague is rung with Ring (RingInfo.From set), gets Attach and
	// Connected on answer and Ended when the consultation ends.
	Consult(agent queue.AgentID, u ConsultUpdate)
	// Reattach, after a restart, opens the agent's relay for call on
	// exactly relayAddr, where the conversation's externalMedia channel
	// (made by the previous omstil process) still sends; Connected
	// follows with Asterisk's RTP address.
	Reattach(agent queue.AgentID, call queue.CallID, relayAddr string) error
}

// Reasons of a Refusal: a word each, for the agent page to say in the
// agent's language.
const (
	RefusedBusy        = "busy"          // the colleague is on a call, ringing or consulted
	RefusedNotReady    = "not-ready"     // the colleague is paused or logged out
	RefusedUnreachable = "unreachable"   // the colleague has no device omstil can ring
	RefusedSelf        = "self"          // an agent cannot transfer to itself
	RefusedUnknown     = "unknown-queue" // no such queue
	RefusedNoAgent     = "unknown-agent" // no such colleague (errors.Is ErrUnknownAgent too)
	RefusedNoFreeAgent = "no-free-agent" // nobody in the queue can take it now
	RefusedConsulting  = "consulting"    // a consultation is going on: complete or cancel it first
	RefusedNotAnswered = "not-answered"  // the consulted party has not answered yet
	RefusedNoRoute     = "no-route"      // numbers cannot be dialled (no trunk configured)
	RefusedAnswered    = "answered"      // already answered: hang up instead
	RefusedState       = "state"         // the engine does not allow it now
)

// Refusal is a refused request: Reason is one of the Refused* words,
// Detail says it in English with the names involved. errors.Is(r,
// ErrRefused) holds.
type Refusal struct{ Reason, Detail string }

func (r *Refusal) Error() string { return "ari: request refused: " + r.Detail }
func (r *Refusal) Is(target error) bool {
	return target == ErrRefused || target == ErrUnknownAgent && r.Reason == RefusedNoAgent
}

func refuse(reason, format string, args ...any) error {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Options configure an Adapter.
type Options struct {
	Client *ariclient.Client
	// App is the Stasis application (default "omstil").
	App    string
	Logger *slog.Logger
	// Clock is the time source of the engine, flows and timers (default
	// the system clock).
	Clock queue.Clock
	// Events receives the call-event log (may be nil).
	Events EventSink
	// WebRTC reaches agents with DeviceWebRTC (may be nil: such agents are
	// then unavailable).
	WebRTC WebRTC
	// CallbackEndpoint is the installation-wide dial string template for
	// callbacks and transfers to numbers; {number} is replaced, e.g.
	// "PJSIP/{number}@trunk". Used only for organisations whose
	// OrgDialing.Policy has InstallationTrunk and no Trunk of their own.
	CallbackEndpoint string
	// CallerID shown to citizens on callbacks and transfers, e.g.
	// `"Borgerservice" <70101010>`, for organisations whose OrgDialing has
	// InstallationTrunk and no caller ID of their own.
	CallerID string
	// TransferContext, when set, makes transfers continue in this dialplan
	// context with the destination as extension; otherwise omstil
	// originates the destination and bridges it.
	TransferContext string
	// NotInService is played to a call for a number without a flow before
	// it is hung up (default "sound:ss-noservice").
	NotInService []string
	// CallbackConfirm is played after a callback request was accepted,
	// before the caller is released (default "sound:auth-thankyou").
	CallbackConfirm []string
	// Location decides when "today" ends for queue statistics.
	Location *time.Location
	// RESTTimeout bounds each REST call (default: the client's timeout).
	RESTTimeout time.Duration
	// Callbacks keeps callback requests across restarts (may be nil: a
	// request whose caller was released is then lost on a restart).
	Callbacks CallbackStore
	// AgentStates keeps agents' ready/paused states across restarts (may
	// be nil: only agents in an adopted conversation are then logged in
	// after a restart).
	AgentStates AgentStateStore
	// PageGone is how long a browser agent's page may be gone (see
	// Adapter.PageOnline) before a ready agent is paused with reason
	// PageClosedReason (default 60 s; negative: never).
	PageGone time.Duration
	// ConsultRing bounds how long a consulted target rings (default 30 s).
	ConsultRing time.Duration
	// RingSlack is added to an offer's ring timeout for the originate
	// timeout, so that the engine (not Asterisk) ends unanswered offers
	// (default 5 s).
	RingSlack time.Duration
}

// Errors returned by the adapter's API.
var (
	// ErrStopped: Run is not running (not started yet or returned).
	ErrStopped = errors.New("ari: adapter not running")
	// ErrUnknownAgent: no agent with that ID is configured.
	ErrUnknownAgent = errors.New("ari: unknown agent")
	// ErrBadReason: the pause reason is not in the list.
	ErrBadReason = errors.New("ari: pause reason not allowed")
	// ErrRefused: the request was refused; errors.As gives a *Refusal
	// with the reason.
	ErrRefused = errors.New("ari: request refused")
	// ErrNoSuchCall: the agent has no such call.
	ErrNoSuchCall = errors.New("ari: no such call for this agent")
)

// LiveCall is one call in progress, for the live-calls view.
type LiveCall struct {
	Call     queue.CallID
	Number   string // the dialled number
	Caller   string // the caller's number, raw: mask it where needed
	Step     callflow.StepID
	State    string // "flow", "waiting", "ringing", "connected", "callback", "transfer", "ending"
	Queue    queue.QueueID
	Position int // 1-based place in the queue, 0 when not waiting
	Waited   time.Duration
	Agent    queue.AgentID
	Since    time.Time // when the call entered omstil (or was adopted)
}
