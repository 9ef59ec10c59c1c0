package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

// seedConfig gives the default organisation of the database at dsn one
// of each object a flow needs.
func seedConfig(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	st, err := config.Open(ctx, dsn, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(org.ID)
	if _, err := st.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "velkomst", Data: silentWAV(8000)}); err != nil {
		t.Fatal(err)
	}
	r := []callflow.Range{{From: "08:00", To: "15:00"}}
	if _, err := st.CreateSchedule(ctx, sys, config.NewSchedule{Name: "hverdage", Definition: callflow.Schedule{Weekly: callflow.Week{Monday: r, Friday: r}}}); err != nil {
		t.Fatal(err)
	}
	q, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAgent(ctx, sys, config.NewAgent{Name: "Anna", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMembership(ctx, sys, config.Membership{AgentID: a.ID, QueueID: q.ID}); err != nil {
		t.Fatal(err)
	}
	var def callflow.Flow
	if err := json.Unmarshal([]byte(`{"start":"tid","steps":[
		{"id":"tid","kind":"schedule","schedule":{"schedule":"hverdage","open":"hej","closed":"slut"}},
		{"id":"hej","kind":"announcement","announcement":{"announcement":"velkomst","next":"kø"}},
		{"id":"kø","kind":"queue","queue":{"queue":"borgerservice","timeout":"slut"}},
		{"id":"slut","kind":"hangup"}]}`), &def); err != nil {
		t.Fatal(err)
	}
	f, err := st.CreateFlow(ctx, sys, "hovednummer", def)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateNumber(ctx, sys, "70 10 10 10", f.ID, ""); err != nil {
		t.Fatal(err)
	}
}

// withoutStamp drops what differs between two exports of one configuration.
func withoutStamp(t *testing.T, js string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%v: %q", err, js)
	}
	delete(m, "exported_at")
	out, _ := json.Marshal(m)
	return string(out)
}

func TestConfigExportImport(t *testing.T) {
	t.Parallel()
	srcs, dsts := dsns(t), dsns(t)
	for i := range srcs {
		src, dst := srcs[i], dsts[i]
		t.Run(src.name, func(t *testing.T) {
			seedConfig(t, src.dsn)
			file := filepath.Join(t.TempDir(), "faxe.json")
			srcEnv, dstEnv := map[string]string{"OMSTIL_DB": src.dsn}, map[string]string{"OMSTIL_DB": dst.dsn}

			if code, _, errOut := runCmd(t, srcEnv, "", "config", "export", "--org", "default", "--out", file); code != 0 || !strings.Contains(errOut, "1 queues") {
				t.Fatalf("export: %d %q", code, errOut)
			}
			exported, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
				t.Errorf("the export is mode %v, want 0600", fi.Mode().Perm())
			}
			if code, out, errOut := runCmd(t, dstEnv, "", "migrate"); code != 0 {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			_, empty, _ := runCmd(t, dstEnv, "", "config", "export", "--org", "default")

			// a dry run says what it would do and writes nothing
			code, out, errOut := runCmd(t, dstEnv, "", "config", "import", "--org", "default", "--dry-run", file)
			if code != 0 || !strings.Contains(out, "would create queue 'borgerservice'") || !strings.Contains(out, "nothing was written") {
				t.Fatalf("dry run: %d %q %q", code, out, errOut)
			}
			if _, now, _ := runCmd(t, dstEnv, "", "config", "export", "--org", "default"); withoutStamp(t, now) != withoutStamp(t, empty) {
				t.Fatalf("the dry run wrote:\n%s", now)
			}

			// the import, from standard input
			code, out, errOut = runCmd(t, dstEnv, string(exported), "config", "import", "--org", "default", "-")
			if code != 0 || !strings.Contains(out, "created number '70 10 10 10'") || !strings.Contains(out, "imported into default") {
				t.Fatalf("import: %d %q %q", code, out, errOut)
			}
			code, again, _ := runCmd(t, dstEnv, "", "config", "export", "--org", "default")
			if code != 0 || withoutStamp(t, again) != withoutStamp(t, string(exported)) {
				t.Fatalf("the imported configuration exports differently:\n%s\nwant\n%s", again, exported)
			}

			// a second import is refused with the list of what exists
			code, _, errOut = runCmd(t, dstEnv, "", "config", "import", "--org", "default", file)
			if code != 1 || !strings.Contains(errOut, "exists already: queue 'borgerservice'") || !strings.Contains(errOut, "exists already: number +4570101010") {
				t.Fatalf("second import: %d %q", code, errOut)
			}
			// unless it replaces them: then, a changed display name is the one update
			changed := strings.Replace(string(exported), `"name": "borgerservice",`, `"name": "borgerservice", "display_name": "Borgerservice",`, 1)
			code, out, errOut = runCmd(t, dstEnv, changed, "config", "import", "--org", "default", "--replace", "-")
			if code != 0 || !strings.Contains(out, "updated queue 'borgerservice'\n") || !strings.Contains(out, "(0 created, 1 updated)") {
				t.Fatalf("replace: %d %q %q", code, out, errOut)
			}
		})
	}
}

func TestConfigCommandUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OMSTIL_DB": filepath.Join(t.TempDir(), "o.db")}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"format":"omstil-config","version":1,"queues":[{"name":"q","settings":{"stratgy":"x"}}]}`), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"config"}, "omstil config export"},
		{[]string{"config", "export"}, "--org is required"},
		{[]string{"config", "import", "--org", "default"}, "one FILE"},
		{[]string{"config", "import", "--org", "default", "a.json", "--dry-run"}, "flags first"},
		{[]string{"config", "import", "--org", "default", bad}, "stratgy"},
		{[]string{"config", "export", "--org", "nowhere"}, "not found"},
	}
	for _, c := range cases {
		code, _, errOut := runCmd(t, env, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, errOut, c.want)
		}
	}
}
