// Package callflow decides where a citizen's call goes: an inbound number's
// call flow is a small graph of steps (schedule, menu, announcement, caller
// rules, queue, transfer, hangup). The package holds the model (JSON with
// stable field names, see docs/callflows.md), opening-hours schedules with
// Danish public holidays, validation of a flow before it is saved, and the
// interpreter that the ARI adapter drives for live calls and that Simulate
// drives for the routing dry-run.
//
// The package is pure: no I/O, no goroutines, no clock. Time is passed in and
// is interpreted as Danish local time (Europe/Copenhagen).
package callflow

// StepID names a step; it is unique within one flow.
type StepID string

// QueueRef names a queue configured elsewhere (the queue engine / store).
type QueueRef string

// AnnouncementRef names an uploaded announcement (audio prompt).
type AnnouncementRef string

// ScheduleRef names a saved, reusable schedule ("opening hours" page).
type ScheduleRef string

// Kind is the type of a step.
type Kind string

// The step kinds. Queue, transfer and hangup are terminal: a call that gets
// there has left the flow (queue only comes back through its overflow
// branches).
const (
	KindSchedule     Kind = "schedule"
	KindMenu         Kind = "menu"
	KindAnnouncement Kind = "announcement"
	KindCaller       Kind = "caller"
	KindQueue        Kind = "queue"
	KindTransfer     Kind = "transfer"
	KindHangup       Kind = "hangup"
)

// Flow is one call flow: a start step and the steps, each naming the next.
type Flow struct {
	Name  string `json:"name"`
	Start StepID `json:"start"`
	Steps []Step `json:"steps"`
}

// Step is one node of a flow. Exactly the field that matches Kind is set.
type Step struct {
	ID   StepID `json:"id"`
	Kind Kind   `json:"kind"`

	Schedule     *ScheduleStep     `json:"schedule,omitempty"`
	Menu         *MenuStep         `json:"menu,omitempty"`
	Announcement *AnnouncementStep `json:"announcement,omitempty"`
	Caller       *CallerStep       `json:"caller,omitempty"`
	Queue        *QueueStep        `json:"queue,omitempty"`
	Transfer     *TransferStep     `json:"transfer,omitempty"`
	Hangup       *HangupStep       `json:"hangup,omitempty"`
	Priority     *PriorityStep     `json:"priority,omitempty"`
}

// ScheduleStep branches on opening hours. Exactly one of Schedule (a saved
// schedule) and Inline is set. Holiday is optional: when set, it is taken
// instead of Closed on days closed all day by a public holiday or a closing
// day (including a special day without hours).
type ScheduleStep struct {
	Schedule ScheduleRef `json:"schedule,omitempty"`
	Inline   *Schedule   `json:"inline,omitempty"`
	Open     StepID      `json:"open"`
	Closed   StepID      `json:"closed"`
	Holiday  StepID      `json:"holiday,omitempty"`
}

// Menu defaults.
const (
	DefaultMenuTimeoutSeconds = 5
	DefaultMenuAttempts       = 3
)

// MenuStep plays an announcement and waits for one DTMF key.
//
// A key in Options goes to that step. An invalid key or no key within the
// timeout is a failed attempt: after Attempts failed attempts the call goes
// to Exhausted (hangup when unset); before that, to Invalid / NoInput when
// set, otherwise the menu is played again. Failed attempts are counted per
// menu for the whole call and reset by a valid choice.
type MenuStep struct {
	Announcement   AnnouncementRef   `json:"announcement"`
	Options        map[string]StepID `json:"options"`
	TimeoutSeconds int               `json:"timeoutSeconds,omitempty"` // 0: DefaultMenuTimeoutSeconds
	Attempts       int               `json:"attempts,omitempty"`       // 0: DefaultMenuAttempts
	Invalid        StepID            `json:"invalid,omitempty"`
	NoInput        StepID            `json:"noInput,omitempty"`
	Exhausted      StepID            `json:"exhausted,omitempty"`
}

func (m *MenuStep) timeoutSeconds() int {
	if m.TimeoutSeconds <= 0 {
		return DefaultMenuTimeoutSeconds
	}
	return m.TimeoutSeconds
}

func (m *MenuStep) attempts() int {
	if m.Attempts <= 0 {
		return DefaultMenuAttempts
	}
	return m.Attempts
}

// AnnouncementStep plays an announcement, then goes to Next.
type AnnouncementStep struct {
	Announcement AnnouncementRef `json:"announcement"`
	Next         StepID          `json:"next"`
}

// CallerStep branches on the caller's number: the first matching rule wins,
// Default when none matches.
type CallerStep struct {
	Rules   []CallerRule `json:"rules"`
	Default StepID       `json:"default"`
}

// Match is how a caller rule compares the caller's number.
type Match string

// Caller rule matches.
const (
	// MatchPrefix: the number starts with one of Numbers. A prefix written
	// internationally (+45…, 0045…) is compared with the full number; one
	// written without it with the national number (the 8 digits of a +45
	// number).
	MatchPrefix Match = "prefix"
	// MatchExact: the number is one of Numbers (+45 optional for 8-digit
	// Danish numbers).
	MatchExact Match = "exact"
	// MatchAnonymous: no caller number (withheld, "anonymous", "unknown").
	MatchAnonymous Match = "anonymous"
	// MatchInternal: an internal extension: digits only, no international
	// prefix, at most MaxLength digits.
	MatchInternal Match = "internal"
)

// CallerRule is one rule of a caller step.
type CallerRule struct {
	Match     Match    `json:"match"`
	Numbers   []string `json:"numbers,omitempty"`   // prefix, exact
	MaxLength int      `json:"maxLength,omitempty"` // internal: 1..7
	Next      StepID   `json:"next"`
}

// QueueStep puts the call in a queue. The overflow branches are optional;
// when the queue reports an outcome whose branch is unset, the call is hung
// up (cause "busy" for Full and NoAgents, "normal" for Timeout).
type QueueStep struct {
	Queue    QueueRef `json:"queue"`
	Priority int      `json:"priority,omitempty"` // passed to the queue engine, >= 0
	Full     StepID   `json:"full,omitempty"`
	Timeout  StepID   `json:"timeout,omitempty"`
	NoAgents StepID   `json:"noAgents,omitempty"`
}

// TransferStep hands the call to an external number (+4512345678,
// 12345678) or an Asterisk dial string (PJSIP/1001,
// PJSIP/+4512345678@trunk). The flow ends there.
type TransferStep struct {
	Destination string `json:"destination"`
}

// HangupStep ends the call. Cause is an ARI hangup reason: normal (default),
// busy, congestion, rejected or unallocated.
type HangupStep struct {
	Cause string `json:"cause,omitempty"`
}

// hangupCauses are the causes a hangup step may name (a subset of ARI's
// DELETE /channels/{id}?reason= values).
var hangupCauses = map[string]bool{
	"normal": true, "busy": true, "congestion": true, "rejected": true, "unallocated": true,
}

// edge is one outgoing branch of a step.
type edge struct {
	field  string
	to     StepID
	needed bool // required branch
}
