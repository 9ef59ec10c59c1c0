package server_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/omstil/omstil/server"
)

// loginFrom logs in with the peer address remote and extra headers.
func (f *fixture) loginFrom(remote, username, password string, header map[string]string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(req{method: "POST", path: "/api/v1/auth/login", remote: remote, header: header,
		body: fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)})
}

func retryAfter(t *testing.T, w *httptest.ResponseRecorder) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || n <= 0 {
		t.Fatalf("Retry-After %q on %d", w.Header().Get("Retry-After"), w.Code)
	}
	return time.Duration(n) * time.Second
}

// A sprayed account stays open to its owner at another address: the
// failures delay only the (account, address) pairs that failed.
func TestLoginSprayDoesNotLockAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 40 {
		remote := fmt.Sprintf("198.51.100.%d:4000", i%4+1)
		if w := f.loginFrom(remote, "agent1", "wrong password!", nil); w.Code != 401 && w.Code != 429 {
			t.Fatalf("try %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	if w := f.loginFrom("203.0.113.7:1234", "agent1", testPassword, nil); w.Code != 200 {
		t.Fatalf("owner at another address: %d %s", w.Code, w.Body.String())
	}
}

// Failures for one account from one address give that pair a growing
// delay, never a fixed lock; the right password after the delay works.
func TestLoginPairBackoffGrows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const me = "198.51.100.9:4000"
	fails := 0
	var last time.Duration
	for round := range 4 {
		// fail until refused
		for {
			w := f.loginFrom(me, "agent1", "wrong password!", nil)
			if w.Code == 429 {
				if errorCode(t, w) != "rate_limited" {
					t.Fatal(w.Body.String())
				}
				d := retryAfter(t, w)
				if round > 0 && d <= last {
					t.Fatalf("round %d: delay %v did not grow from %v", round, d, last)
				}
				last = d
				break
			}
			if w.Code != 401 {
				t.Fatalf("fail %d: %d", fails, w.Code)
			}
			fails++
			if fails > 10 {
				t.Fatal("10 failures from one address for one account and still no delay")
			}
		}
		// the right password is refused during the delay too (no oracle)
		if w := f.loginFrom(me, "agent1", testPassword, nil); w.Code != 429 {
			t.Fatalf("right password during the delay: %d", w.Code)
		}
		f.now = f.now.Add(last)
	}
	if last > 15*time.Minute+time.Second {
		t.Fatalf("delay %v beyond the cap", last)
	}
	// Another account from the same address is not delayed by this pair.
	if w := f.loginFrom(me, "supervisor1", testPassword, nil); w.Code != 200 {
		t.Fatalf("other account, same address: %d", w.Code)
	}
	// After the delay the right password gets in and clears the pair.
	if w := f.loginFrom(me, "agent1", testPassword, nil); w.Code != 200 {
		t.Fatalf("after the delay: %d %s", w.Code, w.Body.String())
	}
	if w := f.loginFrom(me, "agent1", "wrong password!", nil); w.Code != 401 {
		t.Fatalf("first failure after a success: %d", w.Code)
	}
}

// Spraying many accounts from one address slows that address, not others.
func TestLoginAddressBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const sprayer = "198.51.100.66:4000"
	refused := false
	for i := range 60 {
		w := f.loginFrom(sprayer, fmt.Sprintf("spray%d", i), "x-wrong-password", nil)
		if w.Code == 429 {
			retryAfter(t, w)
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("60 failures from one address and no delay")
	}
	if w := f.loginFrom(sprayer, "admin1", testPassword, nil); w.Code != 429 {
		t.Fatalf("sprayer's address not delayed: %d", w.Code)
	}
	if w := f.loginFrom("203.0.113.8:1", "admin1", testPassword, nil); w.Code != 200 {
		t.Fatalf("another address: %d", w.Code)
	}
	// The delay is bounded: a minute later the address may try again.
	f.now = f.now.Add(time.Minute + time.Second)
	if w := f.loginFrom(sprayer, "admin1", testPassword, nil); w.Code != 200 {
		t.Fatalf("after the address delay: %d", w.Code)
	}
}

// Behind a trusted proxy the client's address is the right-most
// untrusted X-Forwarded-For / Forwarded entry; one client's failures do
// not delay the others behind the same proxy. From an untrusted peer the
// headers are ignored.
func TestLoginBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv, err := server.New(server.Options{Store: f.store, Now: func() time.Time { return f.now },
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	const proxy = "10.1.2.3:55000"
	// An attacker behind the proxy fails a lot, forging an extra entry.
	for i := range 30 {
		xff := map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d, 198.51.100.66", i)}
		f.loginFrom(proxy, fmt.Sprintf("spray%d", i), "x-wrong-password", xff)
		f.loginFrom(proxy, "agent1", "x-wrong-password", xff)
	}
	if w := f.loginFrom(proxy, "agent1", testPassword, map[string]string{"X-Forwarded-For": "198.51.100.66"}); w.Code != 429 {
		t.Fatalf("attacker behind the proxy not delayed: %d", w.Code)
	}
	for _, h := range []map[string]string{
		{"X-Forwarded-For": "203.0.113.5"},
		{"X-Forwarded-For": "198.51.100.66, 203.0.113.6, 10.9.9.9"}, // forged left part; a second trusted hop
		{"Forwarded": `for=203.0.113.7;proto=https`},
		{"Forwarded": `for="[2001:db8::7]:4711"`},
	} {
		if w := f.loginFrom(proxy, "agent1", testPassword, h); w.Code != 200 {
			t.Fatalf("user behind the proxy %v: %d %s", h, w.Code, w.Body.String())
		}
	}
	// An untrusted peer cannot choose its address with the header.
	const direct = "198.51.100.99:1"
	for i := range 30 {
		f.loginFrom(direct, fmt.Sprintf("spray%d", i), "x-wrong-password", map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d", i)})
	}
	if w := f.loginFrom(direct, "admin1", testPassword, map[string]string{"X-Forwarded-For": "203.0.113.200"}); w.Code != 429 {
		t.Fatalf("untrusted peer escaped its delay with X-Forwarded-For: %d", w.Code)
	}
}
