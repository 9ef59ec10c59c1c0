package main

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omstil/omstil/config/configtest"
)

// shellWords splits a command line as a shell would for the simple
// quoting omstil prints: words separated by spaces, '…' quoted.
func shellWords(line string) []string {
	var out []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// printedCommand finds the indented command line starting with tool in
// omstil's message.
func printedCommand(t *testing.T, msg, tool string) []string {
	t.Helper()
	for _, l := range strings.Split(msg, "\n") {
		if w := shellWords(strings.TrimSpace(l)); len(w) > 0 && w[0] == tool {
			return w
		}
	}
	t.Fatalf("no %s command in %q", tool, msg)
	return nil
}

// TestPostgresBackupRestoreRoundTrip runs the pg_dump and pg_restore
// commands omstil backup and omstil restore print for PostgreSQL, and
// checks that the restored database is the backed-up one.
func TestPostgresBackupRestoreRoundTrip(t *testing.T) {
	src := configtest.PostgresDSN(t)
	if src == "" {
		t.Skip("OMSTIL_TEST_POSTGRES not set: no PostgreSQL to back up")
	}
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (PostgreSQL's client tools): %v", tool, err)
		}
	}
	u, _ := url.Parse(src)
	password, _ := u.User.Password()
	run := func(argv []string) {
		t.Helper()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", argv[0], err, out)
		}
	}

	env := map[string]string{"OMSTIL_DB": src}
	if code, _, errOut := runCmd(t, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	if code, _, errOut := runCmd(t, env, "a long enough password\n", "user", "create", "--username", "karen", "--role", "supervisor", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %s", errOut)
	}
	file := filepath.Join(t.TempDir(), "omstil.dump")
	code, _, msg := runCmd(t, env, "", "backup", file)
	if code != 1 || strings.Contains(msg, ":"+password+"@") {
		t.Fatalf("backup on PostgreSQL: exit %d, %q (want the pg_dump command, without the password)", code, msg)
	}
	run(printedCommand(t, msg, "pg_dump"))

	dst := configtest.PostgresDSN(t) // a new, empty database
	denv := map[string]string{"OMSTIL_DB": dst}
	code, _, msg = runCmd(t, denv, "", "restore", file)
	if code != 1 || strings.Contains(msg, ":"+password+"@") {
		t.Fatalf("restore on PostgreSQL: exit %d, %q", code, msg)
	}
	run(printedCommand(t, msg, "pg_restore"))

	if code, out, _ := runCmd(t, denv, "", "migrate", "--status"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("restored schema: %d %q", code, out)
	}
	if code, out, errOut := runCmd(t, denv, "", "token", "create", "--username", "karen"); code != 0 || !strings.HasPrefix(out, "omst_") {
		t.Fatalf("karen in the restored database: %d %q %q", code, out, errOut)
	}
}
