//go:build !unix

package leader

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// lockExclusive is a no-op where flock(2) is missing: omstil is run on
// Linux; elsewhere nothing stops a second instance.
func lockExclusive(*os.File) error { return nil }
