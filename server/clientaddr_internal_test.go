package server

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	s := &Server{opts: Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}}}
	cases := []struct {
		name, peer string
		header     map[string]string
		want       string
	}{
		{"untrusted peer, header ignored", "198.51.100.1:1", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "198.51.100.1"},
		{"untrusted peer, Forwarded ignored", "198.51.100.1:1", map[string]string{"Forwarded": "for=203.0.113.1"}, "198.51.100.1"},
		{"trusted peer without header", "10.0.0.1:1", nil, "10.0.0.1"},
		{"one hop", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "203.0.113.1"},
		{"forged left entries", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "1.2.3.4, 5.6.7.8, 203.0.113.1"}, "203.0.113.1"},
		{"two trusted hops", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "1.2.3.4, 203.0.113.1, 10.0.0.2"}, "203.0.113.1"},
		{"all trusted", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"unknown entry stops at the nearest hop", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "1.2.3.4, unknown, 10.0.0.2"}, "10.0.0.2"},
		{"entry with port", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "203.0.113.1:4444"}, "203.0.113.1"},
		{"IPv6 entry", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "2001:db8:2::5"}, "2001:db8:2::5"},
		{"IPv6 trusted peer", "[2001:db8:1::9]:1", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "203.0.113.1"},
		{"Forwarded", "10.0.0.1:1", map[string]string{"Forwarded": `for=1.2.3.4, for=203.0.113.1;proto=https;by=10.0.0.1`}, "203.0.113.1"},
		{"Forwarded IPv6", "10.0.0.1:1", map[string]string{"Forwarded": `For="[2001:db8:2::5]:4711"`}, "2001:db8:2::5"},
		{"Forwarded obfuscated", "10.0.0.1:1", map[string]string{"Forwarded": `for=_hidden`}, "10.0.0.1"},
		{"X-Forwarded-For wins over Forwarded", "10.0.0.1:1", map[string]string{"X-Forwarded-For": "203.0.113.1", "Forwarded": "for=1.2.3.4"}, "203.0.113.1"},
		{"v4-mapped peer", "[::ffff:198.51.100.1]:1", nil, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if got := s.clientAddr(r).String(); got != c.want {
				t.Fatalf("clientAddr = %s, want %s", got, c.want)
			}
		})
	}
}

func TestLoginLimiterBoundsMemory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	l.pair.maxRecorded, l.addr.maxRecorded = 50, 20
	for i := range 1000 {
		now = now.Add(time.Second)
		l.fail(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), fmt.Sprintf("user%d", i))
	}
	if len(l.pairs) > 50 || len(l.addrs) > 20 {
		t.Fatalf("records: %d pairs, %d addresses", len(l.pairs), len(l.addrs))
	}
	// The newest are kept.
	if _, ok := l.pairs[pairKey{"user999", netip.AddrFrom4([4]byte{198, 51, 3, 231})}]; !ok {
		t.Fatal("the newest pair was evicted")
	}
}

func TestLoginLimiterForgets(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	a := netip.MustParseAddr("198.51.100.1")
	for range 10 {
		l.fail(a, "x")
	}
	if l.wait(a, "x") == 0 {
		t.Fatal("no delay after 10 failures")
	}
	now = now.Add(pairBackoff.forget)
	if w := l.wait(a, "x"); w != 0 || len(l.pairs) != 0 || len(l.addrs) != 0 {
		t.Fatalf("after forget: wait %v, %d pairs, %d addresses", w, len(l.pairs), len(l.addrs))
	}
	// An IPv6 /64 is one address.
	l.fail(netip.MustParseAddr("2001:db8::1"), "y")
	l.fail(netip.MustParseAddr("2001:db8::ffff:2"), "y")
	if f := l.addrs[netip.MustParseAddr("2001:db8::")]; f.n != 2 {
		t.Fatalf("the /64 counted %d failures", f.n)
	}
}
