package server

import "testing"

// safeNext is the one check of a post-login address, for the login page
// and OIDC alike: only a path on this site, after the normalisation a
// browser applies (tabs and newlines dropped, \ read as /, leading
// blanks trimmed).
func TestSafeNext(t *testing.T) {
	t.Parallel()
	hostile := []string{
		"//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example/x",
		"/\n/evil.example", "/\r/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example",
		"/\x00/evil.example", "/\x7f/evil.example", "https://evil.example", "http:evil.example", "javascript:alert(1)",
		"JaVaScRiPt:alert(1)", "data:text/html,x", "evil.example", "", "/%zz", "\\/evil.example",
		"/\\/evil.example", "/\u0085/x\\y",
	}
	for _, n := range hostile {
		if got := safeNext(n); got != "" {
			t.Errorf("safeNext(%q) = %q, want refused", n, got)
		}
	}
	good := []string{"/", "/admin/queues?x=1", "/wallboard", "/admin/users#top", "/%2F%2Fevil.example", "/a//b", "/admin?next=//x"}
	for _, n := range good {
		if got := safeNext(n); got != n {
			t.Errorf("safeNext(%q) = %q, want it kept", n, got)
		}
	}
}
