package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/server"
	"github.com/prometheus/client_golang/prometheus"
)

// callHandling is the running telephony side: the ARI connection (or the
// built-in simulator in demo mode), the queue engine and the softphone.
type callHandling struct {
	checks  []server.Check
	routes  []func(*server.Routes)
	closers []func()
	drain   []func()
}

func (c *callHandling) Checks() []server.Check         { return c.checks }
func (c *callHandling) Routes() []func(*server.Routes) { return c.routes }

// Drain stops taking new calls; waiting callers stay in Asterisk.
func (c *callHandling) Drain() {
	for _, f := range c.drain {
		f()
	}
}

// Close stops everything, in reverse order of start.
func (c *callHandling) Close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// startCallHandling wires ARI, the engine and the softphone.
func startCallHandling(ctx context.Context, s config.Settings, st *config.Store, reg *prometheus.Registry, log *slog.Logger, stdout io.Writer) (*callHandling, error) {
	ch := &callHandling{}
	ch.checks = append(ch.checks, server.Check{Name: "ari", Check: func(context.Context) error {
		return errors.New("call handling is not wired yet")
	}})
	return ch, nil
}
