package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StandbyOptions configure the HTTP handler of a standby (NewStandby).
type StandbyOptions struct {
	// Ping checks the shared database for /readyz.
	Ping     func(ctx context.Context) error
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Leader is the leader's URL for the other nodes
	// (OMSTIL_ADVERTISE_URL), "" when no leader is known.
	Leader func() string
}

// NewStandby is the HTTP side of a standby: /healthz, /readyz (role
// "standby") and /metrics are its own; every other request (web UI, API,
// live views, agent WebSockets) is passed to the leader, so that
// configuration changes reach the engine that handles the calls and live
// views show its state. While no leader is known, or it does not answer,
// those requests get 503 in the API's error shape.
func NewStandby(o StandbyOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	sb := &standby{opts: o, proxies: map[string]*httputil.ReverseProxy{}}
	mux := http.NewServeMux()
	sb.registerStandbyRoutes(mux)
	return mux
}

func (sb *standby) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (sb *standby) metrics() http.Handler {
	return promhttp.HandlerFor(sb.opts.Registry, promhttp.HandlerOpts{})
}

type standby struct {
	opts StandbyOptions

	mu      sync.Mutex
	proxies map[string]*httputil.ReverseProxy // by leader URL
}

func (sb *standby) readyz(w http.ResponseWriter, r *http.Request) {
	code, body := readiness(r, RoleStandby, []Check{{Name: "database", Check: sb.opts.Ping}})
	if l := sb.opts.Leader(); l != "" {
		body["leader"] = l
	}
	writeJSON(w, code, body)
}

// pass hands the request to the leader.
func (sb *standby) pass(w http.ResponseWriter, r *http.Request) {
	leader := sb.opts.Leader()
	if leader == "" {
		w.Header().Set("Retry-After", "2")
		writeJSONError(w, http.StatusServiceUnavailable, "no_leader", "this omstil is a standby and no leader is running; try again in a few seconds")
		return
	}
	p, err := sb.proxy(leader)
	if err != nil {
		sb.opts.Logger.Error("standby: leader URL", "leader", leader, "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "no_leader", "this omstil is a standby and cannot reach the leader")
		return
	}
	p.ServeHTTP(w, r)
}

func (sb *standby) proxy(leader string) (*httputil.ReverseProxy, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if p, ok := sb.proxies[leader]; ok {
		return p, nil
	}
	target, err := url.Parse(leader)
	if err != nil {
		return nil, err
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The browser's Host, so that the leader's same-origin
			// checks see the site the browser sees.
			pr.Out.Host = pr.In.Host
			// Append to the browser's chain: the leader believes it
			// only from its OMSTIL_TRUSTED_PROXIES, the standbys among them.
			if xff := pr.In.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
		},
		FlushInterval: -1, // the live views are server-sent events
		ErrorLog:      slog.NewLogLogger(sb.opts.Logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			sb.opts.Logger.Warn("standby: the leader did not answer", "leader", leader, "err", err)
			w.Header().Set("Retry-After", "2")
			writeJSONError(w, http.StatusServiceUnavailable, "no_leader", "this omstil is a standby and the leader does not answer; try again in a few seconds")
		},
	}
	sb.proxies[leader] = p
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
