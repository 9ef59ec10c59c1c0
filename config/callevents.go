package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CallEvent is one row of the call-event log: everything that matters
// later about a call (entered, offered, answered, abandoned, ...). Reports
// and restart recovery read it. Caller is the citizen's number as given:
// personal data, never to be logged. The retention worker
// (internal/retention) replaces it by its pseudonym after the
// organisation's RetentionPseudonymiseDays (and sets Pseudonymised) and
// deletes the row after RetentionDeleteMonths; see gdpr.go.
type CallEvent struct {
	ID     int64
	OrgID  OrgID
	At     time.Time
	CallID string
	Kind   string
	Queue  string
	Agent  string
	Caller string
	WaitMS int64
	Data   string // JSON object with the kind's details, or ""
	// Pseudonymised: the retention worker has replaced the citizens'
	// numbers in Caller and Data by their pseudonyms.
	Pseudonymised bool
}

// ErrCallEventRefused: the database cannot take a call event for what it
// holds (a missing field, text that is not UTF-8, an organisation that
// does not exist). Sending it again cannot succeed; any other error of
// AppendCallEvents (the database did not answer) can.
var ErrCallEventRefused = errors.New("call event refused")

// refusal is a ValidationError that is also ErrCallEventRefused.
type refusal struct{ *ValidationError }

func (r refusal) Unwrap() []error { return []error{r.ValidationError, ErrCallEventRefused} }

// CheckCallEvent says whether the log can take e: it names an
// organisation, a kind, and a call or an agent, and its text is UTF-8
// without NUL bytes (PostgreSQL refuses both). The error names the field,
// never its value, so it may be logged.
func CheckCallEvent(e CallEvent) error {
	bad := func(field, msg string) error { return refusal{&ValidationError{Field: field, Message: msg}} }
	switch {
	case e.OrgID == 0:
		return bad("org_id", "needs an organisation")
	case e.Kind == "":
		return bad("kind", "needs a kind")
	case e.CallID == "" && e.Agent == "":
		return bad("call_id", "needs a call id or an agent")
	}
	for _, f := range []struct{ name, v string }{{"kind", e.Kind}, {"call_id", e.CallID}, {"queue", e.Queue},
		{"agent", e.Agent}, {"caller", e.Caller}, {"data", e.Data}} {
		if !utf8.ValidString(f.v) || strings.IndexByte(f.v, 0) >= 0 {
			return bad(f.name, "is not UTF-8 text without NUL bytes")
		}
	}
	return nil
}

// refusedByDatabase tells whether the database refused rows for what they
// hold (a constraint, a data exception) rather than failing to answer.
func refusedByDatabase(err error) bool {
	if errors.Is(err, gorm.ErrForeignKeyViolated) || errors.Is(err, gorm.ErrCheckConstraintViolated) ||
		errors.Is(err, gorm.ErrDuplicatedKey) || errors.Is(err, gorm.ErrInvalidData) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		class := pg.SQLState()[:min(2, len(pg.SQLState()))]
		return class == "22" || class == "23" // data exception, integrity constraint violation
	}
	return false
}

// AppendCallEvents adds events to the log in one batch insert, in order:
// all or none. It is not audited: the log is its own record. Events
// without a time get the store's clock. An event CheckCallEvent refuses,
// or one the database refuses, fails the batch with ErrCallEventRefused;
// the caller sets that event aside and sends the others again.
func (s *Store) AppendCallEvents(ctx context.Context, evs []CallEvent) error {
	if len(evs) == 0 {
		return nil
	}
	rows := make([]CallEvent, len(evs))
	now := s.now().UTC()
	for i, e := range evs {
		if err := CheckCallEvent(e); err != nil {
			return fmt.Errorf("config: append call events: event %d: %w", i, err)
		}
		e.ID = 0
		if e.At.IsZero() {
			e.At = now
		}
		e.At = e.At.UTC()
		rows[i] = e
	}
	err := s.db.WithContext(ctx).Session(&gorm.Session{SkipHooks: true}).CreateInBatches(rows, 500).Error
	if err != nil && refusedByDatabase(err) {
		return fmt.Errorf("config: append %d call events: %w: %w", len(evs), ErrCallEventRefused, err)
	}
	if err != nil {
		return fmt.Errorf("config: append %d call events: %w", len(evs), err)
	}
	return nil
}

