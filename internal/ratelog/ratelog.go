// Package ratelog keeps a log line that repeats from flooding the log.
//
// A line that can repeat without bound (an offer to an agent that fails
// every time, issue 14: 99,159 lines in 2.2 s) goes through a Limiter
// under a key that says what repeats (the message and, say, the agent):
// the first line for a key is written at once; repeats within the next
// interval (a minute in omstil) are only counted; the first one after it
// is written with "suppressed" = how many were left out in between, and
// starts the next interval. So a line repeating forever costs one line a
// minute, and nothing is lost but the repeats' own attributes.
//
//	rl := ratelog.New(log, time.Minute, clock.Now)
//	rl.Log(slog.LevelInfo, string(agent), "ari: browser offer failed", "agent", agent, "err", err)
//
// Repeats counted after the key's last written line are written only when
// the key comes again; a key that stops repeating takes its count with it.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// SuppressedKey is the attribute that carries how many repeats were left
// out since the key's previous line.
const SuppressedKey = "suppressed"

// pruneAt is the number of keys beyond which a write drops the keys whose
// interval is over and that have nothing counted.
const pruneAt = 1024

// Limiter writes at most one line per key per interval. Safe for
// concurrent use.
type Limiter struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[key]*seen
}

type key struct{ msg, key string }

type seen struct {
	at         time.Time // when the key's last line was written
	suppressed int       // repeats since then
}

// New returns a Limiter that writes to log at most one line per key every
// interval, by the time now tells.
func New(log *slog.Logger, every time.Duration, now func() time.Time) *Limiter {
	return &Limiter{log: log, every: every, now: now, keys: map[key]*seen{}}
}

// Log writes msg with args at level unless a line for (msg, k) was written
// less than the interval ago; then it only counts it. It reports whether
// the line was written.
func (l *Limiter) Log(level slog.Level, k, msg string, args ...any) bool {
	now := l.now()
	l.mu.Lock()
	id := key{msg, k}
	s := l.keys[id]
	if s != nil && now.Sub(s.at) < l.every {
		s.suppressed++
		l.mu.Unlock()
		return false
	}
	if s == nil {
		if len(l.keys) >= pruneAt {
			l.prune(now)
		}
		s = &seen{}
		l.keys[id] = s
	}
	n := s.suppressed
	s.at, s.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args[:len(args):len(args)], SuppressedKey, n)
	}
	l.log.Log(context.Background(), level, msg, args...)
	return true
}

// prune drops the keys whose interval is over and that have no repeats
// counted: a line for them would be written anyway. l.mu is held.
func (l *Limiter) prune(now time.Time) {
	for id, s := range l.keys {
		if s.suppressed == 0 && now.Sub(s.at) >= l.every {
			delete(l.keys, id)
		}
	}
}
