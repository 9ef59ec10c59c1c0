package config_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

const hangupFlowJSON = `{"start": "h", "steps": [{"id": "h", "kind": "hangup"}]}`

// secondOrg creates another organisation with a flow of its own.
func secondOrg(t *testing.T, s *config.Store) (config.Organisation, config.Actor, config.Flow) {
	t.Helper()
	ctx := context.Background()
	org, err := s.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	actor := config.SystemActor(org.ID)
	fl, err := s.CreateFlow(ctx, actor, "hoved", mustFlow(t, hangupFlowJSON))
	if err != nil {
		t.Fatal(err)
	}
	return org, actor, fl
}

// A number is one number in every spelling: stored canonical, shown as
// typed, and never routable by a second organisation.
func TestNumbersCanonicalAcrossOrganisations(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			ownerOrg, owner := mustAdmin(t, s)
			ownerFlow, err := s.CreateFlow(ctx, owner, "hoved", mustFlow(t, hangupFlowJSON))
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.CreateNumber(ctx, owner, " +45 80 80 80 80", ownerFlow.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if n.Number != "+4580808080" || n.Display != "+45 80 80 80 80" {
				t.Fatalf("stored number %q display %q, want +4580808080 and the typed form", n.Number, n.Display)
			}
			otherOrg, other, otherFlow := secondOrg(t, s)
			mine, err := s.CreateNumber(ctx, other, "70 20 30 40", otherFlow.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, spelling := range []string{"+4580808080", "4580808080", "004580808080", "80808080", "80-80-80-80", "(+45) 8080 8080"} {
				_, err := s.CreateNumber(ctx, other, spelling, otherFlow.ID, "")
				assertNumberTaken(t, "create "+spelling, err, ownerOrg)
				_, err = s.UpdateNumber(ctx, other, mine.ID, config.NumberPatch{Number: &spelling})
				assertNumberTaken(t, "patch to "+spelling, err, ownerOrg)
				// The owner's own second spelling gets the same answer: the
				// message cannot tell whose the number is.
				_, err = s.CreateNumber(ctx, owner, spelling, ownerFlow.ID, "")
				assertNumberTaken(t, "owner creates "+spelling, err, otherOrg)
			}
			if got, _ := s.GetNumber(ctx, other.OrgID, mine.ID); got.Number != "+4570203040" || got.Display != "70 20 30 40" {
				t.Fatalf("refused patches changed the number: %+v", got)
			}
			// Short numbers are numbers an organisation can own, apart from
			// any E.164 number.
			short, err := s.CreateNumber(ctx, other, "1813", otherFlow.ID, "")
			if err != nil || short.Number != "1813" {
				t.Fatalf("short number: %+v %v", short, err)
			}
			_, err = s.CreateNumber(ctx, owner, "18 13", ownerFlow.ID, "")
			assertNumberTaken(t, "short number in another spelling", err, otherOrg)
			// A patch stores the new display form with the canonical one.
			d := "0045 70 20 30 41"
			p, err := s.UpdateNumber(ctx, other, mine.ID, config.NumberPatch{Number: &d})
			if err != nil || p.Number != "+4570203041" || p.Display != d {
				t.Fatalf("patch: %+v %v", p, err)
			}
			// The runtime is keyed by the canonical form; the dry-run
			// finds a number in any spelling.
			rt, err := s.LoadRuntime(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rn, ok := rt.Numbers["+4580808080"]; !ok || rn.OrgID != ownerOrg.ID {
				t.Fatalf("runtime numbers %v: want +4580808080 of org %d", rt.Numbers, ownerOrg.ID)
			}
			if _, ok := rt.Numbers["1813"]; !ok {
				t.Fatalf("runtime numbers %v: want the short number 1813", rt.Numbers)
			}
			if f, err := s.FlowForNumber(ctx, ownerOrg.ID, "80 80 80 80"); err != nil || f.ID != ownerFlow.ID {
				t.Fatalf("FlowForNumber: %+v %v", f, err)
			}
			if _, err := s.FlowForNumber(ctx, otherOrg.ID, "80808080"); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("FlowForNumber of another organisation's number: %v", err)
			}
		})
	}
}

func assertNumberTaken(t *testing.T, what string, err error, owner config.Organisation) {
	t.Helper()
	var ce *config.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, config.ErrConflict) || ce.Field != "number" {
		t.Errorf("%s: got %v, want a conflict on number", what, err)
		return
	}
	if msg := ce.Error(); strings.Contains(msg, owner.Slug) || strings.Contains(msg, owner.Name) ||
		strings.Contains(msg, "organisation") || strings.Contains(msg, "routed") {
		t.Errorf("%s: %q hints at the owner", what, msg)
	}
}

func TestNumberValidation(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	_, sys := mustAdmin(t, s)
	fl, err := s.CreateFlow(ctx, sys, "hoved", mustFlow(t, hangupFlowJSON))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "123456789", "+45 1234", "70ab7070", "+1234567890123456", strings.Repeat("1", 65)} {
		if _, err := s.CreateNumber(ctx, sys, bad, fl.ID, ""); !isField(err, "number") {
			t.Errorf("CreateNumber(%q): %v, want a validation error on number", bad, err)
		}
	}
	if ns, _ := s.ListNumbers(ctx, sys.OrgID); len(ns) != 0 {
		t.Fatalf("refused numbers were stored: %+v", ns)
	}
}

