package callflow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Refs tells validation which queues, announcements and schedules exist.
// The store implements it, or uses StaticRefs.
type Refs interface {
	QueueExists(QueueRef) bool
	AnnouncementExists(AnnouncementRef) bool
	ScheduleLookup
	// DialPolicy is what the organisation may dial; transfer steps must
	// stay inside it. ok false: no policy is known (a dry run outside any
	// organisation), and only the destination's form is checked.
	DialPolicy() (p DialPolicy, ok bool)
}

// ScheduleLookup finds a saved schedule by name.
type ScheduleLookup interface {
	Schedule(ScheduleRef) (*Schedule, bool)
}

// Schedules is a ScheduleLookup over a map.
type Schedules map[ScheduleRef]*Schedule

// Schedule returns the named schedule.
func (m Schedules) Schedule(ref ScheduleRef) (*Schedule, bool) {
	s, ok := m[ref]
	return s, ok && s != nil
}

// StaticRefs is a Refs over sets.
type StaticRefs struct {
	Queues        map[QueueRef]bool
	Announcements map[AnnouncementRef]bool
	Schedules     Schedules
	// Dial, when not nil, is the organisation's dial policy.
	Dial *DialPolicy
}

// QueueExists reports whether the queue is in the set.
func (r StaticRefs) QueueExists(q QueueRef) bool { return r.Queues[q] }

// AnnouncementExists reports whether the announcement is in the set.
func (r StaticRefs) AnnouncementExists(a AnnouncementRef) bool { return r.Announcements[a] }

// Schedule returns the named schedule.
func (r StaticRefs) Schedule(s ScheduleRef) (*Schedule, bool) { return r.Schedules.Schedule(s) }

// DialPolicy returns Dial, if set.
func (r StaticRefs) DialPolicy() (DialPolicy, bool) {
	if r.Dial == nil {
		return DialPolicy{}, false
	}
	return *r.Dial, true
}

// Severity of a problem: errors refuse a flow, warnings are shown only.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Code classifies a problem for programs; Message is for people.
type Code string

// Problem codes.
const (
	CodeEmptyFlow           Code = "empty-flow"           // no steps
	CodeMissingStart        Code = "missing-start"        // start unset or not a step
	CodeBadID               Code = "bad-id"               // empty, too long or odd characters
	CodeDuplicateID         Code = "duplicate-id"         // two steps with one ID
	CodeBadKind             Code = "bad-kind"             // unknown kind, or its settings missing / others set
	CodeMissingBranch       Code = "missing-branch"       // a required next step is unset
	CodeDanglingBranch      Code = "dangling-branch"      // a branch names a step that does not exist
	CodeUnreachable         Code = "unreachable"          // no path from start (warning)
	CodeLoop                Code = "loop"                 // a cycle without a menu
	CodeDeadEnd             Code = "dead-end"             // no path to a queue, transfer or hangup
	CodeUnknownQueue        Code = "unknown-queue"        // queue does not exist
	CodeUnknownAnnouncement Code = "unknown-announcement" // announcement does not exist
	CodeUnknownSchedule     Code = "unknown-schedule"     // schedule does not exist
	CodeBadDigit            Code = "bad-digit"            // menu key not one of 0-9 * #
	CodeBadTime             Code = "bad-time"             // malformed time, from >= to, overlap
	CodeBadDate             Code = "bad-date"             // malformed or duplicate date
	CodeBadValue            Code = "bad-value"            // any other out-of-range setting
	CodeNotAllowed          Code = "not-allowed"          // a destination outside the organisation's dial policy
)

