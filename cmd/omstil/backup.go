package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
)

// cmdBackup is omstil backup FILE: a consistent copy of the SQLite
// database, taken while omstil serve runs. A PostgreSQL database is backed
// up with pg_dump; the command says how.
func cmdBackup(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s, rest, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return errors.New("usage: omstil backup [flags] FILE (FILE must not exist)")
	}
	file := rest[0]
	if s.IsPostgres() {
		return fmt.Errorf("backup: OMSTIL_DB is a PostgreSQL database; back it up with pg_dump (the password from ~/.pgpass or PGPASSWORD):\n"+
			"  pg_dump --format=custom --file=%s --dbname='%s'\n"+
			"and restore it with pg_restore (see omstil restore)", file, withoutPassword(s.DB))
	}
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("backup: %s exists; give a new file name", file)
	}
	if _, err := os.Stat(s.DB); err != nil {
		return fmt.Errorf("backup: OMSTIL_DB: %w", err)
	}
	st, err := config.Open(ctx, s.DB, config.Options{Logger: newLogger(s, stderr)})
	if err != nil {
		return err
	}
	defer st.Close()
	version, err := st.Backup(ctx, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (schema version %d)\n", s.DB, file, version)
	return nil
}

// cmdRestore is omstil restore FILE: the backup FILE becomes the SQLite
// database OMSTIL_DB, which must be new. A PostgreSQL database is
// restored with pg_restore; the command says how.
func cmdRestore(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s, rest, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return errors.New("usage: omstil restore [flags] FILE (into a new, empty OMSTIL_DB)")
	}
	file := rest[0]
	if s.IsPostgres() {
		dsn := withoutPassword(s.DB)
		return fmt.Errorf("restore: OMSTIL_DB is a PostgreSQL database; restore a pg_dump archive into a new, empty database with pg_restore:\n"+
			"  pg_restore --no-owner --single-transaction --exit-on-error --dbname='%s' %s\n"+
			"(a plain SQL dump: psql --single-transaction -v ON_ERROR_STOP=1 --dbname='%s' --file=%s),\n"+
			"then check it with omstil migrate --status", dsn, file, dsn, file)
	}
	cur, known, err := config.RestoreSQLite(ctx, file, s.DB, config.Options{Logger: newLogger(s, stderr)})
	if err != nil {
		return err
	}
	state := "up to date"
	if cur < known {
		state = "omstil migrate (or serve) brings it up to date"
	}
	fmt.Fprintf(stdout, "restored %s into %s: schema version %d (this binary knows %d): %s\n", file, s.DB, cur, known, state)
	if os.Geteuid() == 0 {
		fmt.Fprintf(stderr, "omstil: note: %s belongs to root; the omstil service runs as user omstil: chown omstil:omstil %s\n", s.DB, s.DB)
	}
	return nil
}

// withoutPassword is a postgres:// URL without its password, for a
// command line the operator copies (pg_dump reads the password from
// ~/.pgpass or PGPASSWORD).
func withoutPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
