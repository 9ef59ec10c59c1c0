package config

import "gorm.io/gorm"

// GormForTest exposes the gorm handle to the package's external tests.
func GormForTest(s *Store) *gorm.DB { return s.db }
