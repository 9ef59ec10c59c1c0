// Package retention enforces each organisation's retention of citizens'
// numbers in the call-event log (docs/data-protection.md): after the
// organisation's days the numbers become pseudonyms, after its months the
// events are deleted.
//
// A Worker runs once at start and then once a day. It works in small
// batches (Options.Batch rows, one transaction each) with a pause between
// them, so that the database is never held for long and the call handling,
// which appends to the same log, never waits behind it. It logs and
// counts only how many rows it changed, never a number.
//
//	w, err := retention.New(store, retention.Options{Logger: log, Registry: reg})
//	go w.Run(ctx) // returns when ctx is done
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the worker needs of the configuration store.
type Store interface {
	ListOrgs(ctx context.Context) ([]config.Organisation, error)
	PseudonymiseCallEvents(ctx context.Context, org config.OrgID, before time.Time, limit int) (int, error)
	DeleteOldCallEvents(ctx context.Context, org config.OrgID, before time.Time, limit int) (int64, error)
}

// Options tune a Worker. The zero value is fine.
type Options struct {
	Logger *slog.Logger
	// Now and After are the clock (time.Now and time.After when nil);
	// tests inject a fake.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Batch is the rows per transaction (1000 when 0).
	Batch int
	// Pause is the wait between batches (200 ms when 0). A batch of
	// 1,000 holds the database for about 60 ms (pseudonyms) or 7 ms
	// (deletion) on SQLite (config's BenchmarkRetentionBatch), so the
	// call-event writer, which writes off the call handling's loop,
	// waits at most that long and has the database three quarters of
	// the time even while a year's backlog is worked off (some 8,000
	// batches, half an hour, on the first start after an upgrade).
	Pause time.Duration
	// Every is the time between runs (24 h when 0); after a failed run
	// the next comes after an hour (or Every, if shorter).
	Every time.Duration
	// Registry gets the worker's metrics; nil: none.
	Registry prometheus.Registerer
}

// Worker runs the retention.
type Worker struct {
	st   Store
	opts Options
	log  *slog.Logger

	pseudonymised *prometheus.CounterVec
	deleted       *prometheus.CounterVec
	failures      prometheus.Counter
	lastSuccess   prometheus.Gauge
}

// New returns a worker and registers its metrics.
func New(st Store, opts Options) (*Worker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Pause <= 0 {
		opts.Pause = 200 * time.Millisecond
	}
	if opts.Every <= 0 {
		opts.Every = 24 * time.Hour
	}
	w := &Worker{st: st, opts: opts, log: opts.Logger,
		pseudonymised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omstil_retention_pseudonymised_total",
			Help: "Call events whose citizens' numbers the retention replaced by pseudonyms, by organisation (slug)."}, []string{"org"}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omstil_retention_deleted_total",
			Help: "Call events the retention deleted, by organisation (slug)."}, []string{"org"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "omstil_retention_failures_total",
			Help: "Retention runs that failed (the log says why); the next run is within an hour."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "omstil_retention_last_success_timestamp_seconds",
			Help: "When the retention last ran to the end for every organisation (Unix time)."}),
	}
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{w.pseudonymised, w.deleted, w.failures, w.lastSuccess} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("retention: metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Run runs the retention now and then every Options.Every until ctx is
// done.
func (w *Worker) Run(ctx context.Context) {
	for {
		next := w.opts.Every
		if _, err := w.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			next = min(next, time.Hour)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.opts.After(next):
		}
	}
}

// Result counts what one run did.
type Result struct {
	Pseudonymised int64
	Deleted       int64
}

// RunOnce pseudonymises and deletes what is due in every organisation,
// batch by batch, and returns the counts. An organisation that fails is
// logged and the others still run; the error then says how many failed.
func (w *Worker) RunOnce(ctx context.Context) (Result, error) {
	var total Result
	orgs, err := w.st.ListOrgs(ctx)
	if err != nil {
		w.failures.Inc()
		w.log.Error("retention: list organisations", "err", err)
		return total, err
	}
	var errs []error
	for _, o := range orgs {
		r, err := w.org(ctx, o)
		total.Pseudonymised += r.Pseudonymised
		total.Deleted += r.Deleted
		if r != (Result{}) || err != nil {
			w.log.Info("retention", "org", o.Slug, "pseudonymised", r.Pseudonymised, "deleted", r.Deleted)
		}
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			w.log.Error("retention failed", "org", o.Slug, "err", err)
			errs = append(errs, fmt.Errorf("organisation %s: %w", o.Slug, err))
		}
	}
	if len(errs) > 0 {
		w.failures.Inc()
		return total, fmt.Errorf("retention: %w", errors.Join(errs...))
	}
	w.lastSuccess.Set(float64(w.opts.Now().Unix()))
	return total, nil
}

// org does one organisation: deletion first (rows about to go need no
// pseudonym), then pseudonyms, each in batches up to the times at the
// start of the run.
func (w *Worker) org(ctx context.Context, o config.Organisation) (Result, error) {
	var r Result
	ret := o.Retention()
	if err := ret.Validate(); err != nil {
		return r, err
	}
	now := w.opts.Now()
	delBefore, pseudBefore := ret.DeleteBefore(now), ret.PseudonymiseBefore(now)
	for {
		n, err := w.st.DeleteOldCallEvents(ctx, o.ID, delBefore, w.opts.Batch)
		if err != nil {
			return r, err
		}
		r.Deleted += n
		w.deleted.WithLabelValues(o.Slug).Add(float64(n))
		if n < int64(w.opts.Batch) {
			break
		}
		if err := w.pause(ctx); err != nil {
			return r, err
		}
	}
	for {
		n, err := w.st.PseudonymiseCallEvents(ctx, o.ID, pseudBefore, w.opts.Batch)
		if err != nil {
			return r, err
		}
		r.Pseudonymised += int64(n)
		w.pseudonymised.WithLabelValues(o.Slug).Add(float64(n))
		if n < w.opts.Batch {
			break
		}
		if err := w.pause(ctx); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (w *Worker) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.opts.After(w.opts.Pause):
		return nil
	}
}
