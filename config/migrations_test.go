package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"
)

// migrationDialects are the directories under migrations/, one per
// database omstil supports.
var migrationDialects = []string{"sqlite", "postgres"}

// migrationVersions maps each migration version of a dialect to what
// holds it: the SQL file's name, or "a Go migration" for those
// registered in code (goMigrations).
func migrationVersions(fsys fs.FS, dialect string, gomigs []*goose.Migration) (map[int64]string, error) {
	entries, err := fs.ReadDir(fsys, dialect)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v < 1 {
			errs = append(errs, fmt.Errorf("%s/%s: the name does not start with a version number", dialect, e.Name()))
			continue
		}
		if prev, ok := out[v]; ok {
			errs = append(errs, fmt.Errorf("%s: version %d twice: %s and %s", dialect, v, prev, e.Name()))
		}
		out[v] = e.Name()
	}
	for _, m := range gomigs {
		if prev, ok := out[m.Version]; ok {
			errs = append(errs, fmt.Errorf("%s: version %d is both %s and a Go migration", dialect, m.Version, prev))
		}
		out[m.Version] = "a Go migration"
	}
	return out, errors.Join(errs...)
}

// checkMigrationParity reports every way the dialects' migrations differ:
// a version one dialect has and another lacks, or a version held by
// differently named files. Each dialect must run the same schema history.
func checkMigrationParity(fsys fs.FS, gomigs func(dialect string) []*goose.Migration) error {
	sets := map[string]map[int64]string{}
	var errs []error
	all := map[int64]bool{}
	for _, d := range migrationDialects {
		vs, err := migrationVersions(fsys, d, gomigs(d))
		if err != nil {
			errs = append(errs, err)
		}
		sets[d] = vs
		for v := range vs {
			all[v] = true
		}
	}
	versions := make([]int64, 0, len(all))
	for v := range all {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	first := migrationDialects[0]
	for _, v := range versions {
		for _, d := range migrationDialects {
			name, ok := sets[d][v]
			if !ok {
				var have []string
				for _, o := range migrationDialects {
					if n, ok := sets[o][v]; ok {
						have = append(have, o+" has "+n)
					}
				}
				errs = append(errs, fmt.Errorf("version %d is missing from migrations/%s (%s): write it for every dialect", v, d, strings.Join(have, ", ")))
				continue
			}
			if base, ok := sets[first][v]; ok && d != first && name != base {
				errs = append(errs, fmt.Errorf("version %d is %s in migrations/%s but %s in migrations/%s: give both the same name", v, base, first, name, d))
			}
		}
	}
	return errors.Join(errs...)
}

// TestMigrationsParity: the SQLite and PostgreSQL migrations hold the same
// versions under the same names, counting the Go migrations registered in
// code (migrate_numbers.go), so a migration written for one dialect only
// fails here rather than on the other database in production.
func TestMigrationsParity(t *testing.T) {
	t.Parallel()
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMigrationParity(sub, goMigrations); err != nil {
		t.Fatal(err)
	}
	vs, err := migrationVersions(sub, "sqlite", goMigrations("sqlite"))
	if err != nil || len(vs) < 7 {
		t.Fatalf("only %d migrations found (%v)", len(vs), err)
	}
}

// TestCheckMigrationParity: the check reports each kind of difference.
func TestCheckMigrationParity(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("-- +goose Up\n")}
	both := func(names ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, d := range migrationDialects {
			for _, n := range names {
				m[d+"/"+n] = file
			}
		}
		return m
	}
	noGo := func(string) []*goose.Migration { return nil }
	withGo := func(v int64) func(string) []*goose.Migration {
		return func(string) []*goose.Migration {
			return []*goose.Migration{goose.NewGoMigration(v, &goose.GoFunc{Mode: goose.TransactionEnabled}, nil)}
		}
	}
	missing := both("00001_a.sql", "00002_b.sql")
	delete(missing, "postgres/00002_b.sql")
	renamed := both("00001_a.sql")
	delete(renamed, "postgres/00001_a.sql")
	renamed["postgres/00001_other.sql"] = file
	onlyPostgres := both("00001_a.sql")
	onlyPostgres["postgres/00002_b.sql"] = file
	badName := both("00001_a.sql")
	badName["sqlite/first.sql"] = file
	twice := both("00001_a.sql")
	twice["sqlite/00001_b.sql"] = file

	cases := []struct {
		name  string
		fsys  fstest.MapFS
		gomig func(string) []*goose.Migration
		want  string // in the error; "" for none
	}{
		{"same", both("00001_a.sql", "00002_b.sql", "00004_d.sql"), withGo(3), ""},
		{"missing from postgres", missing, noGo, "version 2 is missing from migrations/postgres (sqlite has 00002_b.sql)"},
		{"missing from sqlite", onlyPostgres, noGo, "version 2 is missing from migrations/sqlite (postgres has 00002_b.sql)"},
		{"different names", renamed, noGo, "version 1 is 00001_a.sql in migrations/sqlite but 00001_other.sql in migrations/postgres"},
		{"SQL at a Go version", both("00001_a.sql", "00002_b.sql"), withGo(2), "version 2 is both 00002_b.sql and a Go migration"},
		{"no version in the name", badName, noGo, "sqlite/first.sql: the name does not start with a version number"},
		{"a version twice", twice, noGo, "sqlite: version 1 twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMigrationParity(tc.fsys, tc.gomig)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
