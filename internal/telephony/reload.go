package telephony

import (
	"context"
	"log/slog"
	"sync"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/config"
)

// Reloader turns the store's configuration into the adapter's, at once
// (Now) or soon after a change (Soon; changes in a burst are folded into
// one reload). It keeps the runtime it last loaded, so the HTTP views and
// the agent page read the configuration the calls are handled with
// instead of loading the whole of it from SQL on every request.
type Reloader struct {
	st      *config.Store
	orgs    *OrgIndex
	adapter *ari.Adapter
	media   string
	log     *slog.Logger

	mu sync.RWMutex
	rt config.Runtime

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// NewReloader starts the background reloads; Stop ends them.
func NewReloader(st *config.Store, a *ari.Adapter, orgs *OrgIndex, media string, log *slog.Logger) *Reloader {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reloader{st: st, orgs: orgs, adapter: a, media: media, log: log, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go r.loop(ctx)
	return r
}

// Soon asks for a reload; use it as the store's OnChange callback.
func (r *Reloader) Soon() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Stop ends the background reloads. Safe to call twice.
func (r *Reloader) Stop() {
	r.cancel()
	<-r.done
}

func (r *Reloader) loop(ctx context.Context) {
	defer close(r.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		if err := r.Now(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("reload configuration", "err", err)
		}
	}
}

// Now loads the configuration and hands it to the adapter.
func (r *Reloader) Now(ctx context.Context) error {
	rt, err := r.st.LoadRuntime(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.rt = rt
	r.mu.Unlock()
	r.orgs.Update(rt)
	return r.adapter.Reload(ctx, RuntimeConfig(rt, r.media))
}

// Runtime returns the configuration last loaded. It is shared: read it,
// never change it.
func (r *Reloader) Runtime() config.Runtime {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.rt
}
