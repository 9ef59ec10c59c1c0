package config

// Data protection (docs/data-protection.md). A citizen's number is
// personal data; the municipality is its controller. Three things here:
//
//   - Retention: each organisation's Retention says after how many days
//     the citizens' numbers in its call-event log are replaced by their
//     pseudonyms (PseudonymiseCallEvents) and after how many months its
//     events are deleted (DeleteOldCallEvents). internal/retention runs
//     both, in small batches.
//   - Pseudonyms: Pseudonymiser.Of is a keyed hash (HMAC-SHA256) of the
//     canonical number under a per-installation secret kept in the
//     database, so the same number always gets the same pseudonym (repeat
//     callers can still be counted) and the pseudonym cannot be turned back
//     into the number without the key.
//   - A data subject's request: ExportSubject and DeleteSubject find every
//     record of one number in an organisation — in clear or as its
//     pseudonym — and are audited with the pseudonym, never the number.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// Retention is how long an organisation keeps citizens' numbers.
type Retention struct {
	// PseudonymiseDays: after this many days the numbers in an event are
	// replaced by their pseudonyms (1–3650).
	PseudonymiseDays int
	// DeleteMonths: after this many months events are deleted (1–120).
	DeleteMonths int
}

// DefaultRetention is a new organisation's retention (and what migration
// 00008 gives existing ones): numbers pseudonymised after 30 days, events
// deleted after 13 months (a year and the month before it, for
// year-on-year reports).
var DefaultRetention = Retention{PseudonymiseDays: 30, DeleteMonths: 13}

// Retention is the organisation's retention.
func (o Organisation) Retention() Retention {
	return Retention{PseudonymiseDays: o.RetentionPseudonymiseDays, DeleteMonths: o.RetentionDeleteMonths}
}

// Validate refuses a retention outside its ranges, or one that deletes
// events before it pseudonymises them.
func (r Retention) Validate() error {
	switch {
	case r.PseudonymiseDays < 1 || r.PseudonymiseDays > 3650:
		return Invalid("pseudonymise_after_days", "must be 1-3650 days, not %d", r.PseudonymiseDays)
	case r.DeleteMonths < 1 || r.DeleteMonths > 120:
		return Invalid("delete_after_months", "must be 1-120 months, not %d", r.DeleteMonths)
	case r.PseudonymiseDays > 28*r.DeleteMonths:
		return Invalid("pseudonymise_after_days", "%d days is not before the deletion after %d months", r.PseudonymiseDays, r.DeleteMonths)
	}
	return nil
}

// PseudonymiseBefore is the time before which events get pseudonyms.
func (r Retention) PseudonymiseBefore(now time.Time) time.Time {
	return now.AddDate(0, 0, -r.PseudonymiseDays)
}

// DeleteBefore is the time before which events are deleted.
func (r Retention) DeleteBefore(now time.Time) time.Time {
	return now.AddDate(0, -r.DeleteMonths, 0)
}

// PseudonymPrefix starts every pseudonym, so that a reader (and the
// retention worker) can tell one from a number.
const PseudonymPrefix = "pseud:"

// Pseudonymiser turns citizens' numbers into pseudonyms under the
// installation's key. Get it from Store.Pseudonymiser.
type Pseudonymiser struct {
	key []byte
}

var pseudEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Of returns the pseudonym of a number: "pseud:" and 16 base32 characters
// (80 bits) of HMAC-SHA256 over its canonical form, so every spelling of
// one number (12345678, +4512345678, 004512345678) has one pseudonym. A
// value without digits (a withheld number: "", "anonymous") and a
// pseudonym are returned as they are.
func (p Pseudonymiser) Of(number string) string {
	if strings.HasPrefix(number, PseudonymPrefix) || !strings.ContainsAny(number, "0123456789") {
		return number
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("omstil caller pseudonym v1\x00"))
	m.Write([]byte(comparable(number)))
	return PseudonymPrefix + strings.ToLower(pseudEncoding.EncodeToString(m.Sum(nil)[:10]))
}

