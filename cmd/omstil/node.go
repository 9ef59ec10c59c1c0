package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
	"github.com/prometheus/client_golang/prometheus"
)

// node is this process's part in handling the calls. On SQLite it
// handles them from the start; on PostgreSQL it is a standby (its HTTP
// handler passes requests to the leader) until the elector says it leads,
// and then it starts call handling and the full server and swaps them in.
type node struct {
	s    settings.Settings
	st   *config.Store
	reg  *prometheus.Registry
	log  *slog.Logger
	opts server.Options // the server's options but the call handling's
	role func() string  // nil: the only process of its database

	handler atomic.Pointer[http.Handler]

	lead   chan struct{} // the elector says this process leads
	fenced chan error    // the elector says it lost the lock

	calls *callHandling // owned by cmdServe's goroutine

	mu        sync.Mutex
	fenceErr  error               // set once fenced: no more ARI clients
	ariClient []*ariclient.Client // closed by a fence
}

func newNode(s settings.Settings, st *config.Store, reg *prometheus.Registry, log *slog.Logger, opts server.Options) *node {
	return &node{s: s, st: st, reg: reg, log: log, opts: opts, lead: make(chan struct{}, 1), fenced: make(chan error, 1)}
}

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*n.handler.Load()).ServeHTTP(w, r)
}

func (n *node) setHandler(h http.Handler) { n.handler.Store(&h) }

// onLead is the elector's OnLead: cmdServe's loop starts the calls, so
// that the elector goes on confirming its lock meanwhile.
func (n *node) onLead() {
	select {
	case n.lead <- struct{}{}:
	default:
	}
}

// onFence is the elector's OnFence: it closes every ARI client at once,
// which makes each later REST call fail without reaching Asterisk
// (ariclient.ErrClosed), and tells cmdServe's loop.
func (n *node) onFence(err error) {
	n.mu.Lock()
	n.fenceErr = err
	clients := n.ariClient
	n.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	select {
	case n.fenced <- err:
	default:
	}
}

// admit registers the ARI client of call handling being started, or
// refuses it once fenced.
func (n *node) admit(c *ariclient.Client) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fenceErr != nil {
		return fmt.Errorf("fenced: %w", n.fenceErr)
	}
	n.ariClient = append(n.ariClient, c)
	return nil
}

// startCalls starts call handling (which adopts the calls waiting in the
// Stasis app, as after a restart) and serves the full server.
func (n *node) startCalls(ctx context.Context) error {
	calls, err := startCallHandling(ctx, n.s, n.st, n.reg, n.log, n.admit)
	if err != nil {
		return err
	}
	opts := n.opts
	opts.Role = n.role
	opts.Checks = calls.Checks()
	opts.Live = telephony.LiveView{Adapter: calls.adapter, Runtime: calls.reload.Runtime}
	opts.LiveSource = calls.feed
	opts.Softphone = &server.AgentOptions{Manager: calls.phones, Directory: telephony.AgentDirectory{Adapter: calls.adapter, Runtime: calls.reload.Runtime}}
	srv, err := server.New(opts)
	if err != nil {
		calls.Close()
		return err
	}
	n.calls = calls
	n.setHandler(srv)
	return nil
}

// drain stops taking new calls, when handling them.
func (n *node) drain() {
	if n.calls != nil {
		n.calls.Drain()
	}
}

// closeCalls stops call handling, when running. Safe to call twice.
func (n *node) closeCalls() {
	if n.calls != nil {
		n.calls.Close()
		n.calls = nil
	}
}
