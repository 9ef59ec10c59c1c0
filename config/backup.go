package config

// Backup and restore of a SQLite store. A PostgreSQL store is backed up
// with pg_dump and restored with pg_restore; omstil does not pretend to do
// it (cmd/omstil says how).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

var (
	// ErrNotOmstil: a file is not an omstil database (not SQLite, or no
	// omstil schema in it).
	ErrNotOmstil = errors.New("not an omstil database")
	// ErrNotEmpty: a restore target already holds a database.
	ErrNotEmpty = errors.New("already holds a database")
	// ErrPostgres: the operation is for SQLite stores only.
	ErrPostgres = errors.New("not for a PostgreSQL database")
)

// bookkeeping tables a database has before omstil's first migration:
// goose's version table (created by SchemaVersion on a new file) and
// SQLite's own.
var bookkeeping = []string{"goose_db_version", "sqlite_sequence"}

// Backup writes a consistent copy of the SQLite store to path while other
// connections (a running omstil serve) keep reading and writing: VACUUM
// INTO reads the database in one read transaction, so the copy is the
// database as of one moment, with no WAL file beside it. path must not
// exist; it is created with mode 0600, because it holds password hashes
// and citizens' phone numbers. It returns the copy's schema version.
func (s *Store) Backup(ctx context.Context, path string) (version int64, err error) {
	if s.dialect != "sqlite" {
		return 0, fmt.Errorf("config: backup: %w", ErrPostgres)
	}
	if err := s.checkOmstil(ctx); err != nil {
		return 0, fmt.Errorf("config: backup: %w", err)
	}
	version, _, err = s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("config: backup: %w", err)
	}
	// O_EXCL refuses an existing file; VACUUM INTO accepts the empty file
	// it made, and so the copy has the mode given here.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("config: backup: %w", err)
	}
	f.Close()
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", abs).Error; err != nil {
		os.Remove(abs)
		return 0, fmt.Errorf("config: backup to %s: %w", abs, err)
	}
	return version, nil
}

// RestoreSQLite makes the SQLite database file to from the backup from
// (a file omstil backup wrote). to must not exist, or be an empty file,
// or a database with no omstil schema in it (as omstil migrate --status
// leaves a new path); a database with data is never overwritten. The
// backup must be an omstil database whose schema this binary knows (an
// older one is fine: omstil migrate or serve brings it up to date). It
// returns the restored schema version and the newest this binary knows.
// The backup file is not changed; nothing is written to to unless every
// check passed.
func RestoreSQLite(ctx context.Context, from, to string, opts Options) (current, known int64, err error) {
	if IsPostgresDSN(to) {
		return 0, 0, fmt.Errorf("config: restore: %w", ErrPostgres)
	}
	if err := ValidateDSN(to); err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	if err := checkRestoreTarget(ctx, to, opts); err != nil {
		return 0, 0, fmt.Errorf("config: restore into %s: %w", to, err)
	}
	src, err := os.Open(from)
	if err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	defer src.Close()
	if fi, err := src.Stat(); err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	} else if !fi.Mode().IsRegular() {
		return 0, 0, fmt.Errorf("config: restore: %s is not a file", from)
	}
	// Work on a copy next to the target, so that the backup is never
	// changed and the target appears whole or not at all.
	tmp, err := os.CreateTemp(filepath.Dir(to), filepath.Base(to)+".restore-*")
	if err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	tmpPath := tmp.Name()
	defer removeSQLite(tmpPath) // a no-op once it has been linked and removed
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return 0, 0, fmt.Errorf("config: restore: copy %s: %w", from, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	current, known, err = checkBackup(ctx, tmpPath, opts)
	if err != nil {
		return 0, 0, fmt.Errorf("config: restore from %s: %w", from, err)
	}
	// The target was empty (checked above): clear it and put the copy in
	// its place. Link, unlike rename, fails if something made the target
	// in the meantime.
	if err := removeSQLite(to); err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	if err := os.Link(tmpPath, to); err != nil {
		return 0, 0, fmt.Errorf("config: restore: %w", err)
	}
	return current, known, nil
}

// checkRestoreTarget fails unless path is missing, empty, or a SQLite
// database without omstil's schema or any other table in it.
func checkRestoreTarget(ctx context.Context, path string, opts Options) error {
	for _, side := range []string{"-wal", "-journal"} {
		if fi, err := os.Stat(path + side); err == nil && fi.Size() > 0 {
			return fmt.Errorf("%w: %s%s exists (a database's unwritten changes); stop omstil and move the database and its -wal and -shm files aside", ErrNotEmpty, path, side)
		}
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a file", ErrNotEmpty)
	}
	if fi.Size() == 0 {
		return nil
	}
	st, err := Open(ctx, path, Options{Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer st.Close()
	tables, err := st.sqliteTables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if !slices.Contains(bookkeeping, t) {
			return fmt.Errorf("%w (table %s); restore only into a new database: stop omstil and move the file (and its -wal and -shm files) aside", ErrNotEmpty, t)
		}
	}
	if slices.Contains(tables, "goose_db_version") {
		if cur, _, err := st.SchemaVersion(ctx); err != nil {
			return err
		} else if cur != 0 {
			return fmt.Errorf("%w (schema version %d); restore only into a new database", ErrNotEmpty, cur)
		}
	}
	return nil
}

// checkBackup opens the SQLite file at path and checks that it is an
// intact omstil database whose schema this binary knows.
func checkBackup(ctx context.Context, path string, opts Options) (current, known int64, err error) {
	st, err := Open(ctx, path, Options{Logger: opts.Logger})
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotOmstil, err)
	}
	defer st.Close()
	var res []string
	if err := st.db.WithContext(ctx).Raw("PRAGMA quick_check").Scan(&res).Error; err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotOmstil, err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return 0, 0, fmt.Errorf("%w: the SQLite file is damaged: %v", ErrNotOmstil, res)
	}
	if err := st.checkOmstil(ctx); err != nil {
		return 0, 0, err
	}
	current, known, err = st.SchemaVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	if current > known {
		return 0, 0, fmt.Errorf("%w: the backup is at schema version %d, this binary knows up to %d; restore it with the omstil that made it, or a newer one", ErrSchemaTooNew, current, known)
	}
	return current, known, nil
}

// checkOmstil fails with ErrNotOmstil unless the SQLite store holds an
// omstil schema: goose's version table at a version above 0 and the
// organisations table of the first migration. It looks before calling
// SchemaVersion, which would create the version table.
func (s *Store) checkOmstil(ctx context.Context) error {
	tables, err := s.sqliteTables(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotOmstil, err)
	}
	if !slices.Contains(tables, "goose_db_version") || !slices.Contains(tables, "organisations") {
		return fmt.Errorf("%w: no omstil schema in it", ErrNotOmstil)
	}
	if cur, _, err := s.SchemaVersion(ctx); err != nil {
		return err
	} else if cur < 1 {
		return fmt.Errorf("%w: no omstil migration applied", ErrNotOmstil)
	}
	return nil
}

// sqliteTables lists the tables of a SQLite store.
func (s *Store) sqliteTables(ctx context.Context) ([]string, error) {
	var names []string
	err := s.db.WithContext(ctx).Raw("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("config: list tables: %w", err)
	}
	return names, nil
}

// removeSQLite removes a SQLite database file and the files SQLite keeps
// beside it; a missing file is not an error.
func removeSQLite(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
