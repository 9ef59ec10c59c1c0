package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
	"golang.org/x/oauth2"
)

// OIDCOptions configure login through an OpenID Connect provider (the
// municipality's Entra ID, Keycloak, …): authorization code flow with
// state, nonce and PKCE; users are created on their first login with the
// role their groups map to.
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is PublicURL + "/auth/oidc/callback", registered at
	// the provider.
	RedirectURL string
	// RoleClaim is the ID-token claim with the person's groups or roles
	// (a string or a list of strings), e.g. "groups".
	RoleClaim string
	RoleMap   config.OIDCRoleMap
	// HTTPClient talks to the provider; nil: a client with a 10 s timeout.
	HTTPClient *http.Client
}

// OIDCOptionsFrom builds the options from the settings; nil when OIDC is
// not configured.
func OIDCOptionsFrom(s settings.Settings) (*OIDCOptions, error) {
	if !s.OIDC() {
		return nil, nil
	}
	m, err := config.ParseOIDCRoleMap(s.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("OMSTIL_OIDC_ROLE_MAP: %w", err)
	}
	return &OIDCOptions{Issuer: s.OIDCIssuer, ClientID: s.OIDCClientID, ClientSecret: s.OIDCClientSecret.Reveal(),
		RedirectURL: s.PublicURL + oidcCallbackPath, RoleClaim: s.OIDCRoleClaim, RoleMap: m}, nil
}

// oidcStore is what OIDC login needs of the store.
type oidcStore interface {
	DefaultOrg(ctx context.Context) (config.Organisation, error)
	UpsertOIDCUser(ctx context.Context, org config.OrgID, id config.OIDCIdentity) (config.User, error)
}

const (
	oidcLoginPath    = "/auth/oidc/login"
	oidcCallbackPath = "/auth/oidc/callback"
	// OIDCCookie carries state, nonce, PKCE verifier and the page to
	// return to between the login redirect and the callback.
	OIDCCookie = "omstil_oidc"
	oidcMaxAge = 10 * time.Minute
)

// oidcLogin is the running OIDC login: the provider is discovered on
// first use (and again after a failure), so omstil starts while the
// provider is down.
type oidcLogin struct {
	opts  OIDCOptions
	store oidcStore

	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *oidcLogin) client() *http.Client {
	if o.opts.HTTPClient != nil {
		return o.opts.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (o *oidcLogin) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.client())
}

func (o *oidcLogin) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(o.ctx(ctx), o.opts.Issuer)
	if err != nil {
		return nil, err
	}
	o.provider = p
	return p, nil
}

func (o *oidcLogin) config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.opts.ClientID, ClientSecret: o.opts.ClientSecret, RedirectURL: o.opts.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) setOIDCCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: OIDCCookie, Value: value, Path: "/auth/oidc/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(c *gin.Context) {
	p, err := s.oidc.discover(c.Request.Context())
	if err != nil {
		s.log.Warn("oidc: provider discovery failed", "issuer", s.oidc.opts.Issuer, "err", err)
		s.oidcFailed(c, "unavailable")
		return
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	next := safeNext(c.Query("next"))
	// base64 keeps the page's dots out of the cookie's "."-separated parts
	s.setOIDCCookie(c, strings.Join([]string{state, nonce, verifier, base64.RawURLEncoding.EncodeToString([]byte(next))}, "."), int(oidcMaxAge.Seconds()))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, s.oidc.config(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// oidcFailed sends the browser back to the login page with a reason the
// page explains; details stay in the log.
func (s *Server) oidcFailed(c *gin.Context, reason string) {
	s.setOIDCCookie(c, "", -1)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, "/login?oidc_error="+url.QueryEscape(reason))
}

// oidcCallback checks what the provider sent back, finds or creates the
// user and starts a session.
func (s *Server) oidcCallback(c *gin.Context) {
	ctx := c.Request.Context()
	ck, err := c.Cookie(OIDCCookie)
	parts := strings.Split(ck, ".")
	if err != nil || len(parts) != 4 {
		s.log.Warn("oidc: callback without a login in progress", "ip", s.clientIP(c.Request))
		s.oidcFailed(c, "expired")
		return
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]
	rawNext, _ := base64.RawURLEncoding.DecodeString(parts[3])
	next := safeNext(string(rawNext))
	if subtle.ConstantTimeCompare([]byte(c.Query("state")), []byte(state)) != 1 {
		s.log.Warn("oidc: state mismatch", "ip", s.clientIP(c.Request))
		s.oidcFailed(c, "failed")
		return
	}
	if e := c.Query("error"); e != "" {
		s.log.Warn("oidc: provider refused", "error", e)
		s.oidcFailed(c, "refused")
		return
	}
	p, err := s.oidc.discover(ctx)
	if err != nil {
		s.log.Warn("oidc: provider discovery failed", "issuer", s.oidc.opts.Issuer, "err", err)
		s.oidcFailed(c, "unavailable")
		return
	}
	tok, err := s.oidc.config(p).Exchange(s.oidc.ctx(ctx), c.Query("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.log.Warn("oidc: code exchange failed", "err", err)
		s.oidcFailed(c, "failed")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.log.Warn("oidc: no id_token in the token response")
		s.oidcFailed(c, "failed")
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.oidc.opts.ClientID, Now: s.opts.Now}).Verify(s.oidc.ctx(ctx), raw)
	if err != nil {
		s.log.Warn("oidc: ID token refused", "err", err)
		s.oidcFailed(c, "failed")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		s.log.Warn("oidc: nonce mismatch")
		s.oidcFailed(c, "failed")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		s.log.Warn("oidc: claims", "err", err)
		s.oidcFailed(c, "failed")
		return
	}
	role, ok := s.oidc.opts.RoleMap.Role(claimStrings(claims[s.oidc.opts.RoleClaim]))
	if !ok {
		s.log.Warn("oidc: no role for this person", "sub", idt.Subject, "claim", s.oidc.opts.RoleClaim)
		s.oidcFailed(c, "norole")
		return
	}
	id := config.OIDCIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Role: role,
		Username: firstString(claims, "preferred_username", "email"), DisplayName: firstString(claims, "name")}
	org, err := s.oidc.store.DefaultOrg(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := s.oidc.store.UpsertOIDCUser(ctx, org.ID, id)
	switch {
	case errors.Is(err, config.ErrDeactivated):
		s.log.Warn("oidc: login of a deactivated user", "sub", idt.Subject)
		s.oidcFailed(c, "deactivated")
		return
	case errors.Is(err, config.ErrConflict):
		s.log.Warn("oidc: username taken by another user", "sub", idt.Subject, "err", err)
		s.oidcFailed(c, "conflict")
		return
	case err != nil:
		s.log.Error("oidc: user", "err", err)
		s.oidcFailed(c, "failed")
		return
	}
	sess, err := s.opts.Store.CreateSession(ctx, u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setOIDCCookie(c, "", -1)
	s.setSessionCookie(c, sess, int(config.SessionTTL.Seconds()))
	s.log.Info("login", "user", u.Username, "method", "oidc", "role", string(u.Role))
	if next == "" {
		next = "/"
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, next)
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func firstString(claims map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := claims[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
