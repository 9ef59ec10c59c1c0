package config

import "context"

// MigrateToForTest migrates only up to version, as an older omstil did.
func MigrateToForTest(ctx context.Context, s *Store, version int64) error {
	_, err := s.migrator.UpTo(ctx, version)
	return err
}
