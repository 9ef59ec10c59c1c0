package config

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/omstil/omstil/callflow"
	"github.com/pressly/goose/v3"
)

// Migration 6 is written in Go, not SQL, because it rewrites every inbound
// number by callflow.CanonicalNumber, and that rule must have one owner.
// goose runs it in one transaction between the SQL files 00005 and 00007,
// on SQLite and PostgreSQL alike (its SQL is portable).
//
// Up adds numbers.display (the number as typed, shown only), copies each
// number there and writes numbers.number in its canonical form, which the
// existing UNIQUE constraint on numbers.number then keeps unique across the
// installation. It refuses to run, changing nothing, when a number has no
// canonical form (omstil accepted any 2-20 digits before) or when two rows
// become the same number (e.g. +4580808080 in one organisation and
// 80808080 in another, the case this migration exists for): routing either
// would hand one municipality's calls to another. The error names every
// such row, with its ID and organisation, so that the operator can change
// or delete them with the omstil that ran before and migrate again.
//
// It applies the rule as of this version. Should CanonicalNumber ever
// change, a new migration re-canonicalises; this one stays as it ran.
//
// Down drops display; the canonical numbers are valid for the old schema.
const numbersCanonicalVersion = 6

func goMigrations(dialect string) []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(numbersCanonicalVersion,
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return canonicalNumbersUp(ctx, tx, dialect) }},
			&goose.GoFunc{RunTx: canonicalNumbersDown}),
	}
}

type legacyNumber struct {
	id, org   int64
	number    string
	canonical string
}

func canonicalNumbersUp(ctx context.Context, tx *sql.Tx, dialect string) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE numbers ADD COLUMN display TEXT NOT NULL DEFAULT ''`); err != nil {
		return fmt.Errorf("add numbers.display: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, org_id, number FROM numbers ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read numbers: %w", err)
	}
	var (
		nums     []legacyNumber
		problems []string
		byCanon  = map[string][]legacyNumber{}
	)
	for rows.Next() {
		var n legacyNumber
		if err := rows.Scan(&n.id, &n.org, &n.number); err != nil {
			rows.Close()
			return fmt.Errorf("read numbers: %w", err)
		}
		c, err := callflow.CanonicalNumber(n.number)
		if err != nil {
			problems = append(problems, fmt.Sprintf("number %q (id %d, organisation %d) is %v", n.number, n.id, n.org, err))
			continue
		}
		n.canonical = c
		nums = append(nums, n)
		byCanon[c] = append(byCanon[c], n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read numbers: %w", err)
	}
	canons := make([]string, 0, len(byCanon))
	for c, ns := range byCanon {
		if len(ns) > 1 {
			canons = append(canons, c)
		}
	}
	sort.Strings(canons)
	for _, c := range canons {
		var names []string
		for _, n := range byCanon[c] {
			names = append(names, fmt.Sprintf("%q (id %d, organisation %d)", n.number, n.id, n.org))
		}
		problems = append(problems, fmt.Sprintf("numbers %s are the same number %s", strings.Join(names, " and "), c))
	}
	if len(problems) > 0 {
		return fmt.Errorf("inbound numbers are now stored in one canonical form, unique in the installation, and these cannot be: %s; "+
			"change or delete them with the omstil version you ran before (API /api/v1/numbers or the admin page), then run omstil migrate again",
			strings.Join(problems, "; "))
	}
	update := `UPDATE numbers SET number = ?, display = ? WHERE id = ?`
	if dialect == "postgres" {
		update = `UPDATE numbers SET number = $1, display = $2 WHERE id = $3`
	}
	// No row is updated to a value another row still has: a row's
	// canonical form equals another row's current number only when that
	// number is canonical already, i.e. a collision, refused above.
	for _, n := range nums {
		if _, err := tx.ExecContext(ctx, update, n.canonical, n.number, n.id); err != nil {
			return fmt.Errorf("canonicalise number %d: %w", n.id, err)
		}
	}
	return nil
}

func canonicalNumbersDown(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE numbers DROP COLUMN display`); err != nil {
		return fmt.Errorf("drop numbers.display: %w", err)
	}
	return nil
}
