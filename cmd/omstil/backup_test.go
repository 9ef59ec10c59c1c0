package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/glebarez/sqlite"
	"github.com/omstil/omstil/config"
	"gorm.io/gorm"
)

// migratedDB makes a migrated SQLite database with the user karen and the
// queue borgerservice in it, and returns its path.
func migratedDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "live.db")
	env := map[string]string{"OMSTIL_DB": db}
	if code, out, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--username", "karen", "--role", "supervisor", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %d %q %q", code, out, errOut)
	}
	st := openTestStore(t, db)
	org, err := st.DefaultOrg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateQueue(context.Background(), config.SystemActor(org.ID), config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()}); err != nil {
		t.Fatal(err)
	}
	return db
}

func openTestStore(t *testing.T, dsn string) *config.Store {
	t.Helper()
	st, err := config.Open(context.Background(), dsn, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// execSQLite runs statements on a SQLite file outside the store.
func execSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestBackupAndRestore: a backup taken while another connection writes
// (as omstil serve would) restores into a new path with the data in it.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	live := migratedDB(t)
	dir := t.TempDir()
	backup := filepath.Join(dir, "omstil-backup.db")

	// "serve": a store that keeps writing while the backup is taken.
	st := openTestStore(t, live)
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := st.CreateQueue(ctx, config.SystemActor(org.ID), config.NewQueue{Name: fmt.Sprintf("q%d", i), Settings: config.DefaultQueueSettings()}); err != nil {
				t.Errorf("write during backup: %v", err)
				return
			}
		}
	}()
	code, out, errOut := runCmd(t, map[string]string{"OMSTIL_DB": live}, "", "backup", backup)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600 (it holds password hashes)", err, fi.Mode().Perm())
	}

	restored := filepath.Join(t.TempDir(), "restored.db")
	code, out, errOut = runCmd(t, map[string]string{"OMSTIL_DB": restored}, "", "restore", backup)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, map[string]string{"OMSTIL_DB": restored}, "", "migrate", "--status"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate --status on the restored database: %d %q", code, out)
	}
	rst := openTestStore(t, restored)
	if _, err := rst.Authenticate(ctx, "karen", "a good long password"); err != nil {
		t.Errorf("karen in the restored database: %v", err)
	}
	rorg, err := rst.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := rst.ListQueues(ctx, rorg.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, q := range qs {
		found = found || q.Name == "borgerservice"
	}
	if !found {
		t.Errorf("queue borgerservice not restored; queues: %d", len(qs))
	}
	// The backup itself is not changed by the restore.
	if _, err := os.Stat(backup + "-wal"); err == nil {
		t.Error("restore left a -wal file beside the backup")
	}
}

// TestBackupRefusals: the backup never overwrites a file and never makes
// a database where there was none.
func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	live := migratedDB(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "there.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	notOmstil := filepath.Join(dir, "other.db")
	execSQLite(t, notOmstil, "CREATE TABLE t (x)")
	missing := filepath.Join(dir, "missing.db")

	cases := []struct {
		name, db string
		args     []string
		want     string
	}{
		{"existing file", live, []string{existing}, "exists"},
		{"no file", live, nil, "usage: omstil backup"},
		{"two files", live, []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}, "usage: omstil backup"},
		{"missing database", missing, []string{filepath.Join(dir, "m.bak")}, "OMSTIL_DB"},
		{"not omstil", notOmstil, []string{filepath.Join(dir, "n.bak")}, "not an omstil database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, map[string]string{"OMSTIL_DB": c.db}, "", append([]string{"backup"}, c.args...)...)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed: %q", b)
	}
	for _, p := range []string{missing, filepath.Join(dir, "m.bak"), filepath.Join(dir, "n.bak")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was made by a refused backup", p)
		}
	}
}

