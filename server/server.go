// Package server is omstil's HTTP face: the gin routes, authentication,
// roles, sessions, CSRF protection, metrics and the JSON API under
// /api/v1/. It holds no business rules; it calls the store and the call
// engine's read-only views.
package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is one readiness condition (the database, the ARI connection).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Store is what the server needs of the configuration store.
type Store interface {
	Ping(ctx context.Context) error
	Authenticate(ctx context.Context, username, password string) (config.User, error)
	CreateSession(ctx context.Context, user config.UserID) (string, error)
	SessionUser(ctx context.Context, token string) (config.User, error)
	CheckSession(ctx context.Context, token string) (config.User, error)
	DeleteSession(ctx context.Context, token string) error
	TokenUser(ctx context.Context, token string) (config.User, config.TokenScope, error)
	userStore
	auditStore
	orgStore
}

// Options configure the server.
type Options struct {
	Store         Store
	Logger        *slog.Logger
	SecureCookies bool    // Secure flag on cookies (public URL is https)
	Checks        []Check // readiness checks besides the database
	Registry      *prometheus.Registry
	Now           func() time.Time
	// Prompts are the default voice prompts Asterisk plays from
	// /media/prompts/da/<name>.wav (prompts.FS(prompts.Danish)); nil:
	// that route is not registered.
	Prompts fs.FS
	// Softphone wires the agent page (/agent) to the WebRTC bridge; nil
	// serves the page without a softphone.
	Softphone *AgentOptions
	// LiveSource feeds the wallboard's live stream (GET /api/v1/live);
	// nil answers 503 there.
	LiveSource LiveSource
	// CallConfig is the call-handling configuration store; nil: Store,
	// when it implements CallConfig (the SQL store does).
	CallConfig CallConfig
	// Live is the running call handling (agent state, live calls, queue
	// status); nil answers 503 "call handling not running" there.
	Live Live
	// Demo says the calls are simulated (no OMSTIL_ARI_URL: the built-in
	// ARI simulator): every page shows a banner saying so.
	Demo bool
	// OIDC turns on login through an OpenID Connect provider (the
	// button on /login, /auth/oidc/login and /auth/oidc/callback); the
	// store must then implement UpsertOIDCUser (the SQL store does).
	// OIDCOptionsFrom builds it from the settings.
	OIDC *OIDCOptions
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// Forwarded headers name the client (OMSTIL_TRUSTED_PROXIES); from
	// any other peer the headers are ignored.
	TrustedProxies []netip.Prefix
	// PublicURL is how browsers reach omstil (OMSTIL_PUBLIC_URL, when
	// set): a browser's Origin must match its scheme, host and port.
	// Empty: the request's own scheme and host.
	PublicURL string
	// ConnRecheck is how often an open agent socket or live feed
	// re-checks its login (conns.go); 0 or more than 2 s: 2 s. Tests
	// shorten it.
	ConnRecheck time.Duration
	// Role is this process's role for /readyz (RoleLeader or
	// RoleStandby); nil: RoleLeader, the only process of its database.
	Role func() string
}

// Server is the HTTP handler of omstil.
type Server struct {
	opts    Options
	log     *slog.Logger
	engine  *gin.Engine
	handler http.Handler
	limiter *loginLimiter
	metrics *httpMetrics
	oidc    *oidcLogin // nil: OIDC login is off
	conns   *connRegistry

	pages     *pages    // the HTML pages' templates and texts
	agentPage agentPage // the agent softphone page's files
}

// New builds the server and registers every route.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		engine:  gin.New(),
		limiter: newLoginLimiter(opts.Now),
		conns:   newConnRegistry(opts.Store, opts.ConnRecheck, opts.Logger),
	}
	m, err := newHTTPMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if opts.OIDC != nil {
		st, ok := opts.Store.(oidcStore)
		if !ok {
			return nil, errors.New("server: OIDC login needs a store with UpsertOIDCUser")
		}
		s.oidc = &oidcLogin{opts: *opts.OIDC, store: st}
	}
	if s.pages, err = newPages(opts.Demo); err != nil {
		return nil, err
	}
	if s.agentPage, err = newAgentPage(); err != nil {
		return nil, err
	}
	s.engine.ContextWithFallback = true
	s.engine.HandleMethodNotAllowed = true
	s.registerRoutes()
	// CSRF: browsers' cross-site state-changing requests are refused
	// (Sec-Fetch-Site / Origin), so a cookie session cannot be ridden by
	// another site; requests without those headers (API clients with a
	// bearer token) pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusForbidden, "csrf", "cross-origin request refused")
	}))
	s.handler = securityHeaders(s.originCheck(cop.Handler(s.engine)))
	return s, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// RouteList returns every registered method and path (for the OpenAPI test).
func (s *Server) RouteList() []gin.RouteInfo { return s.engine.Routes() }

// originCheck holds a browser that sends Origin but not Sec-Fetch-Site
// (CrossOriginProtection then compares the host only) to the site's
// scheme, host and port on state-changing requests. With Sec-Fetch-Site
// the browser has compared all three itself.
func (s *Server) originCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if r.Header.Get("Sec-Fetch-Site") == "" && !s.sameOrigin(r) {
				writeJSONError(w, http.StatusForbidden, "csrf", "cross-origin request refused")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// API answers are per user and often personal: never cached
			h.Set("Cache-Control", "no-store")
		}
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}
