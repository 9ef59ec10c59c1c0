// Package config is omstil's configuration store: what an installation
// changes while it runs (organisations, users, queues, agents, flows,
// numbers, schedules, announcements) in SQL — the gorm models, the
// versioned migrations (migrations/, the store's schema) and the
// repositories every other part uses to read and change configuration. It
// is the only package that knows SQL. Start-up settings from flags and the
// environment are in package settings.
package config

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/omstil/omstil/audio"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// Sentinel errors of the store. Callers test them with errors.Is.
var (
	// ErrNotFound: the object does not exist (or belongs to another organisation).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (a username, a number) is already taken.
	ErrConflict = errors.New("already exists")
	// ErrUsernameTaken: a login name is in use, in this organisation or
	// another (login names are unique in the installation). It is an
	// ErrConflict; its text does not say whose the name is.
	ErrUsernameTaken = fmt.Errorf("that username is taken (%w)", ErrConflict)
	// ErrSchemaTooNew: the database was migrated by a newer omstil.
	ErrSchemaTooNew = errors.New("database schema is newer than this omstil")
	// ErrInUse: the object is referenced and cannot be deleted.
	ErrInUse = errors.New("in use")
)

// ValidationError says which field of an input is wrong and why. The HTTP
// layer shows it to the user as it is, so its text must be safe to show.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Invalid builds a ValidationError.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

//go:embed migrations
var migrationsFS embed.FS

// Store is omstil's SQL store. It is safe for concurrent use.
type Store struct {
	db       *gorm.DB
	dialect  string // "sqlite" or "postgres"
	now      func() time.Time
	log      *slog.Logger
	migrator *goose.Provider
	hooks    hookList // OnChange callbacks
	audio    *audio.Converter
}

// Options tune Open. The zero value is fine.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // injected clock; time.Now when nil
	// Audio converts uploaded announcements within its limits (length,
	// conversions at once); audio.NewConverter's defaults when nil.
	Audio *audio.Converter
}

// Open connects to the database named by dsn: a postgres:// URL or a
// SQLite file path. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if err := ValidateDSN(dsn); err != nil {
		return nil, fmt.Errorf("config: open database: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Audio == nil {
		opts.Audio = audio.NewConverter(audio.Limits{})
	}
	gcfg := &gorm.Config{
		Logger:                                   gormlogger.Discard,
		NowFunc:                                  func() time.Time { return opts.Now().UTC() },
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
	}
	var (
		dial       gorm.Dialector
		dialect    string
		gooseDial  goose.Dialect
		maxConns   int
		migrations fs.FS
	)
	if IsPostgresDSN(dsn) {
		dial, dialect, gooseDial, maxConns = postgres.Open(dsn), "postgres", goose.DialectPostgres, 20
	} else {
		if dir := filepath.Dir(dsn); dir != "." {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("config: open database: directory of %q: %w", dsn, err)
			}
		}
		dial, dialect, gooseDial, maxConns = sqlite.Open(sqliteDSN(dsn)), "sqlite", goose.DialectSQLite3, 4
	}
	migrations, err := fs.Sub(migrationsFS, "migrations/"+dialect)
	if err != nil {
		return nil, fmt.Errorf("config: migrations: %w", err)
	}
	db, err := gorm.Open(dial, gcfg)
	if err != nil {
		return nil, fmt.Errorf("config: open %s database %s: %w", dialect, redactDSN(dsn), scrub(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("config: open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("config: connect to %s database %s: %w", dialect, redactDSN(dsn), scrub(err, dsn))
	}
	prov, err := goose.NewProvider(gooseDial, sqlDB, migrations, goose.WithGoMigrations(goMigrations(dialect)...))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("config: migrations: %w", err)
	}
	return &Store{db: db, dialect: dialect, now: opts.Now, log: opts.Logger, migrator: prov, audio: opts.Audio}, nil
}

// sqliteDSN adds the pragmas omstil relies on: foreign keys, WAL, a busy
// timeout, and IMMEDIATE transactions so that two writers never deadlock
// on a lock upgrade.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	if strings.Contains(path, "?") {
		return path + "&" + q.Encode()
	}
	return "file:" + path + "?" + q.Encode()
}

// scrub removes the DSN's password from a driver error.
func scrub(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close closes the database. Safe to call twice.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// SchemaVersion returns the database's schema version and the newest one
// this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int64, err error) {
	current, err = s.migrator.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("config: schema version: %w", err)
	}
	srcs := s.migrator.ListSources()
	if len(srcs) > 0 {
		known = srcs[len(srcs)-1].Version
	}
	return current, known, nil
}

// Migrate brings the schema up to date, one transaction per migration. It
// refuses a database whose schema is newer than this binary knows.
func (s *Store) Migrate(ctx context.Context) error {
	current, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current > known {
		return fmt.Errorf("config: %w: the database is at version %d, this binary knows up to %d; run a newer omstil", ErrSchemaTooNew, current, known)
	}
	res, err := s.migrator.Up(ctx)
	if err != nil {
		return fmt.Errorf("config: migrate: %w", err)
	}
	for _, r := range res {
		file := filepath.Base(r.Source.Path)
		if r.Source.Path == "" {
			file = "(written in Go, config/migrate_*.go)"
		}
		s.log.Info("applied migration", "version", r.Source.Version, "file", file, "duration", r.Duration)
	}
	return nil
}

// CheckSchema fails unless the schema is exactly the one this binary knows.
func (s *Store) CheckSchema(ctx context.Context) error {
	current, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current > known:
		return fmt.Errorf("config: %w: the database is at version %d, this binary knows up to %d", ErrSchemaTooNew, current, known)
	case current < known:
		return fmt.Errorf("config: the database is at schema version %d, this binary needs %d; run omstil migrate", current, known)
	}
	return nil
}

// tx runs fn in one transaction.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// mapErr translates gorm errors into the store's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrConflict
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return ErrInUse
	}
	// glebarez/sqlite does not translate every constraint error.
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") {
		return ErrConflict
	}
	if strings.Contains(msg, "FOREIGN KEY constraint failed") {
		return ErrInUse
	}
	return err
}

// newSecret returns a random URL-safe token of n bytes and its SHA-256 hash
// (hex), which is what the database keeps.
func newSecret(prefix string, n int) (token, hash string, err error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashSecret(token), nil
}

func hashSecret(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
