package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/omstil/omstil/internal/tlscert"
	"github.com/omstil/omstil/settings"
)

// hstsMaxAge is a year: browsers that have seen omstil over HTTPS refuse
// plain HTTP to it after that.
const hstsMaxAge = "max-age=31536000"

// web is omstil's HTTP side: the site on OMSTIL_LISTEN (HTTPS when a
// certificate is set) and the optional plain-HTTP redirect.
type web struct {
	site, redirect *http.Server
	siteLn, redLn  net.Listener
}

// listenWeb opens the listeners and loads the certificate, so that a
// mistake in either stops the start with a message naming the setting.
// The handler is given to serve.
func listenWeb(s settings.Settings, log *slog.Logger) (*web, error) {
	w := &web{site: &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	if s.TLS() {
		rl, err := tlscert.New(s.TLSCertFile, s.TLSKeyFile, log, nil)
		if err != nil {
			return nil, err
		}
		w.site.TLSConfig = rl.Config()
	}
	var err error
	if w.siteLn, err = net.Listen("tcp", s.Listen); err != nil {
		return nil, fmt.Errorf("OMSTIL_LISTEN %s: %w", s.Listen, err)
	}
	if s.HTTPRedirectListen != "" {
		if w.redLn, err = net.Listen("tcp", s.HTTPRedirectListen); err != nil {
			w.siteLn.Close()
			return nil, fmt.Errorf("OMSTIL_HTTP_REDIRECT_LISTEN %s: %w", s.HTTPRedirectListen, err)
		}
		w.redirect = &http.Server{
			Handler:           redirectTo(s.PublicURL),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       30 * time.Second,
			ErrorLog:          w.site.ErrorLog,
		}
	}
	if s.MicrophoneBlocked() {
		log.Warn("browsers reach omstil over plain HTTP (OMSTIL_PUBLIC_URL " + s.PublicURL + "): Chrome gives the softphone a microphone only on HTTPS or localhost; set OMSTIL_TLS_CERT_FILE and OMSTIL_TLS_KEY_FILE, or put omstil behind an HTTPS reverse proxy (docs/operations.md)")
	}
	return w, nil
}

// serve runs the servers with h until one fails; the error goes to errc.
func (w *web) serve(h http.Handler, errc chan<- error) {
	w.site.Handler = h
	if w.site.TLSConfig != nil {
		w.site.Handler = hsts(h)
	}
	go func() {
		if w.site.TLSConfig != nil {
			errc <- w.site.ServeTLS(w.siteLn, "", "")
			return
		}
		errc <- w.site.Serve(w.siteLn)
	}()
	if w.redirect != nil {
		go func() { errc <- fmt.Errorf("redirect: %w", w.redirect.Serve(w.redLn)) }()
	}
}

// shutdown stops both servers, waiting for requests in flight until ctx
// ends.
func (w *web) shutdown(ctx context.Context) error {
	var errs []error
	if w.redirect != nil {
		errs = append(errs, w.redirect.Shutdown(ctx))
	}
	errs = append(errs, w.site.Shutdown(ctx))
	return errors.Join(errs...)
}

// close releases listeners that were opened but never served.
func (w *web) close() {
	w.siteLn.Close()
	if w.redLn != nil {
		w.redLn.Close()
	}
}

// banner says where omstil is reached: the public URL, and the addresses
// it listens on when they are not what the public URL names.
func (w *web) banner(out io.Writer, s settings.Settings) {
	if here := w.listenURL(s); s.PublicURL == s.ListenURL() {
		fmt.Fprintf(out, "omstil is running: open %s/\n", here)
	} else {
		fmt.Fprintf(out, "omstil is running: open %s/ (listening on %s)\n", s.PublicURL, here)
	}
	if w.redLn != nil {
		fmt.Fprintf(out, "plain HTTP on %s redirects to %s\n", w.redLn.Addr(), s.PublicURL)
	}
}

// listenURL is the site's address as listened on (the port chosen when
// the setting's was 0).
func (w *web) listenURL(s settings.Settings) string {
	scheme := "http://"
	if s.TLS() {
		scheme = "https://"
	}
	return scheme + w.siteLn.Addr().String()
}

// siteURL is the address browsers use: the public URL when set, else the
// one listened on.
func (w *web) siteURL(s settings.Settings) string {
	if s.PublicURL == s.ListenURL() {
		return w.listenURL(s)
	}
	return strings.TrimRight(s.PublicURL, "/")
}

// hsts tells browsers to use HTTPS only.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Strict-Transport-Security", hstsMaxAge)
		next.ServeHTTP(rw, r)
	})
}

// redirectTo sends every request to the same path on the public URL. The
// target's host is the public URL's, never the request's Host header, so
// the redirect cannot be pointed at another site.
func redirectTo(publicURL string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		target := publicURL + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(rw, r, target, http.StatusPermanentRedirect)
	})
}
