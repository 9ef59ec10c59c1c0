package callflow

// RefKind is what a flow's reference names: a queue, an announcement or a
// saved schedule, all configured outside the flow.
type RefKind string

// Reference kinds.
const (
	RefQueue        RefKind = "queue"
	RefAnnouncement RefKind = "announcement"
	RefSchedule     RefKind = "schedule"
)

// Ref is one name a step holds of something configured outside the flow.
type Ref struct {
	Step  StepID
	Field string // e.g. "queue.queue", "menu.announcement"
	Kind  RefKind
	Name  string // "" when the step leaves it unset
}

// refField is one reference-holding field of a step: where it is and how to
// read and write it. A step kind lists its fields in its kindSpec; this is
// the only place that knows which step fields name queues, announcements
// and schedules.
type refField struct {
	field string
	kind  RefKind
	// ptr returns the field in the step's settings (nil when the settings
	// are missing). Empty names are included (validation reports them).
	ptr func(*Step) *string
}

// stepRefs returns the references the step holds, in its kind's order.
// Only the settings of the step's own kind are read; a step with settings
// of another kind is refused by validation and never run.
func (s *Step) refs() []Ref {
	var out []Ref
	for _, rf := range s.refFields() {
		if p := rf.ptr(s); p != nil {
			out = append(out, Ref{Step: s.ID, Field: rf.field, Kind: rf.kind, Name: *p})
		}
	}
	return out
}

// Refs returns every queue, announcement and saved-schedule name the flow's
// steps hold, in flow order, skipping unset ones. It is the one walker of a
// flow's references: the store uses it to tell which flows use an object,
// the runtime to rewrite names, validation to check they exist.
func (f *Flow) Refs() []Ref {
	var out []Ref
	for i := range f.Steps {
		for _, r := range f.Steps[i].refs() {
			if r.Name != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// RenameRefs returns a copy of the flow whose set references are replaced
// by rename(kind, name). The flow itself is not changed (runs may share it):
// the steps and the settings holding a reference are copied.
func (f *Flow) RenameRefs(rename func(kind RefKind, name string) string) *Flow {
	out := *f
	out.Steps = make([]Step, len(f.Steps))
	for i, st := range f.Steps {
		st.copySettings()
		for _, rf := range st.refFields() {
			if p := rf.ptr(&st); p != nil && *p != "" {
				*p = rename(rf.kind, *p)
			}
		}
		out.Steps[i] = st
	}
	return &out
}
