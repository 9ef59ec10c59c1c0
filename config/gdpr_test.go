package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

// gdprFixture: the default organisation ("default", retention 30 days / 13
// months) and faxe (retention set per test), a fake clock at now.
type gdprFixture struct {
	s          *config.Store
	def, faxe  config.Organisation
	defA, faxA config.Actor
	now        time.Time
}

func gdprBackends(t *testing.T) []func(t *testing.T) gdprFixture {
	t.Helper()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var out []func(t *testing.T) gdprFixture
	for _, b := range configtest.Backends(t, config.Options{Now: func() time.Time { return now }}) {
		out = append(out, func(t *testing.T) gdprFixture {
			def, defA := mustAdmin(t, b.Store)
			faxe, faxA, _ := secondOrg(t, b.Store)
			return gdprFixture{s: b.Store, def: def, faxe: faxe, defA: defA, faxA: faxA, now: now}
		})
	}
	return out
}

func (f gdprFixture) add(t *testing.T, evs ...config.CallEvent) {
	t.Helper()
	if err := f.s.AppendCallEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func (f gdprFixture) all(t *testing.T, org config.OrgID) []config.CallEvent {
	t.Helper()
	evs, err := f.s.CallEventsSince(context.Background(), config.CallEventQuery{Org: org, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// After an organisation's days the citizens' numbers of its events become
// pseudonyms: the caller and numbers in the data, in every spelling the
// same pseudonym; the dialled (municipal) number stays; younger events and
// another organisation's (with its own, longer retention) are untouched.
func TestPseudonymiseAfterRetentionDays(t *testing.T) {
	t.Parallel()
	for i, open := range gdprBackends(t) {
		t.Run([]string{"sqlite", "postgres"}[i], func(t *testing.T) {
			ctx := context.Background()
			f := open(t)
			sixty := 60
			if _, err := f.s.UpdateOrg(ctx, f.faxA, f.faxe.ID, config.OrgPatch{PseudonymiseDays: &sixty}); err != nil {
				t.Fatal(err)
			}
			old, young := f.now.Add(-days(40)), f.now.Add(-days(10))
			data := `{"number":"+4570101010","detail":"callback to 12345678 <ok>","Number":"0045 12 34 56 78"}`
			f.add(t,
				config.CallEvent{OrgID: f.def.ID, At: old, CallID: "c1", Kind: "call.arrived", Caller: "12345678", Data: data},
				config.CallEvent{OrgID: f.def.ID, At: old.Add(time.Second), CallID: "c1", Kind: "Answered", Agent: "default/7"},
				config.CallEvent{OrgID: f.def.ID, At: old.Add(2 * time.Second), CallID: "c2", Kind: "call.arrived", Caller: "+4512345678"},
				config.CallEvent{OrgID: f.def.ID, At: old.Add(3 * time.Second), CallID: "c3", Kind: "call.arrived", Caller: "anonymous"},
				config.CallEvent{OrgID: f.def.ID, At: old.Add(4 * time.Second), CallID: "c4", Kind: "call.arrived", Caller: "87654321"},
				config.CallEvent{OrgID: f.def.ID, At: young, CallID: "c5", Kind: "call.arrived", Caller: "12345678"},
				config.CallEvent{OrgID: f.faxe.ID, At: old, CallID: "f1", Kind: "call.arrived", Caller: "12345678"},
			)
			cut := f.def.Retention().PseudonymiseBefore(f.now)
			var batches []int
			for {
				n, err := f.s.PseudonymiseCallEvents(ctx, f.def.ID, cut, 2)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				batches = append(batches, n)
			}
			if len(batches) != 3 || batches[0] != 2 || batches[2] != 1 {
				t.Fatalf("batches %v, want [2 2 1]", batches)
			}
			p, err := f.s.Pseudonymiser(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ps := p.Of("+4512345678")
			if !strings.HasPrefix(ps, "pseud:") || len(ps) != len("pseud:")+16 || p.Of("12345678") != ps || p.Of("004512345678") != ps || p.Of("87654321") == ps {
				t.Fatalf("pseudonyms: %q %q %q", ps, p.Of("12345678"), p.Of("87654321"))
			}
			byCall := map[string]config.CallEvent{}
			for _, ev := range f.all(t, f.def.ID) {
				if ev.Kind == "call.arrived" {
					byCall[ev.CallID] = ev
				}
			}
			if byCall["c1"].Caller != ps || byCall["c2"].Caller != ps || byCall["c3"].Caller != "anonymous" || byCall["c4"].Caller != p.Of("87654321") {
				t.Fatalf("callers: %+v", byCall)
			}
			var d map[string]string
			if err := json.Unmarshal([]byte(byCall["c1"].Data), &d); err != nil {
				t.Fatal(err)
			}
			if d["number"] != "+4570101010" || d["Number"] != ps || d["detail"] != "callback to "+ps+" <ok>" {
				t.Fatalf("data: %s", byCall["c1"].Data)
			}
			if strings.Contains(byCall["c1"].Data, "12345678") || !byCall["c1"].Pseudonymised {
				t.Fatalf("data keeps the number: %+v", byCall["c1"])
			}
			if byCall["c5"].Caller != "12345678" || byCall["c5"].Pseudonymised {
				t.Fatalf("a young event was pseudonymised: %+v", byCall["c5"])
			}
			fx := f.all(t, f.faxe.ID)
			if len(fx) != 1 || fx[0].Caller != "12345678" {
				t.Fatalf("faxe's event was touched: %+v", fx)
			}
			// Faxe's own 60 days: nothing yet.
			if n, err := f.s.PseudonymiseCallEvents(ctx, f.faxe.ID, f.now.Add(-days(60)), 100); err != nil || n != 0 {
				t.Fatalf("faxe: %d %v", n, err)
			}
		})
	}
}

// After an organisation's months its events are deleted, in batches,
// oldest first; another organisation keeps its own for longer.
func TestDeleteAfterRetentionMonths(t *testing.T) {
	t.Parallel()
	for i, open := range gdprBackends(t) {
		t.Run([]string{"sqlite", "postgres"}[i], func(t *testing.T) {
			ctx := context.Background()
			f := open(t)
			two := 24
			if _, err := f.s.UpdateOrg(ctx, f.faxA, f.faxe.ID, config.OrgPatch{DeleteMonths: &two}); err != nil {
				t.Fatal(err)
			}
			var evs []config.CallEvent
			for i := range 5 {
				evs = append(evs, config.CallEvent{OrgID: f.def.ID, At: f.now.AddDate(0, -14, -i), CallID: "old", Kind: "x"})
			}
			evs = append(evs,
				config.CallEvent{OrgID: f.def.ID, At: f.now.AddDate(0, -12, 0), CallID: "keep", Kind: "x"},
				config.CallEvent{OrgID: f.faxe.ID, At: f.now.AddDate(0, -14, 0), CallID: "faxe", Kind: "x"})
			f.add(t, evs...)
			cut := f.def.Retention().DeleteBefore(f.now)
			var total int64
			for range 10 {
				n, err := f.s.DeleteOldCallEvents(ctx, f.def.ID, cut, 2)
				if err != nil {
					t.Fatal(err)
				}
				if n > 2 {
					t.Fatalf("a batch of 2 deleted %d", n)
				}
				if n == 0 {
					break
				}
				total += n
			}
			left := f.all(t, f.def.ID)
			if total != 5 || len(left) != 1 || left[0].CallID != "keep" {
				t.Fatalf("deleted %d, left %+v", total, left)
			}
			faxe, _ := f.s.GetOrg(ctx, f.faxe.ID)
			if n, err := f.s.DeleteOldCallEvents(ctx, f.faxe.ID, faxe.Retention().DeleteBefore(f.now), 100); err != nil || n != 0 || len(f.all(t, f.faxe.ID)) != 1 {
				t.Fatalf("faxe: %d %v", n, err)
			}
		})
	}
}

func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	for i, open := range gdprBackends(t) {
		t.Run([]string{"sqlite", "postgres"}[i], func(t *testing.T) {
			ctx := context.Background()
			f := open(t)
			if f.def.Retention() != config.DefaultRetention || f.faxe.Retention() != config.DefaultRetention {
				t.Fatalf("defaults: %+v %+v", f.def.Retention(), f.faxe.Retention())
			}
			ptr := func(n int) *int { return &n }
			for _, tc := range []struct {
				days, months *int
				field        string
			}{
				{ptr(0), nil, "pseudonymise_after_days"},
				{ptr(3651), nil, "pseudonymise_after_days"},
				{nil, ptr(0), "delete_after_months"},
				{nil, ptr(121), "delete_after_months"},
				{ptr(90), ptr(2), "pseudonymise_after_days"},
			} {
				_, err := f.s.UpdateOrg(ctx, f.faxA, f.faxe.ID, config.OrgPatch{PseudonymiseDays: tc.days, DeleteMonths: tc.months})
				if !isField(err, tc.field) {
					t.Errorf("%v/%v: %v, want a %s error", tc.days, tc.months, err, tc.field)
				}
			}
			o, err := f.s.UpdateOrg(ctx, f.faxA, f.faxe.ID, config.OrgPatch{PseudonymiseDays: ptr(7), DeleteMonths: ptr(6)})
			if err != nil || o.Retention() != (config.Retention{PseudonymiseDays: 7, DeleteMonths: 6}) {
				t.Fatalf("set: %+v %v", o.Retention(), err)
			}
			o, _ = f.s.GetOrg(ctx, f.faxe.ID)
			if o.Retention() != (config.Retention{PseudonymiseDays: 7, DeleteMonths: 6}) {
				t.Fatalf("stored: %+v", o.Retention())
			}
		})
	}
}

// A data subject's export finds every event of every call of the number
// in the organisation — in any spelling, and after pseudonymisation by its
// pseudonym — and the stored callback requests; never another
// organisation's. Delete removes exactly those. Both are audited with the
// pseudonym, never the number.
func TestSubjectExportAndDelete(t *testing.T) {
	t.Parallel()
	for i, open := range gdprBackends(t) {
		t.Run([]string{"sqlite", "postgres"}[i], func(t *testing.T) {
			ctx := context.Background()
			f := open(t)
			old := f.now.Add(-days(40))
			f.add(t,
				// c1: recent, the caller in clear.
				config.CallEvent{OrgID: f.def.ID, At: f.now, CallID: "c1", Kind: "call.arrived", Caller: "+4512345678", Data: `{"number":"+4570101010"}`},
				config.CallEvent{OrgID: f.def.ID, At: f.now, CallID: "c1", Kind: "Answered", Agent: "default/7"},
				// c2: old, pseudonymised below.
				config.CallEvent{OrgID: f.def.ID, At: old, CallID: "c2", Kind: "call.arrived", Caller: "12345678"},
				config.CallEvent{OrgID: f.def.ID, At: old, CallID: "c2", Kind: "Abandoned"},
				// c3: another caller, whose callback number is ours.
				config.CallEvent{OrgID: f.def.ID, At: f.now, CallID: "c3", Kind: "call.arrived", Caller: "87654321"},
				config.CallEvent{OrgID: f.def.ID, At: f.now, CallID: "c3", Kind: "CallbackRequested", Data: `{"Number":"004512345678"}`},
				// c4: someone else entirely, with the digits elsewhere.
				config.CallEvent{OrgID: f.def.ID, At: f.now, CallID: "c4", Kind: "call.arrived", Caller: "11111111", Data: `{"number":"+4512345678x","detail":"12345678"}`},
				// faxe: the same number in another organisation.
				config.CallEvent{OrgID: f.faxe.ID, At: f.now, CallID: "f1", Kind: "call.arrived", Caller: "+4512345678"},
			)
			if _, err := f.s.PseudonymiseCallEvents(ctx, f.def.ID, f.now.Add(-days(30)), 100); err != nil {
				t.Fatal(err)
			}
			for _, cb := range []config.PendingCallback{
				{CallID: "c1", Queue: "default/borger", Number: "12345678"},
				{CallID: "c9", Queue: "default/borger", Number: "99999999"},
				{CallID: "f1", Queue: "faxe/borger", Number: "12345678"},
			} {
				if err := f.s.SavePendingCallback(ctx, cb); err != nil {
					t.Fatal(err)
				}
			}

			for _, bad := range []string{"", "abc", "123456789"} {
				if _, err := f.s.ExportSubject(ctx, f.defA, bad); !isField(err, "number") {
					t.Errorf("export %q: %v", bad, err)
				}
			}
			rec, err := f.s.ExportSubject(ctx, f.defA, "+45 12 34 56 78")
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]int{}
			for _, ev := range rec.CallEvents {
				if ev.OrgID != f.def.ID {
					t.Fatalf("another organisation's event: %+v", ev)
				}
				calls[ev.CallID]++
			}
			if rec.Number != "+4512345678" || calls["c1"] != 2 || calls["c2"] != 2 || calls["c3"] != 2 || len(calls) != 3 {
				t.Fatalf("export: %s %v", rec.Number, calls)
			}
			if len(rec.PendingCallbacks) != 1 || rec.PendingCallbacks[0].CallID != "c1" {
				t.Fatalf("pending: %+v", rec.PendingCallbacks)
			}
			// Faxe's export sees only faxe's.
			frec, err := f.s.ExportSubject(ctx, f.faxA, "12345678")
			if err != nil || len(frec.CallEvents) != 1 || frec.CallEvents[0].CallID != "f1" || len(frec.PendingCallbacks) != 1 || frec.PendingCallbacks[0].CallID != "f1" {
				t.Fatalf("faxe export: %+v %v", frec, err)
			}

			del, err := f.s.DeleteSubject(ctx, f.defA, "004512345678")
			if err != nil || del.CallEvents != 6 || del.PendingCallbacks != 1 || del.Pseudonym != rec.Pseudonym {
				t.Fatalf("delete: %+v %v", del, err)
			}
			left := map[string]bool{}
			for _, ev := range f.all(t, f.def.ID) {
				left[ev.CallID] = true
			}
			if len(left) != 1 || !left["c4"] || len(f.all(t, f.faxe.ID)) != 1 {
				t.Fatalf("left: %v", left)
			}
			cbs, _ := f.s.PendingCallbacks(ctx)
			if len(cbs) != 2 {
				t.Fatalf("pending left: %+v", cbs)
			}
			if again, err := f.s.ExportSubject(ctx, f.defA, "12345678"); err != nil || len(again.CallEvents) != 0 || len(again.PendingCallbacks) != 0 {
				t.Fatalf("after delete: %+v %v", again, err)
			}

			log, err := f.s.ListAudit(ctx, f.def.ID, config.AuditFilter{ObjectType: "data_subject"})
			if err != nil || len(log) != 3 {
				t.Fatalf("audit: %d %v", len(log), err)
			}
			if log[1].Action != "delete" || log[1].ObjectID != rec.Pseudonym || !strings.Contains(log[1].AfterJSON, `"call_events":6`) {
				t.Fatalf("delete audit: %+v", log[1])
			}
			for _, e := range log {
				if b, _ := json.Marshal(e); strings.Contains(string(b), "12345678") {
					t.Fatalf("the number is in the audit log: %s", b)
				}
			}
		})
	}
}

// The municipality's own inbound numbers are not a data subject's.
func TestSubjectRefusesInboundNumber(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	_, actor, fl := secondOrg(t, s)
	if _, err := s.CreateNumber(ctx, actor, "70 20 30 40", fl.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err := s.DeleteSubject(ctx, actor, "+4570203040")
	var ve *config.ValidationError
	if !errors.As(err, &ve) || ve.Field != "number" {
		t.Fatalf("inbound number: %v", err)
	}
}
