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

// Step is one node of a flow. Exactly the field that matches Kind is set:
// one of the named fields for the kinds listed above, or Settings for a
// kind that registers its settings type itself (see kindSpec.settings), in
// JSON under the kind's name like the others ({"kind":"priority",
// "priority":{...}}).
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

	// Settings holds the settings of a kind that brings its own settings
	// type (e.g. *PriorityStep); nil otherwise. Its JSON key is that
	// kind's name.
	Settings any `json:"-"`
}

// edge is one outgoing branch of a step.
type edge struct {
	field  string
	to     StepID
	needed bool // required branch
}
