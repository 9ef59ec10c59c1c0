package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

// freshLike opens a new, empty, migrated store of the same kind as b.
func freshLike(t *testing.T, b configtest.Backend) *config.Store {
	t.Helper()
	if b.Name == "sqlite" {
		return configtest.SQLite(t, config.Options{})
	}
	ctx := context.Background()
	s, err := config.Open(ctx, configtest.PostgresDSN(t), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// fullOrg is newCallFixture plus what the fixture leaves out: a login
// linked to an agent, an inactive browser agent with its own wrap-up,
// escalation, pause reasons.
func fullOrg(t *testing.T, s *config.Store) callFixture {
	t.Helper()
	ctx := context.Background()
	f := newCallFixture(t, s)
	u, err := s.CreateUser(ctx, f.sys, config.NewUser{OrgID: f.org.ID, Username: "anna", Password: "correct horse battery", Role: config.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAgent(ctx, f.sys, f.agent.ID, config.AgentPatch{UserID: &u.ID}); err != nil {
		t.Fatal(err)
	}
	wrap, inactive := 30, false
	b, err := s.CreateAgent(ctx, f.sys, config.NewAgent{Name: "Bo Berg", WrapUpSeconds: &wrap, DeviceKind: config.DeviceWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAgent(ctx, f.sys, b.ID, config.AgentPatch{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	qs := config.DefaultQueueSettings()
	qs.Escalation = []config.EscalationStep{{AfterSeconds: 60, MaxTier: 1}, {AfterSeconds: 120, MaxTier: 2, RelaxSkills: 1}}
	qs.Music = "ringing"
	q2, err := s.CreateQueue(ctx, f.sys, config.NewQueue{Name: "tandpleje", DisplayName: "Skoletandplejen", Settings: qs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMembership(ctx, f.sys, config.Membership{AgentID: b.ID, QueueID: q2.ID, SortOrder: 3, Weight: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMembership(ctx, f.sys, config.Membership{AgentID: f.agent.ID, QueueID: q2.ID, Tier: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPauseReasons(ctx, f.sys, []string{"Frokost", "Møde", "Kursus"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func exportJSON(t *testing.T, s *config.Store, org config.OrgID) (config.Bundle, []byte) {
	t.Helper()
	b, err := s.ExportOrg(context.Background(), org)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	js, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b, js
}

// comparable is a bundle's JSON without what differs between two
// exports of the same configuration.
func comparable(t *testing.T, b config.Bundle) string {
	t.Helper()
	b.ExportedAt, b.Organisation = time.Time{}, ""
	js, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

// snapshot is what an organisation has, to show that a refused import
// changed nothing.
func snapshot(t *testing.T, s *config.Store, org config.OrgID) string {
	t.Helper()
	b, err := s.ExportOrg(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := s.ListAudit(context.Background(), org, config.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	b.ExportedAt = time.Time{}
	js, _ := json.Marshal(b)
	return string(js) + "\naudit entries: " + strings.Repeat("x", len(audit))
}

func TestBundleRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, be := range configtest.Backends(t, config.Options{}) {
		t.Run(be.Name, func(t *testing.T) {
			src := be.Store
			f := fullOrg(t, src)
			first, js := exportJSON(t, src, f.org.ID)
			if first.Format != config.BundleFormat || first.Version != config.BundleVersion || first.Organisation != "default" {
				t.Fatalf("header: %q %d %q", first.Format, first.Version, first.Organisation)
			}
			for _, secret := range []string{"correct horse", "argon2", "password"} {
				if bytes.Contains(js, []byte(secret)) {
					t.Errorf("the bundle contains %q", secret)
				}
			}
			// through the file format, as the command line does
			read, err := config.ReadBundle(bytes.NewReader(js))
			if err != nil {
				t.Fatal(err)
			}

			dst := freshLike(t, be)
			dorg, err := dst.DefaultOrg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			dsys := config.SystemActor(dorg.ID)
			if _, err := dst.CreateUser(ctx, dsys, config.NewUser{OrgID: dorg.ID, Username: "anna", Password: "another good password", Role: config.RoleAgent}); err != nil {
				t.Fatal(err)
			}
			rep, err := dst.ImportOrg(ctx, dsys, dorg.ID, read, config.ImportOptions{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if len(rep.Notes) != 0 || rep.DryRun {
				t.Errorf("report: %+v", rep)
			}
			// 1 reason list, 1 schedule, 1 announcement, 2 queues, 2 agents, 3 memberships, 1 flow, 1 number
			if len(rep.Created) != 12 {
				t.Errorf("created %d: %v", len(rep.Created), rep.Created)
			}
			second, _ := exportJSON(t, dst, dorg.ID)
			if a, b := comparable(t, first), comparable(t, second); a != b {
				t.Fatalf("bundles differ after a round trip:\nfirst:\n%s\nsecond:\n%s", a, b)
			}
			// the audio is the same bytes, and the imported objects work as created ones do
			anns, _ := dst.ListAnnouncements(ctx, dorg.ID)
			if len(anns) != 1 || anns[0].SHA256 != first.Announcements[0].SHA256 || anns[0].DurationMS != f.ann.DurationMS {
				t.Fatalf("announcement: %+v", anns)
			}
			if _, err := dst.LoadRuntime(ctx); err != nil {
				t.Fatalf("runtime of the imported configuration: %v", err)
			}
			// one audit entry says it was an import
			audit, _ := dst.ListAudit(ctx, dorg.ID, config.AuditFilter{ObjectType: "configuration"})
			if len(audit) != 1 || audit[0].Action != "import" || !strings.Contains(audit[0].AfterJSON, "queue 'borgerservice'") {
				t.Fatalf("audit: %+v", audit)
			}
		})
	}
}

// TestBundleLoginNotInTarget: an agent whose login is not a user of the
// target organisation is created unlinked, and the report says so.
func TestBundleLoginNotInTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := configtest.SQLite(t, config.Options{})
	f := fullOrg(t, src)
	b, _ := exportJSON(t, src, f.org.ID)

	dst := configtest.SQLite(t, config.Options{})
	dorg, _ := dst.DefaultOrg(ctx)
	// a user of that name in another organisation is not a match
	other, err := dst.CreateOrg(ctx, "faxe", "Faxe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CreateUser(ctx, config.SystemActor(other.ID), config.NewUser{OrgID: other.ID, Username: "anna", Password: "another good password", Role: config.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	rep, err := dst.ImportOrg(ctx, config.SystemActor(dorg.ID), dorg.ID, b, config.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "Anna Hansen") || !strings.Contains(rep.Notes[0], `"anna"`) {
		t.Fatalf("notes: %q", rep.Notes)
	}
	ags, _ := dst.ListAgents(ctx, dorg.ID)
	for _, a := range ags {
		if a.UserID != nil {
			t.Errorf("agent %s linked to user %d", a.Name, *a.UserID)
		}
	}
}

func TestBundleRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := configtest.SQLite(t, config.Options{})
	f := fullOrg(t, src)
	good, _ := exportJSON(t, src, f.org.ID)

	// each case breaks a copy of the good bundle; the import must name the
	// problem and change nothing
	cases := []struct {
		name  string
		edit  func(b *config.Bundle)
		wants []string
	}{
		{"flow refers to a queue that exists nowhere", func(b *config.Bundle) {
			b.Flows[0].Definition.Steps[2].Queue.Queue = "findes-ikke"
		}, []string{"flow 'hovednummer'", "findes-ikke"}},
		{"flow with a dangling branch", func(b *config.Bundle) {
			b.Flows[0].Definition.Start = "ingen-steder"
		}, []string{"flow 'hovednummer'", "ingen-steder"}},
		{"membership in a queue that exists nowhere", func(b *config.Bundle) {
			b.Agents[0].Memberships[0].Queue = "væk"
		}, []string{"agent 'Anna Hansen'", "væk"}},
		{"number to a flow that exists nowhere", func(b *config.Bundle) {
			b.Numbers[0].Flow = "ukendt"
		}, []string{"number '+4570101010'", "ukendt"}},
		{"queue custom announcement that exists nowhere", func(b *config.Bundle) {
			b.Queues[0].Settings.CustomAnnouncements[0].Announcement = "tavshed"
		}, []string{"queue 'borgerservice'", "tavshed"}},
		{"queue settings the API refuses", func(b *config.Bundle) {
			b.Queues[1].Settings.Strategy = "tilfældig"
		}, []string{"queue 'tandpleje'", "strategy"}},
		{"agent the API refuses", func(b *config.Bundle) {
			b.Agents[0].DialString = "nonsense"
		}, []string{"agent 'Anna Hansen'", "dial_string"}},
		{"damaged audio", func(b *config.Bundle) {
			b.Announcements[0].Audio = append([]byte(nil), b.Announcements[0].Audio...)
			b.Announcements[0].Audio[100] ^= 0xff
		}, []string{"announcement 'velkomst'", "sha256"}},
		{"two queues of one name", func(b *config.Bundle) {
			b.Queues = append(b.Queues, b.Queues[0])
		}, []string{"queue 'borgerservice'", "twice"}},
		{"another format version", func(b *config.Bundle) {
			b.Version = 99
		}, []string{"version 99"}},
		{"every problem at once", func(b *config.Bundle) {
			b.Numbers[0].Flow = "ukendt"
			b.Agents[0].Memberships[0].Queue = "væk"
		}, []string{"ukendt", "væk"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := copyBundle(t, good)
			c.edit(&b)
			dst := configtest.SQLite(t, config.Options{})
			dorg, _ := dst.DefaultOrg(ctx)
			before := snapshot(t, dst, dorg.ID)
			for _, dry := range []bool{true, false} {
				_, err := dst.ImportOrg(ctx, config.SystemActor(dorg.ID), dorg.ID, b, config.ImportOptions{DryRun: dry})
				var ie *config.ImportError
				if !errors.As(err, &ie) || len(ie.Problems) == 0 {
					t.Fatalf("dry run %t: got %v, want an ImportError with problems", dry, err)
				}
				for _, w := range c.wants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("dry run %t: %q does not name %q", dry, err, w)
					}
				}
			}
			if after := snapshot(t, dst, dorg.ID); after != before {
				t.Fatalf("a refused import changed the organisation:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestBundleDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := configtest.SQLite(t, config.Options{})
	f := fullOrg(t, src)
	b, _ := exportJSON(t, src, f.org.ID)
	dst := configtest.SQLite(t, config.Options{})
	dorg, _ := dst.DefaultOrg(ctx)
	changed := 0
	dst.OnChange(func() { changed++ })
	before := snapshot(t, dst, dorg.ID)
	rep, err := dst.ImportOrg(ctx, config.SystemActor(dorg.ID), dorg.ID, b, config.ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Created) != 12 || rep.Created[len(rep.Created)-1] != "number '+4570101010'" {
		t.Fatalf("report: %+v", rep)
	}
	if after := snapshot(t, dst, dorg.ID); after != before {
		t.Fatalf("dry run changed the organisation:\nbefore %s\nafter  %s", before, after)
	}
	if changed != 0 {
		t.Errorf("dry run told %d listeners of a change", changed)
	}
	// and the real import afterwards still works
	if _, err := dst.ImportOrg(ctx, config.SystemActor(dorg.ID), dorg.ID, b, config.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if changed != 1 {
		t.Errorf("import told listeners %d times, want once", changed)
	}
}

func TestBundleConflictsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := configtest.SQLite(t, config.Options{})
	f := fullOrg(t, s)
	b, _ := exportJSON(t, s, f.org.ID)
	b.PauseReasons = []string{"Noget andet"}
	before := snapshot(t, s, f.org.ID)
	_, err := s.ImportOrg(ctx, f.sys, f.org.ID, b, config.ImportOptions{})
	var ie *config.ImportError
	if !errors.Is(err, config.ErrConflict) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want an ImportError that is ErrConflict", err)
	}
	want := []string{"pause reasons (the organisation has its own list, different from the bundle's)",
		"schedule 'hverdage'", "announcement 'velkomst'", "queue 'borgerservice'", "queue 'tandpleje'",
		"agent 'Anna Hansen'", "agent 'Bo Berg'", "flow 'hovednummer'", "number +4570101010 (is not available)"}
	if strings.Join(ie.Conflicts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conflicts:\n%s\nwant:\n%s", strings.Join(ie.Conflicts, "\n"), strings.Join(want, "\n"))
	}
	if after := snapshot(t, s, f.org.ID); after != before {
		t.Fatal("a refused import changed the organisation")
	}
}

// TestBundleIsolation: an export holds only its organisation's objects,
// and an import writes only into the organisation it is given.
func TestBundleIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := configtest.SQLite(t, config.Options{})
	a := fullOrg(t, s)
	borg, err := s.CreateOrg(ctx, "faxe", "Faxe")
	if err != nil {
		t.Fatal(err)
	}
	bsys := config.SystemActor(borg.ID)
	if _, err := s.CreateQueue(ctx, bsys, config.NewQueue{Name: "faxe-koe", Settings: config.DefaultQueueSettings()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAgent(ctx, bsys, config.NewAgent{Name: "Freja Faxe", DeviceKind: config.DeviceWebRTC}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSchedule(ctx, bsys, config.NewSchedule{Name: "faxe-tider", Definition: weekdays()}); err != nil {
		t.Fatal(err)
	}
	_, js := exportJSON(t, s, a.org.ID)
	for _, of := range []string{"faxe", "Freja"} {
		if bytes.Contains(bytes.ToLower(js), bytes.ToLower([]byte(of))) {
			t.Errorf("the export of %s contains %q of another organisation", a.org.Slug, of)
		}
	}
	bb, bjs := exportJSON(t, s, borg.ID)
	for _, of := range []string{"borgerservice", "Anna", "velkomst", "+4570101010"} {
		if bytes.Contains(bjs, []byte(of)) {
			t.Errorf("the export of faxe contains %q of another organisation", of)
		}
	}
	// import faxe's own configuration into a third organisation: the
	// other two do not change
	c, err := s.CreateOrg(ctx, "roskilde", "Roskilde")
	if err != nil {
		t.Fatal(err)
	}
	beforeA, beforeB := snapshot(t, s, a.org.ID), snapshot(t, s, borg.ID)
	if _, err := s.ImportOrg(ctx, config.SystemActor(c.ID), c.ID, bb, config.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if snapshot(t, s, a.org.ID) != beforeA || snapshot(t, s, borg.ID) != beforeB {
		t.Fatal("an import into roskilde changed another organisation")
	}
	qs, _ := s.ListQueues(ctx, c.ID)
	if len(qs) != 1 || qs[0].Name != "faxe-koe" {
		t.Fatalf("roskilde's queues: %+v", qs)
	}
	// the actor's own organisation does not matter: the import goes where it is told
	if _, err := s.ImportOrg(ctx, config.SystemActor(a.org.ID), borg.ID, config.Bundle{Format: config.BundleFormat, Version: config.BundleVersion,
		Queues: []config.BundleQueue{{Name: "ny-koe", Settings: bb.Queues[0].Settings}}}, config.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if qs, _ := s.ListQueues(ctx, a.org.ID); len(qs) != 2 {
		t.Fatalf("default's queues changed: %d", len(qs))
	}
	if qs, _ := s.ListQueues(ctx, borg.ID); len(qs) != 2 {
		t.Fatalf("faxe's queues: %d, want 2", len(qs))
	}
}

func TestReadBundleStrict(t *testing.T) {
	t.Parallel()
	for name, js := range map[string]string{
		"unknown field":    `{"format":"omstil-config","version":1,"queues":[{"name":"q","settings":{"stratgy":"ringall"}}]}`,
		"two documents":    `{"format":"omstil-config","version":1} {}`,
		"not json":         `format: omstil-config`,
		"unknown top key":  `{"format":"omstil-config","version":1,"users":[]}`,
		"unknown step key": `{"format":"omstil-config","version":1,"flows":[{"name":"f","definition":{"start":"a","steps":[{"id":"a","kind":"hangup","bogus":1}]}}]}`,
	} {
		if _, err := config.ReadBundle(strings.NewReader(js)); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}

func copyBundle(t *testing.T, b config.Bundle) config.Bundle {
	t.Helper()
	js, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := config.ReadBundle(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBundleReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, be := range configtest.Backends(t, config.Options{}) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Store
			f := fullOrg(t, s)
			orig, _ := exportJSON(t, s, f.org.ID)

			// the organisation as it should be: every kind changed somewhere
			want := copyBundle(t, orig)
			want.PauseReasons = []string{"Frokost"}
			want.Schedules[0].Definition.PublicHolidays = false
			want.Announcements[0].Description = "ny tekst"
			want.Queues[0].DisplayName = "Borgerservice (ny)"
			want.Queues = []config.BundleQueue{want.Queues[0], {Name: "ny", Settings: want.Queues[1].Settings}, want.Queues[1]} // by name
			anna := &want.Agents[0]
			anna.DialString = "PJSIP/1002"
			anna.Memberships = []config.BundleMembership{
				{Queue: "borgerservice", Tier: 3, Weight: 1},
				{Queue: "ny", Order: 2, Weight: 5},
			} // and out of tandpleje
			want.Flows[0].Definition.Steps[2].Queue.Queue = "ny"
			want.Numbers[0].Description = "omstillingen"

			in := copyBundle(t, want)
			in.Agents[0].Login = "" // the bundle has no login for her: her link stays

			before := snapshot(t, s, f.org.ID)
			rep, err := s.ImportOrg(ctx, f.sys, f.org.ID, in, config.ImportOptions{Replace: true, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if snapshot(t, s, f.org.ID) != before {
				t.Fatal("a dry run with replace changed the organisation")
			}
			rep2, err := s.ImportOrg(ctx, f.sys, f.org.ID, in, config.ImportOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rep.Created, ",") != strings.Join(rep2.Created, ",") || strings.Join(rep.Updated, ",") != strings.Join(rep2.Updated, ",") {
				t.Errorf("dry run reported %+v, the import %+v", rep, rep2)
			}
			wantCreated := []string{"queue 'ny'", "membership of agent 'Anna Hansen' in queue 'ny'"}
			wantUpdated := []string{"pause reasons", "schedule 'hverdage'", "announcement 'velkomst'", "queue 'borgerservice'",
				"agent 'Anna Hansen'", "membership of agent 'Anna Hansen' in queue 'borgerservice'", "flow 'hovednummer'", "number '+4570101010'"}
			wantUnchanged := []string{"queue 'tandpleje'", "agent 'Bo Berg'", "membership of agent 'Bo Berg' in queue 'tandpleje'"}
			for _, c := range []struct {
				name      string
				got, want []string
			}{{"created", rep2.Created, wantCreated}, {"updated", rep2.Updated, wantUpdated}, {"unchanged", rep2.Unchanged, wantUnchanged}} {
				if strings.Join(c.got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s:\n%s\nwant:\n%s", c.name, strings.Join(c.got, "\n"), strings.Join(c.want, "\n"))
				}
			}
			got, _ := exportJSON(t, s, f.org.ID)
			if a, b := comparable(t, got), comparable(t, want); a != b {
				t.Fatalf("after replace:\n%s\nwant:\n%s", a, b)
			}

			// the same again changes nothing but says so in the audit log
			audit, _ := s.ListAudit(ctx, f.org.ID, config.AuditFilter{Limit: 500})
			rep3, err := s.ImportOrg(ctx, f.sys, f.org.ID, in, config.ImportOptions{Replace: true})
			if err != nil || len(rep3.Created)+len(rep3.Updated) != 0 {
				t.Fatalf("second replace: %+v %v", rep3, err)
			}
			if audit2, _ := s.ListAudit(ctx, f.org.ID, config.AuditFilter{Limit: 500}); len(audit2) != len(audit)+1 || audit2[0].Action != "import" {
				t.Errorf("second replace wrote %d audit entries, want the import's only", len(audit2)-len(audit))
			}
			// her login named in the bundle is hers already: no note, no change
			rep4, err := s.ImportOrg(ctx, f.sys, f.org.ID, want, config.ImportOptions{Replace: true})
			if err != nil || len(rep4.Notes)+len(rep4.Created)+len(rep4.Updated) != 0 {
				t.Fatalf("replace with her login: %+v %v", rep4, err)
			}
		})
	}
}

// TestBundleReplaceConflicts: what replace cannot resolve is still refused.
func TestBundleReplaceConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := configtest.SQLite(t, config.Options{})
	f := fullOrg(t, s)
	b, _ := exportJSON(t, s, f.org.ID)
	other, err := s.CreateOrg(ctx, "faxe", "Faxe")
	if err != nil {
		t.Fatal(err)
	}
	osys := config.SystemActor(other.ID)
	ofl, err := s.CreateFlow(ctx, osys, "x", mustFlow(t, `{"start":"a","steps":[{"id":"a","kind":"hangup"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNumber(ctx, osys, "+4570202020", ofl.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAgent(ctx, f.sys, config.NewAgent{Name: "Bo Berg", DeviceKind: config.DeviceWebRTC}); err != nil {
		t.Fatal(err)
	}
	b.Numbers = append(b.Numbers, config.BundleNumber{Number: "70 20 20 20", Flow: "hovednummer"})
	b.Agents = append(b.Agents, b.Agents[0])
	before := snapshot(t, s, f.org.ID)
	_, err = s.ImportOrg(ctx, f.sys, f.org.ID, b, config.ImportOptions{Replace: true})
	var ie *config.ImportError
	if !errors.As(err, &ie) || len(ie.Conflicts) != 3 ||
		!strings.HasPrefix(ie.Conflicts[0], "agent 'Anna Hansen' (the bundle has several") ||
		!strings.HasPrefix(ie.Conflicts[1], "agent 'Bo Berg' (several agents here") || ie.Conflicts[2] != "number +4570202020 (is not available)" {
		t.Fatalf("got %v", err)
	}
	if snapshot(t, s, f.org.ID) != before {
		t.Fatal("a refused import changed the organisation")
	}
}

// TestBundleHandWritten: a template written by hand may leave out what
// the API would default: queue settings and an agent's active state.
func TestBundleHandWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := configtest.SQLite(t, config.Options{})
	org, sys := mustAdmin(t, s)
	b, err := config.ReadBundle(strings.NewReader(`{
	  "format": "omstil-config", "version": 1,
	  "queues": [{"name": "borgerservice", "settings": {"wrap_up_seconds": 15}}],
	  "agents": [{"name": "Anna", "device_kind": "webrtc", "memberships": [{"queue": "borgerservice"}]}],
	  "flows": [{"name": "hoved", "definition": {"start": "kø", "steps": [
	    {"id": "kø", "kind": "queue", "queue": {"queue": "borgerservice"}}]}}],
	  "numbers": [{"number": "1813", "flow": "hoved"}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportOrg(ctx, sys, org.ID, b, config.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	want := config.DefaultQueueSettings()
	want.WrapUpSeconds = 15
	want.Skills, want.Escalation, want.CustomAnnouncements = []config.SkillReq{}, []config.EscalationStep{}, []config.QueueAnnouncement{}
	qs, _ := s.ListQueues(ctx, org.ID)
	if len(qs) != 1 || !reflect.DeepEqual(qs[0].QueueSettings, want) {
		t.Fatalf("queue settings:\n got %+v\nwant %+v", qs[0].QueueSettings, want)
	}
	ags, _ := s.ListAgents(ctx, org.ID)
	if len(ags) != 1 || !ags[0].Active {
		t.Fatalf("agents: %+v", ags)
	}
	ms, _ := s.ListMemberships(ctx, org.ID, ags[0].ID, 0)
	if len(ms) != 1 || ms[0].Weight != 1 {
		t.Fatalf("memberships: %+v", ms)
	}
}
