package config

import "context"

// MigrateUpToForTest migrates s up to version, for tests that fill an old
// schema before upgrading it.
func MigrateUpToForTest(ctx context.Context, s *Store, version int64) error {
	_, err := s.migrator.UpTo(ctx, version)
	return err
}
