package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// IsPostgresDSN tells whether dsn names a PostgreSQL database (else it is
// a SQLite file path).
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// ValidateDSN checks a database setting (OMSTIL_DB): a SQLite file path
// or a postgres:// URL with a host and a database name. Open checks it too.
func ValidateDSN(dsn string) error {
	if dsn == "" {
		return errors.New("empty; give a SQLite file path or a postgres:// URL")
	}
	if IsPostgresDSN(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("not a valid postgres:// URL")
		}
		if u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return errors.New("a postgres:// URL needs a host and a database name, e.g. postgres://user:pass@127.0.0.1:5432/omstil")
		}
		return nil
	}
	if strings.Contains(dsn, "://") {
		return fmt.Errorf("unknown scheme in %q; give a SQLite file path or a postgres:// URL", redactDSN(dsn))
	}
	return nil
}

// redactDSN removes a password from a URL-shaped DSN for messages and logs.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
