package config

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// IDs of the call-handling configuration. They are database IDs, unique
// per installation.
type (
	ScheduleID     int64
	AnnouncementID int64
	QueueID        int64 // not queue.QueueID: see EngineQueueID
	AgentID        int64 // not queue.AgentID: see EngineAgentID
	MembershipID   int64
	FlowID         int64
	NumberID       int64
)

// ParseID parses a positive database ID from a URL path; field names it in
// the error.
func ParseID(field, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, Invalid(field, "%q is not an ID", s)
	}
	return n, nil
}

// nameRE is the shape of names that flows and the engine refer to: queues,
// schedules, announcements, flows. Lower case so that "Borgerservice" and
// "borgerservice" cannot both exist.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func validName(field, n string) error {
	if !nameRE.MatchString(n) {
		return Invalid(field, "%q: must be 1-64 characters: lower-case letters, digits and . _ -, starting with a letter or digit", n)
	}
	return nil
}

// validText is the check of every name and text shown to people
// (display names, agents', users' and organisations' names, token
// names, descriptions, pause reasons): at most max bytes, one line, and
// no invisible characters (see hiddenChar).
func validText(field, s string, max int) error {
	if len(s) > max {
		return Invalid(field, "must be at most %d characters", max)
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return Invalid(field, "must be one line of text")
	}
	if r, ok := hiddenChar(s); ok {
		return Invalid(field, "contains the invisible character U+%04X (a direction override or a zero-width character); type the name again", r)
	}
	return nil
}

// hiddenChar finds a character that makes text display as something it
// is not: the bidirectional embeddings, overrides and isolates (U+202A-
// U+202E, U+2066-U+2069) and the zero-width characters (U+200B-U+200D,
// U+2060, U+FEFF).
func hiddenChar(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069,
			r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF:
			return r, true
		}
	}
	return 0, false
}

// InUseError refuses to delete (or rename) an object that others refer to.
// errors.Is(err, ErrInUse) holds.
type InUseError struct {
	What string   // e.g. "queue 'borgerservice'"
	By   []string // e.g. "flow 'hovednummer'"
}

func (e *InUseError) Error() string {
	return e.What + " is used by " + strings.Join(e.By, ", ")
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// ConflictError says which unique value is taken. errors.Is(err,
// ErrConflict) holds.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// userError reports whether err is meant for the user (a refusal of the
// input) rather than a failure of the store.
func userError(err error) bool {
	var (
		ve  *ValidationError
		iu  *InUseError
		ce  *ConflictError
		cve *callflow.ValidationError
	)
	return errors.As(err, &ve) || errors.As(err, &iu) || errors.As(err, &ce) || errors.As(err, &cve)
}

// wrapErr wraps a storage error; errors meant for the user pass unchanged.
func wrapErr(op, kind string, id any, err error) error {
	if err == nil {
		return nil
	}
	if userError(err) {
		return err
	}
	if id == nil {
		return fmt.Errorf("config: %s %s: %w", op, kind, mapErr(err))
	}
	return fmt.Errorf("config: %s %s %v: %w", op, kind, id, mapErr(err))
}

// --- change notification ---

// hookList holds a store's OnChange callbacks.
type hookList struct {
	mu  sync.Mutex
	fns []func()
}

// OnChange registers fn to run after every committed change of the call
// handling's configuration (numbers, flows, schedules, queues, agents,
// memberships, announcements, settings). fn runs on the goroutine that made
// the change, after the commit; it must return quickly (signal a channel,
// then reload with LoadRuntime elsewhere).
func (s *Store) OnChange(fn func()) {
	s.hooks.mu.Lock()
	s.hooks.fns = append(s.hooks.fns, fn)
	s.hooks.mu.Unlock()
}

func (s *Store) notifyChange() {
	s.hooks.mu.Lock()
	fns := append([]func(){}, s.hooks.fns...)
	s.hooks.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// change runs fn in one transaction holding the organisation's
// configuration lock, and tells the OnChange callbacks once it committed.
// The lock makes "check the references, then write" atomic: on PostgreSQL
// a row lock on the organisation (SQLite's IMMEDIATE transactions already
// serialise writers).
func (s *Store) change(ctx context.Context, org OrgID, fn func(tx *gorm.DB) error) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if s.dialect == "postgres" {
			var id int64
			if err := tx.Raw("SELECT id FROM organisations WHERE id = ? FOR UPDATE", org).Scan(&id).Error; err != nil {
				return err
			}
			if id == 0 {
				return ErrNotFound
			}
		}
		return fn(tx)
	})
	if err == nil {
		s.notifyChange()
	}
	return err
}

// --- references between objects ---