// Problem is one finding of validation, naming the step and field.
type Problem struct {
	Step     StepID   `json:"step,omitempty"`
	Field    string   `json:"field,omitempty"`
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Message  string   `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Step != "" {
		fmt.Fprintf(&b, "step '%s': ", p.Step)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists the errors that refuse a flow or schedule.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "callflow: invalid: " + strings.Join(parts, "; ")
}

// Validate returns a *ValidationError listing every error in the flow, or
// nil. Warnings (see Check) do not make a flow invalid.
func (f *Flow) Validate(refs Refs) error {
	return errorsOnly(f.Check(refs))
}

// Validate returns a *ValidationError listing every error in the schedule,
// or nil.
func (s *Schedule) Validate() error {
	var v validator
	v.schedule("", "", s)
	return errorsOnly(v.problems)
}

func errorsOnly(ps []Problem) error {
	var errs []Problem
	for _, p := range ps {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// Check returns every problem of the flow, errors and warnings, in a stable
// order: flow-level first, then per step in flow order, then graph problems.
func (f *Flow) Check(refs Refs) []Problem {
	v := validator{lookup: refs}
	v.flow(f)
	return v.problems
}

type validator struct {
	lookup   Refs
	problems []Problem
}

func (v *validator) add(step StepID, field string, sev Severity, code Code, format string, args ...any) {
	v.problems = append(v.problems, Problem{Step: step, Field: field, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) err(step StepID, field string, code Code, format string, args ...any) {
	v.add(step, field, SeverityError, code, format, args...)
}

const maxIDLen = 64

func (v *validator) flow(f *Flow) {
	if f == nil || len(f.Steps) == 0 {
		v.err("", "steps", CodeEmptyFlow, "the flow has no steps")
		return
	}
	index := make(map[StepID]int, len(f.Steps))
	for i := range f.Steps {
		s := &f.Steps[i]
		field := fieldIndex("steps", i) + ".id"
		switch {
		case !validID(s.ID):
			v.err(s.ID, field, CodeBadID, "step ID must be 1–%d printable characters without leading or trailing spaces", maxIDLen)
		case hasIndex(index, s.ID):
			v.err(s.ID, field, CodeDuplicateID, "step ID '%s' is used by more than one step", s.ID)
		default:
			index[s.ID] = i
		}
	}
	switch {
	case f.Start == "":
		v.err("", "start", CodeMissingStart, "no start step")
	case !hasIndex(index, f.Start):
		v.err("", "start", CodeMissingStart, "start step '%s' does not exist", f.Start)
	}
	for i := range f.Steps {
		v.step(&f.Steps[i], index)
	}
	if hasIndex(index, f.Start) {
		v.graph(f, index)
	}
}

func hasIndex(index map[StepID]int, id StepID) bool {
	_, ok := index[id]
	return ok
}

func validID(id StepID) bool {
	s := string(id)
	if s == "" || len(s) > maxIDLen || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// step checks one step's settings and branches (not the graph).
func (v *validator) step(s *Step, index map[StepID]int) {
	spec, known := kinds[s.Kind]
	if !known {
		v.err(s.ID, "kind", CodeBadKind, "unknown kind %q (want %s)", s.Kind, kindNames())
		return
	}
	for _, k := range kindList() {
		if k.set(s) && k.kind != s.Kind {
			v.err(s.ID, string(k.kind), CodeBadKind, "has %s settings, but the step's kind is %s", k.kind, s.Kind)
		}
	}
	if !spec.set(s) && !spec.settingsOptional {
		v.err(s.ID, string(s.Kind), CodeBadKind, "%s settings missing", s.Kind)
		return
	}
	before := len(v.problems)
	if spec.validate != nil {
		spec.validate(v, s)
	}
	if spec.set(s) {
		v.refs(s, spec, v.problems[before:])
	}
	for _, e := range s.edges() {
		switch {
		case e.to == "" && e.needed:
			v.err(s.ID, e.field, CodeMissingBranch, "no next step")
		case e.to != "" && !hasIndex(index, e.to):
			v.err(s.ID, e.field, CodeDanglingBranch, "next step '%s' does not exist", e.to)
		}
	}
}

func (v *validator) announcement(id StepID, field string, a AnnouncementRef) {
	if a == "" {
		v.err(id, field, CodeBadValue, "no announcement")
	}
}

// refs checks that the names the step's settings hold exist (Flow.Refs is
// the walker); an unset name or a field already refused is left to the
// kind's own validation.
func (v *validator) refs(s *Step, spec *kindSpec, already []Problem) {
	refused := map[string]bool{}
	for _, p := range already {
		refused[p.Field] = true
	}
	for _, rf := range spec.refs {
		name := *rf.ptr(s)
		if name == "" || refused[rf.field] {
			continue
		}
		var ok bool
		if v.lookup != nil {
			switch rf.kind {
			case RefQueue:
				ok = v.lookup.QueueExists(QueueRef(name))
			case RefAnnouncement:
				ok = v.lookup.AnnouncementExists(AnnouncementRef(name))
			case RefSchedule:
				_, ok = v.lookup.Schedule(ScheduleRef(name))
			}
		}
		if !ok {
			code := map[RefKind]Code{RefQueue: CodeUnknownQueue, RefAnnouncement: CodeUnknownAnnouncement, RefSchedule: CodeUnknownSchedule}[rf.kind]
			v.err(s.ID, rf.field, code, "%s '%s' does not exist", rf.kind, name)
		}
	}
}

var weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// schedule checks a schedule's times and dates; prefix is put before field
// names ("schedule.inline." in a step, "" on its own).
func (v *validator) schedule(id StepID, prefix string, s *Schedule) {
	w := &s.Weekly
	for i, day := range [][]Range{w.Monday, w.Tuesday, w.Wednesday, w.Thursday, w.Friday, w.Saturday, w.Sunday} {
		v.ranges(id, prefix+"weekly."+weekdays[i], day)
	}
	seen := map[string]string{}
	for i, c := range s.ClosingDays {
		field := prefix + fieldIndex("closingDays", i)
		v.daySpec(id, field, c.Date, c.Name, seen)
	}
	seen = map[string]string{}
	for i, sp := range s.SpecialDays {
		field := prefix + fieldIndex("specialDays", i)
		v.daySpec(id, field, sp.Date, sp.Name, seen)
		v.ranges(id, field+".hours", sp.Hours)
	}
}

func (v *validator) daySpec(id StepID, field, date, name string, seen map[string]string) {
	if !validDaySpec(date) {
		v.err(id, field+".date", CodeBadDate, "date %q: want YYYY-MM-DD, or MM-DD for every year", date)
		return
	}
	if strings.TrimSpace(name) == "" {
		v.err(id, field+".name", CodeBadValue, "no name for %s (it is what the dry-run and the admin UI show)", date)
	}
	if other, dup := seen[date]; dup {
		v.err(id, field+".date", CodeBadDate, "%s is listed twice (also %s)", date, other)
		return
	}
	seen[date] = field
}

func (v *validator) ranges(id StepID, field string, rs []Range) {
	type span struct{ from, to, i int }
	var ok []span
	for i, r := range rs {
		f := fieldIndex(field, i)
		from, to, err := r.minutes()
		if err != nil {
			v.err(id, f, CodeBadTime, "%v", err)
			continue
		}
		if from >= to {
			v.err(id, f, CodeBadTime, "%s–%s: the start must be before the end (split ranges at midnight)", r.From, r.To)
			continue
		}
		ok = append(ok, span{from, to, i})
	}
	sort.Slice(ok, func(a, b int) bool { return ok[a].from < ok[b].from })
	for k := 1; k < len(ok); k++ {
		if ok[k].from < ok[k-1].to {
			a, b := rs[ok[k-1].i], rs[ok[k].i]
			v.err(id, fieldIndex(field, ok[k].i), CodeBadTime, "%s–%s overlaps %s–%s", b.From, b.To, a.From, a.To)
		}
	}
}

// graph checks reachability, loops without a menu and dead ends.
func (v *validator) graph(f *Flow, index map[StepID]int) {
	n := len(f.Steps)
	succ := make([][]int, n)
	for i := range f.Steps {
		if _, ok := index[f.Steps[i].ID]; !ok || index[f.Steps[i].ID] != i {
			continue // a duplicate or bad ID: not part of the graph
		}
		for _, e := range f.Steps[i].edges() {
			if j, ok := index[e.to]; ok && e.to != "" {
				succ[i] = append(succ[i], j)
			}
		}
	}
	// Reachable from start.
	reach := make([]bool, n)
	stack := []int{index[f.Start]}
	reach[stack[0]] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range succ[i] {
			if !reach[j] {
				reach[j] = true
				stack = append(stack, j)
			}
		}
	}
	// Steps that can reach a terminal step (reverse search from terminals).
	pred := make([][]int, n)
	for i := range succ {
		for _, j := range succ[i] {
			pred[j] = append(pred[j], i)
		}
	}
	ends := make([]bool, n)
	stack = stack[:0]
	for i := range f.Steps {
		if index[f.Steps[i].ID] == i && f.Steps[i].Kind.terminal() {
			ends[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range pred[i] {
			if !ends[j] {
				ends[j] = true
				stack = append(stack, j)
			}
		}
	}
	// Loops: strongly connected components with a cycle and no menu.
	inLoop := make([]bool, n)
	for _, comp := range sccs(succ, reach) {
		cyclic := len(comp) > 1
		if len(comp) == 1 {
			for _, j := range succ[comp[0]] {
				cyclic = cyclic || j == comp[0]
			}
		}
		if !cyclic {
			continue
		}
		hasMenu := false
		for _, i := range comp {
			hasMenu = hasMenu || f.Steps[i].Kind == KindMenu
		}
		if hasMenu {
			continue
		}
		sort.Ints(comp)
		names := make([]string, len(comp))
		for k, i := range comp {
			names[k] = "'" + string(f.Steps[i].ID) + "'"
			inLoop[i] = true
		}
		v.err(f.Steps[comp[0]].ID, "", CodeLoop, "steps %s form a loop with no menu in it: the call would go round forever; put a menu in the loop or end it in a queue, transfer or hangup", strings.Join(names, ", "))
	}
	// Per step, in flow order: unreachable (warning) or dead end (error).
	// A step already refused for a missing or dangling branch is not also
	// reported as a dead end.
	hasErr := map[StepID]bool{}
	for _, p := range v.problems {
		switch p.Code {
		case CodeMissingBranch, CodeDanglingBranch, CodeBadKind:
			hasErr[p.Step] = p.Severity == SeverityError || hasErr[p.Step]
		}
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		if index[s.ID] != i {
			continue
		}
		switch {
		case !reach[i]:
			v.add(s.ID, "", SeverityWarning, CodeUnreachable, "no path from the start step leads here")
		case !ends[i] && !inLoop[i] && !hasErr[s.ID]:
			v.err(s.ID, "", CodeDeadEnd, "no path from here reaches a queue, transfer or hangup step: every branch loops back or stops")
		}
	}
}

// sccs returns the strongly connected components of the nodes marked in
// keep (Tarjan, iterative so that deep graphs cannot overflow the stack).
func sccs(succ [][]int, keep []bool) [][]int {
	n := len(succ)
	idx := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range idx {
		idx[i] = -1
	}
	var out [][]int
	var st []int
	next := 0
	type frame struct{ v, e int }
	for root := 0; root < n; root++ {
		if !keep[root] || idx[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		idx[root], low[root] = next, next
		next++
		st = append(st, root)
		on[root] = true
		for len(call) > 0 {
			fr := &call[len(call)-1]
			if fr.e < len(succ[fr.v]) {
				w := succ[fr.v][fr.e]
				fr.e++
				if !keep[w] {
					continue
				}
				if idx[w] < 0 {
					idx[w], low[w] = next, next
					next++
					st = append(st, w)
					on[w] = true
					call = append(call, frame{w, 0})
				} else if on[w] && idx[w] < low[fr.v] {
					low[fr.v] = idx[w]
				}
				continue
			}
			vtx := fr.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				if p := call[len(call)-1].v; low[vtx] < low[p] {
					low[p] = low[vtx]
				}
			}
			if low[vtx] == idx[vtx] {
				var comp []int
				for {
					w := st[len(st)-1]
					st = st[:len(st)-1]
					on[w] = false
					comp = append(comp, w)
					if w == vtx {
						break
					}
				}
				out = append(out, comp)
			}
		}
	}
	return out
}

func fieldIndex(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func sortedKeys(m map[string]StepID) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