// Caller rules are saved in the form they are compared in.
func TestFlowCallerRulesSavedCanonical(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	_, sys := mustAdmin(t, s)
	def := mustFlow(t, `{"start": "c", "steps": [
		{"id": "c", "kind": "caller", "caller": {"rules": [
			{"match": "exact", "numbers": ["4520000001", "80 80 80 80", "1813"], "next": "h"},
			{"match": "prefix", "numbers": ["0046", "+45 30"], "next": "h"}], "default": "h"}},
		{"id": "h", "kind": "hangup"}]}`)
	f, err := s.CreateFlow(ctx, sys, "regler", def)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetFlow(ctx, sys.OrgID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	rules := got.Definition.Steps[0].Caller.Rules
	if strings.Join(rules[0].Numbers, ",") != "+4520000001,+4580808080,1813" || strings.Join(rules[1].Numbers, ",") != "+46,+4530" {
		t.Fatalf("saved rules %+v", rules)
	}
	bad := mustFlow(t, `{"start": "c", "steps": [
		{"id": "c", "kind": "caller", "caller": {"rules": [{"match": "exact", "numbers": ["123456789"], "next": "h"}], "default": "h"}},
		{"id": "h", "kind": "hangup"}]}`)
	var ve *callflow.ValidationError
	if _, err := s.CreateFlow(ctx, sys, "forkert", bad); !errors.As(err, &ve) {
		t.Fatalf("exact rule with a 9-digit number: %v", err)
	}
}

// migrationDSNs are fresh, unmigrated databases: SQLite, and PostgreSQL
// when OMSTIL_TEST_POSTGRES is set.
func migrationDSNs(t *testing.T) map[string]string {
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "omstil.db")}
	if pg := configtest.PostgresDSN(t); pg != "" {
		out["postgres"] = pg
	}
	return out
}

// oldSchema opens dsn migrated up to version 5 (the last before inbound
// numbers were canonical, as far as this binary has it), with the given numbers in organisation 1
// ("default") and 2.
func oldSchema(t *testing.T, dsn string, numbers map[string]int) *config.Store {
	t.Helper()
	ctx := context.Background()
	s, err := config.Open(ctx, dsn, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := config.MigrateUpToForTest(ctx, s, 5); err != nil {
		t.Fatal(err)
	}
	db := config.GormForTest(s)
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Exec("INSERT INTO organisations (slug, name, created_at) VALUES (?, ?, ?)", "faxe", "Faxe Kommune", now).Error)
	for _, org := range []int{1, 2} {
		must(db.Exec("INSERT INTO flows (org_id, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			org, "hoved", hangupFlowJSON, now, now).Error)
	}
	for n, org := range numbers {
		must(db.Exec("INSERT INTO numbers (org_id, number, flow_id, description, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?)",
			org, n, org, now, now).Error)
	}
	return s
}

func TestMigrationCanonicalisesNumbers(t *testing.T) {
	t.Parallel()
	for name, dsn := range migrationDSNs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := oldSchema(t, dsn, map[string]int{"70101010": 1, "+4570101020": 1, "4570101030": 2, "004670123456": 2, "1813": 2})
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, org := range []config.OrgID{1, 2} {
				ns, err := s.ListNumbers(ctx, org)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range ns {
					got[n.Number] = n.Display
				}
			}
			want := map[string]string{"+4570101010": "70101010", "+4570101020": "+4570101020", "+4570101030": "4570101030",
				"+4670123456": "004670123456", "1813": "1813"}
			if len(got) != len(want) {
				t.Fatalf("numbers after migration %v, want %v", got, want)
			}
			for n, d := range want {
				if got[n] != d {
					t.Errorf("number %s: display %q, want %q (all: %v)", n, got[n], d, got)
				}
			}
			// The unique constraint now holds across spellings.
			_, sys := mustAdmin(t, s)
			if _, err := s.CreateNumber(ctx, sys, "4570101030", 1, ""); !errors.Is(err, config.ErrConflict) {
				t.Fatalf("create a migrated number of organisation 2 in organisation 1: %v", err)
			}
		})
	}
}

// Two organisations owning one number in two spellings, or a number with
// no canonical form, stop the migration with a message naming each row;
// nothing changes until the operator fixes them.
func TestMigrationRefusesCollidingNumbers(t *testing.T) {
	t.Parallel()
	for name, dsn := range migrationDSNs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := oldSchema(t, dsn, map[string]int{"+4580808080": 1, "80808080": 2, "123456789": 2, "70101010": 1})
			before, _, err := s.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Migrate(ctx)
			if err == nil {
				t.Fatal("migration succeeded with colliding numbers")
			}
			t.Logf("refused: %v", err)
			for _, want := range []string{`"+4580808080" (id`, `"80808080" (id`, "same number +4580808080", `"123456789"`, "9 digits", "omstil migrate again"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "70101010") {
				t.Errorf("error %q names a number that is fine", err)
			}
			if cur, _, err := s.SchemaVersion(ctx); err != nil || cur != before {
				t.Fatalf("schema version after the refused migration: %d %v, want %d", cur, err, before)
			}
			// Fixed by hand, the migration runs.
			db := config.GormForTest(s)
			if err := db.Exec("DELETE FROM numbers WHERE number IN ('80808080', '123456789')").Error; err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate after the fix: %v", err)
			}
			if ns, _ := s.ListNumbers(ctx, 1); len(ns) != 2 || ns[0].Number != "+4570101010" || ns[1].Number != "+4580808080" {
				t.Fatalf("numbers after the fix: %+v", ns)
			}
		})
	}
}
