package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client a request comes from, the one
// the server limits and logs by. It is the peer, unless the peer is one
// of Options.TrustedProxies: then it is the right-most address in
// X-Forwarded-For (or, when the request has none, in Forwarded's for=)
// that is not itself a trusted proxy. Entries left of it were written by
// the client and are not believed. An entry that is not an address
// ("unknown", an obfuscated name) ends the walk at the nearest trusted
// hop. The zero Addr means the peer's address could not be read.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := parseForwardedAddr(r.RemoteAddr)
	if !s.trustedProxy(peer) {
		return peer
	}
	chain := forwardedChain(r.Header)
	addr := peer
	for i := len(chain) - 1; i >= 0; i-- {
		a := chain[i]
		if !a.IsValid() {
			break
		}
		addr = a
		if !s.trustedProxy(a) {
			break
		}
	}
	return addr
}

// clientIP is clientAddr as text, for log lines.
func (s *Server) clientIP(r *http.Request) string {
	if a := s.clientAddr(r); a.IsValid() {
		return a.String()
	}
	return "unknown"
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedChain lists the addresses a proxy chain reported, client
// first: X-Forwarded-For when the request has it, else Forwarded's for=
// parameters. Entries that are not addresses are the zero Addr.
func forwardedChain(h http.Header) []netip.Addr {
	var out []netip.Addr
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			for _, e := range strings.Split(v, ",") {
				out = append(out, parseForwardedAddr(e))
			}
		}
		return out
	}
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			var a netip.Addr
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					a = parseForwardedAddr(val)
				}
			}
			out = append(out, a)
		}
	}
	return out
}

// parseForwardedAddr reads an address with or without a port, IPv6 in
// brackets or not, quoted or not.
func parseForwardedAddr(s string) netip.Addr {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