// CallEventQuery selects call events.
type CallEventQuery struct {
	Org     OrgID     // 0: every organisation
	Since   time.Time // at or after
	AfterID int64     // paging: events with a larger ID
	Limit   int       // 1-10000, default 1000
}

// CallEventsSince returns events in the order they were appended.
func (s *Store) CallEventsSince(ctx context.Context, q CallEventQuery) ([]CallEvent, error) {
	if q.Limit <= 0 || q.Limit > 10000 {
		q.Limit = 1000
	}
	db := s.db.WithContext(ctx).Where("at >= ? AND id > ?", q.Since.UTC(), q.AfterID)
	if q.Org != 0 {
		db = db.Where("org_id = ?", q.Org)
	}
	var out []CallEvent
	if err := db.Order("id").Limit(q.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: read call events: %w", err)
	}
	return out, nil
}

// CallEventsForCall returns one call's events in order.
func (s *Store) CallEventsForCall(ctx context.Context, callID string) ([]CallEvent, error) {
	var out []CallEvent
	if err := s.db.WithContext(ctx).Where("call_id = ?", callID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: read call events of a call: %w", err)
	}
	return out, nil
}

// DeleteCallEventsBefore deletes the events older than t (retention) and
// returns how many went.
func (s *Store) DeleteCallEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("at < ?", t.UTC()).Delete(&CallEvent{})
	if res.Error != nil {
		return 0, fmt.Errorf("config: delete old call events: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// --- organisation settings ---

// OrgSetting is a per-organisation value.
type OrgSetting struct {
	OrgID OrgID  `gorm:"primaryKey"`
	Name  string `gorm:"primaryKey"`
	Value string
}

// DefaultPauseReasons are an organisation's pause reasons until an admin
// sets them.
var DefaultPauseReasons = []string{"Pause", "Frokost", "Møde", "Sagsbehandling"}

// PauseReasons returns the reasons an organisation's agents may give for a
// pause.
func (s *Store) PauseReasons(ctx context.Context, org OrgID) ([]string, error) {
	return pauseReasons(s.db.WithContext(ctx), org)
}

func pauseReasons(db *gorm.DB, org OrgID) ([]string, error) {
	var st OrgSetting
	err := db.Where("org_id = ? AND name = ?", org, "pause_reasons").First(&st).Error
	switch mapErr(err) {
	case nil:
		return decodeLines(st.Value), nil
	case ErrNotFound:
		return append([]string(nil), DefaultPauseReasons...), nil
	}
	return nil, fmt.Errorf("config: pause reasons: %w", err)
}

func decodeLines(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, "\n")
}

// SetPauseReasons replaces an organisation's pause reasons, audited.
func (s *Store) SetPauseReasons(ctx context.Context, actor Actor, reasons []string) ([]string, error) {
	clean, err := cleanPauseReasons(reasons)
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.savePauseReasons(tx, actor, clean) })
	if err != nil {
		return nil, wrapErr("set", "pause reasons", nil, err)
	}
	return clean, nil
}

// cleanPauseReasons checks a list of pause reasons and returns it trimmed.
func cleanPauseReasons(reasons []string) ([]string, error) {
	if len(reasons) == 0 || len(reasons) > 50 {
		return nil, Invalid("reasons", "give 1-50 reasons")
	}
	seen := map[string]bool{}
	clean := make([]string, len(reasons))
	for i, r := range reasons {
		r = strings.TrimSpace(r)
		f := fmt.Sprintf("reasons[%d]", i)
		if r == "" {
			return nil, Invalid(f, "is empty")
		}
		if err := validText(f, r, 64); err != nil {
			return nil, err
		}
		if seen[strings.ToLower(r)] {
			return nil, Invalid(f, "%q is listed twice", r)
		}
		seen[strings.ToLower(r)] = true
		clean[i] = r
	}
	return clean, nil
}

// savePauseReasons stores checked pause reasons inside a change, audited.
func (s *Store) savePauseReasons(tx *gorm.DB, actor Actor, clean []string) error {
	before, err := pauseReasons(tx, actor.OrgID)
	if err != nil {
		return err
	}
	st := OrgSetting{OrgID: actor.OrgID, Name: "pause_reasons", Value: strings.Join(clean, "\n")}
	if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "update", "pause_reasons", actor.OrgID, before, clean)
}