// TestRestoreRefusals: restore writes only into a new database, and only
// an omstil backup whose schema this binary knows.
func TestRestoreRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.bak")
	if code, _, errOut := runCmd(t, map[string]string{"OMSTIL_DB": migratedDB(t)}, "", "backup", good); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	garbage := filepath.Join(dir, "garbage.bak")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.bak")
	execSQLite(t, other, "CREATE TABLE t (x)")
	newer := filepath.Join(dir, "newer.bak")
	if code, _, errOut := runCmd(t, map[string]string{"OMSTIL_DB": migratedDB(t)}, "", "backup", newer); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	_, known, err := openTestStore(t, migratedDB(t)).SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A newer omstil recorded a migration this binary does not know.
	execSQLite(t, newer, fmt.Sprintf("INSERT INTO goose_db_version (version_id, is_applied) VALUES (%d, true)", known+1))
	inUse := migratedDB(t) // a database with data
	// A database moved away without its WAL: SQLite would replay it.
	staleWAL := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(staleWAL+"-wal", []byte("unwritten changes"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, db string
		args     []string
		want     string
	}{
		{"target has data", inUse, []string{good}, "already holds a database"},
		{"stale wal", staleWAL, []string{good}, "-wal exists"},
		{"garbage", filepath.Join(t.TempDir(), "x.db"), []string{garbage}, "not an omstil database"},
		{"other sqlite", filepath.Join(t.TempDir(), "x.db"), []string{other}, "not an omstil database"},
		{"newer schema", filepath.Join(t.TempDir(), "x.db"), []string{newer}, "newer than this omstil"},
		{"missing backup", filepath.Join(t.TempDir(), "x.db"), []string{filepath.Join(dir, "nope.bak")}, "no such file"},
		{"no file", filepath.Join(t.TempDir(), "x.db"), nil, "usage: omstil restore"},
		{"two files", filepath.Join(t.TempDir(), "x.db"), []string{good, good}, "usage: omstil restore"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadFile(c.db)
			code, _, errOut := runCmd(t, map[string]string{"OMSTIL_DB": c.db}, "", append([]string{"restore"}, c.args...)...)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, c.want)
			}
			after, _ := os.ReadFile(c.db)
			if !bytes.Equal(before, after) {
				t.Errorf("refused restore changed %s", c.db)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(c.db), "*.restore-*"))
			if len(left) > 0 {
				t.Errorf("refused restore left %v", left)
			}
		})
	}
	// The user's data is still there after the refusal.
	if _, err := openTestStore(t, inUse).Authenticate(context.Background(), "karen", "a good long password"); err != nil {
		t.Errorf("karen after a refused restore: %v", err)
	}
}

// TestRestoreIntoNewDatabase: an empty file, or the bookkeeping-only file
// omstil migrate --status leaves at a new path, is a new database.
func TestRestoreIntoNewDatabase(t *testing.T) {
	t.Parallel()
	good := filepath.Join(t.TempDir(), "good.bak")
	if code, _, errOut := runCmd(t, map[string]string{"OMSTIL_DB": migratedDB(t)}, "", "backup", good); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	statusOnly := filepath.Join(t.TempDir(), "status.db")
	if code, out, _ := runCmd(t, map[string]string{"OMSTIL_DB": statusOnly}, "", "migrate", "--status"); code != 0 || !strings.Contains(out, "schema version 0") {
		t.Fatalf("migrate --status on a new path: %d %q", code, out)
	}
	for _, db := range []string{empty, statusOnly} {
		t.Run(filepath.Base(db), func(t *testing.T) {
			if code, out, errOut := runCmd(t, map[string]string{"OMSTIL_DB": db}, "", "restore", good); code != 0 {
				t.Fatalf("restore: %d %q %q", code, out, errOut)
			}
			if _, err := openTestStore(t, db).Authenticate(context.Background(), "karen", "a good long password"); err != nil {
				t.Errorf("karen: %v", err)
			}
		})
	}
}

// TestBackupRestorePostgresSaysHow: on PostgreSQL the commands name
// pg_dump and pg_restore with the database, never the password, and
// make nothing.
func TestBackupRestorePostgresSaysHow(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OMSTIL_DB": "postgres://omstil:s3cret-pw@db.example:5432/omstil?sslmode=require"}
	file := filepath.Join(t.TempDir(), "omstil.dump")
	for cmd, want := range map[string]string{"backup": "pg_dump --format=custom --file=" + file, "restore": "pg_restore --no-owner"} {
		code, out, errOut := runCmd(t, env, "", cmd, file)
		if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "postgres://omstil@db.example:5432/omstil?sslmode=require") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and %q", cmd, code, out, errOut, want)
		}
		if strings.Contains(errOut, "s3cret") {
			t.Errorf("%s: the password is in the message: %q", cmd, errOut)
		}
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("a file was made")
	}
}
