package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
)

// omstil gdpr export and delete, and the retention settings of omstil org
// set, end to end on the command line.
func TestGDPRCommands(t *testing.T) {
	t.Parallel()
	for _, dsn := range dsns(t) {
		t.Run(dsn.name, func(t *testing.T) {
			ctx := context.Background()
			env := map[string]string{"OMSTIL_DB": dsn.dsn}
			if code, _, errOut := runCmd(t, env, "", "org", "create", "--slug", "faxe", "--name", "Faxe Kommune"); code != 0 {
				t.Fatalf("org create: %s", errOut)
			}
			st, err := config.Open(ctx, dsn.dsn, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			def, _ := st.DefaultOrg(ctx)
			faxe, _ := st.OrgBySlug(ctx, "faxe")
			at := time.Now().Add(-time.Hour)
			err = st.AppendCallEvents(ctx, []config.CallEvent{
				{OrgID: def.ID, At: at, CallID: "c1", Kind: "call.arrived", Caller: "+4512345678"},
				{OrgID: def.ID, At: at, CallID: "c1", Kind: "Abandoned", WaitMS: 9000},
				{OrgID: faxe.ID, At: at, CallID: "f1", Kind: "call.arrived", Caller: "12345678"},
			})
			st.Close()
			if err != nil {
				t.Fatal(err)
			}

			type export struct {
				Number, Pseudonym string
				CallEvents        []struct{ Call, Kind string } `json:"call_events"`
			}
			exportOf := func(org, number string) export {
				t.Helper()
				code, out, errOut := runCmd(t, env, "", "gdpr", "export", "--org", org, "--number", number)
				var ex export
				if code != 0 || json.Unmarshal([]byte(out), &ex) != nil {
					t.Fatalf("export %s: %d %q %q", org, code, out, errOut)
				}
				return ex
			}
			if ex := exportOf("default", "12 34 56 78"); ex.Number != "+4512345678" || len(ex.CallEvents) != 2 || ex.CallEvents[1].Kind != "Abandoned" {
				t.Fatalf("default's export: %+v", ex)
			}
			if ex := exportOf("faxe", "+4512345678"); len(ex.CallEvents) != 1 || ex.CallEvents[0].Call != "f1" {
				t.Fatalf("faxe's export: %+v", ex)
			}

			// Refused: no --yes; a bad number (not repeated back); an
			// unknown organisation.
			if code, _, errOut := runCmd(t, env, "", "gdpr", "delete", "--org", "default", "--number", "12345678"); code != 1 || !strings.Contains(errOut, "--yes") {
				t.Fatalf("delete without --yes: %d %q", code, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "gdpr", "export", "--org", "default", "--number", "1234-abc"); code != 1 || !strings.Contains(errOut, "number") || strings.Contains(errOut, "1234-abc") {
				t.Fatalf("bad number: %d %q", code, errOut)
			}
			if code, _, _ := runCmd(t, env, "", "gdpr", "export", "--org", "nope", "--number", "12345678"); code != 1 {
				t.Fatalf("unknown organisation: %d", code)
			}
			if ex := exportOf("default", "12345678"); len(ex.CallEvents) != 2 {
				t.Fatalf("something was deleted: %+v", ex)
			}

			// The number from standard input.
			code, out, errOut := runCmd(t, env, "004512345678\n", "gdpr", "delete", "--org", "default", "--number", "-", "--yes")
			if code != 0 || !strings.Contains(out, "deleted 2 call events and 0 pending callbacks of pseud:") || strings.Contains(out, "12345678") {
				t.Fatalf("delete: %d %q %q", code, out, errOut)
			}
			if ex := exportOf("default", "12345678"); len(ex.CallEvents) != 0 {
				t.Fatalf("after delete: %+v", ex)
			}
			if ex := exportOf("faxe", "12345678"); len(ex.CallEvents) != 1 {
				t.Fatalf("faxe's after default's delete: %+v", ex)
			}

			// Retention settings.
			code, out, errOut = runCmd(t, env, "", "org", "set", "--slug", "faxe", "--pseudonymise-after-days", "7", "--delete-after-months", "6")
			if code != 0 || !strings.Contains(out, "pseudonymised after 7 days, events deleted after 6 months") {
				t.Fatalf("org set: %d %q %q", code, out, errOut)
			}
			if code, _, errOut := runCmd(t, env, "", "org", "set", "--slug", "faxe", "--delete-after-months", "0"); code != 1 || !strings.Contains(errOut, "delete_after_months") {
				t.Fatalf("bad months: %d %q", code, errOut)
			}
			if code, out, _ := runCmd(t, env, "", "org", "show", "--slug", "default"); code != 0 || !strings.Contains(out, "after 30 days, events deleted after 13 months") {
				t.Fatalf("org show: %q", out)
			}
		})
	}
}
