package server

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// sameOrigin compares scheme, host and port with the site: the public
// URL when it is configured, else the request's own.
func TestSameOrigin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, public, host string
		tls                bool
		origin             string
		want               bool
	}{
		{"no Origin", "", "omstil.example", false, "", true},
		{"same", "", "omstil.example", false, "http://omstil.example", true},
		{"same, case and default port", "", "omstil.example", false, "HTTP://Omstil.Example:80", true},
		{"https origin on an http site", "", "omstil.example", false, "https://omstil.example", false},
		{"http origin on an https site", "", "omstil.example", true, "http://omstil.example", false},
		{"https on https", "", "omstil.example", true, "https://omstil.example", true},
		{"other port", "", "omstil.example:8080", false, "http://omstil.example:8081", false},
		{"other host", "", "omstil.example", false, "http://evil.example", false},
		{"null", "", "omstil.example", false, "null", false},
		{"garbage", "", "omstil.example", false, "::not a url", false},
		{"with a path", "", "omstil.example", false, "http://omstil.example/x", false},
		{"public URL", "https://omstil.kommune.dk", "127.0.0.1:8080", false, "https://omstil.kommune.dk", true},
		{"public URL, default port", "https://omstil.kommune.dk", "127.0.0.1:8080", false, "https://omstil.kommune.dk:443", true},
		{"public URL, http origin", "https://omstil.kommune.dk", "omstil.kommune.dk", false, "http://omstil.kommune.dk", false},
		{"public URL, the backend's host", "https://omstil.kommune.dk", "127.0.0.1:8080", false, "http://127.0.0.1:8080", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{opts: Options{PublicURL: c.public}}
			r := httptest.NewRequest("GET", "/agent/ws", nil)
			r.Host = c.host
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if got := s.sameOrigin(r); got != c.want {
				t.Fatalf("sameOrigin = %v, want %v", got, c.want)
			}
		})
	}
}