// flowUses lists the names a flow refers to.
type flowUses struct {
	queues, announcements, schedules map[string]bool
}

func usesOf(f *callflow.Flow) flowUses {
	u := flowUses{map[string]bool{}, map[string]bool{}, map[string]bool{}}
	for _, r := range f.Refs() {
		switch r.Kind {
		case callflow.RefQueue:
			u.queues[r.Name] = true
		case callflow.RefAnnouncement:
			u.announcements[r.Name] = true
		case callflow.RefSchedule:
			u.schedules[r.Name] = true
		}
	}
	return u
}

// usersOf names the flows (and, for announcements, queues) of org that
// refer to the named object of kind "queue", "announcement" or "schedule".
func usersOf(tx *gorm.DB, org OrgID, kind, name string) ([]string, error) {
	var flows []Flow
	if err := tx.Where("org_id = ?", org).Order("name").Find(&flows).Error; err != nil {
		return nil, err
	}
	var by []string
	for _, f := range flows {
		u := usesOf(&f.Definition)
		var hit bool
		switch kind {
		case "queue":
			hit = u.queues[name]
		case "announcement":
			hit = u.announcements[name]
		case "schedule":
			hit = u.schedules[name]
		}
		if hit {
			by = append(by, fmt.Sprintf("flow '%s'", f.Name))
		}
	}
	if kind == "announcement" {
		var qs []Queue
		if err := tx.Where("org_id = ?", org).Order("name").Find(&qs).Error; err != nil {
			return nil, err
		}
		for _, q := range qs {
			for _, ca := range q.CustomAnnouncements {
				if ca.Announcement == name {
					by = append(by, fmt.Sprintf("queue '%s'", q.Name))
					break
				}
			}
		}
	}
	return by, nil
}

func inUse(tx *gorm.DB, org OrgID, kind, name string) error {
	by, err := usersOf(tx, org, kind, name)
	if err != nil {
		return err
	}
	if len(by) > 0 {
		return &InUseError{What: fmt.Sprintf("%s '%s'", kind, name), By: by}
	}
	return nil
}

// refs are the queues, announcements and schedules of one organisation as
// one transaction sees them: what a flow is validated against.
type refs struct {
	queues        map[callflow.QueueRef]bool
	announcements map[callflow.AnnouncementRef]bool
	schedules     callflow.Schedules
	dial          callflow.DialPolicy
}

func (r refs) QueueExists(q callflow.QueueRef) bool { return r.queues[q] }
func (r refs) AnnouncementExists(a callflow.AnnouncementRef) bool {
	return r.announcements[a]
}
func (r refs) Schedule(s callflow.ScheduleRef) (*callflow.Schedule, bool) {
	return r.schedules.Schedule(s)
}
func (r refs) DialPolicy() (callflow.DialPolicy, bool) { return r.dial, true }

func loadRefs(tx *gorm.DB, org OrgID) (refs, error) {
	r := refs{queues: map[callflow.QueueRef]bool{}, announcements: map[callflow.AnnouncementRef]bool{}, schedules: callflow.Schedules{}}
	dial, err := orgPolicy(tx, org)
	if err != nil {
		return r, err
	}
	r.dial = dial
	var names []string
	if err := tx.Model(&Queue{}).Where("org_id = ?", org).Pluck("name", &names).Error; err != nil {
		return r, err
	}
	for _, n := range names {
		r.queues[callflow.QueueRef(n)] = true
	}
	names = nil
	if err := tx.Model(&Announcement{}).Where("org_id = ?", org).Pluck("name", &names).Error; err != nil {
		return r, err
	}
	for _, n := range names {
		r.announcements[callflow.AnnouncementRef(n)] = true
	}
	var ss []Schedule
	if err := tx.Where("org_id = ?", org).Find(&ss).Error; err != nil {
		return r, err
	}
	for _, s := range ss {
		sc := s.Definition
		r.schedules[callflow.ScheduleRef(s.Name)] = &sc
	}
	return r, nil
}

// Refs returns what exists in an organisation now, for validating a flow
// without saving it (the flow editor's live check).
func (s *Store) Refs(ctx context.Context, org OrgID) (callflow.Refs, error) {
	r, err := loadRefs(s.db.WithContext(ctx), org)
	if err != nil {
		return nil, fmt.Errorf("config: load references: %w", err)
	}
	return r, nil
}

// GetOrg loads an organisation by ID.
func (s *Store) GetOrg(ctx context.Context, id OrgID) (Organisation, error) {
	var o Organisation
	err := s.db.WithContext(ctx).Where("id = ?", id).First(&o).Error
	return o, wrapErr("load", "organisation", id, err)
}
