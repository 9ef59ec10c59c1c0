package callflow

import (
	"reflect"
	"sort"
	"strings"
	"time"
)

// kindSpec is everything the package knows about one step kind. Each kind
// registers one (see register); validation, the interpreter, the reference
// walker and the kind list read the table instead of switching on kinds, so
// that a new kind is one file (its settings type, its kindSpec, its run and
// validation) and its test. A new kind's settings live in Step.Settings
// (see settings); the kinds that came first have a named field on Step.
type kindSpec struct {
	kind  Kind
	order int // place in lists and messages; the built-in kinds use 10, 20, …
	// label and help are what the admin UI shows.
	label, help Text
	// terminal: a call that gets here has left the flow (queue only comes
	// back through its overflow branches).
	terminal bool
	// settings, for a kind whose settings are held in Step.Settings, returns
	// a new, empty settings value (a pointer); set is then derived from it.
	// nil for the kinds with a named field on Step.
	settings func() any
	// set reports whether the step holds this kind's settings; settingsOptional
	// is true when a step of this kind may leave them out (hangup).
	set              func(*Step) bool
	settingsOptional bool
	// copy replaces the step's settings pointer by a pointer to a copy, so
	// that RenameRefs can change the copy. nil: the settings hold no refs.
	copy func(*Step)
	// refs are the settings' fields that name queues, announcements and
	// saved schedules.
	refs []refField
	// edges lists the step's branches (see Step.edges); nil: none.
	edges func(*Step) []edge
	// validate checks the settings (set) except the branches, which
	// validation checks from edges, and except refs' existence, which it
	// checks from refs.
	validate func(*validator, *Step)
	// run executes the step: the next step to enter at once, or the action
	// the call waits on (see Run.step). The settings are set.
	run func(*Run, time.Time, *Step) (StepID, Action)

	settingsType reflect.Type // of settings(); set by register
}

var kinds = map[Kind]*kindSpec{}

// register adds a kind to the table; each kind's file calls it from init.
func register(k *kindSpec) {
	if _, dup := kinds[k.kind]; dup {
		panic("callflow: step kind registered twice: " + string(k.kind))
	}
	if k.settings != nil {
		if k.set != nil {
			panic("callflow: step kind " + string(k.kind) + " has both settings and set")
		}
		t := reflect.TypeOf(k.settings())
		k.set = func(s *Step) bool { return s.Settings != nil && reflect.TypeOf(s.Settings) == t }
		k.settingsType = t
	}
	kinds[k.kind] = k
}

// kindList returns the registered kinds in order.
func kindList() []*kindSpec {
	out := make([]*kindSpec, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// Text is a text in Danish and English.
type Text struct {
	Da string `json:"da"`
	En string `json:"en"`
}

// KindInfo describes a step kind for the admin UI and the API.
type KindInfo struct {
	Kind     Kind `json:"kind"`
	Label    Text `json:"label"`
	Help     Text `json:"help"`
	Terminal bool `json:"terminal"` // the flow ends there (queue: unless it overflows)
}

// Kinds lists the step kinds a flow may use, in a stable order.
func Kinds() []KindInfo {
	var out []KindInfo
	for _, k := range kindList() {
		out = append(out, KindInfo{Kind: k.kind, Label: k.label, Help: k.help, Terminal: k.terminal})
	}
	return out
}

// KindNames lists the step kinds' names, in the order of Kinds.
func KindNames() []string {
	var out []string
	for _, k := range kindList() {
		out = append(out, string(k.kind))
	}
	return out
}

// kindNames is "a, b or c" of the registered kinds, for messages.
func kindNames() string {
	ks := kindList()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k.kind)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// terminal reports whether a step of this kind ends the flow.
func (k Kind) terminal() bool {
	spec, ok := kinds[k]
	return ok && spec.terminal
}

// refFields lists the reference fields of every kind whose settings the
// step holds (normally only its own kind's).
func (s *Step) refFields() []refField {
	var out []refField
	for _, k := range kindList() {
		if len(k.refs) > 0 && k.set(s) {
			out = append(out, k.refs...)
		}
	}
	return out
}

// copySettings gives the step its own copy of every settings struct that
// holds references.
func (s *Step) copySettings() {
	for _, k := range kindList() {
		if k.copy != nil && k.set(s) {
			k.copy(s)
		}
	}
}

// edges lists a step's branches in a stable order. Unset optional branches
// are included with an empty target so that validation can name them.
func (s *Step) edges() []edge {
	if k, ok := kinds[s.Kind]; ok && k.edges != nil && k.set(s) {
		return k.edges(s)
	}
	return nil
}
