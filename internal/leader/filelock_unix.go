//go:build unix

package leader

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = syscall.EWOULDBLOCK

// lockExclusive takes flock(2)'s exclusive lock without waiting. flock
// locks belong to the open file, so two opens in one process exclude each
// other too (the tests rely on it).
func lockExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
