package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/internal/tlscert"
)

// serveUntil runs omstil serve with env until the test ends and returns
// the first submatches of each pattern as they appear on standard output.
func serveUntil(t *testing.T, env map[string]string, patterns ...string) [][]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- runEnv(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), &out, &errb) }()
	t.Cleanup(func() { cancel(); <-done })
	found := make([][]string, len(patterns))
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < len(patterns); {
		if m := regexp.MustCompile(patterns[i]).FindStringSubmatch(out.String()); m != nil {
			found[i] = m
			i++
			continue
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve ended (%d): %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q; stderr: %s", patterns[i], out.String(), errb.String())
		}
	}
	return found
}

func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlscert.WriteSelfSigned(certFile, keyFile, 7, []string{"127.0.0.1"}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OMSTIL_DB": filepath.Join(dir, "o.db"), "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_DEMO_CALLS_PER_MINUTE": "0",
		"OMSTIL_TLS_CERT_FILE": certFile, "OMSTIL_TLS_KEY_FILE": keyFile,
		"OMSTIL_PUBLIC_URL": "https://omstil.kommune.test", "OMSTIL_HTTP_REDIRECT_LISTEN": "127.0.0.1:0",
	}
	m := serveUntil(t, env, `listening on (https://\S+)\)`, `plain HTTP on (\S+) redirects to https://omstil.kommune.test`)
	site, plain := m[0][1], m[1][1]

	pem, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := c.Get(site + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 7 {
		t.Errorf("healthz over TLS: %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("HSTS %q", h)
	}

	// plain HTTP goes to the same path on the public URL, whatever Host says
	req, _ := http.NewRequest("GET", "http://"+plain+"/agent?x=1", nil)
	req.Host = "evil.example"
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://omstil.kommune.test/agent?x=1" {
		t.Errorf("redirect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// plain HTTP on the TLS port is refused, not served
	if resp, err := http.Get("http://" + strings.TrimPrefix(site, "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
}

func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlscert.WriteSelfSigned(certFile, keyFile, 1, []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"OMSTIL_DB": filepath.Join(dir, "o.db"), "OMSTIL_LISTEN": "127.0.0.1:0"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"cert without key", with("OMSTIL_TLS_CERT_FILE", certFile), "set both or neither"},
		{"missing file", with("OMSTIL_TLS_CERT_FILE", filepath.Join(dir, "nope"), "OMSTIL_TLS_KEY_FILE", keyFile), "OMSTIL_TLS_CERT_FILE"},
		{"key is not the certificate's", with("OMSTIL_TLS_CERT_FILE", keyFile, "OMSTIL_TLS_KEY_FILE", certFile), "OMSTIL_TLS_CERT_FILE / OMSTIL_TLS_KEY_FILE"},
		{"redirect to plain http", with("OMSTIL_HTTP_REDIRECT_LISTEN", "127.0.0.1:0"), "OMSTIL_HTTP_REDIRECT_LISTEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tt.env, "", "serve")
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want an error naming %s", code, stderr, tt.want)
			}
		})
	}
}
