// Package tlscert serves omstil's TLS certificate from files and picks up
// a renewed certificate (certbot, the municipality's PKI) without a
// restart.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

// checkEvery is how often, at most, the files are looked at again.
const checkEvery = 10 * time.Second

// Reloader holds the certificate read from a certificate and a key file
// (PEM) and reads them again when either changes. Its GetCertificate goes
// into tls.Config.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   stamp     // of the files the certificate was read from
	checked time.Time // last look at the files
	lastErr string    // last problem logged, so that it is logged once
}

// stamp identifies a version of the two files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// New reads the certificate and key; an error names the file at fault.
// now may be nil (time.Now).
func New(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*Reloader, error) {
	if now == nil {
		now = time.Now
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("OMSTIL_TLS_CERT_FILE / OMSTIL_TLS_KEY_FILE: %w", err)
	}
	r.cert, r.stamp, r.checked = &cert, st, now()
	return r, nil
}

func (r *Reloader) stat() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("OMSTIL_TLS_CERT_FILE: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("OMSTIL_TLS_KEY_FILE: %w", err)
	}
	return stamp{c.ModTime(), k.ModTime(), c.Size(), k.Size()}, nil
}

// GetCertificate returns the current certificate, reading the files again
// first when they changed since they were last read (looked at no more
// often than every 10 s). A renewed pair that does not load (a key that
// does not match, a half-written file) is logged and the previous
// certificate kept, so that a renewal in progress never takes the site
// down.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < checkEvery {
		return r.cert, nil
	}
	r.checked = now
	st, err := r.stat()
	if err == nil && st == r.stamp {
		return r.cert, nil
	}
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.LoadX509KeyPair(r.certFile, r.keyFile)
	}
	if err != nil {
		if err.Error() != r.lastErr {
			r.log.Error("tls: the certificate files do not load; serving the previous certificate", "err", err)
			r.lastErr = err.Error()
		}
		return r.cert, nil
	}
	r.cert, r.stamp, r.lastErr = &cert, st, ""
	r.log.Info("tls: certificate reloaded", "file", r.certFile, "expires", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return r.cert, nil
}

// Config is a server TLS configuration serving the reloader's certificate.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// WriteSelfSigned writes a self-signed certificate for hosts (names or IP
// addresses) valid from notBefore for 90 days, and its key (mode 0600),
// with the files' modification time set to notBefore. It is for tests and
// for trying HTTPS on a machine of one's own; browsers warn about it.
func WriteSelfSigned(certFile, keyFile string, serial int64, hosts []string, notBefore time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path  string
		block *pem.Block
	}{{certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der}}, {keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(f.block), 0o600); err != nil {
			return err
		}
		if err := os.Chtimes(f.path, notBefore, notBefore); err != nil {
			return err
		}
	}
	return nil
}
