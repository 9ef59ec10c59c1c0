package server

import (
	"net/netip"
	"sync"
	"time"
)

// backoff is a growing delay after failures: none for the first free
// ones, then base, doubling with each further failure, up to max. A
// record with no failure for forget is dropped.
type backoff struct {
	free        int
	base, max   time.Duration
	forget      time.Duration
	maxRecorded int // records kept at most (memory bound)
}

func (b backoff) delay(fails int) time.Duration {
	if fails < b.free {
		return 0
	}
	d := b.base
	for i := b.free; i < fails && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// failures is the record of one key.
type failures struct {
	n    int
	last time.Time
}

// The login limits. A pair is an account tried from one client address:
// its failures delay that pair only, so an account sprayed from
// elsewhere stays open to its owner and nobody can lock an account. An
// address's failures over all accounts give a looser delay, with a short
// cap, that slows spraying many accounts from one place.
var (
	pairBackoff    = backoff{free: 3, base: time.Second, max: 15 * time.Minute, forget: 24 * time.Hour, maxRecorded: 100_000}
	addressBackoff = backoff{free: 20, base: time.Second, max: time.Minute, forget: time.Hour, maxRecorded: 100_000}
)

// pairKey is an account (lower-case login name) at a client address.
type pairKey struct {
	account string
	addr    netip.Addr
}

// loginLimiter delays logins after failures: per (account, address) and,
// more loosely, per address. A try during a delay is refused without
// checking the password, so it neither counts nor tells anything.
type loginLimiter struct {
	now        func() time.Time
	pair, addr backoff

	mu    sync.Mutex
	pairs map[pairKey]failures
	addrs map[netip.Addr]failures
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, pair: pairBackoff, addr: addressBackoff,
		pairs: map[pairKey]failures{}, addrs: map[netip.Addr]failures{}}
}

// limitAddr is the address a limit applies to: an IPv6 client gets a
// whole /64 from its provider, so the /64 counts as one address.
func limitAddr(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// wait returns how long the client at addr must wait before trying
// account again; 0: it may try now.
func (l *loginLimiter) wait(addr netip.Addr, account string) time.Duration {
	addr = limitAddr(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return max(remaining(l.pair, l.pairs, pairKey{account, addr}, now), remaining(l.addr, l.addrs, addr, now))
}

func remaining[K comparable](b backoff, m map[K]failures, k K, now time.Time) time.Duration {
	f, ok := m[k]
	if !ok {
		return 0
	}
	if now.Sub(f.last) >= b.forget {
		delete(m, k)
		return 0
	}
	return max(f.last.Add(b.delay(f.n)).Sub(now), 0)
}

// fail records a wrong password for account from addr.
func (l *loginLimiter) fail(addr netip.Addr, account string) {
	addr = limitAddr(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	record(l.pair, l.pairs, pairKey{account, addr}, now)
	record(l.addr, l.addrs, addr, now)
}

func record[K comparable](b backoff, m map[K]failures, k K, now time.Time) {
	f, ok := m[k]
	if ok && now.Sub(f.last) >= b.forget {
		f = failures{}
	}
	if !ok && len(m) >= b.maxRecorded {
		evict(b, m, now)
	}
	m[k] = failures{n: f.n + 1, last: now}
}

// evict makes room in a full map: the forgotten records go, and if none
// were, the one whose last failure is oldest (its delay ran out first).
func evict[K comparable](b backoff, m map[K]failures, now time.Time) {
	var (
		oldest K
		when   time.Time
		found  bool
	)
	for k, f := range m {
		if now.Sub(f.last) >= b.forget {
			delete(m, k)
			continue
		}
		if !found || f.last.Before(when) {
			oldest, when, found = k, f.last, true
		}
	}
	if len(m) >= b.maxRecorded && found {
		delete(m, oldest)
	}
}

// succeed clears the pair's failures after a right password; the
// address's stay, so one good account cannot wash a spray away.
func (l *loginLimiter) succeed(addr netip.Addr, account string) {
	addr = limitAddr(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pairs, pairKey{account, addr})
}
