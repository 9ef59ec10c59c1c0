package tlscert

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed pair with the given serial, both files
// modified at mod.
func writePair(t *testing.T, dir string, serial int64, mod time.Time) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := WriteSelfSigned(certFile, keyFile, serial, []string{"omstil.test"}, mod); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func serial(t *testing.T, r *Reloader) int64 {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil || c == nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	return c.Leaf.SerialNumber.Int64()
}

func TestReloaderPicksUpARenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := t0
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	certFile, keyFile := writePair(t, dir, 1, t0)
	r, err := New(certFile, keyFile, log, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(t, r); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	writePair(t, dir, 2, t0.Add(time.Minute))
	now = t0.Add(checkEvery / 2)
	if got := serial(t, r); got != 1 {
		t.Errorf("files looked at again within %v: serial %d", checkEvery, got)
	}
	now = t0.Add(checkEvery)
	if got := serial(t, r); got != 2 {
		t.Errorf("after renewal: serial %d, want 2", got)
	}

	// a renewal caught half-way (a key that is not the certificate's)
	// keeps the previous certificate and is logged once.
	certOnly, _ := os.ReadFile(certFile)
	writePair(t, dir, 3, t0.Add(2*time.Minute))
	if err := os.WriteFile(certFile, certOnly, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		now = t0.Add(time.Duration(i) * checkEvery)
		if got := serial(t, r); got != 2 {
			t.Errorf("mismatched pair: serial %d, want the previous 2", got)
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Errorf("%d error lines for one bad renewal, want 1:\n%s", n, logs.String())
	}

	// removing the files keeps the certificate too
	os.Remove(certFile)
	now = now.Add(checkEvery)
	if got := serial(t, r); got != 2 {
		t.Errorf("files gone: serial %d, want 2", got)
	}
}

func TestNewNamesTheFileAtFault(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, 1, time.Now())
	for _, tt := range []struct{ cert, key, want string }{
		{filepath.Join(dir, "nope.pem"), keyFile, "OMSTIL_TLS_CERT_FILE"},
		{certFile, filepath.Join(dir, "nope.pem"), "OMSTIL_TLS_KEY_FILE"},
		{keyFile, certFile, "OMSTIL_TLS_CERT_FILE / OMSTIL_TLS_KEY_FILE"},
	} {
		_, err := New(tt.cert, tt.key, slog.New(slog.DiscardHandler), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s, %s): %v, want an error naming %s", filepath.Base(tt.cert), filepath.Base(tt.key), err, tt.want)
		}
	}
}
