package leader

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// FileLock is the exclusive instance lock of a SQLite database: a file
// next to it, locked for the life of the process and holding the holder's
// process ID and host name.
type FileLock struct {
	f    *os.File
	path string
}

// ErrLocked is wrapped by LockFile's error when another process holds the
// lock.
var ErrLocked = errors.New("the database is in use by another omstil")

// LockPath is the lock file of the SQLite database at dsn (a path, maybe
// with a "file:" prefix and a query): "<path>.lock".
func LockPath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p + ".lock"
}

// LockFile takes the exclusive lock of the SQLite database at dsn, or
// fails at once with an error wrapping ErrLocked that names the holder.
// The lock is released by Close or when the process ends, however it
// ends: the operating system drops it with the file descriptor, so a
// stale lock file left by a crash does not block the next start.
func LockFile(dsn string) (*FileLock, error) {
	path := LockPath(dsn)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	if err := lockExclusive(f); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s holds %s; stop it first (one omstil runs the calls of a SQLite database; use PostgreSQL for a standby)", ErrLocked, holder, path)
		}
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(fmt.Sprintf("pid %d host %s\n", os.Getpid(), host)), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	return &FileLock{f: f, path: path}, nil
}

// readHolder describes the process named in a held lock file.
func readHolder(f *os.File) string {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	fields := strings.Fields(string(b[:n]))
	if len(fields) >= 2 && fields[0] == "pid" {
		if pid, err := strconv.Atoi(fields[1]); err == nil {
			s := "process " + strconv.Itoa(pid)
			if len(fields) >= 4 && fields[2] == "host" {
				s += " on " + fields[3]
			}
			return s
		}
	}
	return "another process (its ID not yet written)"
}

// Path is the lock file's path.
func (l *FileLock) Path() string { return l.path }

// Close releases the lock. The file stays: removing it would let a
// process that opened it just before lock a file nobody else sees.
func (l *FileLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