// comparable is a number's canonical form (callflow.CanonicalNumber), or,
// for one it refuses (an odd caller ID from a trunk), its digits and a
// leading +.
func comparable(n string) string {
	if c, err := callflow.CanonicalNumber(n); err == nil {
		return c
	}
	var b strings.Builder
	for i, r := range strings.TrimSpace(n) {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// citizenNumberKeys are the keys of an event's Data whose values are
// citizens' numbers (a callback request's number, the caller). Data's
// "number" in call.* events is the municipality's number that was
// dialled, which is not personal data, so it is not here. A value equal
// to the event's own caller is treated as a citizen's number under any
// key. The event writer (internal/telephony) must use one of these keys
// for any other citizen's number it puts in Data.
var citizenNumberKeys = map[string]bool{
	"caller": true, "Caller": true, "Number": true, "callback_number": true, "CallbackNumber": true,
}

// pseudonymise replaces the citizens' numbers of an event by their
// pseudonyms: Caller, the values of Data under citizenNumberKeys, any
// value of Data that is the caller's number, and the caller's number
// where it appears inside a text.
func (p Pseudonymiser) pseudonymise(ev *CallEvent) {
	raw := strings.TrimSpace(ev.Caller)
	ev.Caller = p.Of(ev.Caller)
	ev.Data = p.data(ev.Data, raw)
}

func (p Pseudonymiser) data(data, caller string) string {
	if data == "" {
		return data
	}
	hasCaller := strings.ContainsAny(caller, "0123456789") && !strings.HasPrefix(caller, PseudonymPrefix)
	callerC := ""
	if hasCaller {
		callerC = comparable(caller)
	}
	var fix func(key string, v any) any
	fix = func(key string, v any) any {
		switch x := v.(type) {
		case string:
			switch {
			case citizenNumberKeys[key]:
				return p.Of(x)
			case hasCaller && strings.ContainsAny(x, "0123456789") && comparable(x) == callerC:
				return p.Of(x)
			case hasCaller && len(caller) >= 6 && strings.Contains(x, caller):
				return strings.ReplaceAll(x, caller, p.Of(caller))
			}
			return x
		case map[string]any:
			for k, e := range x {
				x[k] = fix(k, e)
			}
			return x
		case []any:
			for i, e := range x {
				x[i] = fix(key, e)
			}
			return x
		}
		return v
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		// Not JSON (never written so): at least the caller's number goes.
		if hasCaller {
			return strings.ReplaceAll(data, caller, p.Of(caller))
		}
		return data
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fix("", v)); err != nil {
		return data
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// mentions reports whether an event holds the number whose comparable form
// is number and whose pseudonym is pseud: as its caller, or in Data under
// a citizen-number key, in clear or as the pseudonym; or the pseudonym
// anywhere in Data.
func mentions(ev CallEvent, number, pseud string) bool {
	if ev.Caller == pseud || (strings.ContainsAny(ev.Caller, "0123456789") && comparable(ev.Caller) == number) {
		return true
	}
	if ev.Data == "" {
		return false
	}
	if strings.Contains(ev.Data, pseud) {
		return true
	}
	var v any
	if json.Unmarshal([]byte(ev.Data), &v) != nil {
		return false
	}
	var walk func(key string, v any) bool
	walk = func(key string, v any) bool {
		switch x := v.(type) {
		case string:
			return citizenNumberKeys[key] && strings.ContainsAny(x, "0123456789") && comparable(x) == number
		case map[string]any:
			for k, e := range x {
				if walk(k, e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(key, e) {
					return true
				}
			}
		}
		return false
	}
	return walk("", v)
}

// Pseudonymiser returns the pseudonymiser under the installation's key
// (install_settings "pseudonym_key", 32 random bytes made on first use and
// never shown or logged). The key lives in the database, not in a file:
// every instance of the installation (leader and standbys) and every
// restored backup then uses the same key, so a number keeps its pseudonym;
// a key lost with a file would split every repeat caller in two.
func (s *Store) Pseudonymiser(ctx context.Context) (Pseudonymiser, error) {
	key, err := installKey(s.db.WithContext(ctx), "pseudonym_key")
	if err != nil {
		return Pseudonymiser{}, err
	}
	return Pseudonymiser{key: key}, nil
}

// PseudonymiseCallEvents gives pseudonyms to at most limit of the
// organisation's events from before t that have none yet, oldest first,
// in one transaction, and returns how many it did. Zero means it is done
// up to t.
func (s *Store) PseudonymiseCallEvents(ctx context.Context, org OrgID, t time.Time, limit int) (int, error) {
	p, err := s.Pseudonymiser(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var rows []CallEvent
		q := tx
		if s.dialect == "sqlite" {
			// Without statistics SQLite picks call_events_org_at and
			// walks every event already done; the partial index holds
			// only those still to do. (PostgreSQL picks it by itself.)
			q = tx.Table("call_events INDEXED BY call_events_to_pseudonymise")
		}
		if err := q.Where("org_id = ? AND pseudonymised = FALSE AND at < ?", org, t.UTC()).
			Order("at, id").Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		var same []int64        // nothing personal in them: only marked done
		var changed []CallEvent // new caller and data
		for _, ev := range rows {
			caller, data := ev.Caller, ev.Data
			p.pseudonymise(&ev)
			if ev.Caller == caller && ev.Data == data {
				same = append(same, ev.ID)
			} else {
				changed = append(changed, ev)
			}
		}
		if len(same) > 0 {
			if err := tx.Exec("UPDATE call_events SET pseudonymised = TRUE WHERE id IN ?", same).Error; err != nil {
				return err
			}
		}
		// One statement per 200 rows (CASE by id). A statement per row
		// took about 140 ms per 1,000 rows on SQLite and 580 ms on
		// PostgreSQL, holding SQLite's write lock as long; this takes 57
		// and 93 ms (BenchmarkRetentionBatch, 2 shared cores).
		for len(changed) > 0 {
			k := min(len(changed), 200)
			if err := updatePseudonymised(tx, changed[:k]); err != nil {
				return err
			}
			changed = changed[k:]
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("config: pseudonymise call events of organisation %d: %w", org, err)
	}
	return n, nil
}

// updatePseudonymised writes the new caller and data of evs and marks
// them done, in one statement.
func updatePseudonymised(tx *gorm.DB, evs []CallEvent) error {
	var sql strings.Builder
	args := make([]any, 0, 4*len(evs)+1)
	sql.WriteString("UPDATE call_events SET pseudonymised = TRUE, caller = CASE id")
	for _, ev := range evs {
		sql.WriteString(" WHEN ? THEN ?")
		args = append(args, ev.ID, ev.Caller)
	}
	sql.WriteString(" END, data = CASE id")
	for _, ev := range evs {
		sql.WriteString(" WHEN ? THEN ?")
		args = append(args, ev.ID, ev.Data)
	}
	sql.WriteString(" END WHERE id IN ?")
	ids := make([]int64, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return tx.Exec(sql.String(), append(args, ids)...).Error
}

// DeleteOldCallEvents deletes at most limit of the organisation's events
// from before t, oldest first, and returns how many went. Zero means it is
// done up to t.
func (s *Store) DeleteOldCallEvents(ctx context.Context, org OrgID, t time.Time, limit int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM call_events WHERE id IN
		(SELECT id FROM call_events WHERE org_id = ? AND at < ? ORDER BY at, id LIMIT ?)`, org, t.UTC(), limit)
	if res.Error != nil {
		return 0, fmt.Errorf("config: delete old call events of organisation %d: %w", org, res.Error)
	}
	return res.RowsAffected, nil
}

// SubjectRecords is every record of one citizen's number in one
// organisation: every event of every call in which the number appears
// (as the caller or in an event's data, in clear or as its pseudonym),
// and the stored callback requests for it.
type SubjectRecords struct {
	Number           string // canonical
	Pseudonym        string
	CallEvents       []CallEvent
	PendingCallbacks []PendingCallback
}

// SubjectDeleted counts what DeleteSubject deleted.
type SubjectDeleted struct {
	Pseudonym        string
	CallEvents       int64
	PendingCallbacks int64
}

// ExportSubject returns every record of number in the actor's
// organisation (a data subject's request for access), audited as
// "export" of "data_subject" with the number's pseudonym.
func (s *Store) ExportSubject(ctx context.Context, actor Actor, number string) (SubjectRecords, error) {
	var out SubjectRecords
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if out, err = s.subject(tx, actor.OrgID, number); err != nil {
			return err
		}
		return s.audit(tx, actor, "export", "data_subject", out.Pseudonym, nil,
			map[string]any{"call_events": len(out.CallEvents), "pending_callbacks": len(out.PendingCallbacks)})
	})
	if err != nil {
		return SubjectRecords{}, wrapSubjectErr("export", err)
	}
	return out, nil
}

// DeleteSubject deletes every record ExportSubject would return (a data
// subject's request for erasure), in one transaction, audited as "delete"
// of "data_subject" with the number's pseudonym and the counts.
func (s *Store) DeleteSubject(ctx context.Context, actor Actor, number string) (SubjectDeleted, error) {
	var out SubjectDeleted
	err := s.tx(ctx, func(tx *gorm.DB) error {
		recs, err := s.subject(tx, actor.OrgID, number)
		if err != nil {
			return err
		}
		out.Pseudonym = recs.Pseudonym
		ids := make([]int64, len(recs.CallEvents))
		for i, ev := range recs.CallEvents {
			ids[i] = ev.ID
		}
		for len(ids) > 0 {
			n := min(len(ids), 500)
			res := tx.Where("org_id = ? AND id IN ?", actor.OrgID, ids[:n]).Delete(&CallEvent{})
			if res.Error != nil {
				return res.Error
			}
			out.CallEvents += res.RowsAffected
			ids = ids[n:]
		}
		for _, cb := range recs.PendingCallbacks {
			res := tx.Where("call_id = ?", cb.CallID).Delete(&PendingCallback{})
			if res.Error != nil {
				return res.Error
			}
			out.PendingCallbacks += res.RowsAffected
		}
		return s.audit(tx, actor, "delete", "data_subject", out.Pseudonym, nil,
			map[string]any{"call_events": out.CallEvents, "pending_callbacks": out.PendingCallbacks})
	})
	if err != nil {
		return SubjectDeleted{}, wrapSubjectErr("delete", err)
	}
	return out, nil
}

func wrapSubjectErr(op string, err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("config: %s a data subject's records: %w", op, mapErr(err))
}

// subjectNumber checks a data subject's number: a phone number in any
// spelling CanonicalNumber takes, and not one of omstil's own inbound
// numbers (whose calls are every citizen's).
func subjectNumber(tx *gorm.DB, number string) (string, error) {
	c, err := callflow.CanonicalNumber(number)
	if err != nil {
		_, why, _ := strings.Cut(err.Error(), ": ")
		return "", Invalid("number", "not a phone number: %s", why)
	}
	var n int64
	if err := tx.Model(&Number{}).Where("number = ?", c).Count(&n).Error; err != nil {
		return "", err
	}
	if n > 0 {
		return "", Invalid("number", "is an inbound number of this installation, not a citizen's")
	}
	return c, nil
}

// subject finds the records of number in org.
func (s *Store) subject(tx *gorm.DB, org OrgID, number string) (SubjectRecords, error) {
	c, err := subjectNumber(tx, number)
	if err != nil {
		return SubjectRecords{}, err
	}
	key, err := installKey(tx, "pseudonym_key")
	if err != nil {
		return SubjectRecords{}, err
	}
	p := Pseudonymiser{key: key}
	out := SubjectRecords{Number: c, Pseudonym: p.Of(c), CallEvents: []CallEvent{}, PendingCallbacks: []PendingCallback{}}

	// Candidates by SQL (the number's last digits, or the pseudonym),
	// then the exact test in Go: a caller's number is stored as given.
	digits := strings.TrimPrefix(c, "+")
	tail := digits[max(0, len(digits)-8):]
	var cands []CallEvent
	if err := tx.Where("org_id = ? AND (caller = ? OR caller LIKE ? OR data LIKE ? OR data LIKE ?)",
		org, out.Pseudonym, "%"+tail, "%"+tail+"%", "%"+out.Pseudonym+"%").Order("id").Find(&cands).Error; err != nil {
		return SubjectRecords{}, err
	}
	calls := map[string]bool{}
	var callIDs []string
	var lone []int64 // matching events without a call
	for _, ev := range cands {
		if !mentions(ev, c, out.Pseudonym) {
			continue
		}
		switch {
		case ev.CallID == "":
			lone = append(lone, ev.ID)
		case !calls[ev.CallID]:
			calls[ev.CallID] = true
			callIDs = append(callIDs, ev.CallID)
		}
	}
	for len(callIDs) > 0 || len(lone) > 0 {
		nc, nl := min(len(callIDs), 500), min(len(lone), 500)
		var evs []CallEvent
		if err := tx.Where("org_id = ? AND (call_id IN ? OR id IN ?)", org, callIDs[:nc], lone[:nl]).
			Order("id").Find(&evs).Error; err != nil {
			return SubjectRecords{}, err
		}
		out.CallEvents = append(out.CallEvents, evs...)
		callIDs, lone = callIDs[nc:], lone[nl:]
	}

	var o Organisation
	if err := tx.Where("id = ?", org).First(&o).Error; err != nil {
		return SubjectRecords{}, err
	}
	var cbs []PendingCallback
	if err := tx.Where("queue LIKE ?", o.Slug+"/%").Order("joined_at, call_id").Find(&cbs).Error; err != nil {
		return SubjectRecords{}, err
	}
	for _, cb := range cbs {
		if strings.HasPrefix(cb.Queue, o.Slug+"/") && (cb.Number == out.Pseudonym || comparable(cb.Number) == c) {
			out.PendingCallbacks = append(out.PendingCallbacks, cb)
		}
	}
	return out, nil
}

// RecordNumberLookup audits that actor was shown a citizen's number in
// clear (object "caller", the call's ID, the number's pseudonym).
func (s *Store) RecordNumberLookup(ctx context.Context, actor Actor, call, number string) error {
	p, err := s.Pseudonymiser(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		return s.audit(tx, actor, "reveal", "caller", call, nil, map[string]string{"caller": p.Of(number)})
	})
	if err != nil {
		return fmt.Errorf("config: audit a number look-up: %w", err)
	}
	return nil
}
